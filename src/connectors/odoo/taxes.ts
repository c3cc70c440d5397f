/** Sale taxes (account.tax), read once per connection: a handful of rows that rarely change. */
import Big from "big.js";
import type { OdooContext } from "./context.ts";
import { bool, num, str } from "./fields.ts";

export interface Tax {
  id: number;
  name: string;
  /** Percent, as Odoo stores it: 20 for 20%. */
  percent: number;
  priceInclude: boolean;
}

export async function loadSaleTaxes(ctx: OdooContext, signal?: AbortSignal): Promise<Tax[]> {
  const rows = await ctx.client.searchRead(
    "account.tax",
    [
      ["type_tax_use", "=", "sale"],
      ["amount_type", "=", "percent"],
    ],
    ["name", "amount", "price_include"],
    { order: "id asc", signal },
  );
  return rows.map((r) => ({
    id: r.id,
    name: str(r, "name") ?? `tax ${r.id}`,
    percent: num(r, "amount"),
    priceInclude: bool(r, "price_include"),
  }));
}

/** Canonical tax rates are fractions ("0.2"); Odoo stores percents (20). */
export function rateOf(tax: Tax): string {
  return new Big(tax.percent).div(100).toString();
}

export function percentOf(rate: string): number {
  return Number(new Big(rate).times(100).toString());
}
