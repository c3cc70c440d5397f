/**
 * Conventions the ERP connectors share for names and keys: an ERP price list serves the customer group
 * named after it, and an order's canonical key carries its number after the connection prefix.
 */

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
