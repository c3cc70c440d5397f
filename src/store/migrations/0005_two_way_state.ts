/**
 * Two-way flows keep, per record, the state their merge needs (core/merge.ts KeyState, as JSON): the base —
 * the record both sides last agreed on — whether a conflict is held, and per side the hash last written or
 * read and the version last read. One row per (flow, key), written in the same transaction as the links.
 */
import type { Kysely, Migration } from "kysely";

export function twoWayState(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("two_way_state")
        .addColumn("flow", "text", (c) => c.notNull())
        .addColumn("entity", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("two_way_state_pk", ["flow", "key"])
        .execute();
    },
  };
}
