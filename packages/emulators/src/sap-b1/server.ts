/**
 * An SAP Business One 10 Service Layer (`/b1s/v2/`, OData v4) from memory, held to the Service Layer's own
 * `$metadata` document (metadata.ts). Every request is checked before a handler runs — the entity set, the
 * key's literal, the query options (`$filter`, `$orderby`, `$select` name only properties the type
 * declares), the body (every property declared, of its EDM type) — and refused with a 400 naming what broke;
 * every answer is checked before it is sent, and a broken one is recorded in `violations`, which the tests
 * require to stay empty. `checked` counts the operations exercised.
 *
 * Sessions as Service Layer keeps them: `POST /b1s/v2/Login` with CompanyDB, UserName and Password answers
 * the session (SessionId, Version, SessionTimeout in minutes) and sets the B1SESSION and ROUTEID cookies;
 * every other call needs a live B1SESSION (401 otherwise); a session unused for SessionTimeout minutes
 * expires; `POST Logout` ends it. Collections page as Service Layer pages: `Prefer: odata.maxpagesize=N`
 * (default 20), answered with `Preference-Applied` and an `@odata.nextLink` relative to the service root.
 * `POST /b1s/v2/$batch` runs each part through the same handler and checks (batch() below).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import {
  BatchRequestError,
  type BatchResult,
  type InnerRequest,
  parseBatchRequest,
  writeBatchAnswer,
} from "../odata-batch.ts";
import { FaultInjector, type FaultOptions } from "../odoo/faults.ts";
import { B1Error, DOCUMENT_SETS, type DocumentSet, notFound, type Row, SapB1Data } from "./data.ts";
import { compareValues, matches, parseFilter, parseOrderBy, parseSelect, QueryError } from "./filter.ts";
import { type EdmStructuredType, type SapB1Metadata, sapB1Metadata } from "./metadata.ts";

export const SERVICE_ROOT = "/b1s/v2";
/** Service Layer's default page size when the client asks for none. */
export const DEFAULT_PAGE_SIZE = 20;

export interface SapB1EmulatorOptions {
  port?: number;
  companyDB?: string;
  username?: string;
  password?: string;
  /** Minutes a session lives unused (Service Layer's default is 30). */
  sessionTimeoutMin?: number;
  items?: number;
  customers?: number;
  seed?: number;
  faults?: FaultOptions;
}

export interface SapB1Emulator {
  url: string;
  companyDB: string;
  username: string;
  password: string;
  data: SapB1Data;
  metadata: SapB1Metadata;
  faults: FaultInjector;
  stats: { requests: number; writes: number; logins: number };
  /** Operations answered (`GET Items`, `POST Login`, `POST Orders/Cancel`), with how many times. */
  checked: Map<string, number>;
  /** Every request or answer that broke the $metadata document. */
  violations: string[];
  /** Every request body received, for tests that check what a connector sent (the password included). */
  bodies: string[];
  /** Ends every session now, as an expiry or a Service Layer restart does. */
  expireSessions(): void;
  /**
   * The next `n` `$batch` requests that carry a change set are applied in full and then their connection is
   * dropped before any answer is sent: the lost answer a client cannot tell from a batch that never arrived.
   */
  dropBatchAnswers(n: number): void;
  /**
   * One-shot faults of single parts of a `$batch`: the first part whose method and path match is answered
   * with `status` (a 429 with Retry-After, or a 5xx) instead of running, and the fault is used up.
   */
  partFaults: { method: string; path: RegExp; status: number }[];
  close(): Promise<void>;
}

/** The emulator's credentials, as environment variables for a passerelle.yaml. */
export function sapB1EmulatorEnv(
  emu: Pick<SapB1Emulator, "url" | "companyDB" | "username" | "password">,
): Record<string, string> {
  return {
    SAPB1_URL: emu.url,
    SAPB1_COMPANY_DB: emu.companyDB,
    SAPB1_USERNAME: emu.username,
    SAPB1_PASSWORD: emu.password,
  };
}

const KNOWN_OPTIONS = new Set(["$filter", "$orderby", "$select", "$top", "$skip", "$count"]);
const PATH = /^\/b1s\/v2\/([A-Za-z0-9_]+)(?:\(([^)]*)\))?(?:\/([A-Za-z0-9_]+))?$/;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A request as the handlers see it: one sent on its own, or one taken out of a `$batch`. */
interface Incoming {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
}

/** Where a handler writes its answer: the HTTP response, or a batch part being collected. */
interface Outgoing {
  writeHead(status: number, headers?: Record<string, string | string[]>): unknown;
  end(body?: string): unknown;
}

