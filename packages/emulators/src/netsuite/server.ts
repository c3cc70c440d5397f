/**
 * A NetSuite SuiteTalk REST service from memory, held to the shapes in test/fixtures/netsuite/record-shapes.json
 * (documented shapes only: NetSuite publishes no static contract; its OpenAPI is generated per account).
 *
 * - Every request needs a TBA header (OAuth 1.0a, HMAC-SHA256, realm = the account) whose signature this
 *   emulator recomputes with its own code; missing or wrong → 401 and a violation is not recorded (it is
 *   the expected answer to bad credentials), but the call is counted.
 * - `POST /services/rest/query/v1/suiteql?limit&offset` with `Prefer: transient` and `{q}`: a small SuiteQL
 *   subset (SELECT cols FROM table [WHERE cond [AND ...]] [ORDER BY col[, col]], see parseSuiteQL), columns
 *   checked against the shapes and the tables of suiteql-tables.ts; answers
 *   links/count/hasMore/items/offset/totalResults.
 * - Sales orders, item fulfilments (made only by transforming a sales order: `fulfil`) and invoices (`invoice`)
 *   are rows of `transaction` (type SalesOrd / ItemShip / CustInvc) with their lines in `transactionline`;
 *   tracking numbers live in `trackingnumbermap` / `trackingnumber`, stock in `inventoryitemlocations`.
 * - Item prices per price level, currency and quantity break in `pricing`, the levels in `pricelevel`: every seeded
 *   item has a Base Price and a Wholesale price in the emulator's currency, and a second Wholesale quantity break.
 * - `GET|POST /services/rest/record/v1/<type>[/<id>]`: unknown type or a body field the shape does not
 *   name → 400 and a violation; POST answers 204 with the new record's Location.
 * - Concurrency governance: more than `maxConcurrent` requests in flight → 429 CONCURRENCY_LIMIT_EXCEEDED.
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SUITEQL_OVERLAY } from "./suiteql-tables.ts";

export interface NetSuiteShapes {
  records: Record<string, { fields: string[]; readOnly?: boolean; sublists?: Record<string, string[]> }>;
  suiteql: { tables: Record<string, string[]> };
  paging: { maxLimit: number };
}

export function netsuiteShapesPath(): string {
  return (
    process.env.PASSERELLE_NETSUITE_SHAPES ??
    new URL("../../../../test/fixtures/netsuite/record-shapes.json", import.meta.url).pathname
  );
}

/**
 * The documented shapes, with the SuiteQL tables and record fields of fulfilments, tracking numbers, invoices and
 * stock per location (suiteql-tables.ts, each column with its public source) merged in.
 */
export function netsuiteShapes(): NetSuiteShapes {
  const shapes = JSON.parse(readFileSync(netsuiteShapesPath(), "utf8")) as NetSuiteShapes;
  for (const [table, { columns }] of Object.entries(SUITEQL_OVERLAY.tables)) {
    shapes.suiteql.tables[table] = [...new Set([...(shapes.suiteql.tables[table] ?? []), ...columns])];
  }
  for (const [type, extra] of Object.entries(SUITEQL_OVERLAY.records)) {
    const shape = shapes.records[type];
    if (!shape) throw new Error(`suiteql-tables.ts extends ${type}, which record-shapes.json does not name`);
    shape.fields = [...new Set([...shape.fields, ...extra.fields])];
    shape.sublists = { ...(shape.sublists ?? {}) };
    for (const [sub, cols] of Object.entries(extra.sublists))
      shape.sublists[sub] = [...new Set([...(shape.sublists[sub] ?? []), ...cols])];
  }
  return shapes;
}

type Row = Record<string, unknown>;

/** The emulator's TBA values, as environment variables for a passerelle.yaml. */
export function netsuiteEmulatorEnv(emu: NetSuiteEmulator): Record<string, string> {
  return {
    NETSUITE_URL: emu.url,
    NETSUITE_ACCOUNT_ID: emu.accountId,
    NETSUITE_CONSUMER_KEY: emu.consumerKey,
    NETSUITE_CONSUMER_SECRET: emu.consumerSecret,
    NETSUITE_TOKEN_ID: emu.tokenId,
    NETSUITE_TOKEN_SECRET: emu.tokenSecret,
  };
}

