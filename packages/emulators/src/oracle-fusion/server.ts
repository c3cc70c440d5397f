/**
 * An Oracle Fusion Cloud SCM stand-in answering the ADF REST resources the connector uses, behind the
 * collections' contract (contract.ts): a request that is no operation of the collections, or carries a
 * query parameter or attribute they do not show, is refused with a 400 and recorded as a violation.
 *
 * Modelled framework rules (REST-Framework-Version 1, the default):
 * - `q=` is `;`-separated conditions `Attr op value` (op one of = != > >= < <=, value quoted with '...'
 *   or bare); an attribute the resource does not have is a 400;
 * - `limit` (default 25, at most 500) / `offset` paging; a collection answers `items`, `count`, `hasMore`,
 *   `limit`, `offset`, `links` (and `totalResults` with `totalResults=true`);
 * - `orderBy=Attr:asc,Attr2:desc`;
 * - rows carry `LastUpdateDate` (ISO 8601 with milliseconds, UTC), stamped on every change;
 * - HTTP basic authentication; 401 otherwise.
 * Sales orders: a header (POST salesOrdersForOrderHub) keyed `OrderKey` = SourceTransactionSystem:SourceTransactionId,
 * lines added through child/lines (ProductId must be an item's ItemId), priced from the emulator's price
 * list; child/totals answers the order's total; action/applyHold puts holds on orders.
 * Price lists (read only): priceLists headers, their child/items (one per item and pricing unit) and each
 * item's child/charges (the sale price is a QP_SALE_PRICE charge's BasePrice). Seeded: a base list
 * ("Retail <currency>") pricing every item at the order price, a customer-group list ("Wholesale
 * <currency>") pricing every other item lower, and a list in another currency ("Export EUR", or "Export
 * USD" when the emulator's currency is EUR) pricing two items. Every change stamps the changed row's
 * LastUpdateDate only (a charge's change does not stamp its item).
 */
import { createServer, type IncomingMessage } from "node:http";
import { FaultInjector, type FaultOptions } from "../odoo/faults.ts";
import { rng } from "../util.ts";
import { FUSION_ROOT, fusionContract } from "./contract.ts";

export type FusionRow = Record<string, unknown>;

export interface FusionEmulatorOptions {
  port?: number;
  items?: number;
  seed?: number;
  username?: string;
  password?: string;
  currency?: string;
  faults?: FaultOptions;
}

export interface FusionOrder {
  header: FusionRow;
  lines: FusionRow[];
  holds: FusionRow[];
}

/**
 * Attributes the emulator's price list rows carry that no request body of the collections shows: read-only
 * attributes named in Oracle's REST reference and pricing guide (keys, who/when columns, the item number
 * and level of a price list item, the charge definition code of a charge). Every other attribute of those
 * rows is one the collections show for the resource (checked in server.test.ts).
 */
export const FUSION_PRICE_READ_ONLY: Record<string, readonly string[]> = {
  "/priceLists": ["PriceListId", "PriceListTypeCode", "StatusCode", "CreationDate", "LastUpdateDate"],
  "/priceLists/:PriceListId/child/items": [
    "PriceListItemId",
    "ItemId",
    "Item",
    "ItemLevelCode",
    "CreationDate",
    "LastUpdateDate",
  ],
  "/priceLists/:PriceListId/child/items/:PriceListItemId/child/charges": [
    "PriceListChargeId",
    "PricingChargeDefinitionCode",
    "CreationDate",
    "LastUpdateDate",
  ],
};

export interface FusionPriceListsData {
  lists: FusionRow[];
  items: FusionRow[];
  charges: FusionRow[];
  /** The seeded lists' PriceListIds. */
  base: number;
  group: number;
  foreign: number;
  addList(name: string, currency: string): FusionRow;
  /** A list item for an item with one QP_SALE_PRICE charge of `price`. */
  addItem(listId: number, itemId: number, price: string, uom?: string): FusionRow;
  /** Stamps a price list item's LastUpdateDate (as an edit of it does). */
  touchItem(priceListItemId: number): void;
  /** Sets the BasePrice of a price list item's first charge (stamping the charge only). */
  setPrice(priceListItemId: number, price: string): void;
}

export interface FusionData {
  items: FusionRow[];
  /** Price lists, their items and charges. */
  priceLists: FusionPriceListsData;
  /** Unit price per ItemId in the emulator's price list (the order currency). */
  prices: Map<number, string>;
  orders: Map<string, FusionOrder>;
  addItem(number: string, description: string, price: string): FusionRow;
  touchItem(id: number): void;
}

