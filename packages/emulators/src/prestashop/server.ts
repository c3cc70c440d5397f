/**
 * A PrestaShop 8 Webservice (`/api/<resource>[/<id>]`) from memory, held to PrestaShop's documented resource
 * schemas (spec.ts): every request body is checked before it is stored (a violation is a 400 with
 * PrestaShop's error body, naming the field) and every record answered is checked before it is sent (a
 * violation lands in `violations`, which the tests require to stay empty). `checked` counts the distinct
 * operations exercised.
 *
 * Modelled as documented: the webservice key as the HTTP Basic user with an empty password (or `ws_key`),
 * permissions per resource and method; XML by default and JSON with `output_format=JSON` (an empty list is
 * `[]` in JSON); `display=full|[fields]`, `filter[field]=[a|b]` (any of), `[a,b]` (interval), `[x]%`, `%[x]`,
 * `%[x]%` (case-insensitive), date fields filtered only with `date=1`, `sort=[field_ASC,…]`,
 * `limit=n|offset,n`; writes as `<prestashop><element>…</element></prestashop>` XML (POST creates, PUT
 * replaces the whole record, PATCH changes the fields given), language-keyed fields as
 * `<field><language id="n">…</language></field>`, and `?schema=blank|synopsis`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { XMLBuilder, XMLParser } from "fast-xml-parser";
import { FaultInjector, type FaultOptions } from "../odoo/faults.ts";
import { PrestaShopData } from "./data.ts";
import {
  checkAnswer,
  checkBody,
  type LangValue,
  type PsRecord,
  prestashopSpecs,
  type ResourceSpec,
  synopsis,
  type WriteMode,
} from "./spec.ts";

export interface PrestaShopEmulatorOptions {
  port?: number;
  key?: string;
  customers?: number;
  seed?: number;
  /** Per resource, the methods the key may use (default: every method on every resource). */
  permissions?: Record<string, string[]>;
  faults?: FaultOptions;
}

export interface PrestaShopEmulator {
  url: string;
  /** The shop's base, which a connection is configured with (the connector appends `api/...`). */
  shopUrl: string;
  key: string;
  data: PrestaShopData;
  faults: FaultInjector;
  stats: { requests: number; writes: number };
  /** Distinct operations exercised (`GET products (list)`, `PATCH stock_availables`, …) and their counts. */
  checked: Map<string, number>;
  violations: string[];
  close(): Promise<void>;
}

export function prestashopEmulatorEnv(
  emu: Pick<PrestaShopEmulator, "shopUrl" | "key">,
): Record<string, string> {
  return { PRESTASHOP_URL: emu.shopUrl, PRESTASHOP_KEY: emu.key };
}

/** Resources whose methods PrestaShop restricts (from the reference's method table); others allow all. */
const METHODS: Record<string, string[]> = {
  stock_availables: ["GET", "HEAD", "POST", "PUT", "PATCH"],
};

class PsError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  cdataPropName: "__cdata",
  format: true,
  suppressEmptyNode: false,
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (name, jpath) =>
    name === "language" || /^prestashop\.[a-z_]+\.associations\.[a-z_]+\.[a-z_]+$/.test(String(jpath)),
});

const text = (v: unknown): string =>
  v === undefined || v === null
    ? ""
    : typeof v === "object"
      ? String((v as Record<string, unknown>)["#text"] ?? "")
      : String(v);