function cookies(req: Incoming): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of String(req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

/**
 * A key literal as OData v4 writes it: 'text' for a string key, digits for an integer one, bare or named
 * (`Items('A1')`, `Items(ItemCode='A1')`).
 */
function parseKey(type: EdmStructuredType, given: string): string | number {
  const keyProp = type.properties.get(type.key[0] ?? "");
  if (!keyProp || type.key.length !== 1) throw new QueryError(`${type.name} has no single key`);
  const named = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(given);
  if (named && named[1] !== keyProp.name) {
    throw new QueryError(`the key of ${type.name} is ${keyProp.name}, not ${named[1]}`);
  }
  const raw = named ? (named[2] as string) : given;
  if (keyProp.type === "Edm.String") {
    const m = /^'((?:[^']|'')*)'$/.exec(raw);
    if (!m) throw new QueryError(`the key ${keyProp.name} is Edm.String and must be quoted, got ${raw}`);
    return (m[1] as string).replace(/''/g, "'");
  }
  if (!/^\d+$/.test(raw)) throw new QueryError(`the key ${keyProp.name} is ${keyProp.type}, got ${raw}`);
  return Number(raw);
}

export async function startSapB1Emulator(opts: SapB1EmulatorOptions = {}): Promise<SapB1Emulator> {
  const md = sapB1Metadata();
  const data = new SapB1Data();
  data.seed(opts.items ?? 0, opts.customers ?? 0, opts.seed ?? 1);
  const companyDB = opts.companyDB ?? "SBODEMOFR";
  const username = opts.username ?? "manager";
  const password = opts.password ?? "b1-emulator-password";
  const timeoutMin = opts.sessionTimeoutMin ?? 30;
  const faults = new FaultInjector(opts.faults ?? {});
  const checked = new Map<string, number>();
  const violations: string[] = [];
  const bodies: string[] = [];
  const stats = { requests: 0, writes: 0, logins: 0 };
  /** Session id → last use (ms). */
  const sessions = new Map<string, number>();
  const sessionType = md.types.get("SAPB1.B1Session") as EdmStructuredType;

  let dropAnswers = 0;
  const partFaults: SapB1Emulator["partFaults"] = [];
  const send = (
    res: Outgoing,
    status: number,
    body: unknown,
    check?: { type: EdmStructuredType; many: boolean; what: string },
    headers: Record<string, string | string[]> = {},
  ) => {
    if (check && status < 300 && body !== undefined) {
      const rows = check.many ? ((body as { value: unknown[] }).value ?? []) : [body];
      rows.forEach((r, i) => {
        for (const v of md.checkObject(`${check.what} answer${check.many ? `[${i}]` : ""}`, check.type, r)) {
          violations.push(`answer: ${v}`);
        }
      });
    }
    res.writeHead(status, {
      ...(body === undefined
        ? {}
        : { "content-type": "application/json;odata.metadata=minimal;charset=utf-8" }),
      "odata-version": "4.0",
      ...headers,
    });
    res.end(body === undefined ? "" : JSON.stringify(body));
  };
  const fail = (res: Outgoing, status: number, code: string, message: string) =>
    send(res, status, { error: { code, message } });
  const refuse = (res: Outgoing, what: string, problems: string[]) => {
    for (const p of problems) violations.push(`request: ${what}: ${p}`);
    fail(res, 400, "-1000", `${what}: ${problems.join("; ")}`);
  };

  const handle = async (req: Incoming, res: Outgoing, inner = false): Promise<void> => {
    if (!inner) stats.requests++;
    const url = new URL(req.url, "http://localhost");
    const method = req.method.toUpperCase();
    const raw = req.raw;
    bodies.push(raw);
    const fault = faults.roll(method !== "GET");
    if (fault === "429") {
      res.writeHead(429, { "content-type": "application/json", "retry-after": String(faults.retryAfterS) });
      res.end(JSON.stringify({ error: { code: "429", message: "Too many requests" } }));
      return;
    }
    if (fault === "5xx") {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
      res.end(JSON.stringify({ error: { code: "503", message: "Service Unavailable" } }));
      return;
    }
    if (!inner && url.pathname === `${SERVICE_ROOT}/$batch`) return batch(req, res);
    const m = PATH.exec(url.pathname);
    if (!m)
      return refuse(res, `${method} ${url.pathname}`, ["not a path of the Service Layer (/b1s/v2/<set>)"]);
    const [, name, keyRaw, action] = m as unknown as [string, string, string | undefined, string | undefined];
    let body: unknown;
    if (raw.trim() !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        return refuse(res, `${method} ${name}`, ["the body is not JSON"]);
      }
    }

    // Login and Logout: unbound actions of the document.
    const unbound = keyRaw === undefined && action === undefined ? md.unboundAction(name) : null;
    if (unbound) {
      const op = `POST ${name}`;
      checked.set(op, (checked.get(op) ?? 0) + 1);
      if (method !== "POST") return refuse(res, op, [`${name} is an action: POST only`]);
      const params = (body ?? {}) as Row;
      const problems = Object.entries(params).flatMap(([k, v]) => {
        const p = unbound.parameters.get(k);
        return p ? md.checkValue(`${name}.${k}`, p, v) : [`${name} has no parameter ${k}`];
      });
      if (problems.length > 0) return refuse(res, op, problems);
      if (name === "Login") {
        if (params.CompanyDB !== companyDB || params.UserName !== username || params.Password !== password) {
          return fail(res, 401, "100000027", "Login failed");
        }
        stats.logins++;
        const id = randomUUID();
        sessions.set(id, Date.now());
        const session = {
          "@odata.context": "$metadata#B1Sessions/$entity",
          SessionId: id,
          Version: "1000231",
          SessionTimeout: timeoutMin,
        };
        return send(
          res,
          200,
          session,
          { type: sessionType, many: false, what: op },
          {
            "set-cookie": [`B1SESSION=${id}; path=/b1s; HttpOnly`, "ROUTEID=.node1; path=/b1s"],
          },
        );
      }
      if (name === "Logout") {
        const id = cookies(req).get("B1SESSION");
        if (id) sessions.delete(id);
        return send(res, 204, undefined);
      }
      return refuse(res, op, [`the emulator does not serve the action ${name}`]);
    }

    const type = md.typeOfSet(name);
    if (!type) return refuse(res, `${method} ${name}`, [`the document has no entity set ${name}`]);
    const op = `${method} ${name}${keyRaw !== undefined ? "(key)" : ""}${action ? `/${action}` : ""}`;
    checked.set(op, (checked.get(op) ?? 0) + 1);

    // Request checks against the document, before the session (as a gateway in front would).
    let key: string | number | undefined;
    const problems: string[] = [];
    try {
      if (keyRaw !== undefined) key = parseKey(type, decodeURIComponent(keyRaw));
    } catch (e) {
      problems.push((e as Error).message);
    }
    for (const k of url.searchParams.keys()) {
      if (!KNOWN_OPTIONS.has(k)) problems.push(`unknown query option ${k}`);
    }
    let bound = null;
    if (action !== undefined) {
      bound = md.boundAction(action, type.name);
      if (!bound) problems.push(`${type.name} has no bound action ${action}`);
      if (method !== "POST") problems.push(`${action} is an action: POST only`);
      if (key === undefined) problems.push(`${action} is bound to one entity: give its key`);
    } else if ((method === "PATCH" || method === "DELETE") && key === undefined) {
      problems.push(`${method} needs the entity's key`);
    } else if (method === "POST" && key !== undefined) {
      problems.push("POST creates in the collection, not on one entity");
    }
    if ((method === "POST" && action === undefined) || method === "PATCH") {
      if (body === undefined) problems.push("the request has no body");
      else problems.push(...md.checkObject(`${name} body`, type, body));
    }
    if (problems.length > 0) return refuse(res, op, problems);

    if (!liveSession(req)) return fail(res, 401, "301", "Invalid session or session already timeout.");

    const docSet = DOCUMENT_SETS.includes(name as DocumentSet) ? (name as DocumentSet) : null;
    const table = (): Map<string | number, Row> | null =>
      name === "Items"
        ? data.items
        : name === "BusinessPartners"
          ? data.partners
          : name === "PriceLists"
            ? data.priceLists
            : name === "BusinessPartnerGroups"
              ? data.groups
              : docSet
                ? data.documents[docSet]
                : null;
    const rows = table();
    if (!rows) return fail(res, 501, "-1", `the emulator does not serve ${name}`);
    const answer = { type, many: false, what: op };
    try {
      if (method === "GET" && key === undefined) {
        return listCollection(res, url, rows, type, name);
      }
      if (method === "GET") {
        const row = rows.get(key as never);
        if (!row) throw notFound();
        const select = url.searchParams.get("$select");
        return send(res, 200, select ? pick(row, parseSelect(type, select)) : row, answer);
      }
      if (action === "Cancel" && docSet) {
        data.cancel(docSet, key as number);
        stats.writes++;
        return send(res, 204, undefined);
      }
      if (method === "POST") {
        const b = body as Row;
        const created =
          name === "Items"
            ? data.addItem(b)
            : name === "BusinessPartners"
              ? data.addPartner(b)
              : docSet
                ? data.addDocument(docSet, b)
                : null;
        if (!created) return fail(res, 501, "-1", `the emulator does not create ${name}`);
        stats.writes++;
        return send(res, 201, created, answer);
      }
      if (method === "PATCH") {
        const b = body as Row;
        if (name === "Items") data.patchItem(key as string, b);
        else if (name === "BusinessPartners") data.patchPartner(key as string, b);
        else if (docSet) data.patchDocument(docSet, key as number, b);
        else return fail(res, 501, "-1", `the emulator does not update ${name}`);
        stats.writes++;
        return send(res, 204, undefined);
      }
      return fail(res, 405, "-1", `${method} is not served on ${name}`);
    } catch (e) {
      if (e instanceof QueryError) return refuse(res, op, [e.message]);
      if (e instanceof B1Error) return fail(res, e.status, e.code, e.message);
      return fail(res, 500, "-1", e instanceof Error ? e.message : String(e));
    }

    function listCollection(
      res: Outgoing,
      url: URL,
      rows: Map<string | number, Row>,
      type: EdmStructuredType,
      name: string,
    ) {
      const q = url.searchParams;
      const filter = q.get("$filter");
      const orderby = q.get("$orderby");
      const select = q.get("$select");
      const top = q.get("$top");
      const skip = q.get("$skip") ?? "0";
      for (const [k, v] of [
        ["$top", top],
        ["$skip", skip],
      ] as const) {
        if (v !== null && !/^\d+$/.test(v))
          throw new QueryError(`${k} must be a non-negative integer, got ${v}`);
      }
      const node = filter ? parseFilter(md, type, filter) : null;
      const order = orderby
        ? parseOrderBy(type, orderby)
        : type.key.map((k) => ({ prop: type.properties.get(k)!, desc: false }));
      const fields = select ? parseSelect(type, select) : null;
      let all = [...rows.values()].filter((r) => !node || matches(node, r));
      all.sort((a, b) => {
        for (const o of order) {
          const c = compareValues(o.prop.type, a[o.prop.name], b[o.prop.name]);
          if (c !== 0) return o.desc ? -c : c;
        }
        return 0;
      });
      if (top !== null) all = all.slice(0, Number(skip) + Number(top));
      const prefer = /odata\.maxpagesize=(\d+)/.exec(String(req.headers.prefer ?? ""));
      const pageSize = prefer ? Math.max(1, Number(prefer[1])) : DEFAULT_PAGE_SIZE;
      const start = Number(skip);
      const page = all.slice(start, start + pageSize);
      const out: Record<string, unknown> = {
        "@odata.context": `$metadata#${name}`,
        value: page.map((r) => (fields ? pick(r, fields) : r)),
      };
      if (start + pageSize < all.length) {
        // Written as Service Layer writes it: option names bare, values escaped.
        const next = [...q.entries()].filter(([k]) => k !== "$skip");
        next.push(["$skip", String(start + pageSize)]);
        out["@odata.nextLink"] = `${name}?${next.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`;
      }
      send(
        res,
        200,
        out,
        { type, many: true, what: `GET ${name}` },
        prefer ? { "preference-applied": `odata.maxpagesize=${pageSize}` } : {},
      );
    }
  };

  /** Whether the request's B1SESSION is live; a live one is kept alive by the use. */
  function liveSession(req: Incoming): boolean {
    const sid = cookies(req).get("B1SESSION");
    const last = sid ? sessions.get(sid) : undefined;
    if (!sid || last === undefined || Date.now() - last > timeoutMin * 60_000) {
      if (sid) sessions.delete(sid);
      return false;
    }
    sessions.set(sid, Date.now());
    return true;
  }

  /** One request of a batch through the same handler, and so the same checks, as a call of its own. */
  async function dispatch(
    outer: Incoming,
    r: InnerRequest,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    // Service Layer takes a part's URL from the server root (/b1s/v2/Orders), relative to the service
    // root (Orders), or absolute; the part runs on the batch's session.
    const path = /^https?:\/\//i.test(r.url)
      ? (() => {
          const u = new URL(r.url);
          return `${u.pathname}${u.search}`;
        })()
      : r.url.startsWith(`${SERVICE_ROOT}/`)
        ? r.url
        : `${SERVICE_ROOT}/${r.url.replace(/^\//, "")}`;
    const answer = { status: 0, headers: {} as Record<string, string>, body: "" };
    const fault = partFaults.findIndex((f) => f.method === r.method && f.path.test(path));
    if (fault >= 0) {
      const { status } = partFaults.splice(fault, 1)[0] as { status: number };
      answer.status = status;
      answer.headers = {
        "content-type": "application/json",
        ...(status === 429 ? { "retry-after": "1" } : {}),
      };
      answer.body = JSON.stringify({
        error: {
          code: String(status),
          message: status === 429 ? "Too many requests" : "Service Unavailable",
        },
      });
      return answer;
    }
    await handle(
      { method: r.method, url: path, headers: { ...r.headers, cookie: outer.headers.cookie }, raw: r.body },
      {
        writeHead(status, headers = {}) {
          answer.status = status;
          for (const [k, v] of Object.entries(headers))
            answer.headers[k] = Array.isArray(v) ? v.join(", ") : v;
        },
        end(body = "") {
          answer.body = body;
        },
      },
      true,
    );
    return answer;
  }

  /**
   * `POST /b1s/v2/$batch` (OData v4 §11.7; SAP Learning, "Performing Batch Operations in Service Layer
   * API"): the parts run in order on the batch's session, each checked as a call of its own; a change set is
   * applied all or none. Without `Prefer: odata.continue-on-error` the batch stops at the first failed part
   * (OData v4 §8.2.8.3); with it, every part runs.
   */
  async function batch(req: Incoming, res: Outgoing & { destroy?: () => void }): Promise<void> {
    const op = "POST $batch";
    checked.set(op, (checked.get(op) ?? 0) + 1);
    if (req.method.toUpperCase() !== "POST") return refuse(res, op, ["$batch is POST only"]);
    let items: ReturnType<typeof parseBatchRequest>;
    try {
      const type = req.headers["content-type"];
      items = parseBatchRequest(Array.isArray(type) ? type[0] : type, req.raw, "v4");
    } catch (e) {
      if (e instanceof BatchRequestError) return refuse(res, op, [e.message]);
      throw e;
    }
    if (!liveSession(req)) return fail(res, 401, "301", "Invalid session or session already timeout.");
    const goOn = /\bodata\.continue-on-error\b(?!\s*=\s*false)/.test(String(req.headers.prefer ?? ""));
    const results: BatchResult[] = [];
    for (const item of items) {
      if (item.kind === "request") {
        const response = await dispatch(req, item.request);
        results.push({ kind: "request", response });
        if (response.status >= 400 && !goOn) break;
        continue;
      }
      const restore = data.snapshot();
      const writes = stats.writes;
      const responses: { contentId: string | undefined; response: Awaited<ReturnType<typeof dispatch>> }[] =
        [];
      let failed = false;
      for (const r of item.requests) {
        const response = await dispatch(req, r);
        if (response.status >= 400) {
          // The change set is one unit of work: what its earlier requests applied is undone.
          restore();
          stats.writes = writes;
          results.push({ kind: "failed-changeset", contentId: r.contentId, response });
          failed = true;
          break;
        }
        responses.push({ contentId: r.contentId, response });
      }
      if (!failed) results.push({ kind: "changeset", responses });
      else if (!goOn) break;
    }
    if (dropAnswers > 0 && res.destroy && items.some((i) => i.kind === "changeset")) {
      dropAnswers--;
      res.destroy();
      return;
    }
    const out = writeBatchAnswer(results);
    res.writeHead(200, {
      "content-type": out.contentType,
      "odata-version": "4.0",
      ...(goOn ? { "preference-applied": "odata.continue-on-error" } : {}),
    });
    res.end(out.body);
  }

  const server = createServer(async (req: IncomingMessage, res) => {
    const raw = await readBody(req);
    await handle({ method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, raw }, res);
  });
  await new Promise<void>((ok) => server.listen(opts.port ?? 0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    companyDB,
    username,
    password,
    data,
    metadata: md,
    faults,
    stats,
    checked,
    violations,
    bodies,
    expireSessions: () => sessions.clear(),
    dropBatchAnswers: (n) => {
      dropAnswers = n;
    },
    partFaults,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

function pick(row: Row, fields: string[]): Row {
  return Object.fromEntries(fields.filter((f) => f in row).map((f) => [f, row[f]]));
}

export { SERVICE_ROOT as SAP_B1_SERVICE_ROOT };
