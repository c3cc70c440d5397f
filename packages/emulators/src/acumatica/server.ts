/**
 * An Acumatica ERP 2024 R2 contract-based REST API (`/entity/Default/24.200.001/…`) from memory, held to the
 * endpoint's OpenAPI document (contract.ts): every request is checked before a handler runs and refused
 * with a 400 naming what broke; every answer is checked before it is sent, and a broken one is recorded in
 * `violations`, which the tests require to stay empty. `checked` counts the distinct operations exercised.
 *
 * Sessions as Acumatica keeps them for cookie authentication: `POST /entity/auth/login` with name,
 * password, company (the tenant) and optionally branch and locale answers 204 and sets the `.ASPXAUTH`
 * and `ASP.NET_SessionId` cookies; every endpoint call needs a live session (401 otherwise); a session
 * unused for `sessionTimeoutMin` expires; `POST /entity/auth/logout` ends it. Wrong credentials are
 * answered 401 with a message that never repeats the password.
 *
 * Queries as the contract-based API takes them: `$filter` (comparisons of top-level fields — eq, ne, gt,
 * ge, lt, le — joined by `and`; literals 'text', numbers, true/false and datetimeoffset'…'), `$select`,
 * `$expand` (detail and linked entities are left out of an answer unless expanded; `A/B` expands B inside
 * A), `$top` and `$skip` over the records in key order. The license's request limit is modelled by
 * `rateLimit` (requests per window; over it a 429 with Retry-After), beside the shared fault injector.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FaultInjector, type FaultOptions } from "../odoo/faults.ts";
import { type AcumaticaContract, acumaticaContract, type Operation } from "./contract.ts";
import { AcuError, AcumaticaData, type EntityName, isField, KEYS, val, type Wrapped } from "./data.ts";

export const ACUMATICA_ENDPOINT_PATH = "/entity/Default/24.200.001";

export interface AcumaticaEmulatorOptions {
  port?: number;
  tenant?: string;
  username?: string;
  password?: string;
  sessionTimeoutMin?: number;
  items?: number;
  customers?: number;
  seed?: number;
  faults?: FaultOptions;
  /** The license's API request limit: at most `requests` per `windowMs` (default: none). */
  rateLimit?: { requests: number; windowMs: number };
}

export interface AcumaticaEmulator {
  url: string;
  tenant: string;
  username: string;
  password: string;
  data: AcumaticaData;
  contract: AcumaticaContract;
  faults: FaultInjector;
  stats: { requests: number; writes: number; logins: number; logouts: number; throttled: number };
  /** Document operations answered (`StockItem_GetList`, `SalesOrder_PutEntity`), with how many times. */
  checked: Map<string, number>;
  violations: string[];
  /** Every request body received (tests check the password never leaves the login call). */
  bodies: string[];
  setRateLimit(limit: { requests: number; windowMs: number } | null): void;
  expireSessions(): void;
  close(): Promise<void>;
}

export function acumaticaEmulatorEnv(
  emu: Pick<AcumaticaEmulator, "url" | "tenant" | "username" | "password">,
): Record<string, string> {
  return {
    ACUMATICA_URL: emu.url,
    ACUMATICA_TENANT: emu.tenant,
    ACUMATICA_USERNAME: emu.username,
    ACUMATICA_PASSWORD: emu.password,
  };
}

const SERVED = new Set<EntityName>(["StockItem", "Customer", "SalesOrder", "Shipment", "SalesInvoice"]);
const LOGIN_FIELDS = new Set(["name", "password", "company", "branch", "locale"]);

class QueryError extends Error {}

interface Cond {
  field: string;
  op: string;
  value: unknown;
}

