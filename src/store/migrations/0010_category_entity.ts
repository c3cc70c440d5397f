/** The category entity (the category tree, ERP → shop): the `entity` CHECK is widened to allow it. */
import type { Migration } from "kysely";
import type { DialectName } from "../schema.ts";
import { widenEntity } from "./widen-entity.ts";

export const ENTITIES_V1 = "'product', 'price', 'inventory', 'customer', 'order', 'shipment', 'invoice'";
export const ENTITIES_V10 = `'category', ${ENTITIES_V1}`;

export function categoryEntity(dialect: DialectName): Migration {
  return widenEntity(dialect, { before: ENTITIES_V1, after: ENTITIES_V10, copySuffix: "v10" });
}
