/**
 * The job runtime's tables: the jobs table gains a singleton key (at most one live job per key, so a flow
 * never runs twice at once) and named leases (per-record serialization, "one runner per flow").
 */
import { type Kysely, type Migration, sql } from "kysely";

const LIVE_JOB_STATUSES = ["queued", "running"];

export function jobs(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable("jobs").addColumn("singleton_key", "text").execute();
      await db.schema
        .createIndex("jobs_singleton_live_uq")
        .on("jobs")
        .column("singleton_key")
        .unique()
        .where(sql<boolean>`${sql.ref("status")} in (${sql.join(LIVE_JOB_STATUSES.map((s) => sql.lit(s)))})`)
        .execute();
      await db.schema.createIndex("jobs_lease_idx").on("jobs").columns(["status", "locked_until"]).execute();

      await db.schema
        .createTable("leases")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("holder", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("acquired_at", "text", (c) => c.notNull())
        .execute();
    },
  };
}
