/**
 * Prices per customer group: each configured price level (config `priceLevels`, found by its SuiteQL
 * `pricelevel.name`) is the price list of one customer group in one currency. The prices are the SuiteQL
 * `pricing` rows of those levels (item, pricelevel, currency, quantity, unitprice), the SKU is the item's
 * itemid and the currency the `currency.symbol` of the row's currency.
 *
 * - Quantity breaks: `pricing.quantity` numbers the item's quantity breaks (1 is the first, the price from the
 *   smallest quantity up); only break 1 is read, the later breaks are left out of the query, so a list carries
 *   each item's single-unit price and no tiers (their lower bounds live in another table no connector reads yet).
 * - Currency: a row whose currency is not the currency of any list configured for its level is a failed record
 *   naming `currency` and its value (a multi-currency account keeps one row per currency: configure one entry
 *   per level and currency to read them).
 * - Money: the unit price is read in its decimal form and rounded to the currency's minor unit (big.js, half away
 *   from zero); a unit price that is not a non-negative number is a failed record naming `unitprice`.
 * - No source shows a modification date on `pricing`, so the stream is a snapshot (like stock per location):
 *   every read reads all of it, stamped with the time it was read, in (item, pricelevel, currency) order; not
 *   resumable from a cursor.
 * Sources per column and what stays unverified: packages/emulators/src/netsuite/suiteql-tables.ts.
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { Price } from "../../../core/model.ts";
import { round } from "../../../core/money.ts";
import type { Stream } from "../../../ports/connector.ts";
import { priceListGroup } from "../../price-lists.ts";
import { type NsRow, sql } from "../client.ts";
import type { NetSuitePriceLevel } from "../config.ts";
import type { NetSuiteContext } from "../context.ts";
import { decimalOf, internalId, rowsWhereIn, skusOf } from "./links.ts";

const PRICE_COLS = "item, pricelevel, currency, quantity, unitprice";

/** One configured list: its entry, the level's internal id and name, its currency and code. */
export interface PriceList {
  conf: NetSuitePriceLevel;
  levelId: string;
  name: string;
  currency: string;
  code: string;
}

/** A `pricing` row completed with the SKU, the currency's symbol, the configured lists and the read time. */
export interface PriceRow extends NsRow {
  sku?: string;
  symbol?: string;
  lists: PriceList[];
  at: string;
}

/** `<item>-<pricelevel>-<currency>`: the internal ids that name one price. */
export const priceIdOf = (r: NsRow) => `${String(r.item)}-${String(r.pricelevel)}-${String(r.currency)}`;

/** The configured levels, found by name; a name NetSuite does not know is a config error naming it. */
export async function listsOf(ctx: NetSuiteContext, signal?: AbortSignal): Promise<PriceList[]> {
  const confs = ctx.config.priceLevels;
  if (confs.length === 0) return [];
  const names = [...new Set(confs.map((c) => c.name))];
  const ids = new Map<string, string>();
  for await (const page of ctx.client.suiteql(
    `SELECT id, name FROM pricelevel WHERE name IN (${names.map(sql).join(", ")})`,
    1000,
    signal,
  )) {
    for (const r of page) {
      const id = internalId(r.id);
      if (id && typeof r.name === "string") ids.set(r.name.trim(), id);
    }
  }
  const seen = new Set<string>();
  return confs.map((conf, i) => {
    const levelId = ids.get(conf.name);
    if (!levelId) {
      throw new SyncError(
        "config",
        `${ctx.name}: priceLevels[${i}].name ${JSON.stringify(conf.name)} is not a NetSuite price level`,
        { system: ctx.name, field: `priceLevels[${i}].name` },
      );
    }
    const currency = conf.currency ?? ctx.config.currency;
    if (seen.has(`${levelId}@${currency}`)) {
      throw new SyncError(
        "config",
        `${ctx.name}: priceLevels[${i}] lists price level ${JSON.stringify(conf.name)} in ${currency} a second time`,
        { system: ctx.name, field: `priceLevels[${i}].currency` },
      );
    }
    seen.add(`${levelId}@${currency}`);
    const twice = confs.filter((c) => c.name === conf.name).length > 1;
    const slug = priceListGroup(conf.name, `netsuite-${levelId}`);
    const code = conf.code ?? (twice ? `${slug.code}-${currency.toLowerCase()}` : slug.code);
    return { conf, levelId, name: conf.name, currency, code };
  });
}