export interface FusionEmulator {
  url: string;
  username: string;
  password: string;
  currency: string;
  data: FusionData;
  faults: FaultInjector;
  stats: { requests: number; writes: number };
  violations: string[];
  /** Distinct operations (METHOD template) checked against the collections, with their counts. */
  checked: Map<string, number>;
  close(): Promise<void>;
}

export function fusionEmulatorEnv(
  emu: Pick<FusionEmulator, "url" | "username" | "password">,
): Record<string, string> {
  return { FUSION_URL: emu.url, FUSION_USERNAME: emu.username, FUSION_PASSWORD: emu.password };
}

class FusionError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Conditions of a framework-version-1 `q` expression, checked against the attributes of `sample`. */
function parseQ(q: string, attributes: Set<string>): ((row: FusionRow) => boolean)[] {
  const out: ((row: FusionRow) => boolean)[] = [];
  for (const part of q.match(/(?:[^;']|'(?:[^']|'')*')+/g) ?? []) {
    const m = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*(>=|<=|!=|=|>|<)\s*(?:'((?:[^']|'')*)'|([^'\s]+))\s*$/.exec(
      part,
    );
    if (!m) throw new FusionError(400, `q: ${JSON.stringify(part)} is not an "Attribute op value" condition`);
    const [, name, op, quoted, bare] = m as unknown as [
      string,
      string,
      string,
      string | undefined,
      string | undefined,
    ];
    if (!attributes.has(name)) throw new FusionError(400, `q: ${name} is not an attribute of the resource`);
    const value = quoted !== undefined ? quoted.replace(/''/g, "'") : (bare as string);
    out.push((row) => {
      const v = row[name];
      const a = typeof v === "number" ? v : String(v ?? "");
      const b = typeof v === "number" ? Number(value) : value;
      switch (op) {
        case "=":
          return a === b;
        case "!=":
          return a !== b;
        case ">":
          return a > b;
        case ">=":
          return a >= b;
        case "<":
          return a < b;
        default:
          return a <= b;
      }
    });
  }
  return out;
}

function collection(rows: FusionRow[], params: URLSearchParams, attributes: Set<string>, self: string) {
  let out = rows;
  const q = params.get("q");
  if (q) {
    const conds = parseQ(q, attributes);
    out = out.filter((r) => conds.every((c) => c(r)));
  }
  const orderBy = params.get("orderBy");
  if (orderBy) {
    const keys = orderBy.split(",").map((k) => {
      const [name, dir = "asc"] = k.split(":");
      if (!name || !attributes.has(name))
        throw new FusionError(400, `orderBy: ${name} is not an attribute of the resource`);
      if (dir !== "asc" && dir !== "desc") throw new FusionError(400, `orderBy: ${dir} is not asc or desc`);
      return { name, sign: dir === "asc" ? 1 : -1 };
    });
    out = [...out].sort((x, y) => {
      for (const k of keys) {
        const a = x[k.name] as string | number;
        const b = y[k.name] as string | number;
        if (a < b) return -k.sign;
        if (a > b) return k.sign;
      }
      return 0;
    });
  }
  const num = (name: string, dflt: number) => {
    const raw = params.get(name);
    if (raw === null) return dflt;
    if (!/^\d+$/.test(raw)) throw new FusionError(400, `${name}: ${JSON.stringify(raw)} is not a number`);
    return Number(raw);
  };
  const limit = Math.min(num("limit", 25), 500);
  const offset = num("offset", 0);
  const page = out.slice(offset, offset + limit);
  return {
    items: page,
    count: page.length,
    hasMore: offset + page.length < out.length,
    limit,
    offset,
    ...(params.get("totalResults") === "true" ? { totalResults: out.length } : {}),
    links: [{ rel: "self", href: self, name: "items", kind: "collection" }],
  };
}

