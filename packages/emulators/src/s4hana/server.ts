/**
 * An SAP S/4HANA Cloud from memory, answering OData V2 services under /sap/opu/odata/sap/:
 * API_PRODUCT_SRV, API_BUSINESS_PARTNER and API_SALES_ORDER_SRV, each held to its own EDMX document
 * (metadata.ts), and API_OUTBOUND_DELIVERY_SRV, API_BILLING_DOCUMENT_SRV (with the function import GetPDF),
 * API_MATERIAL_STOCK_SRV and API_SLSPRICINGCONDITIONRECORD_SRV (all read only), held to SAP's generated VDM
 * packages of them (vdm.ts) when those are present. Every request is checked before a handler runs — the entity set, the key (every key field,
 * as a quoted literal), the query options (`$filter`, `$orderby`, `$select`, `$expand` name only what the
 * type declares: filterable, sortable, navigation), the body (declared properties in V2 JSON shapes,
 * sap:creatable / sap:updatable respected, navigation only as a deep insert), and the set's own
 * sap:creatable / sap:updatable — and refused with a 400 naming what broke; every answer is checked before it
 * is sent. Both kinds of breach are recorded in `violations`, which the tests require to stay empty;
 * `checked` counts the distinct operations exercised.
 *
 * Protocol as the SAP Gateway serves it: HTTP basic authentication (401 otherwise); a session cookie
 * (SAP_SESSIONID_<SID>_<client>) set on the first authenticated call; the CSRF rule — a GET carrying
 * `x-csrf-token: Fetch` answers a token tied to the session, and every POST, PUT, PATCH, MERGE or DELETE must
 * carry that token with the session's cookie, or is refused with 403, `x-csrf-token: Required` and the text
 * "CSRF token validation failed". Collections answer `{"d":{"results":[…]}}`, with `__count` when asked
 * `$inlinecount=allpages`, and page on the server: at most `maxPageSize` records, then `__next` with a
 * `$skiptoken`. `POST <service>/$batch` runs each part through the same handler and checks (batch() below).
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import {
  BatchRequestError,
  type BatchResult,
  type InnerRequest,
  type InnerResponse,
  parseBatchRequest,
  writeBatchAnswer,
} from "../odata-batch.ts";
import { FaultInjector, type FaultOptions } from "../odoo/faults.ts";
import { type Row, S4Data, S4Error } from "./data.ts";
import { S4Documents } from "./documents.ts";
import { S4_SERVICES, type S4ServiceName, s4Service, type V2EntityType, type V2Service } from "./metadata.ts";
import {
  compare,
  matches,
  parseExpand,
  parseFilter,
  parseOrderBy,
  parseSelect,
  QueryError,
} from "./query.ts";
import { S4StockPricing } from "./stock-pricing.ts";
import { S4_VDM_SERVICE_NAMES, s4VdmPath, s4VdmService, V2VdmService } from "./vdm.ts";

export const S4_ROOT = "/sap/opu/odata/sap";
export const S4_DEFAULT_PAGE_SIZE = 50;

export interface S4EmulatorOptions {
  port?: number;
  username?: string;
  password?: string;
  products?: number;
  partners?: number;
  seed?: number;
  /** Records the server answers per page at most, whatever $top says (then __next). */
  maxPageSize?: number;
  faults?: FaultOptions;
}

