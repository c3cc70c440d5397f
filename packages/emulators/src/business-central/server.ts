/**
 * A Dynamics 365 Business Central environment's API v2.0 (OData v4) from memory, held to the digest of the
 * standard API pages (digest.ts). Every request is checked before a handler runs — the entity set and its
 * navigation, the query options (`$filter`, `$orderby`, `$select`, `$expand` name only fields the page
 * exposes), the body of a write (no unknown field, no read-only field, values of the field's type, a write
 * the page allows) — and refused with a 400 naming what broke; every answer is checked before it is sent,
 * and a broken one is recorded in `violations`, which the tests require to stay empty. `checked` counts
 * the operations exercised.
 *
 * As Business Central serves it:
 * - OAuth2 client credentials: `POST /{tenant}/oauth2/v2.0/token` (form body: grant_type, client_id,
 *   client_secret, scope) answers a bearer token; every API call needs it (401 otherwise).
 * - Routes under `/v2.0/{tenant}/{environment}/api/v2.0/`: `companies`, then everything company-scoped,
 *   `companies({id})/<entitySet>`, `(<id>)`, `(<id>)/<navigation>`.
 * - Server-driven paging: `Prefer: odata.maxpagesize=N` (default 20 000), answered with
 *   `Preference-Applied` and an absolute `@odata.nextLink` carrying a `$skiptoken`.
 * - Every entity carries `@odata.etag`; PATCH and DELETE need `If-Match` with it (or `*`): none is a 400,
 *   a stale one a 412.
 * - At most `maxConcurrent` (5) requests at once per environment; one more is answered 429 with
 *   Retry-After. (Business Central queues some requests above 5 before it refuses; this emulator refuses
 *   at once, the stricter reading.)
 * - A document's PDF (the page "APIV2 - PDF Document", navigation `pdfDocument` of salesInvoices and of
 *   salesCreditMemos, one entity, no key): `GET salesInvoices({id})/pdfDocument` answers id, parentId, parentType and
 *   `pdfDocumentContent@odata.mediaReadLink`; `GET .../pdfDocument/pdfDocumentContent` reads the stream,
 *   the PDF itself (Microsoft's v2.0 reference: dynamics_pdfdocument_get, dynamics_salesinvoice_pdfdocument).
 * - Webhooks (subscriptions.ts): `/api/v2.0/subscriptions` at the environment's root, with the validation
 *   handshake on create and renew, expiry after three days, and notifications after changes.
 * - OData JSON batches (`batch` below): `POST /api/v2.0/$batch`, Content-Type application/json,
 *   `{"requests":[{id, method, url, headers, body, atomicityGroup, dependsOn}]}` answered 200
 *   `{"responses":[{id, status, headers, body}]}` (Microsoft Learn, "Using OData transactional $batch
 *   requests"; the request and answer objects as OData JSON Format 4.01 §19 defines them). Each operation
 *   is dispatched to the same handlers as a single call, so it is checked against the digest the same way.
 *   At most 100 operations (Microsoft Learn, "Work with API limits": "A $batch request can contain a maximum
 *   of 100 operations"); more is refused with 400 in Business Central's error shape (the code and wording of
 *   the real refusal are not confirmed). Without `Isolation: snapshot` each operation stands alone; with it
 *   the whole batch is one transaction, undone when any operation fails, the operations keeping their own
 *   answers (as Microsoft's example shows). An `atomicityGroup` is all or nothing too (OData 4.01); whether
 *   Business Central honours it beyond `Isolation: snapshot` is not confirmed, and the emulator answers the
 *   undone operations of a failed group 424 Failed Dependency, as it answers an operation whose `dependsOn`
 *   failed. Operations run one after another, in order. Only JSON batches are served (no multipart/mixed).
 * - A per-minute budget when asked (`requestsPerMinute`; Business Central's documented rate is per user or
 *   environment and minute, answered 429). How the operations of a batch count against it is not
 *   documented: the emulator counts each operation as a request (a batch of 40 costs 40), the stricter
 *   reading; the batch itself takes one of the 5 concurrent slots, being one HTTP request.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dropConnection, FaultInjector, type FaultOptions } from "../odoo/faults.ts";
import {
  compareValues,
  matches,
  parseFilter,
  parseOrderBy,
  parseSelect,
  QueryError,
} from "../sap-b1/filter.ts";
import type { EdmProperty, EdmStructuredType, SapB1Metadata } from "../sap-b1/metadata.ts";
import { BcData, BcError, type Row } from "./data.ts";
import { type BcDigest, type BcEntity, bcDigest } from "./digest.ts";
import { type BcSubscriptions, type SubscriptionOptions, startSubscriptions } from "./subscriptions.ts";

export const BC_DEFAULT_PAGE_SIZE = 20_000;
export const BC_MAX_CONCURRENT = 5;
/** Operations one `$batch` may carry (Microsoft Learn, "Work with API limits"). */
export const BC_MAX_BATCH_OPERATIONS = 100;
const BATCH_METHODS = new Set(["GET", "POST", "PATCH", "DELETE"]);