export async function startFusionEmulator(opts: FusionEmulatorOptions = {}): Promise<FusionEmulator> {
  const contract = fusionContract();
  const username = opts.username ?? "integration.user";
  const password = opts.password ?? "Fusion#Emulated1";
  const currency = opts.currency ?? "USD";
  const faults = new FaultInjector(opts.faults ?? {});
  const stats = { requests: 0, writes: 0 };
  const violations: string[] = [];
  const checked = new Map<string, number>();
  const r = rng(opts.seed ?? 1);
  let clock = Date.parse("2026-01-05T08:00:00.000Z");
  const tick = () => {
    clock += 1000;
    return iso(clock);
  };
  let nextId = 300_100_000_000_000;
  const items: FusionRow[] = [];
  const prices = new Map<number, string>();
  const orders = new Map<string, FusionOrder>();
  const plRows: FusionRow[] = [];
  const pliRows: FusionRow[] = [];
  const chargeRows: FusionRow[] = [];
  const priceLists: FusionPriceListsData = {
    lists: plRows,
    items: pliRows,
    charges: chargeRows,
    base: 0,
    group: 0,
    foreign: 0,
    addList(name, cur) {
      const at = tick();
      const row: FusionRow = {
        PriceListId: ++nextId,
        PriceListName: name,
        PriceListDescription: `${name} (emulated)`,
        PriceListTypeCode: "SEGMENT",
        BusinessUnitId: 300_000_046,
        CurrencyCode: cur,
        StartDate: "2026-01-01T00:00:00+00:00",
        EndDate: null,
        StatusCode: "APPROVED",
        PricingChargeDefinitionCode: "QP_SALE_PRICE",
        CalculationMethodCode: "PRICE",
        LineTypeCode: "ORA_BUY",
        CreationDate: at,
        LastUpdateDate: at,
      };
      plRows.push(row);
      return row;
    },
    addItem(listId, itemId, price, uom = "Ea") {
      const item = items.find((i) => i.ItemId === itemId);
      if (!item) throw new Error(`no item ${itemId}`);
      if (!plRows.some((l) => l.PriceListId === listId)) throw new Error(`no price list ${listId}`);
      const at = tick();
      const row: FusionRow = {
        PriceListItemId: ++nextId,
        PriceListId: listId,
        ItemId: itemId,
        Item: item.ItemNumber,
        ItemLevelCode: "ITEM",
        PricingUOMCode: uom,
        LineTypeCode: "ORA_BUY",
        CreationDate: at,
        LastUpdateDate: at,
      };
      pliRows.push(row);
      chargeRows.push({
        PriceListChargeId: ++nextId,
        ParentEntityId: row.PriceListItemId,
        ChargeLineNumber: 1,
        PricingChargeDefinitionId: 300_000_100,
        PricingChargeDefinitionCode: "QP_SALE_PRICE",
        CalculationMethodCode: "PRICE",
        BasePrice: Number(price),
        StartDate: "2026-01-01T00:00:00+00:00",
        EndDate: null,
        CreationDate: at,
        LastUpdateDate: at,
      });
      return row;
    },
    touchItem(id) {
      const row = pliRows.find((r) => r.PriceListItemId === id);
      if (!row) throw new Error(`no price list item ${id}`);
      row.LastUpdateDate = tick();
    },
    setPrice(id, price) {
      const charge = chargeRows.find((c) => c.ParentEntityId === id);
      if (!charge) throw new Error(`no charge of price list item ${id}`);
      charge.BasePrice = Number(price);
      charge.LastUpdateDate = tick();
    },
  };
  priceLists.base = priceLists.addList(`Retail ${currency}`, currency).PriceListId as number;
  priceLists.group = priceLists.addList(`Wholesale ${currency}`, currency).PriceListId as number;
  const other = currency === "EUR" ? "USD" : "EUR";
  priceLists.foreign = priceLists.addList(`Export ${other}`, other).PriceListId as number;
  const data: FusionData = {
    items,
    priceLists,
    prices,
    orders,
    addItem(number, description, price) {
      const at = tick();
      const row: FusionRow = {
        ItemId: ++nextId,
        ItemNumber: number,
        ItemDescription: description,
        OrganizationId: 300_000_001,
        OrganizationCode: "MST",
        ItemClass: "Root Item Class",
        ItemStatusValue: "Active",
        PrimaryUOMValue: "Each",
        CustomerOrderFlag: true,
        CreationDate: at,
        LastUpdateDate: at,
      };
      items.push(row);
      prices.set(row.ItemId as number, price);
      priceLists.addItem(priceLists.base, row.ItemId as number, price);
      return row;
    },
    touchItem(id) {
      const row = items.find((i) => i.ItemId === id);
      if (!row) throw new Error(`no item ${id}`);
      row.LastUpdateDate = tick();
    },
  };
  for (let i = 1; i <= (opts.items ?? 20); i++) {
    data.addItem(
      `FG${String(i).padStart(4, "0")}`,
      `Finished good ${i}`,
      (5 + r.int(0, 9000) / 100).toFixed(2),
    );
  }
  const itemAttributes = new Set(Object.keys(items[0] ?? data.addItem("FG9999", "Spare", "1.00")));
  // Every other item on the wholesale list at 85 % of its price; two on the list in the other currency.
  items.forEach((item, i) => {
    const price = prices.get(item.ItemId as number) ?? "1.00";
    if (i % 2 === 0)
      priceLists.addItem(
        priceLists.group,
        item.ItemId as number,
        (Math.round(Number(price) * 85) / 100).toFixed(2),
      );
    if (i < 2) priceLists.addItem(priceLists.foreign, item.ItemId as number, price);
  });
  const attrsOf = (rows: FusionRow[]) => new Set(rows.flatMap((r) => Object.keys(r)));
  const plAttributes = attrsOf(plRows);
  const pliAttributes = attrsOf(pliRows);
  const chargeAttributes = attrsOf(chargeRows);
  const headerAttributes = new Set([
    "HeaderId",
    "OrderKey",
    "OrderNumber",
    "SourceTransactionSystem",
    "SourceTransactionId",
    "SourceTransactionNumber",
    "SourceTransactionRevisionNumber",
    "BusinessUnitId",
    "BuyingPartyContactEmail",
    "BuyingPartyContactFirstName",
    "BuyingPartyContactLastName",
    "TransactionalCurrencyCode",
    "StatusCode",
    "OnHoldFlag",
    "CreationDate",
    "LastUpdateDate",
  ]);
  const lineAttributes = new Set([
    "FulfillLineId",
    "SourceTransactionLineId",
    "SourceTransactionLineNumber",
    "ProductId",
    "ProductNumber",
    "OrderedQuantity",
    "OrderedUOMCode",
    "UnitSellingPrice",
    "ExtendedAmount",
  ]);

  const totalOf = (o: FusionOrder) =>
    o.lines.reduce((s, l) => s + Math.round(Number(l.ExtendedAmount) * 100), 0) / 100;

  const handle = (method: string, path: string, params: URLSearchParams, body: unknown, self: string) => {
    const seg = path.split("/").slice(1).map(decodeURIComponent);
    if (seg[0] === "itemsV2") {
      if (seg.length === 1 && method === "GET") return collection(items, params, itemAttributes, self);
      if (seg.length === 2 && method === "GET") {
        const row = items.find((i) => String(i.ItemId) === seg[1]);
        if (!row) throw new FusionError(404, `no itemsV2 row ${seg[1]}`);
        return row;
      }
    }
    if (seg[0] === "priceLists" && method === "GET") {
      if (seg.length === 1) return collection(plRows, params, plAttributes, self);
      const list = plRows.find((l) => String(l.PriceListId) === seg[1]);
      if (!list) throw new FusionError(404, `no priceLists row ${seg[1]}`);
      if (seg.length === 2) return list;
      if (seg[2] === "child" && seg[3] === "items") {
        const rows = pliRows.filter((r) => r.PriceListId === list.PriceListId);
        if (seg.length === 4) return collection(rows, params, pliAttributes, self);
        const row = rows.find((r) => String(r.PriceListItemId) === seg[4]);
        if (!row) throw new FusionError(404, `no item ${seg[4]} in price list ${seg[1]}`);
        if (seg.length === 5) return row;
        if (seg.length === 7 && seg[5] === "child" && seg[6] === "charges")
          return collection(
            chargeRows.filter((c) => c.ParentEntityId === row.PriceListItemId),
            params,
            chargeAttributes,
            self,
          );
      }
    }
    if (seg[0] === "salesOrdersForOrderHub") {
      if (seg.length === 1 && method === "GET")
        return collection(
          [...orders.values()].map((o) => o.header),
          params,
          headerAttributes,
          self,
        );
      if (seg.length === 1 && method === "POST") {
        const b = body as FusionRow;
        for (const k of [
          "SourceTransactionSystem",
          "SourceTransactionId",
          "SourceTransactionNumber",
          "BusinessUnitId",
        ]) {
          if (b[k] === undefined || b[k] === "") throw new FusionError(400, `${k} is required`);
        }
        const key = `${b.SourceTransactionSystem}:${b.SourceTransactionId}`;
        if (orders.has(key))
          throw new FusionError(
            400,
            `an order from ${b.SourceTransactionSystem} with id ${b.SourceTransactionId} exists`,
          );
        const at = tick();
        const header: FusionRow = {
          ...b,
          HeaderId: ++nextId,
          OrderKey: key,
          OrderNumber: String(500_000 + orders.size + 1),
          TransactionalCurrencyCode: currency,
          StatusCode: "DOO_DRAFT",
          OnHoldFlag: false,
          CreationDate: at,
          LastUpdateDate: at,
        };
        orders.set(key, { header, lines: [], holds: [] });
        stats.writes++;
        return { status: 201, body: header };
      }
      if (seg.length === 3 && seg[1] === "action" && seg[2] === "applyHold" && method === "POST") {
        const reqs = (body as { holdRequests?: FusionRow[] }).holdRequests ?? [];
        for (const h of reqs) {
          const o = orders.get(`${h.SourceOrderSystem}:${h.SourceOrderId}`);
          if (!o) throw new FusionError(400, `applyHold: no order ${h.SourceOrderSystem}:${h.SourceOrderId}`);
          o.holds.push(h);
          o.header.OnHoldFlag = true;
          o.header.LastUpdateDate = tick();
        }
        stats.writes++;
        return { result: "SUCCESS" };
      }
      const order = seg[1] !== undefined ? orders.get(seg[1]) : undefined;
      if (seg.length === 2 && method === "GET") {
        if (!order) throw new FusionError(404, `no order ${seg[1]}`);
        return order.header;
      }
      if (seg.length === 4 && seg[2] === "child" && order) {
        if (seg[3] === "lines" && method === "GET")
          return collection(order.lines, params, lineAttributes, self);
        if (seg[3] === "lines" && method === "POST") {
          const b = body as FusionRow;
          const item = items.find((i) => i.ItemId === b.ProductId);
          if (!item) throw new FusionError(400, `ProductId ${String(b.ProductId)} is not an item`);
          const qty = Number(b.OrderedQuantity);
          if (!(qty > 0)) throw new FusionError(400, "OrderedQuantity must be positive");
          const price = prices.get(item.ItemId as number) ?? "0";
          const line: FusionRow = {
            ...b,
            FulfillLineId: ++nextId,
            ProductNumber: item.ItemNumber,
            UnitSellingPrice: Number(price),
            ExtendedAmount: Math.round(Number(price) * qty * 100) / 100,
          };
          order.lines.push(line);
          order.header.LastUpdateDate = tick();
          stats.writes++;
          return { status: 201, body: line };
        }
        if (seg[3] === "totals" && method === "GET") {
          const rows: FusionRow[] = [
            {
              OrderTotalId: order.header.HeaderId,
              TotalCode: "QP_TOTAL_NET_PRICE",
              TotalAmount: totalOf(order),
              CurrencyCode: currency,
              PrimaryFlag: true,
            },
          ];
          return collection(rows, params, new Set(Object.keys(rows[0] as FusionRow)), self);
        }
      }
      if (seg.length >= 2 && !order) throw new FusionError(404, `no order ${seg[1]}`);
    }
    throw new FusionError(404, `the emulator does not answer ${method} ${path}`);
  };

  const server = createServer(async (req, res) => {
    stats.requests++;
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = (req.method ?? "GET").toUpperCase();
    const raw = await readBody(req);
    const text = (status: number, msg: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...extra });
      res.end(msg);
    };
    const fault = faults.roll(method !== "GET");
    if (fault === "429") return text(429, "Too Many Requests", { "retry-after": String(faults.retryAfterS) });
    if (fault === "5xx") return text(503, "Service Unavailable", { "retry-after": "1" });
    const auth = req.headers.authorization ?? "";
    const [u, ...p] = auth.startsWith("Basic ")
      ? Buffer.from(auth.slice(6), "base64").toString("utf8").split(":")
      : [];
    if (u !== username || p.join(":") !== password) {
      return text(401, "Unauthorized", { "www-authenticate": 'Basic realm="fusion"' });
    }
    if (!url.pathname.startsWith(`${FUSION_ROOT}/`)) return text(404, `not under ${FUSION_ROOT}`);
    const path = url.pathname.slice(FUSION_ROOT.length);
    let body: unknown;
    if (raw !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        violations.push(`${method} ${path}: body is not JSON`);
        return text(400, "the body is not JSON");
      }
    }
    const { op, problems } = contract.check(method, path, [...url.searchParams.keys()], body);
    if (op) checked.set(`${op.method} ${op.template}`, (checked.get(`${op.method} ${op.template}`) ?? 0) + 1);
    if (problems.length > 0) {
      for (const pr of problems) violations.push(`${method} ${path}: ${pr}`);
      return text(400, problems.join("; "));
    }
    try {
      const out = handle(method, path, url.searchParams, body, `http://${req.headers.host}${url.pathname}`);
      const status = (out as { status?: number }).status === 201 ? 201 : 200;
      const payload = status === 201 ? (out as { body: unknown }).body : out;
      res.writeHead(status, { "content-type": "application/vnd.oracle.adf.resourceitem+json" });
      res.end(JSON.stringify(payload));
    } catch (err) {
      if (err instanceof FusionError) return text(err.status, err.message);
      return text(500, String(err));
    }
  });
  await new Promise<void>((ok) => server.listen(opts.port ?? 0, "127.0.0.1", ok));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    username,
    password,
    currency,
    data,
    faults,
    stats,
    violations,
    checked,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
