/**
 * Reading Oracle Fusion price lists (Order Management pricing, resource priceLists): a list found by its
 * PriceListName, its items (child/items, one row per item and pricing unit), and each item's charges
 * (child/items/{PriceListItemId}/child/charges). An item's one-time sale price is the BasePrice of its
 * sale charge (PricingChargeDefinitionCode, QP_SALE_PRICE by default) in effect now: StartDate at or before
 * now and no EndDate or one after it; with none in effect, the earliest one still to start. The price is
 * rounded to the list currency's minor unit.
 */
import Big from "big.js";
import { SyncError } from "../../core/errors.ts";
import { minorUnits, roundTo } from "../../core/money.ts";
import { type FusionRow, qLiteral } from "./client.ts";
import type { FusionContext } from "./context.ts";

/** A row's LastUpdateDate as ISO 8601 UTC (CreationDate when it has none; the epoch when neither). */
export function stampOf(row: FusionRow): string {
  const raw = row.LastUpdateDate ?? row.CreationDate;
  const t = typeof raw === "string" ? Date.parse(raw) : Number.NaN;
  return Number.isNaN(t) ? "1970-01-01T00:00:00.000Z" : new Date(t).toISOString();
}

/** The price list named `name`, or a configuration error naming `field` and the name. */
export async function findPriceList(
  ctx: FusionContext,
  name: string,
  field: string,
  signal?: AbortSignal,
): Promise<FusionRow> {
  for await (const page of ctx.client.list("priceLists", {
    q: `PriceListName=${qLiteral(name)}`,
    limit: 2,
    ...(signal ? { signal } : {}),
  })) {
    const row = page.find((r) => r.PriceListName === name);
    if (row) return row;
  }
  throw new SyncError(
    "config",
    `${ctx.name}: ${field}: Oracle Fusion has no price list named ${JSON.stringify(name)}`,
    { system: ctx.name, field },
  );
}

/** Every charge of one price list item. */
export async function chargesOf(
  ctx: FusionContext,
  listId: unknown,
  itemId: unknown,
  signal?: AbortSignal,
): Promise<FusionRow[]> {
  const out: FusionRow[] = [];
  for await (const page of ctx.client.list(
    `priceLists/${encodeURIComponent(String(listId))}/child/items/${encodeURIComponent(String(itemId))}/child/charges`,
    { limit: 100, ...(signal ? { signal } : {}) },
  ))
    out.push(...page);
  return out;
}

/** `fn` over `xs`, at most `limit` at a time, results in the order of `xs`. */
export async function mapLimit<T, R>(xs: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  const worker = async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, xs.length) }, worker));
  return out;
}

export interface SalePrice {
  price: string;
  charge: FusionRow;
}

const time = (v: unknown) => (typeof v === "string" && v !== "" ? Date.parse(v) : Number.NaN);

/**
 * The sale price of a price list item from its charges, in `currency`'s minor unit, or why it has none
 * (a message naming the attribute and its value).
 */
export function salePrice(
  charges: FusionRow[],
  chargeCode: string,
  currency: string,
  now = Date.now(),
): SalePrice | { error: string; field: string } {
  const sale = charges.filter((c) => c.PricingChargeDefinitionCode === chargeCode);
  if (sale.length === 0) {
    const codes = [...new Set(charges.map((c) => String(c.PricingChargeDefinitionCode)))];
    return {
      error: `it has no ${chargeCode} charge (PricingChargeDefinitionCode of its charges: ${codes.length ? codes.map((c) => JSON.stringify(c)).join(", ") : "none"})`,
      field: "PricingChargeDefinitionCode",
    };
  }
  const inEffect = sale.filter((c) => {
    const start = time(c.StartDate);
    const end = time(c.EndDate);
    return !(start > now) && (Number.isNaN(end) || end > now);
  });
  const upcoming = sale
    .filter((c) => time(c.StartDate) > now)
    .sort((a, b) => time(a.StartDate) - time(b.StartDate));
  const charge = inEffect[0] ?? upcoming[0];
  if (!charge) {
    return {
      error: `its ${chargeCode} charges have all ended (last EndDate ${JSON.stringify(
        sale
          .map((c) => c.EndDate)
          .sort()
          .at(-1),
      )})`,
      field: "EndDate",
    };
  }
  const method = charge.CalculationMethodCode;
  if (method !== undefined && method !== null && method !== "PRICE") {
    return {
      error: `its ${chargeCode} charge ${String(charge.PriceListChargeId)} has CalculationMethodCode ${JSON.stringify(method)}: only a PRICE (an amount) is read, not a price computed from another`,
      field: "CalculationMethodCode",
    };
  }
  const base = charge.BasePrice;
  if (typeof base !== "number" || !Number.isFinite(base) || base < 0) {
    return {
      error: `its ${chargeCode} charge ${String(charge.PriceListChargeId)} has BasePrice ${JSON.stringify(base)}, not an amount`,
      field: "BasePrice",
    };
  }
  return { price: roundTo(new Big(base).toFixed(), minorUnits(currency)), charge };
}

/** The date part (YYYY-MM-DD, UTC) of a Fusion timestamp, or undefined. */
export function dateOf(v: unknown): string | undefined {
  const t = time(v);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().slice(0, 10);
}