/** A parsed `<element>` into a record (language fields per language, associations as lists). */
function fromXml(node: Record<string, unknown>): PsRecord {
  const rec: PsRecord = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith("@_") || k === "#text") continue;
    if (k === "associations") {
      const assoc: Record<string, Record<string, string>[]> = {};
      for (const [a, list] of Object.entries((v ?? {}) as Record<string, unknown>)) {
        if (a.startsWith("@_") || a === "#text") continue;
        const items =
          list && typeof list === "object" ? Object.entries(list).filter(([n]) => !n.startsWith("@_")) : [];
        assoc[a] = items.flatMap(([, arr]) =>
          (arr as Record<string, unknown>[]).map((it) =>
            Object.fromEntries(
              Object.entries(it ?? {})
                .filter(([n]) => !n.startsWith("@_"))
                .map(([n, x]) => [n, text(x)]),
            ),
          ),
        );
      }
      rec.associations = assoc;
      continue;
    }
    if (v && typeof v === "object" && "language" in (v as object)) {
      rec[k] = ((v as { language: unknown[] }).language ?? []).map((l) => ({
        id: String((l as Record<string, unknown>)["@_id"] ?? ""),
        value: text(l),
      }));
      continue;
    }
    rec[k] = text(v);
  }
  return rec;
}

function toXmlNode(spec: ResourceSpec, rec: PsRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) {
    if (v === undefined) continue;
    if (k === "associations") {
      const a: Record<string, unknown> = {};
      for (const [name, items] of Object.entries(v as Record<string, Record<string, string>[]>)) {
        const item = spec.associations[name]?.item ?? name.replace(/s$/, "");
        a[name] = {
          "@_nodeType": item,
          "@_api": name,
          [item]: items.map((it) =>
            Object.fromEntries(Object.entries(it).map(([n, x]) => [n, { __cdata: x }])),
          ),
        };
      }
      out.associations = a;
    } else if (Array.isArray(v)) out[k] = { language: v.map((l) => ({ "@_id": l.id, __cdata: l.value })) };
    else out[k] = { __cdata: v };
  }
  return out;
}