async function complete(
  ctx: NetSuiteContext,
  lists: PriceList[],
  rows: NsRow[],
  at: string,
  signal?: AbortSignal,
): Promise<PriceRow[]> {
  if (rows.length === 0) return [];
  const skus = await skusOf(
    ctx,
    rows.flatMap((r) => internalId(r.item) ?? []),
    signal,
  );
  const symbols = new Map(
    (
      await rowsWhereIn(
        ctx,
        rows.flatMap((r) => internalId(r.currency) ?? []),
        (list) => `SELECT id, symbol FROM currency WHERE id IN (${list})`,
        signal,
      )
    ).map((c) => [String(c.id), String(c.symbol ?? "").trim()] as const),
  );
  return rows.map((r): PriceRow => {
    const sku = skus.get(String(r.item));
    const symbol = symbols.get(String(r.currency));
    return { ...r, ...(sku ? { sku } : {}), ...(symbol ? { symbol } : {}), lists, at };
  });
}

export function priceOf(ctx: NetSuiteContext, row: PriceRow): Price {
  const level = String(row.pricelevel);
  const ofLevel = row.lists.filter((l) => l.levelId === level);
  const where = `price level ${JSON.stringify(ofLevel[0]?.name ?? level)} item ${String(row.sku ?? row.item)}`;
  const fail = (field: string, message: string) =>
    new SyncError("data", `${ctx.name}: ${where}: ${message}`, { system: ctx.name, field });
  if (ofLevel.length === 0)
    throw fail("pricelevel", `pricelevel ${JSON.stringify(row.pricelevel)} is not configured`);
  if (!row.sku) throw fail("item", `item ${JSON.stringify(row.item)} has no itemid`);
  const list = ofLevel.find((l) => l.currency === row.symbol);
  if (!list) {
    throw fail(
      "currency",
      `currency ${JSON.stringify(row.currency)} (${JSON.stringify(row.symbol ?? null)}) is not the currency of the level's price list (${ofLevel.map((l) => l.currency).join(", ")})`,
    );
  }
  const amount = decimalOf(row.unitprice);
  if (amount === undefined || new Big(amount).lt(0)) {
    throw fail("unitprice", `unitprice ${JSON.stringify(row.unitprice)} is not a price`);
  }
  return {
    source: ctx.name,
    sourceId: priceIdOf(row),
    updatedAt: row.at,
    key: `${list.code}:${row.sku}`,
    priceList: {
      code: list.code,
      name: list.name,
      customerGroup: list.conf.customerGroup,
      currency: list.currency,
    },
    sku: row.sku,
    price: round(amount, list.currency),
    tiers: [],
  };
}

export function priceStream(ctx: NetSuiteContext): Stream<"price", PriceRow> {
  const query = (where: string) =>
    `SELECT ${PRICE_COLS} FROM pricing WHERE ${where} AND quantity = 1 ORDER BY item, pricelevel, currency`;
  return {
    entity: "price",
    // A snapshot: no modification date to order by or resume from.
    sorted: false,
    async *list(req) {
      const lists = await listsOf(ctx, req.signal);
      if (lists.length === 0) return;
      const at = new Date().toISOString();
      const levels = [...new Set(lists.map((l) => l.levelId))].join(", ");
      for await (const page of ctx.client.suiteql(
        query(`pricelevel IN (${levels})`),
        Math.min(req.pageSize, ctx.config.pageSize),
        req.signal,
      )) {
        yield await complete(ctx, lists, page, at, req.signal);
      }
    },
    async get(id) {
      const m = /^(\d+)-(\d+)-(\d+)$/.exec(id);
      if (!m) return null;
      const lists = await listsOf(ctx);
      if (!lists.some((l) => l.levelId === m[2])) return null;
      const row = await ctx.client.first(
        query(`item = ${m[1]} AND pricelevel = ${m[2]} AND currency = ${m[3]}`),
      );
      return row ? ((await complete(ctx, lists, [row], new Date().toISOString()))[0] ?? null) : null;
    },
    idOf: priceIdOf,
    updatedAtOf: (r) => r.at,
    toCanonical: (r) => priceOf(ctx, r),
  };
}