export interface S4Emulator {
  url: string;
  username: string;
  password: string;
  data: S4Data;
  /** Deliveries and billing documents (served when the VDM packages are present: `vdm` true). */
  documents: S4Documents;
  /** Material stock and sales pricing condition records (served when `vdm` is true), seeded per product. */
  stockPricing: S4StockPricing;
  vdm: boolean;
  faults: FaultInjector;
  stats: { requests: number; writes: number; csrfFetches: number; csrfRefusals: number };
  /** Operations answered (`API_SALES_ORDER_SRV POST A_SalesOrder`), with how many times. */
  checked: Map<string, number>;
  violations: string[];
  /** Every request's headers and body, for tests that check what a connector sent. */
  requests: {
    method: string;
    path: string;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }[];
  /** Forgets every CSRF token, as a Gateway restart or a token's end of life does. */
  expireCsrfTokens(): void;
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

export function s4EmulatorEnv(
  emu: Pick<S4Emulator, "url" | "username" | "password">,
): Record<string, string> {
  return { S4HANA_URL: emu.url, S4HANA_USERNAME: emu.username, S4HANA_PASSWORD: emu.password };
}

const OPTIONS = new Set([
  "$filter",
  "$orderby",
  "$select",
  "$expand",
  "$top",
  "$skip",
  "$inlinecount",
  "$skiptoken",
  "$format",
  "sap-client",
  "sap-language",
]);
const WRITES = new Set(["POST", "PUT", "PATCH", "MERGE", "DELETE"]);
const PATH = /^\/sap\/opu\/odata\/sap\/([A-Z_]+)\/([A-Za-z0-9_$]+)(?:\(([^)]*)\))?(?:\/([A-Za-z0-9_]+))?\/?$/;
const COOKIE = "SAP_SESSIONID_S4E_100";

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
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
  destroy?(): unknown;
}

