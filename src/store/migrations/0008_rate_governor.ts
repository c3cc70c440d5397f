/**
 * The shared rate governor's state (store/governor in kysely-store.ts `reserveRateSlot`): one row per
 * budget (a connection), holding when its next request may be sent, in milliseconds since the epoch of the
 * database's clock, so processes on several hosts agree without trusting their own clocks.
 */
import { type Kysely, type Migration, sql } from "kysely";

export function rateGovernor(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("rate_governor")
        .ifNotExists()
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("next_ms", "double precision", (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists rate_governor`.execute(db);
    },
  };
}