export interface NetSuiteEmulatorOptions {
  port?: number;
  accountId?: string;
  items?: number;
  customers?: number;
  /** Requests in flight beyond which NetSuite answers 429 (account concurrency limit). */
  maxConcurrent?: number;
  /** Milliseconds each request holds its slot (to make concurrency observable). */
  delayMs?: number;
  /** Location names (ids 1, 2, ...); every seeded item is stocked at each. Default: two locations. */
  locations?: string[];
  /** ISO code of the currency of sales orders, invoices and seeded prices (one of USD, EUR, GBP; default EUR). */
  currency?: string;
  /** Price level names (ids 1, 2, ...). Default: Base Price, Wholesale, Online Price. */
  priceLevels?: string[];
}

export interface NetSuiteEmulator {
  url: string;
  accountId: string;
  consumerKey: string;
  consumerSecret: string;
  tokenId: string;
  tokenSecret: string;
  /** Record type → id → record; SuiteQL tables are read from these. */
  records: Map<string, Map<string, Row>>;
  stats: { requests: number; writes: number; throttled: number; unauthorised: number };
  checked: Map<string, number>;
  violations: string[];
  touch(type: string, id: string, patch?: Row): void;
  /** Every request answers 429 (Retry-After: 1) or 503 until called with null. */
  inject(kind: "429" | "5xx" | null): void;
  /** Location id → `{id, name}` (SuiteQL `location`). */
  locations: Map<string, Row>;
  /**
   * An item fulfilment transformed from a sales order (NetSuite makes them no other way), all its lines unless
   * `lines` says otherwise, with a package per tracking number.
   */
  fulfil(
    salesOrderId: string,
    o?: { tracking?: string[]; lines?: { item: string; quantity: number }[] },
  ): Row;
  /** One more package with a tracking number on a fulfilment; the fulfilment's lastModifiedDate moves. */
  track(fulfilmentId: string, number: string): void;
  /**
   * An invoice billing a sales order in full, in the order's currency; `taxLines` splits its tax over several tax
   * lines (one per tax code), each `foreignamount` as given (NetSuite stores them negated, see Q4).
   */
  invoice(salesOrderId: string, o?: { taxLines?: (number | string)[] }): Row;
  /** Stock of an inventory item at a location (SuiteQL `inventoryitemlocations`; no modification date). */
  setStock(itemId: string, locationId: string, onHand: number, committed?: number): void;
  /** Price level id → `{id, name}` (SuiteQL `pricelevel`). */
  priceLevels: Map<string, Row>;
  /** Currency id → `{id, symbol}` (SuiteQL `currency`). */
  currencies: Map<string, Row>;
  /**
   * The price of an item at a price level in a currency from quantity break `quantity` (1 = the first break) up
   * (SuiteQL `pricing`, no modification date); `null` removes it. The unit price is kept as given (a number, as
   * SuiteQL answers, or a string to model a malformed value).
   */
  setPrice(
    itemId: string,
    priceLevelId: string,
    currencyId: string,
    unitPrice: number | string | null,
    quantity?: number,
  ): void;
  close(): Promise<void>;
}

const enc = (v: string) =>
  encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** This emulator's own TBA verification (it never imports connector code). */
function verify(
  req: IncomingMessage,
  url: URL,
  secrets: { ck: string; cs: string; tk: string; ts: string; realm: string },
): string | null {
  const h = req.headers.authorization;
  if (!h || !/^OAuth /.test(h)) return "no OAuth Authorization header";
  const f: Record<string, string> = {};
  for (const m of h.slice(6).matchAll(/([A-Za-z_]+)="([^"]*)"/g))
    f[m[1] as string] = decodeURIComponent(m[2] as string);
  if (f.realm !== secrets.realm) return `realm ${JSON.stringify(f.realm)} is not the account`;
  if (f.oauth_signature_method !== "HMAC-SHA256") return "oauth_signature_method must be HMAC-SHA256";
  if (f.oauth_consumer_key !== secrets.ck || f.oauth_token !== secrets.tk) return "unknown consumer or token";
  if (!f.oauth_nonce || !f.oauth_timestamp || !f.oauth_signature)
    return "nonce, timestamp or signature missing";
  const pairs: [string, string][] = [];
  for (const [k, v] of url.searchParams) pairs.push([k, v]);
  for (const [k, v] of Object.entries(f)) if (k !== "realm" && k !== "oauth_signature") pairs.push([k, v]);
  const params = pairs
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join("&");
  const base = `${req.method}&${enc(`${url.protocol}//${url.host}${url.pathname}`)}&${enc(params)}`;
  const want = createHmac("sha256", `${enc(secrets.cs)}&${enc(secrets.ts)}`)
    .update(base)
    .digest("base64");
  return want === f.oauth_signature ? null : "signature does not match";
}