function cookies(req: Incoming): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of String(req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

/** `'A'` or `K1='A',K2='B'`: every key field of the type, each an Edm.String literal. */
function parseKey(type: V2EntityType, raw: string): Record<string, string> {
  const parts = raw.match(/(?:[^,']|'(?:[^']|'')*')+/g) ?? [];
  const out: Record<string, string> = {};
  for (const part of parts) {
    const m = /^(?:([A-Za-z0-9_]+)=)?'((?:[^']|'')*)'$/.exec(part.trim());
    if (!m) throw new QueryError(`key ${JSON.stringify(part)} is not a quoted Edm.String literal`);
    const name = m[1] ?? (type.key.length === 1 && parts.length === 1 ? type.key[0] : undefined);
    if (!name || !type.key.includes(name))
      throw new QueryError(
        `${m[1] ?? "(unnamed)"} is not a key field of ${type.name} (${type.key.join(", ")})`,
      );
    const p = type.properties.get(name);
    if (p?.type !== "Edm.String") throw new QueryError(`key field ${name} is ${p?.type}`);
    out[name] = (m[2] as string).replace(/''/g, "'");
  }
  const missing = type.key.filter((k) => !(k in out));
  if (missing.length > 0) throw new QueryError(`the key of ${type.name} needs ${missing.join(", ")}`);
  return out;
}

export async function startS4Emulator(opts: S4EmulatorOptions = {}): Promise<S4Emulator> {
  const services = new Map<string, V2Service>(S4_SERVICES.map((s) => [s, s4Service(s)]));
  // Served when the packages are there; a test that needs them and finds them missing fails on its own.
  const vdm = S4_VDM_SERVICE_NAMES.every((s) => existsSync(s4VdmPath(s)));
  if (vdm) for (const s of S4_VDM_SERVICE_NAMES) services.set(s, s4VdmService(s));
  const data = new S4Data();
  const documents = new S4Documents(data);
  data.seed(opts.products ?? 0, opts.partners ?? 0, opts.seed ?? 1);
  const stockPricing = new S4StockPricing(data);
  stockPricing.seed();
  const username = opts.username ?? "PASSERELLE_COMM_USER";
  const password = opts.password ?? "s4-emulator-password";
  const maxPage = opts.maxPageSize ?? S4_DEFAULT_PAGE_SIZE;
  const faults = new FaultInjector(opts.faults ?? {});
  const checked = new Map<string, number>();
  const violations: string[] = [];
  const requests: S4Emulator["requests"] = [];
  const stats = { requests: 0, writes: 0, csrfFetches: 0, csrfRefusals: 0 };
  /** Session id → its CSRF token (null until fetched). */
  const sessions = new Map<string, string | null>();

  /** The rows of an entity set, flat. */
  const table = (service: string, set: string): Row[] | null => {
    const key = `${service}/${set}`;
    switch (key) {
      case "API_PRODUCT_SRV/A_Product":
        return [...data.products.values()];
      case "API_PRODUCT_SRV/A_ProductDescription":
        return [...data.products.values()].flatMap((p) => p._nav?.to_Description as Row[]);
      case "API_BUSINESS_PARTNER/A_BusinessPartner":
        return [...data.partners.values()];
      case "API_BUSINESS_PARTNER/A_BusinessPartnerAddress":
        return data.addresses();
      case "API_BUSINESS_PARTNER/A_AddressEmailAddress":
        return data.emails();
      case "API_BUSINESS_PARTNER/A_Customer":
        return [...data.partners.values()]
          .map((p) => p._nav?.to_Customer as Row | null)
          .filter((c): c is Row => !!c);
      case "API_SALES_ORDER_SRV/A_SalesOrder":
        return [...data.orders.values()];
      case "API_SALES_ORDER_SRV/A_SalesOrderItem":
        return data.items();
      case "API_OUTBOUND_DELIVERY_SRV/A_OutbDeliveryHeader":
        return [...documents.deliveries.values()];
      case "API_OUTBOUND_DELIVERY_SRV/A_OutbDeliveryItem":
        return documents.deliveryItems();
      case "API_BILLING_DOCUMENT_SRV/A_BillingDocument":
        return [...documents.billing.values()];
      case "API_BILLING_DOCUMENT_SRV/A_BillingDocumentItem":
        return documents.billingItems();
      case "API_MATERIAL_STOCK_SRV/A_MaterialStock":
        return stockPricing.materialStock();
      case "API_MATERIAL_STOCK_SRV/A_MatlStkInAcctMod":
        return stockPricing.stockLines();
      case "API_SLSPRICINGCONDITIONRECORD_SRV/A_SlsPrcgConditionRecord":
        return [...stockPricing.records.values()];
      case "API_SLSPRICINGCONDITIONRECORD_SRV/A_SlsPrcgCndnRecdValidity":
        return stockPricing.validities();
      default:
        return null;
    }
  };

  let dropAnswers = 0;
  const partFaults: S4Emulator["partFaults"] = [];

  /**
   * One request. `inner` is the session of the `$batch` a request was taken out of: such a request is
   * authenticated by its batch and needs no CSRF token of its own (the batch's POST carried it).
   */
  const handle = async (req: Incoming, res: Outgoing, inner?: string): Promise<void> => {
    if (inner === undefined) stats.requests++;
    const url = new URL(req.url, "http://localhost");
    const method = req.method.toUpperCase();
    const raw = req.raw;
    requests.push({ method, path: url.pathname + url.search, headers: req.headers, body: raw });
    const base = `http://${req.headers.host ?? "localhost"}`;
    const headers: Record<string, string | string[]> = { dataserviceversion: "2.0" };
    const sendJson = (status: number, body: unknown) => {
      res.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, code: string, message: string) =>
      sendJson(status, { error: { code, message: { lang: "en", value: message } } });
    const refuse = (what: string, problems: string[]) => {
      for (const p of problems) violations.push(`request: ${what}: ${p}`);
      error(400, "/IWBEP/CM_MGW_RT/000", `${what}: ${problems.join("; ")}`);
    };

    const fault = faults.roll(method !== "GET");
    if (fault === "429") {
      res.writeHead(429, { "content-type": "text/plain", "retry-after": String(faults.retryAfterS) });
      res.end("Too Many Requests");
      return;
    }
    if (fault === "5xx") {
      res.writeHead(503, { "content-type": "text/plain", "retry-after": "1" });
      res.end("Service Unavailable");
      return;
    }

    // Authentication: basic, or the session cookie an earlier authenticated call set.
    const jar = cookies(req);
    let sid = inner ?? jar.get(COOKIE);
    if (sid && !sessions.has(sid)) sid = undefined;
    const auth = inner === undefined ? String(req.headers.authorization ?? "") : "";
    if (auth.startsWith("Basic ")) {
      const [u, ...p] = Buffer.from(auth.slice(6), "base64").toString("utf8").split(":");
      if (u !== username || p.join(":") !== password) {
        res.writeHead(401, {
          "www-authenticate": 'Basic realm="SAP NetWeaver Application Server [S4E/100]"',
        });
        res.end("Logon failed");
        return;
      }
    } else if (!sid) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="SAP NetWeaver Application Server [S4E/100]"' });
      res.end("Logon failed");
      return;
    }
    if (!sid) {
      sid = randomUUID().replace(/-/g, "");
      sessions.set(sid, null);
      headers["set-cookie"] = [
        `${COOKIE}=${sid}; path=/; HttpOnly`,
        "sap-usercontext=sap-client=100; path=/",
      ];
    }

    const root = /^\/sap\/opu\/odata\/sap\/([A-Z_]+)\/?$/.exec(url.pathname);
    if (root && services.has(root[1] as string)) {
      // The service document: where a client fetches its CSRF token without reading data.
      const op = `${root[1]} ${method} (service document)`;
      checked.set(op, (checked.get(op) ?? 0) + 1);
      if (
        (method === "GET" || method === "HEAD") &&
        String(req.headers["x-csrf-token"] ?? "").toLowerCase() === "fetch"
      ) {
        let token = sessions.get(sid) ?? null;
        if (!token) {
          token = randomUUID().replace(/-/g, "").slice(0, 24);
          sessions.set(sid, token);
        }
        stats.csrfFetches++;
        headers["x-csrf-token"] = token;
      }
      if (method !== "GET" && method !== "HEAD") return refuse(op, [`${method} on the service document`]);
      if (method === "HEAD") {
        res.writeHead(200, headers);
        res.end();
        return;
      }
      return sendJson(200, { d: { EntitySets: [...(services.get(root[1] as string)?.sets.keys() ?? [])] } });
    }
    const m = PATH.exec(url.pathname);
    if (!m)
      return refuse(`${method} ${url.pathname}`, [
        "not a path of the services (/sap/opu/odata/sap/<service>/<set>)",
      ]);
    const [, svcName, setName, keyRaw, nav] = m as unknown as [
      string,
      string,
      string,
      string | undefined,
      string | undefined,
    ];
    const svc = services.get(svcName);
    if (!svc)
      return refuse(`${method} ${svcName}`, [
        `the emulator serves ${[...services.keys()].join(", ")}, not ${svcName}`,
      ]);

    // CSRF: fetched on a GET; required on every change, with the session it was fetched in.
    if (
      (method === "GET" || method === "HEAD") &&
      String(req.headers["x-csrf-token"] ?? "").toLowerCase() === "fetch"
    ) {
      let token = sessions.get(sid) ?? null;
      if (!token) {
        token = randomUUID().replace(/-/g, "").slice(0, 24);
        sessions.set(sid, token);
      }
      stats.csrfFetches++;
      headers["x-csrf-token"] = token;
    }
    if (WRITES.has(method) && inner === undefined) {
      const token = sessions.get(sid);
      const given = req.headers["x-csrf-token"];
      if (!token || given !== token) {
        stats.csrfRefusals++;
        res.writeHead(403, { ...headers, "x-csrf-token": "Required", "content-type": "text/plain" });
        res.end("CSRF token validation failed");
        return;
      }
    }

    if (setName === "$batch" && inner === undefined) return batch(req, res, svcName, sid, headers);
    if (setName === "$metadata") {
      const op = `${svcName} GET $metadata`;
      checked.set(op, (checked.get(op) ?? 0) + 1);
      if (svc instanceof V2VdmService)
        return error(
          501,
          "EMULATOR",
          `the emulator holds no EDMX of ${svcName}, only SAP's VDM package of it`,
        );
      const { readFileSync } = await import("node:fs");
      const { s4SpecPath } = await import("./metadata.ts");
      res.writeHead(200, { ...headers, "content-type": "application/xml" });
      res.end(readFileSync(s4SpecPath(svcName as S4ServiceName), "utf8"));
      return;
    }

    const fn = svc instanceof V2VdmService ? svc.functions.get(setName) : undefined;
    if (fn && svc instanceof V2VdmService) {
      // A function import: its HTTP method, each declared parameter as a literal of its type, nothing else.
      const op = `${svcName} ${method} ${setName}`;
      checked.set(op, (checked.get(op) ?? 0) + 1);
      const problems: string[] = [];
      if (method !== fn.method) problems.push(`${setName} is called with ${fn.method}, not ${method}`);
      if (keyRaw !== undefined || nav !== undefined) problems.push(`${setName} takes no key or navigation`);
      const args: Record<string, string> = {};
      for (const [k, v] of url.searchParams) {
        const type = fn.parameters.get(k);
        if (type === undefined) {
          if (!["sap-client", "sap-language", "$format"].includes(k))
            problems.push(`${setName} has no parameter ${k}`);
          continue;
        }
        const m = /^'((?:[^']|'')*)'$/.exec(v);
        if (type !== "Edm.String" || !m) problems.push(`${k} must be an ${type} literal ('…'), got ${v}`);
        else args[k] = (m[1] as string).replace(/''/g, "'");
      }
      for (const k of fn.parameters.keys())
        if (!(k in args) && !problems.some((p) => p.startsWith(k)))
          problems.push(`${setName} needs the parameter ${k}`);
      if (problems.length > 0) return refuse(op, problems);
      try {
        if (setName !== "GetPDF") return error(501, "EMULATOR", `the emulator does not serve ${setName}`);
        const bytes = documents.pdf(args.BillingDocument as string);
        const result: Row = {
          __metadata: { type: fn.returns.name },
          BillingDocumentBinary: bytes.toString("base64"),
        };
        for (const [name, v] of Object.entries(result)) {
          if (name === "__metadata") continue;
          const p = fn.returns.properties.get(name);
          if (!p) violations.push(`answer: ${op}: ${fn.returns.name} has no property ${name}`);
          else for (const x of svc.checkValue(`${op} answer.${name}`, p, v)) violations.push(`answer: ${x}`);
        }
        // OData V2 JSON: a function import's complex result sits under the function's name.
        return sendJson(200, { d: { [setName]: result } });
      } catch (e) {
        if (e instanceof S4Error) return error(e.status, e.code, e.message);
        return error(500, "EMULATOR", e instanceof Error ? e.message : String(e));
      }
    }
    const set = svc.sets.get(setName);
    const type = svc.typeOfSet(setName);
    if (!set || !type)
      return refuse(`${method} ${svcName}/${setName}`, [`${svcName} has no entity set ${setName}`]);
    const op = `${svcName} ${method} ${setName}${keyRaw !== undefined ? "(key)" : ""}${nav ? `/${nav}` : ""}`;
    checked.set(op, (checked.get(op) ?? 0) + 1);

    const problems: string[] = [];
    let key: Record<string, string> | undefined;
    try {
      if (keyRaw !== undefined) key = parseKey(type, decodeURIComponent(keyRaw));
    } catch (e) {
      problems.push((e as Error).message);
    }
    for (const k of url.searchParams.keys()) if (!OPTIONS.has(k)) problems.push(`unknown query option ${k}`);
    if (nav !== undefined && !type.navigation.has(nav))
      problems.push(`${type.name} has no navigation property ${nav}`);
    let body: unknown;
    if (raw.trim() !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        problems.push("the body is not JSON");
      }
    }
    if (method === "POST") {
      if (key !== undefined || nav !== undefined) problems.push("POST creates in the collection");
      if (!set.creatable) problems.push(`${setName} is sap:creatable="false"`);
      if (body === undefined) problems.push("the request has no body");
      else problems.push(...svc.checkEntity(`${setName} body`, type, body, "create"));
    } else if (method === "PATCH" || method === "MERGE" || method === "PUT") {
      if (key === undefined) problems.push(`${method} needs the entity's key`);
      if (!set.updatable) problems.push(`${setName} is sap:updatable="false"`);
      if (body === undefined) problems.push("the request has no body");
      else {
        // A key field repeating the URL's key is accepted (clients send it); a different one is not.
        const given = { ...(body as Row) };
        for (const k of type.key) if (key && given[k] === key[k]) delete given[k];
        delete given.__metadata;
        body = given;
        problems.push(...svc.checkEntity(`${setName} body`, type, given, "update"));
      }
    } else if (method !== "GET" && method !== "HEAD") problems.push(`${method} is not served`);
    let node: ReturnType<typeof parseFilter> | null = null;
    let order: ReturnType<typeof parseOrderBy> = [];
    let select: string[] | null = null;
    let expand: string[][] = [];
    const q = url.searchParams;
    try {
      if (q.get("$filter")) node = parseFilter(type, q.get("$filter") as string);
      if (q.get("$orderby")) order = parseOrderBy(type, q.get("$orderby") as string);
      if (q.get("$select")) select = parseSelect(svc, type, q.get("$select") as string);
      if (q.get("$expand")) expand = parseExpand(svc, type, q.get("$expand") as string);
      for (const k of ["$top", "$skip", "$skiptoken"]) {
        const v = q.get(k);
        if (v !== null && !/^\d+$/.test(v))
          throw new QueryError(`${k} must be a non-negative integer, got ${v}`);
      }
      const ic = q.get("$inlinecount");
      if (ic !== null && ic !== "allpages" && ic !== "none")
        throw new QueryError(`$inlinecount must be allpages or none`);
    } catch (e) {
      problems.push((e as Error).message);
    }
    if (problems.length > 0) return refuse(op, problems);
    if (method === "HEAD") {
      // What a client asks to fetch a CSRF token (SAP's Cloud SDK does): the headers, no body.
      res.writeHead(200, headers);
      res.end();
      return;
    }

    /** One row as V2 JSON answers it: __metadata, properties, navigation deferred or expanded. */
    const shape = (
      t: V2EntityType,
      row: Row,
      paths: string[][],
      fields: string[] | null,
      setOf: string,
    ): Row => {
      // A key literal as V2 writes it: 'text', or datetime'…' for an Edm.DateTime key (a validity's end).
      const keyLit = (k: string) => {
        const v = row[k];
        const ms = typeof v === "string" ? /^\/Date\((-?\d+)\)\/$/.exec(v)?.[1] : undefined;
        return t.properties.get(k)?.type === "Edm.DateTime" && ms !== undefined
          ? `datetime'${encodeURIComponent(new Date(Number(ms)).toISOString().slice(0, 19))}'`
          : `'${encodeURIComponent(String(v ?? ""))}'`;
      };
      const keyText = t.key.map((k) => `${k}=${keyLit(k)}`).join(",");
      const uri = `${base}${S4_ROOT}/${svcName}/${setOf}(${t.key.length === 1 ? `'${encodeURIComponent(String(row[t.key[0] as string]))}'` : keyText})`;
      const out: Row = { __metadata: { id: uri, uri, type: t.name } };
      const direct = fields?.filter((f) => !f.includes("/"));
      for (const [name] of t.properties) {
        if (direct && !direct.includes(name) && !direct.includes("*")) continue;
        out[name] = row[name] ?? null;
      }
      for (const [name, n] of t.navigation) {
        const sub = paths.filter((p) => p[0] === name).map((p) => p.slice(1));
        if (sub.length === 0) {
          if (!direct) out[name] = { __deferred: { uri: `${uri}/${name}` } };
          continue;
        }
        const target = svc.type(n.target);
        const subFields = fields
          ? fields.filter((f) => f.startsWith(`${name}/`)).map((f) => f.slice(name.length + 1))
          : null;
        const targetSet = [...svc.sets.values()].find((s) => s.type === n.target)?.name ?? n.target;
        const held = row._nav?.[name];
        const nested = sub.filter((p) => p.length > 0);
        const sf = subFields && subFields.length > 0 ? subFields : null;
        out[name] = n.many
          ? { results: (Array.isArray(held) ? held : []).map((r) => shape(target, r, nested, sf, targetSet)) }
          : held && !Array.isArray(held)
            ? shape(target, held, nested, sf, targetSet)
            : null;
      }
      return out;
    };
    const answer = (status: number, d: unknown, many: boolean) => {
      const list = many ? (d as { results: unknown[] }).results : [d];
      list.forEach((r, i) => {
        for (const v of svc.checkEntity(`${op} answer${many ? `[${i}]` : ""}`, type, r, "answer"))
          violations.push(`answer: ${v}`);
      });
      sendJson(status, { d });
    };

    try {
      const rows = table(svcName, setName);
      if (!rows) return error(501, "EMULATOR", `the emulator does not serve ${svcName}/${setName}`);
      const find = () => {
        const row = rows.find((r) => type.key.every((k) => r[k] === key?.[k]));
        if (!row)
          throw new S4Error(
            404,
            "/IWBEP/CM_MGW_RT/020",
            `Resource not found for segment '${type.name.split(".").pop()}'`,
          );
        return row;
      };
      if (method === "GET" && key === undefined) {
        let all = rows.filter((r) => !node || matches(node, r));
        const by =
          order.length > 0 ? order : type.key.map((k) => ({ prop: type.properties.get(k)!, desc: false }));
        all.sort((a, b) => {
          for (const o of by) {
            const c = compare(o.prop.type, a[o.prop.name], b[o.prop.name]);
            if (c !== 0) return o.desc ? -c : c;
          }
          return 0;
        });
        const count = all.length;
        const skip = Number(q.get("$skip") ?? 0);
        const top = q.get("$top");
        all = all.slice(skip, top === null ? undefined : skip + Number(top));
        const token = Number(q.get("$skiptoken") ?? 0);
        const page = all.slice(token, token + maxPage);
        const d: Record<string, unknown> = {
          results: page.map((r) => shape(type, r, expand, select, setName)),
        };
        if (q.get("$inlinecount") === "allpages") d.__count = String(count);
        if (token + maxPage < all.length) {
          // Written as the Gateway writes it: option names bare, values escaped.
          const next = [...q.entries()].filter(([k]) => k !== "$inlinecount" && k !== "$skiptoken");
          next.push(["$skiptoken", String(token + maxPage)]);
          d.__next = `${base}${S4_ROOT}/${svcName}/${setName}?${next.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`;
        }
        return answer(200, d, true);
      }
      if (method === "GET") {
        const row = find();
        if (nav) {
          const n = type.navigation.get(nav)!;
          const target = svc.type(n.target);
          const held = row._nav?.[nav];
          const targetSet = [...svc.sets.values()].find((s) => s.type === n.target)?.name ?? n.target;
          const list = Array.isArray(held) ? held : held ? [held] : [];
          const out = list.map((r) => shape(target, r, [], null, targetSet));
          for (const [i, r] of out.entries())
            for (const v of svc.checkEntity(`${op} answer[${i}]`, target, r, "answer"))
              violations.push(`answer: ${v}`);
          return sendJson(200, { d: n.many ? { results: out } : (out[0] ?? null) });
        }
        return answer(200, shape(type, row, expand, select, setName), false);
      }
      const b = body as Row;
      if (method === "POST") {
        let created: Row;
        if (setName === "A_BusinessPartner") created = data.addPartner(b);
        else if (setName === "A_SalesOrder") created = data.addOrder(b);
        else return error(501, "EMULATOR", `the emulator does not create ${setName}`);
        stats.writes++;
        // A deep insert answers what it created, its navigation expanded as it was sent.
        const paths = Object.keys(b)
          .filter((k) => type.navigation.has(k))
          .map((k) => [k]);
        for (const [k, v] of Object.entries(b)) {
          const n = type.navigation.get(k);
          if (!n) continue;
          const inner = Array.isArray(v) ? v[0] : v;
          if (inner && typeof inner === "object")
            for (const k2 of Object.keys(inner))
              if (svc.type(n.target).navigation.has(k2)) paths.push([k, k2]);
        }
        return answer(201, shape(type, created, paths, null, setName), false);
      }
      // PATCH / MERGE / PUT
      if (setName === "A_BusinessPartner") data.patchPartner(key?.BusinessPartner as string, b);
      else if (setName === "A_BusinessPartnerAddress")
        data.patchAddress(key?.BusinessPartner as string, key?.AddressID as string, b);
      else if (setName === "A_SalesOrder") data.patchOrder(key?.SalesOrder as string, b);
      else if (setName === "A_SalesOrderItem")
        data.patchItem(key?.SalesOrder as string, key?.SalesOrderItem as string, b);
      else return error(501, "EMULATOR", `the emulator does not update ${setName}`);
      stats.writes++;
      res.writeHead(204, headers);
      res.end();
    } catch (e) {
      if (e instanceof QueryError) return refuse(op, [e.message]);
      if (e instanceof S4Error) return error(e.status, e.code, e.message);
      return error(500, "EMULATOR", e instanceof Error ? e.message : String(e));
    }
  };

  /** One request of a batch through the same handler, and so the same checks, as a call of its own. */
  async function dispatch(
    service: string,
    sid: string,
    host: string,
    r: InnerRequest,
  ): Promise<InnerResponse> {
    // The Gateway takes a part's URL relative to the batch's service root (A_SalesOrder?…), or as an
    // absolute path within that service.
    const path = r.url.startsWith("/") ? r.url : `${S4_ROOT}/${service}/${r.url}`;
    const answer: InnerResponse = { status: 0, headers: {}, body: "" };
    const fault = partFaults.findIndex((f) => f.method === r.method && f.path.test(path));
    if (fault >= 0) {
      const { status } = partFaults.splice(fault, 1)[0] as { status: number };
      answer.status = status;
      answer.headers = { "content-type": "text/plain", ...(status === 429 ? { "retry-after": "1" } : {}) };
      answer.body = status === 429 ? "Too Many Requests" : "Service Unavailable";
      return answer;
    }
    if (!path.startsWith(`${S4_ROOT}/${service}/`)) {
      const message = `a part of ${service}'s $batch addresses ${path}: a batch holds requests of its own service only`;
      violations.push(`request: POST ${service}/$batch: ${message}`);
      return {
        status: 400,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          error: { code: "/IWBEP/CM_MGW_RT/000", message: { lang: "en", value: message } },
        }),
      };
    }
    await handle(
      { method: r.method, url: path, headers: { ...r.headers, host }, raw: r.body },
      {
        writeHead(status, headers = {}) {
          answer.status = status;
          for (const [k, v] of Object.entries(headers)) {
            if (k === "set-cookie") continue;
            answer.headers[k] = Array.isArray(v) ? v.join(", ") : v;
          }
        },
        end(body = "") {
          answer.body = body;
        },
      },
      sid,
    );
    return answer;
  }

  /**
   * `POST <service>/$batch` (OData V2 batch processing, as SAP Gateway serves it: SAP Help "$batch
   * Processing"): authenticated and CSRF-checked as one change; its parts then run in order on that session,
   * each checked as a call of its own; a change set is applied all or none, and a failed one is answered by
   * its failed request's answer. The Gateway answers every part (202 Accepted), failed or not.
   */
  async function batch(
    req: Incoming,
    res: Outgoing,
    service: string,
    sid: string,
    headers: Record<string, string | string[]>,
  ): Promise<void> {
    const op = `${service} POST $batch`;
    checked.set(op, (checked.get(op) ?? 0) + 1);
    const refuse = (problem: string) => {
      violations.push(`request: ${op}: ${problem}`);
      res.writeHead(400, { ...headers, "content-type": "application/json; charset=utf-8" });
      res.end(
        JSON.stringify({
          error: { code: "/IWBEP/CM_MGW_RT/000", message: { lang: "en", value: `${op}: ${problem}` } },
        }),
      );
    };
    if (req.method.toUpperCase() === "HEAD") {
      // How SAP's Cloud SDK fetches the CSRF token for a batch: a HEAD of the batch's own URL.
      res.writeHead(200, headers);
      res.end();
      return;
    }
    if (req.method.toUpperCase() !== "POST") return refuse("$batch is POST only");
    let items: ReturnType<typeof parseBatchRequest>;
    try {
      const type = req.headers["content-type"];
      items = parseBatchRequest(Array.isArray(type) ? type[0] : type, req.raw, "v2");
    } catch (e) {
      if (e instanceof BatchRequestError) return refuse(e.message);
      throw e;
    }
    const host = String(req.headers.host ?? "localhost");
    const results: BatchResult[] = [];
    for (const item of items) {
      if (item.kind === "request") {
        if (item.request.method !== "GET") {
          return refuse("a change outside a change set (OData V2 puts every change in a change set)");
        }
        results.push({ kind: "request", response: await dispatch(service, sid, host, item.request) });
        continue;
      }
      const restore = data.snapshot();
      const writes = stats.writes;
      const responses: { contentId: string | undefined; response: InnerResponse }[] = [];
      let failed = false;
      for (const r of item.requests) {
        const response = await dispatch(service, sid, host, r);
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
    }
    if (dropAnswers > 0 && res.destroy && items.some((i) => i.kind === "changeset")) {
      dropAnswers--;
      res.destroy();
      return;
    }
    const out = writeBatchAnswer(results);
    res.writeHead(202, { ...headers, "content-type": out.contentType });
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
    username,
    password,
    data,
    documents,
    stockPricing,
    vdm,
    faults,
    stats,
    checked,
    violations,
    requests,
    expireCsrfTokens: () => {
      for (const k of sessions.keys()) sessions.set(k, null);
    },
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