/** An answer written to a ServerResponse, kept instead of sent: a batch operation's, or a dropped one's. */
interface Captured {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}
function capture(): { res: ServerResponse; done: Promise<Captured> } {
  const out: Captured = { status: 0, headers: {}, body: Buffer.alloc(0) };
  let finish: (c: Captured) => void = () => undefined;
  const done = new Promise<Captured>((ok) => {
    finish = ok;
  });
  const res = {
    writeHead(status: number, headers: Record<string, string> = {}) {
      out.status = status;
      for (const [k, v] of Object.entries(headers)) out.headers[k.toLowerCase()] = String(v);
      return res;
    },
    end(body?: string | Buffer) {
      out.body = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
      finish(out);
      return res;
    },
  };
  return { res: res as unknown as ServerResponse, done };
}

export interface BcEmulatorOptions {
  port?: number;
  tenantId?: string;
  environment?: string;
  clientId?: string;
  clientSecret?: string;
  items?: number;
  customers?: number;
  seed?: number;
  /** Requests served at once before a 429 (Business Central's limit is 5). */
  maxConcurrent?: number;
  /** Holds every API answer this long (ms), so tests can make requests overlap. */
  delayMs?: number;
  /** Seconds a token lives (Entra ID's are an hour). */
  tokenLifetimeS?: number;
  faults?: FaultOptions;
  /** Webhook subscriptions: lifetime, notification delay and batching (subscriptions.ts). */
  webhooks?: SubscriptionOptions;
  /** Requests a rolling minute before a 429 (off by default); each operation of a batch counts as one. */
  requestsPerMinute?: number;
}

export interface BcEmulator {
  url: string;
  /** The environment's root: `{url}/v2.0/{tenant}/{environment}`. */
  apiUrl: string;
  tokenUrl: string;
  tenantId: string;
  environment: string;
  clientId: string;
  clientSecret: string;
  companyId: string;
  data: BcData;
  digest: BcDigest;
  faults: FaultInjector;
  stats: {
    requests: number;
    writes: number;
    tokens: number;
    throttled: number;
    peakInFlight: number;
    /** `$batch` requests served, and the operations they carried. */
    batches: number;
    batchOperations: number;
  };
  checked: Map<string, number>;
  violations: string[];
  /** Every request body and authorization header received (tests look for the secret in them). */
  bodies: string[];
  /** Webhook subscriptions and the notifications sent. */
  webhooks: BcSubscriptions;
  /** Ends every token now, as an expiry does. */
  expireTokens(): void;
  close(): Promise<void>;
}

export function bcEmulatorEnv(
  emu: Pick<BcEmulator, "apiUrl" | "tokenUrl" | "tenantId" | "clientId" | "clientSecret" | "companyId">,
): Record<string, string> {
  return {
    BC_URL: emu.apiUrl,
    BC_TOKEN_URL: emu.tokenUrl,
    BC_TENANT_ID: emu.tenantId,
    BC_CLIENT_ID: emu.clientId,
    BC_CLIENT_SECRET: emu.clientSecret,
    BC_COMPANY_ID: emu.companyId,
  };
}

const KNOWN_OPTIONS = new Set([
  "$filter",
  "$orderby",
  "$select",
  "$top",
  "$skip",
  "$expand",
  "$skiptoken",
  "$count",
]);
const GUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
const SEGMENT = new RegExp(`^([A-Za-z][A-Za-z0-9]*)(?:\\((${GUID})\\))?$`);
/** Each sub-page's link to its parent (the digest's SubPageLink, in API field names). */
const PARENT_FIELD: Record<string, string> = {
  itemVariants: "itemId",
  salesOrderLines: "documentId",
  salesShipmentLines: "documentId",
};

const EDM: Record<string, string> = {
  GUID: "Edm.Guid",
  decimal: "Edm.Decimal",
  integer: "Edm.Int32",
  int64: "Edm.Int64",
  boolean: "Edm.Boolean",
  date: "Edm.Date",
  datetime: "Edm.DateTimeOffset",
};

