/** The refund entity (shop refunds → ERP credit notes): the `entity` CHECK is widened to allow it. */
import type { Migration } from "kysely";
import type { DialectName } from "../schema.ts";
import { ENTITIES_V10 } from "./0010_category_entity.ts";
import { widenEntity } from "./widen-entity.ts";

const ENTITIES_V11 = `${ENTITIES_V10}, 'refund'`;

export function refundEntity(dialect: DialectName): Migration {
  return widenEntity(dialect, { before: ENTITIES_V10, after: ENTITIES_V11, copySuffix: "v11" });
}