const xmlDoc = (inner: Record<string, unknown>) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ prestashop: { "@_xmlns:xlink": "http://www.w3.org/1999/xlink", ...inner } })}`;

/** A record as `output_format=JSON` renders it: id a number, other scalars strings. */
const toJson = (rec: PsRecord): Record<string, unknown> =>
  Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, k === "id" ? Number(v) : v]));

function pick(rec: PsRecord, fields: string[] | "full"): PsRecord {
  if (fields === "full") return rec;
  return Object.fromEntries(
    Object.entries(rec).filter(([k]) => k === "id" || fields.includes(k)),
  ) as PsRecord;
}

const scalar = (rec: PsRecord, f: string): string => {
  const v = rec[f];
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v[0]?.value ?? "";
  return "";
};

const isDateField = (spec: ResourceSpec, f: string) =>
  ["isDate", "isDateFormat"].includes(spec.fields[f]?.format ?? "") || f === "date_add" || f === "date_upd";

/** One `filter[field]` value as a predicate; throws a 400 naming the filter when malformed. */
function filterOf(spec: ResourceSpec, field: string, raw: string, dates: boolean): (r: PsRecord) => boolean {
  if (field !== "id") {
    const f = spec.fields[field];
    if (!f)
      throw new PsError(
        400,
        33,
        `Unable to filter by this field "${field}": it is not in the ${spec.resource} schema`,
      );
    if (!f.filterable) throw new PsError(400, 33, `Unable to filter by this field "${field}"`);
  }
  if (isDateField(spec, field) && !dates)
    throw new PsError(400, 33, `Filtering on the date field "${field}" needs the parameter date=1`);
  const m = /^(%?)\[(.*)\](%?)$/.exec(raw);
  if (!m) throw new PsError(400, 33, `The filter "${field}" is malformed: ${raw}`);
  const [, pre, body = "", post] = m;
  const get = (r: PsRecord) => (field === "id" ? (r.id as string) : scalar(r, field));
  const num = (s: string) => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : null);
  const cmp = (a: string, b: string) => {
    const [x, y] = [num(a), num(b)];
    return x !== null && y !== null ? x - y : a < b ? -1 : a > b ? 1 : 0;
  };
  if (pre || post) {
    const needle = body.toLowerCase();
    return (r) => {
      const v = get(r).toLowerCase();
      return pre && post ? v.includes(needle) : pre ? v.endsWith(needle) : v.startsWith(needle);
    };
  }
  if (body.includes(",")) {
    const [lo = "", hi = ""] = body.split(",");
    return (r) => cmp(get(r), lo) >= 0 && cmp(get(r), hi) <= 0;
  }
  const any = body.split("|").map((s) => s.toLowerCase());
  return (r) => any.includes(get(r).toLowerCase());
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startPrestaShopEmulator(
  opts: PrestaShopEmulatorOptions = {},
): Promise<PrestaShopEmulator> {
  const specs = prestashopSpecs();
  const data = new PrestaShopData();
  data.seedCustomers(opts.customers ?? 0, opts.seed ?? 1);
  const key = opts.key ?? "EMULATORKEY0123456789ABCDEFGHIJK";
  const faults = new FaultInjector(opts.faults ?? {});
  const checked = new Map<string, number>();
  const violations: string[] = [];
  const stats = { requests: 0, writes: 0 };

  const count = (op: string) => checked.set(op, (checked.get(op) ?? 0) + 1);

  const errorBody = (json: boolean, code: number, message: string) =>
    json
      ? JSON.stringify({ errors: [{ code, message }] })
      : xmlDoc({ errors: { error: { code: { __cdata: String(code) }, message: { __cdata: message } } } });

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    const url = new URL(req.url ?? "/", "http://localhost");
    const q = url.searchParams;
    const json = (q.get("output_format") ?? "XML").toUpperCase() === "JSON";
    let method = (req.method ?? "GET").toUpperCase();
    if (q.get("ps_method")) method = (q.get("ps_method") as string).toUpperCase();
    const reply = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, {
        "content-type": json ? "application/json" : "text/xml;charset=utf-8",
        "psws-version": "8.1.7",
        ...headers,
      });
      res.end(method === "HEAD" ? "" : body);
    };
    const fail = (e: PsError, headers: Record<string, string> = {}) =>
      reply(e.status, errorBody(json, e.code, e.message), headers);
    const raw = await readBody(req);

    const auth = req.headers.authorization ?? "";
    const given = auth.startsWith("Basic ")
      ? (Buffer.from(auth.slice(6), "base64").toString("utf8").split(":")[0] ?? "")
      : (q.get("ws_key") ?? "");
    if (given === "")
      return fail(new PsError(401, 17, "Authentication key is empty"), {
        "www-authenticate":
          'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key as the login. No password required."',
      });
    if (given !== key) return fail(new PsError(401, 18, "Invalid authentication key"));

    const m = /^\/api\/?([a-z_]*)\/?(\d*)\/?$/.exec(url.pathname);
    if (!m) return fail(new PsError(404, 20, `Method ${url.pathname} is not valid`));
    const [, resource = "", idPart = ""] = m;
    if (resource === "") {
      count("GET api (resources)");
      return reply(
        200,
        json
          ? JSON.stringify({ resources: [...specs.keys()] })
          : xmlDoc({ api: { "@_shopName": "Emulated shop" } }),
      );
    }
    const spec = specs.get(resource);
    if (!spec)
      return fail(new PsError(400, 22, `Resource of type "${resource}" does not exists. Did you mean: ...?`));
    const allowed = opts.permissions
      ? (opts.permissions[resource] ?? [])
      : ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
    if (!allowed.includes(method === "HEAD" ? "GET" : method))
      return fail(
        new PsError(401, 26, `No permission for this authentication key: ${method} on ${resource}`),
      );
    if (!(METHODS[resource] ?? ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]).includes(method))
      return fail(new PsError(405, 25, `Method ${method} is not allowed for ${resource}`));

    const fault = faults.roll(method !== "GET" && method !== "HEAD");
    if (fault === "429") {
      res.writeHead(429, { "retry-after": String(faults.retryAfterS), "content-type": "text/plain" });
      return res.end("Too Many Requests");
    }
    if (fault === "5xx") return fail(new PsError(503, 0, "Service Unavailable"));

    const table = data.table(resource);
    try {
      if (method === "GET" || method === "HEAD") {
        const schema = q.get("schema");
        if (schema === "blank" || schema === "synopsis") {
          count(`GET ${resource}?schema=${schema}`);
          const body =
            schema === "synopsis"
              ? synopsis(spec)
              : Object.fromEntries(spec.order.filter((f) => f !== "associations").map((f) => [f, ""]));
          return reply(
            200,
            json ? JSON.stringify({ [spec.element]: body }) : xmlDoc({ [spec.element]: body }),
          );
        }
        const display = q.get("display");
        let fields: string[] | "full" | null = null;
        if (display === "full") fields = "full";
        else if (display) {
          const dm = /^\[([a-z_0-9,]+)\]$/.exec(display);
          if (!dm) throw new PsError(400, 35, `The display parameter is malformed: ${display}`);
          fields = (dm[1] ?? "").split(",");
          for (const f of fields)
            if (f !== "id" && !spec.fields[f] && f !== "associations")
              throw new PsError(
                400,
                35,
                `Unable to display this field "${f}": it is not in the ${resource} schema`,
              );
        }
        if (idPart) {
          count(`GET ${resource}/{id}`);
          const rec = table.get(Number(idPart));
          if (!rec) throw new PsError(404, 87, `Id(s) not exists: ${idPart}`);
          const out = pick(rec, fields ?? "full");
          for (const p of checkAnswer(spec, out)) violations.push(`answer GET ${resource}/${idPart}: ${p}`);
          return reply(
            200,
            json
              ? JSON.stringify({ [spec.element]: toJson(out) })
              : xmlDoc({ [spec.element]: toXmlNode(spec, out) }),
          );
        }
        count(`GET ${resource} (list)`);
        const dates = q.get("date") === "1";
        const preds: ((r: PsRecord) => boolean)[] = [];
        for (const [k, v] of q) {
          const fm = /^filter\[([a-z_0-9]+)\]$/.exec(k);
          if (fm) preds.push(filterOf(spec, fm[1] ?? "", v, dates));
          else if (k.startsWith("filter"))
            throw new PsError(400, 33, `The filter parameter ${k} is malformed`);
        }
        let rows = [...table.values()].filter((r) => preds.every((p) => p(r)));
        const sort = q.get("sort");
        if (sort) {
          const sm = /^\[([a-z_0-9]+_(?:ASC|DESC)(?:,[a-z_0-9]+_(?:ASC|DESC))*)\]$/.exec(sort);
          if (!sm) throw new PsError(400, 37, `The sort parameter is malformed: ${sort}`);
          const keys = (sm[1] ?? "").split(",").map((s) => {
            const i = s.lastIndexOf("_");
            const f = s.slice(0, i);
            if (f !== "id" && !spec.fields[f])
              throw new PsError(400, 37, `Unable to sort by this field "${f}"`);
            return { f, dir: s.slice(i + 1) === "DESC" ? -1 : 1 };
          });
          rows = rows.sort((a, b) => {
            for (const { f, dir } of keys) {
              const [x, y] = f === "id" ? [Number(a.id), Number(b.id)] : [scalar(a, f), scalar(b, f)];
              if (x < y) return -dir;
              if (x > y) return dir;
            }
            return 0;
          });
        }
        const limit = q.get("limit");
        if (limit !== null) {
          const lm = /^(?:(\d+),)?(\d+)$/.exec(limit);
          if (!lm) throw new PsError(400, 36, `The limit parameter is malformed: ${limit}`);
          const off = Number(lm[1] ?? 0);
          rows = rows.slice(off, off + Number(lm[2]));
        }
        const out = rows.map((r) => pick(r, fields ?? ["id"]));
        for (const r of out)
          for (const p of checkAnswer(spec, r)) violations.push(`answer GET ${resource}: ${p}`);
        if (json)
          return reply(200, out.length === 0 ? "[]" : JSON.stringify({ [resource]: out.map(toJson) }));
        return reply(200, xmlDoc({ [resource]: { [spec.element]: out.map((r) => toXmlNode(spec, r)) } }));
      }

      if (method === "DELETE") {
        count(`DELETE ${resource}`);
        if (!idPart || !table.has(Number(idPart))) throw new PsError(404, 87, `Id(s) not exists: ${idPart}`);
        table.delete(Number(idPart));
        stats.writes++;
        return reply(200, "");
      }

      // POST, PUT, PATCH: an XML document holding one element of the resource.
      const mode: WriteMode = method === "POST" ? "create" : method === "PUT" ? "replace" : "patch";
      count(`${method} ${resource}`);
      if (mode === "create" && idPart) throw new PsError(400, 0, "POST takes no id in the URL");
      if (mode !== "create" && !idPart) throw new PsError(400, 0, `${method} needs the id in the URL`);
      let doc: Record<string, unknown>;
      try {
        doc = parser.parse(raw, true) as Record<string, unknown>;
      } catch (err) {
        throw new PsError(400, 127, `XML error: ${err instanceof Error ? err.message : String(err)}`);
      }
      const root = doc.prestashop as Record<string, unknown> | undefined;
      const node = root?.[spec.element];
      if (!node || typeof node !== "object")
        throw new PsError(
          400,
          127,
          `XML error: expected <prestashop><${spec.element}>…</${spec.element}></prestashop>`,
        );
      const body = fromXml(node as Record<string, unknown>);
      const problems = checkBody(spec, body, mode);
      if (mode !== "create" && body.id !== idPart)
        problems.push(`the id in the body (${body.id ?? "none"}) is not the one in the URL (${idPart})`);
      if (problems.length > 0) {
        for (const p of problems) violations.push(`request ${method} ${resource}: ${p}`);
        throw new PsError(400, 41, problems.join("; "));
      }
      let stored: PsRecord;
      if (mode === "create") {
        const { id: _ignored, ...rest } = body;
        const dated = "date_upd" in spec.fields;
        stored = data.insert(resource, rest, dated);
      } else {
        const old = table.get(Number(idPart));
        if (!old) throw new PsError(404, 87, `Id(s) not exists: ${idPart}`);
        const next: PsRecord =
          mode === "replace"
            ? {
                ...Object.fromEntries(
                  Object.entries(old).filter(([k]) => !spec.fields[k]?.writable && k !== "associations"),
                ),
                ...body,
              }
            : { ...old, ...body };
        if (mode === "patch" && body.associations)
          next.associations = {
            ...((old.associations as object) ?? {}),
            ...(body.associations as object),
          } as PsRecord["associations"];
        if ("date_upd" in spec.fields) next.date_upd = data.now();
        if ("date_add" in spec.fields && old.date_add) next.date_add = old.date_add;
        next.id = idPart;
        table.set(Number(idPart), next);
        data.afterWrite(resource, next, false);
        stored = next;
      }
      stats.writes++;
      for (const p of checkAnswer(spec, stored)) violations.push(`answer ${method} ${resource}: ${p}`);
      return reply(
        mode === "create" ? 201 : 200,
        json
          ? JSON.stringify({ [spec.element]: toJson(stored) })
          : xmlDoc({ [spec.element]: toXmlNode(spec, stored) }),
      );
    } catch (err) {
      if (err instanceof PsError) return fail(err);
      throw err;
    }
  };

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      violations.push(`emulator: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("emulator failure");
    });
  });
  await new Promise<void>((ok) => server.listen(opts.port ?? 0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    shopUrl: `${url}/`,
    key,
    data,
    faults,
    stats,
    checked,
    violations,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export type { LangValue, PsRecord };