function parseFilter(text: string, fields: Set<string>): Cond[] {
  return text.split(/\s+and\s+/i).map((part) => {
    const m = /^\s*([A-Za-z0-9_]+)\s+(eq|ne|gt|ge|lt|le)\s+(.+?)\s*$/.exec(part);
    if (!m) throw new QueryError(`cannot read the $filter condition ${JSON.stringify(part)}`);
    const [, field, op, raw] = m as unknown as [string, string, string, string];
    if (!fields.has(field)) throw new QueryError(`$filter: the entity has no field ${field}`);
    let value: unknown;
    const dt = /^datetimeoffset'([^']+)'$/.exec(raw);
    const str = /^'((?:[^']|'')*)'$/.exec(raw);
    if (dt) {
      value = Date.parse(dt[1] as string);
      if (Number.isNaN(value)) throw new QueryError(`$filter: ${raw} is not a date and time`);
    } else if (str) value = (str[1] as string).replace(/''/g, "'");
    else if (raw === "true" || raw === "false") value = raw === "true";
    else if (raw === "null") value = null;
    else if (/^-?\d+(\.\d+)?m?$/.test(raw)) value = Number(raw.replace(/m$/, ""));
    else throw new QueryError(`$filter: cannot read the literal ${raw}`);
    return { field, op, value };
  });
}

function holds(row: Wrapped, c: Cond): boolean {
  let v = val(row, c.field) ?? null;
  if (typeof c.value === "number" && typeof v === "string") v = Date.parse(v);
  if (c.op === "eq") return v === c.value;
  if (c.op === "ne") return v !== c.value;
  if (v === null || c.value === null) return false;
  const a = v as number | string;
  const b = c.value as number | string;
  return c.op === "gt" ? a > b : c.op === "ge" ? a >= b : c.op === "lt" ? a < b : a <= b;
}

