/**
 * Conventions the connectors share for names, keys and prices: an ERP price list serves the customer group
 * named after it, an order's canonical key carries its number after the connection prefix, and a shop whose
 * variants have one price of their own says which flow owns it.
 */
import { z } from "zod";
import type { ConfigProblem } from "../ports/definition.ts";

/**
 * Who writes the price a shop keeps on each variant (WooCommerce's regular_price, Medusa's price per
 * currency) when a product flow and a price flow both reach it: the product flow on every change
 * ("always"), or only when it creates the product or variation ("on-create"), the price flow after that.
 */
export const ProductPrices = z.enum(["always", "on-create"]).default("always");

/**
 * With both flows writing to the shop and productPrices "always", a product edit in the ERP would put the
 * product's own price back over the price list's, and the price flow, whose price did not change, would
 * never send it again: refused when passerelle.yaml is loaded (ConnectorSpec.checkUse).
 */
export function productPricesProblems(
  productPrices: "always" | "on-create",
  use: { writes: readonly string[] },
  field: string,
): ConfigProblem[] {
  if (productPrices !== "always" || !use.writes.includes("product") || !use.writes.includes("price"))
    return [];
  return [
    {
      path: ["productPrices"],
      message: `a price flow writes this shop's ${field} and a product flow would write it too: set productPrices: on-create, so products are priced when created and the price flow owns prices after that`,
    },
  ];
}

/** The order number inside a canonical order key: `shopify:#1001` → `#1001`. */
export function afterPrefix(ref: string): string {
  const i = ref.indexOf(":");
  return i >= 0 && i < ref.length - 1 ? ref.slice(i + 1) : ref;
}

/**
 * The customer group a price list serves, from its name: the name without a trailing currency code,
 * lower-cased, accents stripped, non-alphanumerics as "-" ("Wholesale EUR" → "wholesale"). The list's
 * code is the whole name in that form ("wholesale-eur"), `fallback` when nothing of the name is left.
 */
export function priceListGroup(name: string, fallback: string): { code: string; group: string } {
  const slug = (s: string) =>
    s
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "");
  const code = slug(name) || fallback;
  const group = slug(name.replace(/\s*\(?\b[A-Z]{3}\)?\s*$/, "")) || code;
  return { code, group };
}
