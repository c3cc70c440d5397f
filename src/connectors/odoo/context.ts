import { priceListGroup } from "../price-lists.ts";
import type { OdooClient } from "./client.ts";
import type { OdooConfig } from "./config.ts";

/** What every stream and writer of one Odoo connection shares. */
export interface OdooContext {
  client: OdooClient;
  /** Connection name: the `source` of canonical records and the prefix of Odoo-born keys. */
  name: string;
  config: OdooConfig;
}

export { afterPrefix } from "../price-lists.ts";

/** A pricelist's customer group, from its name (see price-lists.ts): "Wholesale EUR" → "wholesale". */
export function pricelistGroup(name: string): { code: string; group: string } {
  return priceListGroup(name, "pricelist");
}
