/**
 * Batched SuiteQL look-ups that tie a page of transactions (fulfilments, invoices) to what the shop knows:
 * their lines (`transactionline`: the main line's `createdfrom` is the sales order they were made from), the
 * sales orders' `otherrefnum` (the shop order's key, written there by the order writer), item ids → itemid
 * (SKU). One query per look-up and page, ids in `IN (...)` lists of at most 1,000 (Oracle's limit); every id is
 * checked to be a NetSuite internal id (digits) before it goes into a query. Column names and their sources:
 * packages/emulators/src/netsuite/suiteql-tables.ts.
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import { type NsRow, sql } from "../client.ts";
import type { NetSuiteContext } from "../context.ts";

const IN_MAX = 1000;
const PAGE = 1000;

/** A NetSuite internal id as SuiteQL answers it (a number or a numeric string), or undefined. */
export function internalId(v: unknown): string | undefined {
  const s = typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : "";
  return /^\d+$/.test(s) ? s : undefined;
}

const DECIMAL = /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

/**
 * A SuiteQL amount (a JSON number, or a numeric string) as big.js reads it, or undefined when it is not one. A
 * JSON number is taken in its shortest decimal form (0.1 is "0.1"), so sums are exact in decimal.
 */
export function decimalOf(v: unknown): string | undefined {
  const s =
    typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : typeof v === "string" ? v.trim() : "";
  return DECIMAL.test(s) ? new Big(s).toFixed() : undefined;
}

/** Every row of a query whose `IN (...)` list is built from `ids` (deduplicated), in batches of 1,000. */
export async function rowsWhereIn(
  ctx: NetSuiteContext,
  ids: Iterable<string>,
  query: (list: string) => string,
  signal?: AbortSignal,
): Promise<NsRow[]> {
  const unique = [...new Set(ids)];
  for (const id of unique) {
    if (!/^\d+$/.test(id)) {
      throw new SyncError("data", `${ctx.name}: ${JSON.stringify(id)} is not a NetSuite internal id`, {
        system: ctx.name,
      });
    }
  }
  const out: NsRow[] = [];
  for (let i = 0; i < unique.length; i += IN_MAX) {
    const list = unique.slice(i, i + IN_MAX).join(", ");
    for await (const page of ctx.client.suiteql(query(list), PAGE, signal)) out.push(...page);
  }
  return out;
}

export interface TranLines {
  /** The transaction the document was made from (main line's createdfrom). */
  createdFrom?: string;
  items: { item: string; quantity: number }[];
  /** Sum of the tax lines' foreignamount (sign as stored), summed as decimals from the row values. */
  tax: string;
  /** The first tax line whose foreignamount is not a number (then `tax` leaves it out). */
  badTax?: unknown;
  hasTaxLines: boolean;
}

/** Lines of the given transactions, by transaction id. */
export async function linesOf(
  ctx: NetSuiteContext,
  tranIds: string[],
  signal?: AbortSignal,
): Promise<Map<string, TranLines>> {
  const rows = await rowsWhereIn(
    ctx,
    tranIds,
    (list) =>
      `SELECT transaction, mainline, taxline, createdfrom, item, quantity, foreignamount FROM transactionline WHERE transaction IN (${list}) ORDER BY transaction, id`,
    signal,
  );
  const out = new Map<string, TranLines>(
    tranIds.map((id): [string, TranLines] => [id, { items: [], tax: "0", hasTaxLines: false }]),
  );
  for (const r of rows) {
    const t = out.get(String(r.transaction));
    if (!t) continue;
    if (r.mainline === "T" || r.mainline === true) {
      const from = internalId(r.createdfrom);
      if (from) t.createdFrom = from;
    } else if (r.taxline === "T" || r.taxline === true) {
      t.hasTaxLines = true;
      const amount = decimalOf(r.foreignamount ?? 0);
      if (amount === undefined) t.badTax ??= r.foreignamount;
      else t.tax = new Big(t.tax).plus(amount).toFixed();
    } else {
      const item = internalId(r.item);
      const quantity = Number(r.quantity ?? 0);
      // Sales transactions store line quantities negated (see the sources); the magnitude is what moved.
      if (item && Number.isFinite(quantity) && quantity !== 0)
        t.items.push({ item, quantity: Math.abs(quantity) });
    }
  }
  return out;
}

/** Sales orders → the shop order key in their otherrefnum; orders without one are left out. */
export async function orderKeysOf(
  ctx: NetSuiteContext,
  salesOrderIds: string[],
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const rows = await rowsWhereIn(
    ctx,
    salesOrderIds,
    (list) => `SELECT id, otherrefnum FROM transaction WHERE type = 'SalesOrd' AND id IN (${list})`,
    signal,
  );
  const out = new Map<string, string>();
  for (const r of rows) {
    const ref = typeof r.otherrefnum === "string" ? r.otherrefnum.trim() : "";
    if (ref) out.set(String(r.id), ref);
  }
  return out;
}

/** Item internal ids → itemid (the SKU). */
export async function skusOf(
  ctx: NetSuiteContext,
  itemIds: Iterable<string>,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const rows = await rowsWhereIn(
    ctx,
    itemIds,
    (list) => `SELECT id, itemid FROM item WHERE id IN (${list})`,
    signal,
  );
  return new Map(rows.map((r) => [String(r.id), String(r.itemid)] as const));
}

/** The transactions of one SuiteQL type with the given id (an id of another type, or not digits: none). */
export function oneOfType(ctx: NetSuiteContext, type: string, cols: readonly string[], id: string) {
  return /^\d+$/.test(id)
    ? ctx.client.first(`SELECT ${cols.join(", ")} FROM transaction WHERE type = ${sql(type)} AND id = ${id}`)
    : Promise.resolve(null);
}

/** A SuiteQL date (ISO, or the account's format where the JS Date parser reads it) as an ISO timestamp. */
export function dateOf(ctx: NetSuiteContext, v: unknown, what: string): string {
  const d =
    typeof v === "string" && v.trim() !== ""
      ? new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v)
      : null;
  if (!d || Number.isNaN(d.getTime())) {
    throw new SyncError("data", `${ctx.name}: ${what} has no readable date (${JSON.stringify(v)})`, {
      system: ctx.name,
      field: "trandate",
    });
  }
  return d.toISOString();
}