type Op = "=" | ">=" | "<=" | ">" | "<" | "in" | "null" | "notnull";

interface Query {
  cols: string[];
  table: string;
  where: { col: string; op: Op; values: string[] }[];
  order: string[];
}

const LITERAL = /'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)/g;
const literal = (m: RegExpMatchArray) =>
  m[1] !== undefined ? (m[1] as string).replace(/''/g, "'") : (m[2] as string);

/**
 * The SuiteQL subset this emulator understands: SELECT cols FROM table [WHERE cond [AND cond]...]
 * [ORDER BY col[, col]], a condition being `col op 'text'`, `col op 123`, `col IN ('a', 2, ...)` or
 * `col IS [NOT] NULL`.
 */
export function parseSuiteQL(q: string, tables: Record<string, string[]>): Query {
  const m = /^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(.+?))?\s*$/is.exec(q);
  if (!m) throw new Error(`SuiteQL not understood: ${q.slice(0, 120)}`);
  const table = (m[2] as string).toLowerCase();
  const known = tables[table];
  if (!known) throw new Error(`unknown table ${table}`);
  const col = (c: string) => {
    const n = c.trim().toLowerCase();
    if (!known.includes(n)) throw new Error(`unknown column ${table}.${n}`);
    return n;
  };
  const where = (m[3] ?? "")
    .split(/\s+AND\s+/i)
    .filter((s) => s.trim() !== "")
    .map((cond) => {
      const cmp = /^\s*(\w+)\s*(>=|<=|=|>|<)\s*('(?:[^']|'')*'|-?\d+(?:\.\d+)?)\s*$/.exec(cond);
      if (cmp) {
        const v = [...(cmp[3] as string).matchAll(LITERAL)][0] as RegExpMatchArray;
        return { col: col(cmp[1] as string), op: cmp[2] as Op, values: [literal(v)] };
      }
      const list = /^\s*(\w+)\s+IN\s*\((.*)\)\s*$/is.exec(cond);
      if (list) {
        const body = list[2] as string;
        if (
          !/^\s*(?:'(?:[^']|'')*'|-?\d+(?:\.\d+)?)(?:\s*,\s*(?:'(?:[^']|'')*'|-?\d+(?:\.\d+)?))*\s*$/.test(
            body,
          )
        )
          throw new Error(`IN list not understood: ${cond.slice(0, 120)}`);
        const values = [...body.matchAll(LITERAL)].map(literal);
        if (values.length > 1000) throw new Error(`IN list of ${values.length} values (at most 1000)`);
        return { col: col(list[1] as string), op: "in" as Op, values };
      }
      const nul = /^\s*(\w+)\s+IS\s+(NOT\s+)?NULL\s*$/i.exec(cond);
      if (nul) return { col: col(nul[1] as string), op: (nul[2] ? "notnull" : "null") as Op, values: [] };
      throw new Error(`condition not understood: ${cond}`);
    });
  return {
    cols: (m[1] as string).split(",").map(col),
    table,
    where,
    order: (m[4] ?? "")
      .split(",")
      .filter((s) => s.trim() !== "")
      .map(col),
  };
}

const NUMBER = /^-?\d+(?:\.\d+)?$/;
/** Numbers (and numeric ids, which NetSuite answers as strings) compare as numbers, the rest as text. */
function compare(a: unknown, b: unknown): number {
  const x = String(a ?? "");
  const y = String(b ?? "");
  if (NUMBER.test(x) && NUMBER.test(y)) return Number(x) - Number(y);
  return x < y ? -1 : x > y ? 1 : 0;
}