/** The page as the shared OData query parser sees it (enums are written as strings). */
function edmType(e: BcEntity): EdmStructuredType {
  const properties = new Map<string, EdmProperty>();
  for (const f of e.fields.values()) {
    properties.set(f.name, {
      name: f.name,
      type: EDM[f.apiType ?? ""] ?? "Edm.String",
      collection: false,
      nullable: true,
    });
  }
  return {
    name: e.entitySetName,
    kind: "entity",
    key: ["id"],
    open: false,
    properties,
    navigation: new Set(e.navigation.keys()),
  };
}
const NO_ENUMS = { enums: new Map() } as unknown as SapB1Metadata;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startBcEmulator(opts: BcEmulatorOptions = {}): Promise<BcEmulator> {
  const digest = bcDigest();
  const data = new BcData();
  data.seed(opts.items ?? 0, opts.customers ?? 0, opts.seed ?? 1);
  const tenantId = opts.tenantId ?? "00000000-0000-4000-8000-00000000b0c0";
  const environment = opts.environment ?? "production";
  const clientId = opts.clientId ?? "11111111-2222-4333-8444-555555555555";
  const clientSecret = opts.clientSecret ?? "bc-emulator-client-secret";
  const maxConcurrent = opts.maxConcurrent ?? BC_MAX_CONCURRENT;
  const faults = new FaultInjector(opts.faults ?? {});
  const checked = new Map<string, number>();
  const violations: string[] = [];
  const bodies: string[] = [];
  const stats = {
    requests: 0,
    writes: 0,
    tokens: 0,
    throttled: 0,
    peakInFlight: 0,
    batches: 0,
    batchOperations: 0,
  };
  /** The rolling minute's requests (time, weight), when a per-minute budget is set. */
  const recent: { at: number; weight: number }[] = [];
  const tokens = new Map<string, number>();
  const apiRoot = `/v2.0/${tenantId}/${environment}/api/v2.0`;
  let inFlight = 0;
  const company = {
    id: data.companyId,
    systemVersion: "27.0.38460.41089",
    timestamp: 1,
    name: "CRONUS FR",
    displayName: "CRONUS FR",
    businessProfileId: "",
    systemCreatedAt: "2026-01-01T00:00:00Z",
    systemCreatedBy: "00000000-0000-0000-0000-000000000001",
    systemModifiedAt: "2026-01-01T00:00:00Z",
    systemModifiedBy: "00000000-0000-0000-0000-000000000001",
  };

  const count = (op: string) => checked.set(op, (checked.get(op) ?? 0) + 1);
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      ...(body === undefined
        ? {}
        : { "content-type": "application/json; odata.metadata=minimal; charset=utf-8" }),
      "odata-version": "4.0",
      ...headers,
    });
    res.end(body === undefined ? "" : JSON.stringify(body));
  };
  const fail = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ) => send(res, status, { error: { code, message } }, headers);
  const refuse = (res: ServerResponse, what: string, problems: string[]) => {
    for (const p of problems) violations.push(`request: ${what}: ${p}`);
    fail(res, 400, "BadRequest", `${what}: ${problems.join("; ")}`);
  };
  const withEtag = (r: Row) => ({ "@odata.etag": data.etag(r.id as string), ...r });

  const handle = async (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = (req.method ?? "GET").toUpperCase();
    const path = decodeURIComponent(url.pathname);

    // The token endpoint, as Entra ID's v2.0 endpoint answers the client-credentials grant.
    if (path === `/${tenantId}/oauth2/v2.0/token`) {
      count("POST token");
      const form = new URLSearchParams(raw);
      if (method !== "POST") return fail(res, 405, "invalid_request", "POST only");
      if (form.get("grant_type") !== "client_credentials") {
        return send(res, 400, {
          error: "unsupported_grant_type",
          error_description: "client_credentials only",
        });
      }
      if (form.get("scope") !== "https://api.businesscentral.dynamics.com/.default") {
        return send(res, 400, {
          error: "invalid_scope",
          error_description: `scope ${form.get("scope")} is not valid`,
        });
      }
      if (form.get("client_id") !== clientId || form.get("client_secret") !== clientSecret) {
        return send(res, 401, {
          error: "invalid_client",
          error_description: "Invalid client secret provided.",
        });
      }
      stats.tokens++;
      const token = randomUUID();
      const lifetime = opts.tokenLifetimeS ?? 3599;
      tokens.set(token, Date.now() + lifetime * 1000);
      return send(res, 200, {
        token_type: "Bearer",
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: token,
      });
    }

    if (!path.startsWith(`${apiRoot}/`))
      return refuse(res, `${method} ${path}`, [`not a route of API v2.0 (${apiRoot}/...)`]);
    const auth = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ""));
    const until = auth ? tokens.get(auth[1] as string) : undefined;
    if (until === undefined || until < Date.now()) {
      return fail(
        res,
        401,
        "Authentication_InvalidCredentials",
        "The server has rejected the client credentials.",
        {
          "www-authenticate": `Bearer authorization_uri="https://login.microsoftonline.com/${tenantId}/oauth2/authorize"`,
        },
      );
    }
    const segments = path.slice(apiRoot.length + 1).split("/");
    if (segments[0] === "$batch") {
      if (segments.length > 1) return refuse(res, `${method} ${path}`, ["$batch has no navigation"]);
      return batch(req, res, method, raw);
    }
    // Webhook subscriptions live at the environment's root, not under a company.
    if (/^subscriptions(?:\(|$)/.test(segments[0] ?? "")) {
      if (segments.length > 1) return refuse(res, `${method} ${path}`, ["subscriptions has no navigation"]);
      return webhooks.handle(method, segments[0] as string, url, req.headers, raw, res);
    }
    const parsed = segments.map((s) => SEGMENT.exec(s));
    if (parsed.some((m) => !m))
      return refuse(res, `${method} ${path}`, ["a path segment is not <entitySet> or <entitySet>(<guid>)"]);
    const [first, ...rest] = parsed as RegExpExecArray[];
    if (first?.[1] !== "companies")
      return refuse(res, `${method} ${path}`, ["every API v2.0 route starts at companies"]);
    if (rest.length === 0) {
      count(first[2] ? "GET companies(id)" : "GET companies");
      if (method !== "GET") return refuse(res, `${method} companies`, ["companies is read-only"]);
      return first[2]
        ? first[2] === data.companyId
          ? send(res, 200, company)
          : fail(res, 404, "Internal_CompanyNotFound", `no company ${first[2]}`)
        : send(res, 200, { "@odata.context": `${apiRoot}/$metadata#companies`, value: [company] });
    }
    if (first[2] !== data.companyId)
      return fail(res, 404, "Internal_CompanyNotFound", `no company ${String(first[2])}`);
    const [top, sub, media] = rest as [
      RegExpExecArray,
      RegExpExecArray | undefined,
      RegExpExecArray | undefined,
    ];
    const topSet = top[1] as string;
    const topEntity = digest.entity(topSet);
    if (!topEntity) return refuse(res, `${method} ${topSet}`, [`API v2.0 has no entity set ${topSet}`]);
    if (sub && topEntity.navigation.get(sub[1] as string) === "pdfDocument")
      return pdfDocument(res, url, method, path, topSet, top[2], sub[2], media, rest.length);
    if (rest.length > 2)
      return refuse(res, `${method} ${path}`, ["the emulator serves one level of navigation"]);
    let set = topSet;
    let parent: { set: string; id: string; field: string } | null = null;
    if (sub) {
      if (!top[2]) return refuse(res, `${method} ${path}`, ["navigation needs the parent's id"]);
      const nav = topEntity.navigation.get(sub[1] as string);
      if (!nav) return refuse(res, `${method} ${path}`, [`${topSet} has no navigation ${String(sub[1])}`]);
      const field = PARENT_FIELD[nav];
      if (!field) return fail(res, 501, "NotImplemented", `the emulator does not serve ${topSet}/${sub[1]}`);
      set = nav;
      parent = { set: topSet, id: top[2], field };
    }
    const key = sub ? sub[2] : top[2];
    const entity = digest.entity(set) as BcEntity;
    const op = `${method} ${topSet}${top[2] ? "(id)" : ""}${sub ? `/${sub[1]}${sub[2] ? "(id)" : ""}` : ""}`;
    count(op);

    const problems: string[] = [];
    for (const k of url.searchParams.keys())
      if (!KNOWN_OPTIONS.has(k)) problems.push(`unknown query option ${k}`);
    let body: unknown;
    if (raw.trim() !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        problems.push("the body is not JSON");
      }
    }
    if (method === "POST" && key) problems.push("POST creates in a collection, not on one entity");
    if ((method === "PATCH" || method === "DELETE") && !key) problems.push(`${method} needs the entity's id`);
    if (method === "POST" || method === "PATCH") {
      if (body === undefined) problems.push("the request has no body");
      else problems.push(...digest.checkWrite(`${op} body`, set, body, method));
    }
    if (method === "DELETE" && !entity.deleteAllowed) problems.push(`${set} does not allow deletes`);
    if ((method === "PATCH" || method === "DELETE") && !req.headers["if-match"]) {
      problems.push("PATCH and DELETE need If-Match with the entity's @odata.etag (or *)");
    }
    const type = edmType(entity);
    const expand = (url.searchParams.get("$expand") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const x of expand) {
      if (!entity.navigation.has(x)) problems.push(`$expand: ${set} has no navigation ${x}`);
      else if (!PARENT_FIELD[entity.navigation.get(x) as string])
        problems.push(`$expand: the emulator does not expand ${x}`);
    }
    if (problems.length > 0) return refuse(res, op, problems);

    const table = data.table(set);
    if (!table) return fail(res, 501, "NotImplemented", `the emulator does not serve ${set}`);
    const answer = (status: number, row: Row, headers: Record<string, string> = {}) => {
      const out = withEtag(row);
      for (const v of digest.checkAnswer(`${op} answer`, set, out)) violations.push(`answer: ${v}`);
      send(
        res,
        status,
        { "@odata.context": `${apiRoot}/$metadata#companies(${data.companyId})/${set}/$entity`, ...out },
        { etag: out["@odata.etag"], ...headers },
      );
    };
    try {
      if (parent) data.get(data.table(parent.set) as Map<string, Row>, parent.id);
      const inScope = (r: Row) => !parent || r[parent.field] === parent.id;
      if (method === "GET" && !key)
        return list(
          res,
          url,
          [...table.values()].filter(inScope),
          type,
          entity,
          expand,
          op,
          String(req.headers.prefer ?? ""),
        );
      if (method === "GET") {
        const row = data.get(table, key as string);
        if (!inScope(row)) throw new BcError(404, "Internal_RecordNotFound", `no record with id ${key}`);
        const select = url.searchParams.get("$select");
        return answer(200, expanded(select ? pick(row, parseSelect(type, select)) : row, entity, expand));
      }
      if (method === "PATCH" || method === "DELETE") {
        const row = data.get(table, key as string);
        const ifMatch = String(req.headers["if-match"]);
        if (ifMatch !== "*" && ifMatch !== data.etag(row.id as string)) {
          return fail(res, 412, "Request_EntityChanged", "Another user has already changed the record.");
        }
        stats.writes++;
        if (method === "DELETE") {
          if (set === "salesOrders") data.deleteOrder(row.id as string);
          else return fail(res, 501, "NotImplemented", `the emulator does not delete ${set}`);
          return send(res, 204, undefined);
        }
        const b = body as Row;
        const out =
          set === "customers"
            ? data.patchCustomer(row.id as string, b)
            : set === "items"
              ? data.patchItem(row.id as string, b)
              : set === "salesOrders"
                ? data.patchOrder(row.id as string, b)
                : null;
        if (!out) return fail(res, 501, "NotImplemented", `the emulator does not update ${set}`);
        return answer(200, out);
      }
      if (method === "POST") {
        const b = body as Row;
        stats.writes++;
        let created: Row | null = null;
        if (set === "customers") created = data.addCustomer(b);
        else if (set === "items") created = data.addItem(b);
        else if (set === "salesOrders") {
          const { salesOrderLines: lines, ...header } = b;
          created = data.addOrderWithLines(header, (lines as Row[] | undefined) ?? []);
        } else if (set === "salesOrderLines" && parent) {
          created = data.addLine(parent.id, b);
        }
        if (!created) return fail(res, 501, "NotImplemented", `the emulator does not create ${set}`);
        return answer(201, created, {
          location: `${apiRoot}/companies(${data.companyId})/${set}(${String(created.id)})`,
        });
      }
      return fail(res, 405, "MethodNotAllowed", `${method} is not served on ${set}`);
    } catch (e) {
      if (e instanceof QueryError) return refuse(res, op, [e.message]);
      if (e instanceof BcError) return fail(res, e.status, e.code, e.message);
      return fail(res, 500, "Internal_ServerError", e instanceof Error ? e.message : String(e));
    }
  };

  /**
   * `POST /api/v2.0/$batch` (JSON): checks the envelope, then runs each operation through `handle` as if it
   * had come alone, with the batch's bearer token, and answers every operation's status, headers and body.
   */
  async function batch(req: IncomingMessage, res: ServerResponse, method: string, raw: string) {
    count("POST $batch");
    if (method !== "POST") return refuse(res, `${method} $batch`, ["$batch takes POST only"]);
    const type = String(req.headers["content-type"] ?? "");
    if (!/^application\/json\b/i.test(type)) {
      return refuse(res, "POST $batch", [
        `Content-Type ${type || "(none)"}: the emulator serves JSON batches (application/json) only, not multipart/mixed`,
      ]);
    }
    let env: unknown;
    try {
      env = JSON.parse(raw);
    } catch {
      return refuse(res, "POST $batch", ["the body is not JSON"]);
    }
    const list = (env as { requests?: unknown } | null)?.requests;
    if (typeof env !== "object" || env === null || !Array.isArray(list))
      return refuse(res, "POST $batch", ['the body has no "requests" array']);
    if (list.length > BC_MAX_BATCH_OPERATIONS) {
      violations.push(
        `request: POST $batch: ${list.length} operations, more than ${BC_MAX_BATCH_OPERATIONS}`,
      );
      return fail(
        res,
        400,
        "BadRequest",
        `The batch request contains ${list.length} operations; a batch can contain at most ${BC_MAX_BATCH_OPERATIONS}.`,
      );
    }
    interface Op {
      id: string;
      method: string;
      url: string;
      headers: Record<string, string>;
      body?: unknown;
      atomicityGroup?: string;
      dependsOn: string[];
    }
    const problems: string[] = [];
    const ops: Op[] = [];
    const seen = new Set<string>();
    const groupsSeen = new Set<string>();
    list.forEach((r: unknown, i) => {
      const at = `requests[${i}]`;
      if (typeof r !== "object" || r === null || Array.isArray(r)) {
        problems.push(`${at} is not an object`);
        return;
      }
      const o = r as Record<string, unknown>;
      for (const k of Object.keys(o))
        if (!["id", "method", "url", "headers", "body", "atomicityGroup", "dependsOn"].includes(k))
          problems.push(`${at} has an unknown member ${k}`);
      if (typeof o.id !== "string" || o.id === "") problems.push(`${at}.id must be a non-empty string`);
      else if (seen.has(o.id)) problems.push(`${at}.id ${JSON.stringify(o.id)} is not unique`);
      if (typeof o.method !== "string" || !BATCH_METHODS.has(o.method.toUpperCase()))
        problems.push(`${at}.method ${JSON.stringify(o.method)} is not GET, POST, PATCH or DELETE`);
      if (typeof o.url !== "string" || o.url === "") problems.push(`${at}.url must be a non-empty string`);
      const headers: Record<string, string> = {};
      if (o.headers !== undefined) {
        if (typeof o.headers !== "object" || o.headers === null || Array.isArray(o.headers))
          problems.push(`${at}.headers must be an object`);
        else
          for (const [k, v] of Object.entries(o.headers)) {
            if (typeof v !== "string") problems.push(`${at}.headers.${k} must be a string`);
            else headers[k.toLowerCase()] = v;
          }
      }
      if (o.atomicityGroup !== undefined && (typeof o.atomicityGroup !== "string" || o.atomicityGroup === ""))
        problems.push(`${at}.atomicityGroup must be a non-empty string`);
      const group = typeof o.atomicityGroup === "string" ? o.atomicityGroup : undefined;
      // OData 4.01: the requests of one atomicity group are adjacent.
      const previous = ops.at(-1)?.atomicityGroup;
      if (group && groupsSeen.has(group) && previous !== group)
        problems.push(`${at}: the requests of atomicity group ${JSON.stringify(group)} are not adjacent`);
      const dependsOn: string[] = [];
      if (o.dependsOn !== undefined) {
        if (!Array.isArray(o.dependsOn)) problems.push(`${at}.dependsOn must be an array`);
        else
          for (const d of o.dependsOn) {
            if (typeof d !== "string" || (!seen.has(d) && !(groupsSeen.has(d) && d !== group)))
              problems.push(`${at}.dependsOn names ${JSON.stringify(d)}, not an earlier request or group`);
            else dependsOn.push(d);
          }
      }
      if (typeof o.id === "string") seen.add(o.id);
      if (group) groupsSeen.add(group);
      ops.push({
        id: String(o.id),
        method: String(o.method).toUpperCase(),
        url: String(o.url),
        headers,
        ...(o.body !== undefined ? { body: o.body } : {}),
        ...(group ? { atomicityGroup: group } : {}),
        dependsOn,
      });
    });
    for (const id of seen)
      if (groupsSeen.has(id)) problems.push(`${JSON.stringify(id)} names both a request and a group`);
    if (problems.length > 0) return refuse(res, "POST $batch", problems);
    stats.batches++;
    stats.batchOperations += ops.length;

    const isolated = /^snapshot$/i.test(String(req.headers.isolation ?? ""));
    const authorization = String(req.headers.authorization ?? "");
    const answers = new Map<
      string,
      { id: string; status: number; headers: Record<string, string>; body?: unknown }
    >();
    const failedNames = new Set<string>();
    const runOne = async (op: Op) => {
      const failedDep = op.dependsOn.find((d) => failedNames.has(d));
      if (failedDep !== undefined) {
        return {
          id: op.id,
          status: 424,
          headers: { "content-type": "application/json" },
          body: {
            error: { code: "FailedDependency", message: `${failedDep} failed, so ${op.id} did not run` },
          },
        };
      }
      let target: URL;
      try {
        target = new URL(op.url, `${base}${apiRoot}/`);
      } catch {
        target = new URL("http://invalid/");
      }
      const { res: sink, done } = capture();
      if (target.origin !== base || !target.pathname.startsWith(`${apiRoot}/`)) {
        refuse(sink, `${op.method} ${op.url}`, ["a batch operation's url is not under the API's root"]);
      } else if (/\/\$batch$/.test(target.pathname)) {
        refuse(sink, `${op.method} ${op.url}`, ["a batch cannot carry a batch"]);
      } else {
        const inner = {
          url: `${target.pathname}${target.search}`,
          method: op.method,
          headers: { ...op.headers, authorization },
        } as unknown as IncomingMessage;
        const body =
          op.body === undefined ? "" : typeof op.body === "string" ? op.body : JSON.stringify(op.body);
        await handle(inner, sink, body);
      }
      const got = await done;
      const text = got.body.toString("utf8");
      const json = (got.headers["content-type"] ?? "").includes("json");
      return {
        id: op.id,
        status: got.status,
        headers: got.headers,
        ...(got.body.length === 0
          ? {}
          : { body: json ? (JSON.parse(text) as unknown) : got.body.toString("base64") }),
      };
    };
    for (let i = 0; i < ops.length; ) {
      const group = isolated ? "$batch" : ops[i]?.atomicityGroup;
      let j = i + 1;
      if (group) while (j < ops.length && (isolated || ops[j]?.atomicityGroup === group)) j++;
      const run = ops.slice(i, j);
      const undo = group ? data.snapshot() : null;
      let broke: Op | undefined;
      for (const op of run) {
        const a = await runOne(op);
        answers.set(op.id, a);
        if (a.status >= 400) {
          failedNames.add(op.id);
          broke ??= op;
        }
      }
      if (undo && broke) {
        undo();
        if (!isolated && group) {
          failedNames.add(group);
          // Every operation of the failed group is undone: those that had succeeded say so.
          for (const op of run)
            if (op !== broke && (answers.get(op.id)?.status ?? 0) < 400) {
              failedNames.add(op.id);
              answers.set(op.id, {
                id: op.id,
                status: 424,
                headers: { "content-type": "application/json" },
                body: {
                  error: {
                    code: "FailedDependency",
                    message: `undone: ${broke.id} of atomicity group ${group} failed`,
                  },
                },
              });
            }
        }
      }
      i = j;
    }
    return send(res, 200, { responses: ops.map((op) => answers.get(op.id)) });
  }

  /**
   * `salesInvoices({id})/pdfDocument` or `salesCreditMemos({id})/pdfDocument` (one entity, the page
   * "APIV2 - PDF Document", its parentType the digest's SubPageLink constant) and its stream
   * `pdfDocumentContent`, read as media. The page is read-only; the navigation takes no key.
   */
  function pdfDocument(
    res: ServerResponse,
    url: URL,
    method: string,
    path: string,
    parentSet: string,
    parentId: string | undefined,
    key: string | undefined,
    media: RegExpExecArray | undefined,
    depth: number,
  ) {
    const entity = digest.entity("pdfDocument") as BcEntity;
    const op = `${method} ${parentSet}(id)/pdfDocument${media ? `/${media[1]}` : ""}`;
    count(op);
    const problems: string[] = [];
    if (!parentId) problems.push("navigation needs the parent's id");
    if (depth > 3) problems.push("pdfDocument has no navigation");
    if (method !== "GET") problems.push("pdfDocument is read-only (GET only)");
    if (key) problems.push("pdfDocument is a single navigation, reached without a key");
    if (media) {
      const f = entity.fields.get(media[1] as string);
      if (!f) problems.push(`pdfDocument has no field ${String(media[1])}`);
      else if (f.apiType !== "stream") problems.push(`pdfDocument.${f.name} is not a stream (no media read)`);
      if ([...url.searchParams.keys()].length > 0) problems.push("a media read takes no query option");
    }
    for (const k of url.searchParams.keys())
      if (!KNOWN_OPTIONS.has(k)) problems.push(`unknown query option ${k}`);
    const select = url.searchParams.get("$select");
    if (select) problems.push(...digest.checkFields(`${op} $select`, "pdfDocument", select.split(",")));
    if (problems.length > 0) return refuse(res, op, problems);
    if (parentSet !== "salesInvoices" && parentSet !== "salesCreditMemos")
      return fail(res, 501, "NotImplemented", `the emulator renders no PDF of ${parentSet}`);
    let bytes: Buffer;
    try {
      bytes = data.documentPdf(parentSet, parentId as string);
    } catch (e) {
      if (e instanceof BcError) return fail(res, e.status, e.code, e.message);
      throw e;
    }
    if (media) {
      // A media read answers the stream's bytes; an empty stream has no content.
      if (bytes.length === 0) return send(res, 204, undefined);
      res.writeHead(200, { "content-type": "application/pdf", "content-length": String(bytes.length) });
      return res.end(bytes);
    }
    const self = `${base}${path}`;
    let row: Row = {
      id: parentId,
      parentId,
      parentType: parentSet === "salesCreditMemos" ? "Sales Credit Memo" : "Sales Invoice",
      "pdfDocumentContent@odata.mediaReadLink": `${self}/pdfDocumentContent`,
    };
    if (select) row = pick(row, ["id", ...select.split(",")]);
    for (const v of digest.checkAnswer(`${op} answer`, "pdfDocument", row)) violations.push(`answer: ${v}`);
    return send(res, 200, {
      "@odata.context": `${apiRoot}/$metadata#companies(${data.companyId})/${parentSet}(${String(parentId)})/pdfDocument/$entity`,
      ...row,
    });
  }

  function expanded(row: Row, entity: BcEntity, expand: string[]): Row {
    if (expand.length === 0) return row;
    const out: Row = { ...row };
    for (const x of expand) {
      const child = entity.navigation.get(x) as string;
      const field = PARENT_FIELD[child] as string;
      out[x] = [...(data.table(child) as Map<string, Row>).values()]
        .filter((r) => r[field] === row.id)
        .sort((a, b) => Number(a.sequence ?? 0) - Number(b.sequence ?? 0))
        .map(withEtag);
    }
    return out;
  }

  function list(
    res: ServerResponse,
    url: URL,
    rows: Row[],
    type: EdmStructuredType,
    entity: BcEntity,
    expand: string[],
    op: string,
    preferHeader: string,
  ) {
    const q = url.searchParams;
    const filter = q.get("$filter");
    const orderby = q.get("$orderby");
    const select = q.get("$select");
    const top = q.get("$top");
    const skip = q.get("$skiptoken") ?? q.get("$skip") ?? "0";
    for (const [k, v] of [
      ["$top", top],
      ["$skip", skip],
    ] as const) {
      if (v !== null && !/^\d+$/.test(v))
        throw new QueryError(`${k} must be a non-negative integer, got ${v}`);
    }
    const node = filter ? parseFilter(NO_ENUMS, type, filter) : null;
    const order = orderby
      ? parseOrderBy(type, orderby)
      : [{ prop: type.properties.get("id") as EdmProperty, desc: false }];
    const fields = select ? parseSelect(type, select) : null;
    if (fields && !fields.includes("id")) fields.unshift("id");
    let all = rows.filter((r) => !node || matches(node, r));
    all.sort((a, b) => {
      for (const o of order) {
        const c = compareValues(o.prop.type, a[o.prop.name], b[o.prop.name]);
        if (c !== 0) return o.desc ? -c : c;
      }
      return 0;
    });
    if (top !== null) all = all.slice(0, Number(skip) + Number(top));
    const prefer = /odata\.maxpagesize=(\d+)/.exec(preferHeader);
    const pageSize = prefer ? Math.max(1, Number(prefer[1])) : BC_DEFAULT_PAGE_SIZE;
    const start = Number(skip);
    const page = all.slice(start, start + pageSize);
    const value = page.map((r) => withEtag(expanded(fields ? pick(r, fields) : r, entity, expand)));
    value.forEach((r, i) => {
      for (const v of digest.checkAnswer(`${op} answer[${i}]`, entity.entitySetName, r))
        violations.push(`answer: ${v}`);
    });
    const out: Record<string, unknown> = {
      "@odata.context": `${apiRoot}/$metadata#companies(${data.companyId})/${entity.entitySetName}`,
      value,
    };
    if (start + pageSize < all.length) {
      // Written as Business Central writes it: absolute, option names bare, values escaped.
      const next = [...url.searchParams.entries()].filter(([k]) => k !== "$skip" && k !== "$skiptoken");
      next.push(["$skiptoken", String(start + pageSize)]);
      out["@odata.nextLink"] =
        `${base}${url.pathname}?${next.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`;
    }
    send(res, 200, out, prefer ? { "preference-applied": `odata.maxpagesize=${pageSize}` } : {});
  }

  let base = "";
  const webhooks = startSubscriptions({
    digest,
    data,
    apiRoot,
    count,
    violations,
    send,
    fail,
    refuse,
    options: opts.webhooks ?? {},
  });
  const server = createServer(async (req, res) => {
    stats.requests++;
    inFlight++;
    stats.peakInFlight = Math.max(stats.peakInFlight, inFlight);
    let done = false;
    const finish = () => {
      if (!done) inFlight--;
      done = true;
    };
    res.on("finish", finish);
    res.on("close", finish);
    const raw = await readBody(req);
    bodies.push(`${String(req.headers.authorization ?? "")} ${raw}`);
    const isToken = String(req.url).includes("/oauth2/");
    if (inFlight > maxConcurrent && !isToken) {
      stats.throttled++;
      return fail(res, 429, "Application_TooManyRequests", `more than ${maxConcurrent} requests at once`, {
        "retry-after": "1",
      });
    }
    // A batch weighs its operations, and writes when one of them does.
    let weight = 1;
    let writes = (req.method ?? "GET") !== "GET";
    if (/\/\$batch(?:\?|$)/.test(decodeURIComponent(String(req.url)))) {
      try {
        const ops = (JSON.parse(raw) as { requests?: { method?: unknown }[] }).requests;
        if (Array.isArray(ops)) {
          weight = Math.max(1, ops.length);
          writes = ops.some((o) => String(o?.method ?? "GET").toUpperCase() !== "GET");
        }
      } catch {
        // Refused as malformed by the batch handler.
      }
    }
    if (opts.requestsPerMinute !== undefined && !isToken) {
      const now = Date.now();
      while (recent.length > 0 && (recent[0]?.at ?? 0) <= now - 60_000) recent.shift();
      const used = recent.reduce((n, r) => n + r.weight, 0);
      if (used + weight > opts.requestsPerMinute) {
        stats.throttled++;
        const wait = Math.max(1, Math.ceil(((recent[0]?.at ?? now) + 60_000 - now) / 1000));
        return fail(
          res,
          429,
          "Application_TooManyRequests",
          `more than ${opts.requestsPerMinute} requests in a minute (this one counts ${weight})`,
          { "retry-after": String(wait) },
        );
      }
      recent.push({ at: now, weight });
    }
    const fault = faults.roll(writes);
    if (fault === "429") {
      stats.throttled++;
      return fail(res, 429, "Application_TooManyRequests", "Too many requests", {
        "retry-after": String(faults.retryAfterS),
      });
    }
    if (fault === "5xx")
      return fail(res, 503, "ServiceUnavailable", "Service Unavailable", { "retry-after": "1" });
    if (opts.delayMs) await new Promise((ok) => setTimeout(ok, opts.delayMs));
    if (fault === "drop") {
      // The write is applied; its answer is lost with the connection.
      const { res: sink } = capture();
      await handle(req, sink, raw);
      return dropConnection(req, res);
    }
    await handle(req, res, raw);
  });
  await new Promise<void>((ok) => server.listen(opts.port ?? 0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  base = url;
  return {
    url,
    apiUrl: `${url}/v2.0/${tenantId}/${environment}`,
    tokenUrl: `${url}/${tenantId}/oauth2/v2.0/token`,
    tenantId,
    environment,
    clientId,
    clientSecret,
    companyId: data.companyId,
    data,
    digest,
    faults,
    stats,
    checked,
    violations,
    bodies,
    webhooks,
    expireTokens: () => tokens.clear(),
    close: () =>
      new Promise<void>((ok) => {
        webhooks.stop();
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

function pick(row: Row, fields: string[]): Row {
  return Object.fromEntries(fields.filter((f) => f in row).map((f) => [f, row[f]]));
}
