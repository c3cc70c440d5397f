import type { OdooClient } from "./client.ts";
import type { OdooConfig } from "./config.ts";

/** What every stream and writer of one Odoo connection shares. */
export interface OdooContext {
  client: OdooClient;
  /** Connection name: the `source` of canonical records and the prefix of Odoo-born keys. */
  name: string;
  config: OdooConfig;
}

/** The order number inside a canonical order key: `shopify:#1001` → `#1001`. */
export function afterPrefix(ref: string): string {
  const i = ref.indexOf(":");
  return i >= 0 && i < ref.length - 1 ? ref.slice(i + 1) : ref;
}

/**
 * A price list's customer group, from its name: the name without a trailing currency code, lower-cased,
 * non-alphanumerics as "-". "Wholesale EUR" → "wholesale", "VIP EUR" → "vip", "Retail" → "retail".
 * Its code is the whole name in the same form: "wholesale-eur".
 */
export function pricelistGroup(name: string): { code: string; group: string } {
  const slug = (s: string) =>
    s
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "");
  const code = slug(name) || "pricelist";
  const group = slug(name.replace(/\s*\(?\b[A-Z]{3}\)?\s*$/, "")) || code;
  return { code, group };
}