function matches(row: Row, w: Query["where"][number]): boolean {
  const v = row[w.col];
  if (w.op === "null") return v === null || v === undefined;
  if (w.op === "notnull") return v !== null && v !== undefined;
  if (v === null || v === undefined) return false;
  if (w.op === "in") return w.values.some((x) => compare(v, x) === 0);
  const c = compare(v, w.values[0]);
  return w.op === "="
    ? c === 0
    : w.op === ">="
      ? c >= 0
      : w.op === "<="
        ? c <= 0
        : w.op === ">"
          ? c > 0
          : c < 0;
}

/** Transaction record types and their SuiteQL `type` codes (Q1–Q3 in suiteql-tables.ts). */
const TRAN_TYPES: Record<string, string> = {
  salesOrder: "SalesOrd",
  itemFulfillment: "ItemShip",
  invoice: "CustInvc",
};
const ref = (v: unknown) => ((v as Row | undefined)?.id as string | undefined) ?? null;
const linesOf = (r: Row) => ((r.item as { items?: Row[] } | undefined)?.items ?? []) as Row[];

export async function startNetSuiteEmulator(opts: NetSuiteEmulatorOptions = {}): Promise<NetSuiteEmulator> {
  const shapes = netsuiteShapes();
  const accountId = opts.accountId ?? "1234567_SB1";
  const secrets = {
    ck: "ns-consumer-key",
    cs: "ns-consumer-secret",
    tk: "ns-token-id",
    ts: "ns-token-secret",
    realm: accountId,
  };
  const records = new Map<string, Map<string, Row>>(Object.keys(shapes.records).map((t) => [t, new Map()]));
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const stamp = () => {
    clock += 1000;
    return new Date(clock).toISOString();
  };
  let nextId = 100;
  const add = (type: string, row: Row) => {
    const id = String(nextId++);
    const r = { ...row, id, lastModifiedDate: stamp() };
    records.get(type)?.set(id, r);
    return r;
  };
  for (let i = 1; i <= (opts.items ?? 0); i++) {
    add("inventoryItem", {
      itemId: `ITEM-${String(i).padStart(4, "0")}`,
      displayName: `Item ${i}`,
      basePrice: 10 + i,
      weight: 1,
    });
  }
  for (let i = 1; i <= (opts.customers ?? 0); i++) {
    add("customer", {
      entityId: `CUST-${i}`,
      email: `ns-customer-${i}@example.com`,
      firstName: "Ada",
      lastName: `Customer ${i}`,
      isPerson: true,
    });
  }
  // Stores behind SuiteQL tables that have no REST record here (Q4, Q5 in suiteql-tables.ts).
  const currencies = new Map<string, Row>(
    ["USD", "EUR", "GBP"].map((symbol, i) => [String(i + 1), { id: String(i + 1), symbol }]),
  );
  const currencyId = [...currencies.values()].find((c) => c.symbol === (opts.currency ?? "EUR"))
    ?.id as string;
  if (!currencyId) throw new Error(`the emulator knows no currency ${opts.currency}`);
  const locations = new Map<string, Row>();
  for (const name of opts.locations ?? ["Main Warehouse", "Paris Store"]) {
    const id = String(locations.size + 1);
    locations.set(id, { id, name });
  }
  /** `<item id>@<location id>` → quantities. */
  const stock = new Map<string, { item: string; location: string; onHand: number; committed: number }>();
  const setStock = (item: string, location: string, onHand: number, committed = 0) => {
    if (!records.get("inventoryItem")?.has(item)) throw new Error(`no inventory item ${item}`);
    if (!locations.has(location)) throw new Error(`no location ${location}`);
    stock.set(`${item}@${location}`, { item, location, onHand, committed });
  };
  let seeded = 0;
  for (const item of records.get("inventoryItem")?.keys() ?? []) {
    seeded++;
    for (const location of locations.keys())
      setStock(item, location, 5 * seeded + Number(location), (seeded + Number(location)) % 4);
  }
  const priceLevels = new Map<string, Row>();
  for (const name of opts.priceLevels ?? ["Base Price", "Wholesale", "Online Price"]) {
    const id = String(priceLevels.size + 1);
    priceLevels.set(id, { id, name });
  }
  /** `<item>|<level>|<currency>|<quantity break>` → a `pricing` row. */
  const prices = new Map<string, Row>();
  const setPrice = (
    item: string,
    level: string,
    currency: string,
    unitPrice: number | string | null,
    quantity = 1,
  ) => {
    if (!records.get("inventoryItem")?.has(item)) throw new Error(`no inventory item ${item}`);
    if (!priceLevels.has(level)) throw new Error(`no price level ${level}`);
    if (!currencies.has(currency)) throw new Error(`no currency ${currency}`);
    const key = `${item}|${level}|${currency}|${quantity}`;
    if (unitPrice === null) prices.delete(key);
    else prices.set(key, { item, pricelevel: level, currency, quantity, unitprice: unitPrice });
  };
  // Base Price = the item's base price; Wholesale 2 less, and 3 less from the second quantity break.
  for (const [id, item] of records.get("inventoryItem") ?? []) {
    const base = Number(item.basePrice);
    if (priceLevels.has("1")) setPrice(id, "1", currencyId, base);
    if (priceLevels.has("2")) {
      setPrice(id, "2", currencyId, base - 2);
      setPrice(id, "2", currencyId, base - 3, 2);
    }
  }
  const trackingNumbers = new Map<string, { id: string; transaction: string; number: string }>();
  let nextTracking = 1;
  const today = () => new Date(clock).toISOString().slice(0, 10);
  const all = (type: string) => [...(records.get(type)?.values() ?? [])];
  const tranRows = (): Row[] =>
    Object.entries(TRAN_TYPES).flatMap(([type, code]) =>
      all(type).map((r) => ({
        id: r.id,
        tranid: r.tranId,
        type: code,
        trandate: r.tranDate ?? null,
        otherrefnum: r.otherRefNum ?? null,
        entity: ref(r.entity),
        currency: ref(r.currency),
        foreigntotal: r.total ?? null,
        lastmodifieddate: r.lastModifiedDate,
      })),
    );
  // One main line (createdfrom: the transaction it was made from), one line per item and, where the document
  // carries tax, one tax line; sales lines carry quantities and amounts negated, as read in Q4.
  const lineRows = (): Row[] =>
    Object.keys(TRAN_TYPES).flatMap((type) =>
      all(type).flatMap((r) => {
        const base = { transaction: r.id, createdfrom: ref(r.createdFrom) };
        const items = linesOf(r);
        const out: Row[] = [
          { id: 0, ...base, mainline: "T", taxline: "F", item: null, quantity: null, foreignamount: null },
          ...items.map((l, i) => ({
            id: i + 1,
            ...base,
            mainline: "F",
            taxline: "F",
            item: ref(l.item),
            quantity: -Number(l.quantity),
            foreignamount: typeof l.amount === "number" ? -l.amount : null,
          })),
        ];
        if (Array.isArray(r.taxLines)) {
          // One tax line per tax code (legacy tax): amounts as stored, one line each.
          for (const [i, amount] of (r.taxLines as unknown[]).entries()) {
            out.push({
              id: items.length + 1 + i,
              ...base,
              mainline: "F",
              taxline: "T",
              item: null,
              quantity: null,
              foreignamount: amount,
            });
          }
        } else if (typeof r.taxTotal === "number" && r.taxTotal !== 0) {
          out.push({
            id: items.length + 1,
            ...base,
            mainline: "F",
            taxline: "T",
            item: null,
            quantity: null,
            foreignamount: -r.taxTotal,
          });
        }
        return out;
      }),
    );
  const tableRows: Record<string, () => Row[]> = {
    item: () =>
      all("inventoryItem").map((r) => ({
        id: r.id,
        itemid: r.itemId,
        displayname: r.displayName,
        upccode: r.upcCode ?? null,
        baseprice: r.basePrice,
        lastmodifieddate: r.lastModifiedDate,
      })),
    customer: () =>
      all("customer").map((r) => ({
        id: r.id,
        entityid: r.entityId,
        email: r.email,
        firstname: r.firstName ?? null,
        lastname: r.lastName ?? null,
        companyname: r.companyName ?? null,
        phone: r.phone ?? null,
        lastmodifieddate: r.lastModifiedDate,
      })),
    transaction: tranRows,
    transactionline: lineRows,
    trackingnumbermap: () =>
      [...trackingNumbers.values()].map((t) => ({ transaction: t.transaction, trackingnumber: t.id })),
    trackingnumber: () => [...trackingNumbers.values()].map((t) => ({ id: t.id, trackingnumber: t.number })),
    inventoryitemlocations: () =>
      [...stock.values()].map((s) => ({
        item: s.item,
        location: s.location,
        quantityonhand: s.onHand,
        quantitycommitted: s.committed,
        quantityavailable: Math.max(0, s.onHand - s.committed),
      })),
    location: () => [...locations.values()],
    currency: () => [...currencies.values()],
    pricing: () => [...prices.values()],
    pricelevel: () => [...priceLevels.values()],
  };
  const salesOrder = (id: string) => {
    const so = records.get("salesOrder")?.get(id);
    if (!so) throw new Error(`no sales order ${id}`);
    return so;
  };
  const addTracking = (fulfilment: Row, number: string) => {
    const id = String(nextTracking++);
    trackingNumbers.set(id, { id, transaction: String(fulfilment.id), number });
    const packages = (fulfilment.package as { items: Row[] } | undefined)?.items ?? [];
    fulfilment.package = { items: [...packages, { packageTrackingNumber: number }] };
  };
  const checked = new Map<string, number>();
  const violations: string[] = [];
  const stats = { requests: 0, writes: 0, throttled: 0, unauthorised: 0 };
  let inFlight = 0;
  let forced: "429" | "5xx" | null = null;
  const max = opts.maxConcurrent ?? 5;

  const send = (
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, {
      ...(body !== undefined
        ? { "content-type": "application/vnd.oracle.resource+json; type=collection" }
        : {}),
      ...headers,
    });
    res.end(body !== undefined ? JSON.stringify(body) : undefined);
  };
  const error = (
    res: ServerResponse,
    status: number,
    code: string,
    detail: string,
    headers: Record<string, string> = {},
  ) =>
    send(
      res,
      status,
      {
        type: "https://www.rfc-editor.org/rfc/rfc9110.html",
        title: code,
        status,
        "o:errorDetails": [{ detail, "o:errorCode": code }],
      },
      headers,
    );
  const refuse = (res: ServerResponse, op: string, detail: string) => {
    violations.push(`${op}: ${detail}`);
    error(res, 400, "INVALID_CONTENT", detail);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    const bad = verify(req, url, secrets);
    if (bad) {
      stats.unauthorised++;
      return error(res, 401, "INVALID_LOGIN", `Invalid login attempt (${bad})`);
    }
    if (url.pathname === "/services/rest/query/v1/suiteql" && req.method === "POST") {
      const op = "POST suiteql";
      if (req.headers.prefer !== "transient") return refuse(res, op, "Prefer: transient is required");
      const limit = Number(url.searchParams.get("limit") ?? "1000");
      const offset = Number(url.searchParams.get("offset") ?? "0");
      if (!(limit >= 1 && limit <= shapes.paging.maxLimit) || !(offset >= 0) || offset % limit !== 0) {
        return refuse(res, op, `limit ${limit} / offset ${offset} out of range (offset a multiple of limit)`);
      }
      let q: Query;
      try {
        const parsed = JSON.parse(body) as { q?: unknown };
        if (typeof parsed.q !== "string" || Object.keys(parsed).length !== 1)
          throw new Error("body must be {q}");
        q = parseSuiteQL(parsed.q, shapes.suiteql.tables);
      } catch (e) {
        return refuse(res, op, (e as Error).message);
      }
      const source = tableRows[q.table];
      if (!source) return refuse(res, op, `no data for table ${q.table}`);
      const rows = source().filter((r) => q.where.every((w) => matches(r, w)));
      rows.sort((a, b) => {
        for (const o of q.order) {
          const c = compare(a[o], b[o]);
          if (c !== 0) return c;
        }
        return 0;
      });
      const page = rows
        .slice(offset, offset + limit)
        .map((r) => Object.fromEntries([["links", []], ...q.cols.map((c) => [c, r[c] ?? null])]));
      const hasMore = offset + limit < rows.length;
      const self = `${url.origin}${url.pathname}`;
      const links = [{ rel: "self", href: `${self}?limit=${limit}&offset=${offset}` }];
      if (hasMore) links.push({ rel: "next", href: `${self}?limit=${limit}&offset=${offset + limit}` });
      checked.set(`${op} ${q.table}`, (checked.get(`${op} ${q.table}`) ?? 0) + 1);
      return send(res, 200, {
        links,
        count: page.length,
        hasMore,
        items: page,
        offset,
        totalResults: rows.length,
      });
    }
    const m = /^\/services\/rest\/record\/v1\/([A-Za-z]+)(?:\/(\d+))?$/.exec(url.pathname);
    if (!m) return error(res, 404, "NONEXISTENT_ID", `no resource at ${url.pathname}`);
    const type = m[1] as string;
    const shape = shapes.records[type];
    const op = `${req.method} record/${type}${m[2] ? "/{id}" : ""}`;
    if (!shape) return refuse(res, op, `unknown record type ${type}`);
    const table = records.get(type) as Map<string, Row>;
    if (req.method === "GET" && m[2]) {
      const r = table.get(m[2]);
      if (!r) return error(res, 404, "NONEXISTENT_ID", `${type} ${m[2]} does not exist`);
      checked.set(op, (checked.get(op) ?? 0) + 1);
      return send(res, 200, { links: [{ rel: "self", href: `${url.origin}${url.pathname}` }], ...r });
    }
    if (req.method === "POST" && !m[2]) {
      if (shape.readOnly) return refuse(res, op, `${type} cannot be created through the record service`);
      let row: Row;
      try {
        row = JSON.parse(body) as Row;
      } catch {
        return refuse(res, op, "body is not JSON");
      }
      for (const k of Object.keys(row)) {
        if (!shape.fields.includes(k) || k === "id" || k === "links" || k === "lastModifiedDate") {
          return refuse(res, op, `unknown or read-only field ${type}.${k}`);
        }
      }
      for (const [sub, cols] of Object.entries(shape.sublists ?? {})) {
        const items = (row[sub] as { items?: Row[] } | undefined)?.items ?? [];
        for (const line of items)
          for (const k of Object.keys(line))
            if (!cols.includes(k)) return refuse(res, op, `unknown field ${type}.${sub}.${k}`);
      }
      const error400 = validate(type, row, records);
      if (error400) return error(res, 400, "USER_ERROR", error400);
      const created = add(
        type,
        type === "salesOrder"
          ? {
              tranId: `SO${nextId}`,
              tranDate: today(),
              currency: { id: currencyId },
              ...priced(row, records),
            }
          : row,
      );
      stats.writes++;
      checked.set(op, (checked.get(op) ?? 0) + 1);
      return send(res, 204, undefined, {
        location: `${url.origin}/services/rest/record/v1/${type}/${created.id}`,
      });
    }
    if (req.method === "PATCH" && m[2]) {
      const r = table.get(m[2]);
      if (!r) return error(res, 404, "NONEXISTENT_ID", `${type} ${m[2]} does not exist`);
      if (shape.readOnly) return refuse(res, op, `${type} cannot be changed through the record service`);
      let patch: Row;
      try {
        patch = JSON.parse(body) as Row;
      } catch {
        return refuse(res, op, "body is not JSON");
      }
      for (const k of Object.keys(patch)) {
        if (!shape.fields.includes(k) || k === "id" || k === "links" || k === "lastModifiedDate") {
          return refuse(res, op, `unknown or read-only field ${type}.${k}`);
        }
      }
      Object.assign(r, patch, { lastModifiedDate: stamp() });
      stats.writes++;
      checked.set(op, (checked.get(op) ?? 0) + 1);
      return send(res, 204);
    }
    return error(res, 405, "METHOD_NOT_ALLOWED", `${req.method} ${url.pathname}`);
  };

  const server = createServer(async (req, res) => {
    stats.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (forced === "429") {
      stats.throttled++;
      return error(res, 429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded.", {
        "retry-after": "1",
      });
    }
    if (forced === "5xx") return error(res, 503, "UNEXPECTED_ERROR", "Service unavailable");
    if (inFlight >= max) {
      stats.throttled++;
      return error(
        res,
        429,
        "CONCURRENCY_LIMIT_EXCEEDED",
        "Concurrent request limit exceeded. Request blocked.",
        { "retry-after": "1" },
      );
    }
    inFlight++;
    try {
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      await handle(req, res, Buffer.concat(chunks).toString("utf8"));
    } catch (e) {
      error(res, 500, "UNEXPECTED_ERROR", (e as Error).message);
    } finally {
      inFlight--;
    }
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accountId,
    consumerKey: secrets.ck,
    consumerSecret: secrets.cs,
    tokenId: secrets.tk,
    tokenSecret: secrets.ts,
    records,
    stats,
    checked,
    violations,
    touch(type, id, patch = {}) {
      const r = records.get(type)?.get(id);
      if (!r) throw new Error(`no ${type} ${id}`);
      Object.assign(r, patch, { lastModifiedDate: stamp() });
    },
    inject(kind) {
      forced = kind;
    },
    locations,
    fulfil(salesOrderId, o = {}) {
      const so = salesOrder(salesOrderId);
      const lines =
        o.lines ?? linesOf(so).map((l) => ({ item: ref(l.item) as string, quantity: Number(l.quantity) }));
      const f = add("itemFulfillment", {
        tranId: `IF${nextId}`,
        createdFrom: { id: salesOrderId },
        entity: so.entity,
        shipStatus: "C",
        tranDate: today(),
        item: { items: lines.map((l) => ({ item: { id: l.item }, quantity: l.quantity })) },
      });
      for (const t of o.tracking ?? []) addTracking(f, t);
      return f;
    },
    track(fulfilmentId, number) {
      const f = records.get("itemFulfillment")?.get(fulfilmentId);
      if (!f) throw new Error(`no item fulfilment ${fulfilmentId}`);
      addTracking(f, number);
      f.lastModifiedDate = stamp();
    },
    invoice(salesOrderId, o = {}) {
      const so = salesOrder(salesOrderId);
      return add("invoice", {
        tranId: `INV${nextId}`,
        createdFrom: { id: salesOrderId },
        entity: so.entity,
        currency: so.currency,
        tranDate: today(),
        item: { items: linesOf(so).map((l) => ({ ...l })) },
        subtotal: so.subtotal,
        taxTotal: so.taxTotal,
        total: so.total,
        ...(o.taxLines ? { taxLines: o.taxLines } : {}),
      });
    },
    setStock,
    priceLevels,
    currencies,
    setPrice,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A reference to another record: `{id}`; the id must exist. */
function validate(type: string, row: Row, records: Map<string, Map<string, Row>>): string | null {
  if (type === "customer" && typeof row.email !== "string") return "customer.email is required";
  if (type === "salesOrder") {
    const entity = (row.entity as Row | undefined)?.id;
    if (!records.get("customer")?.has(String(entity)))
      return `salesOrder.entity ${JSON.stringify(entity)} is not a customer`;
    const lines = (row.item as { items?: Row[] } | undefined)?.items ?? [];
    if (lines.length === 0) return "salesOrder.item has no lines";
    for (const l of lines) {
      const id = (l.item as Row | undefined)?.id;
      if (!records.get("inventoryItem")?.has(String(id)))
        return `salesOrder.item.item ${JSON.stringify(id)} is not an item`;
    }
  }
  return null;
}

/** The order's totals as this emulator computes them: the line amounts, a 20 % tax, rounded to cents. */
function priced(row: Row, _records: Map<string, Map<string, Row>>): Row {
  const lines = ((row.item as { items?: Row[] }).items ?? []).map((l) => ({
    ...l,
    amount: Math.round(Number(l.quantity) * Number(l.rate) * 100) / 100,
  }));
  const subtotal = Math.round(lines.reduce((s, l) => s + l.amount, 0) * 100) / 100;
  const taxTotal = Math.round(subtotal * 20) / 100;
  return {
    ...row,
    item: { items: lines },
    subtotal,
    taxTotal,
    total: Math.round((subtotal + taxTotal) * 100) / 100,
  };
}