/** A record as answered: sub-entities only where expanded, fields only where selected. */
function render(row: Wrapped, expand: string[], select: string[] | null, prefix = ""): Wrapped {
  const out: Wrapped = {};
  for (const [k, v] of Object.entries(row)) {
    const path = `${prefix}${k}`;
    if (k === "id" || k === "rowNumber" || k === "note") {
      out[k] = v;
      continue;
    }
    if (isField(v)) {
      if (!select || prefix !== "" || select.includes(k)) out[k] = v;
      continue;
    }
    if (!expand.some((e) => e === path || e.startsWith(`${path}/`))) continue;
    out[k] = Array.isArray(v)
      ? (v as Wrapped[]).map((r) => render(r, expand, null, `${path}/`))
      : render(v as Wrapped, expand, null, `${path}/`);
  }
  out.custom = {};
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export async function startAcumaticaEmulator(
  opts: AcumaticaEmulatorOptions = {},
): Promise<AcumaticaEmulator> {
  const contract = acumaticaContract();
  const data = new AcumaticaData();
  data.seed(opts.items ?? 0, opts.customers ?? 0, opts.seed ?? 1);
  const tenant = opts.tenant ?? "Company";
  const username = opts.username ?? "admin";
  const password = opts.password ?? "acumatica-emulator-password";
  const timeoutMs = (opts.sessionTimeoutMin ?? 10) * 60_000;
  const faults = new FaultInjector(opts.faults ?? {});
  const checked = new Map<string, number>();
  const violations: string[] = [];
  const bodies: string[] = [];
  const stats = { requests: 0, writes: 0, logins: 0, logouts: 0, throttled: 0 };
  const sessions = new Map<string, number>();
  let limit = opts.rateLimit ?? null;
  let window = { start: Date.now(), count: 0 };

  const raw = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string | string[]> = {},
  ) => {
    res.writeHead(status, {
      ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
      ...headers,
    });
    res.end(body === undefined ? "" : JSON.stringify(body));
  };
  const answer = (res: ServerResponse, op: Operation, status: number, body: unknown) => {
    for (const v of contract.checkResponse(op, status, body)) violations.push(`answer: ${v}`);
    raw(res, status, body);
  };

  const server = createServer(async (req, res) => {
    stats.requests++;
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = (req.method ?? "GET").toUpperCase();
    const text = await readBody(req);
    bodies.push(text);
    if (limit) {
      const now = Date.now();
      if (now - window.start >= limit.windowMs) window = { start: now, count: 0 };
      if (++window.count > limit.requests) {
        stats.throttled++;
        const wait = Math.max(1, Math.ceil((window.start + limit.windowMs - now) / 1000));
        return raw(res, 429, { message: "API request limit exceeded" }, { "retry-after": String(wait) });
      }
    }
    const fault = faults.roll(method !== "GET");
    if (fault === "429") {
      stats.throttled++;
      return raw(
        res,
        429,
        { message: "API request limit exceeded" },
        { "retry-after": String(faults.retryAfterS) },
      );
    }
    if (fault === "5xx") return raw(res, 503, { message: "Service Unavailable" }, { "retry-after": "1" });
    let body: unknown;
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        violations.push(`request: ${method} ${url.pathname}: the body is not JSON`);
        return raw(res, 400, { message: "The request body is not JSON." });
      }
    }

    if (url.pathname === "/entity/auth/login" && method === "POST") {
      const b = (body ?? {}) as Record<string, unknown>;
      const problems = [
        ...Object.keys(b)
          .filter((k) => !LOGIN_FIELDS.has(k))
          .map((k) => `login: unknown field ${k}`),
        ...[...LOGIN_FIELDS]
          .filter((k) => b[k] !== undefined && typeof b[k] !== "string")
          .map((k) => `login: ${k} must be a string`),
        ...(typeof b.name !== "string" || typeof b.password !== "string"
          ? ["login: name and password are required"]
          : []),
      ];
      if (problems.length > 0) {
        violations.push(...problems.map((p) => `request: ${p}`));
        return raw(res, 400, { message: problems.join("; ") });
      }
      if (
        b.name !== username ||
        b.password !== password ||
        (b.company !== undefined && b.company !== tenant)
      ) {
        return raw(res, 401, { message: "Invalid credentials. Please try again." });
      }
      stats.logins++;
      const token = randomUUID().replace(/-/g, "");
      sessions.set(token, Date.now());
      return raw(res, 204, undefined, {
        "set-cookie": [
          `.ASPXAUTH=${token}; path=/; HttpOnly`,
          `ASP.NET_SessionId=${randomUUID()}; path=/; HttpOnly`,
          `UserBranch=${String(b.branch ?? "1")}; path=/`,
        ],
      });
    }
    if (url.pathname === "/entity/auth/logout" && method === "POST") {
      const token = cookies(req).get(".ASPXAUTH");
      if (token) sessions.delete(token);
      stats.logouts++;
      return raw(res, 204, undefined);
    }
    if (!url.pathname.startsWith(`${ACUMATICA_ENDPOINT_PATH}/`)) {
      violations.push(`request: ${method} ${url.pathname} is not under ${ACUMATICA_ENDPOINT_PATH}`);
      return raw(res, 404, { message: "Not found" });
    }
    const path = url.pathname.slice(ACUMATICA_ENDPOINT_PATH.length);
    const verdict = contract.checkRequest(method, path, url.searchParams, body);
    if (!verdict.operation || verdict.violations.length > 0) {
      for (const v of verdict.violations) violations.push(`request: ${v}`);
      const message = verdict.violations.join("; ");
      // The refusal is the emulator's (recorded above), not an answer of the operation: sent unchecked.
      return raw(res, verdict.operation ? 400 : 404, { message });
    }
    const op = verdict.operation;
    checked.set(op.id, (checked.get(op.id) ?? 0) + 1);

    const token = cookies(req).get(".ASPXAUTH");
    const last = token ? sessions.get(token) : undefined;
    if (!token || last === undefined || Date.now() - last > timeoutMs) {
      if (token) sessions.delete(token);
      return answer(res, op, 401, { message: "You are not logged in." });
    }
    sessions.set(token, Date.now());

    const entity = path.split("/")[1] as EntityName;
    if (op.id === "SalesPricesInquiry_PutEntity") {
      // An inquiry: PUT carries its parameters and answers its results; nothing is saved.
      const q = body as Wrapped;
      const expand = (url.searchParams.get("$expand") ?? "").split(",").map((x) => x.trim());
      const rows = data.pricesInquiry(q);
      return answer(res, op, 200, {
        id: randomUUID(),
        rowNumber: 1,
        ...Object.fromEntries(Object.entries(q).filter(([k]) => k !== "id" && k !== "SalesPriceDetails")),
        ...(expand.includes("SalesPriceDetails")
          ? { SalesPriceDetails: rows.map((r, i) => ({ ...r, rowNumber: i + 1, custom: {} })) }
          : {}),
        custom: {},
      });
    }
    if (!SERVED.has(entity))
      return answer(res, op, 500, { message: `The emulator does not serve ${entity}.` });
    const fields = contract.fieldsOf(entity);
    const q = url.searchParams;
    try {
      const expand = (q.get("$expand") ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      for (const e of expand) {
        if (!fields.has(e.split("/")[0] as string)) throw new QueryError(`$expand: ${entity} has no ${e}`);
      }
      const select = q.get("$select") ? (q.get("$select") as string).split(",").map((s) => s.trim()) : null;
      for (const s of select ?? [])
        if (!fields.has(s)) throw new QueryError(`$select: ${entity} has no field ${s}`);
      const table = data.tables[entity];

      if (method === "GET" && op.id.endsWith("_GetList")) {
        const conds = q.get("$filter") ? parseFilter(q.get("$filter") as string, fields) : [];
        const keys = KEYS[entity];
        const all = [...table.values()]
          .filter((r) => conds.every((c) => holds(r, c)))
          .sort((a, b) => {
            for (const k of keys) {
              const x = String(val(a, k));
              const y = String(val(b, k));
              if (x !== y) return x < y ? -1 : 1;
            }
            return 0;
          });
        const skip = Number(q.get("$skip") ?? 0);
        const top = q.get("$top") === null ? all.length : Number(q.get("$top"));
        const page = all
          .slice(skip, skip + top)
          .map((r, i) => ({ ...render(r, expand, select), rowNumber: skip + i + 1 }));
        return answer(res, op, 200, page);
      }
      if (method === "GET" && op.id.endsWith("_GetByKeys")) {
        const key = op.params.ids as string;
        const row = table.get(key) ?? [...table.values()].find((r) => r.id === key);
        if (!row) return answer(res, op, 500, { message: `No entity satisfies the condition.` });
        return answer(res, op, 200, { ...render(row, expand, select), rowNumber: 1 });
      }
      if (method === "PUT" && op.id.endsWith("_PutEntity")) {
        if (entity === "Shipment")
          throw new AcuError(422, "The emulator's shipments are made by its warehouse.");
        const row = data.upsert(entity, body as Wrapped);
        stats.writes++;
        return answer(res, op, 200, { ...render(row, expand, select), rowNumber: 1 });
      }
      if (method === "POST" && op.id === "SalesOrder_InvokeAction_CancelSalesOrder") {
        const target = (body as { entity?: Wrapped }).entity ?? {};
        const row = data.find("SalesOrder", target);
        if (!row) throw new AcuError(412, "No entity satisfies the condition.");
        data.cancel(String(row.id));
        stats.writes++;
        return answer(res, op, 204, undefined);
      }
      return answer(res, op, 500, { message: `The emulator does not serve ${op.id}.` });
    } catch (e) {
      if (e instanceof QueryError) {
        violations.push(`request: ${op.id}: ${e.message}`);
        return raw(res, 400, { message: e.message });
      }
      if (e instanceof AcuError) {
        if (e.status === 422) return answer(res, op, 422, { error: e.message });
        return answer(res, op, e.status === 404 ? 500 : e.status, { message: e.message });
      }
      return answer(res, op, 500, { message: e instanceof Error ? e.message : String(e) });
    }
  });
  await new Promise<void>((ok) => server.listen(opts.port ?? 0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tenant,
    username,
    password,
    data,
    contract,
    faults,
    stats,
    checked,
    violations,
    bodies,
    setRateLimit: (l) => {
      limit = l;
      window = { start: Date.now(), count: 0 };
    },
    expireSessions: () => sessions.clear(),
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
