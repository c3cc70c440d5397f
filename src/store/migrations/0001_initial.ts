/**
 * The first schema. A migration is a frozen snapshot: its value lists are written out here rather than
 * imported from the model, so editing the model later never rewrites history. A new entity needs a new
 * migration that widens the CHECKs.
 */
import { type ColumnDefinitionBuilder, type Kysely, type Migration, sql } from "kysely";
import type { DialectName } from "../schema.ts";

const ENTITIES_V1 = ["product", "price", "inventory", "customer", "order", "shipment", "invoice"];
const FAILURE_STATUSES_V1 = ["open", "retrying", "resolved", "skipped"];
const RUN_STATUSES_V1 = ["running", "succeeded", "failed", "partial"];

function oneOf(column: string, values: string[]) {
  return sql<boolean>`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;
}

export function initial(dialect: DialectName): Migration {
  // SQLite's AUTOINCREMENT never reuses an id; PostgreSQL's identity is 64-bit so event ids never run out.
  const idType = dialect === "sqlite" ? "integer" : "bigint";
  const id = (col: ColumnDefinitionBuilder) =>
    dialect === "sqlite" ? col.primaryKey().autoIncrement() : col.primaryKey().generatedByDefaultAsIdentity();
  const entity = (col: ColumnDefinitionBuilder) => col.notNull().check(oneOf("entity", ENTITIES_V1));

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("links")
        .addColumn("entity", "text", entity)
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("system", "text", (c) => c.notNull())
        .addColumn("external_id", "text", (c) => c.notNull())
        .addColumn("last_hash", "text")
        .addColumn("version", "text")
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("links_pk", ["entity", "key", "system"])
        .addUniqueConstraint("links_external_id_uq", ["system", "entity", "external_id"])
        .execute();

      await db.schema
        .createTable("cursors")
        .addColumn("flow", "text", (c) => c.primaryKey())
        .addColumn("updated_at_cursor", "text", (c) => c.notNull())
        .addColumn("id_cursor", "text", (c) => c.notNull())
        .addColumn("committed_at", "text", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("runs")
        .addColumn("id", idType, id)
        .addColumn("flow", "text", (c) => c.notNull())
        .addColumn("mode", "text", (c) => c.notNull().check(oneOf("mode", ["sync", "plan", "retry"])))
        .addColumn("status", "text", (c) => c.notNull().check(oneOf("status", RUN_STATUSES_V1)))
        .addColumn("started_at", "text", (c) => c.notNull())
        .addColumn("finished_at", "text")
        .addColumn("read", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("updated", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("skipped", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("failed", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("calls", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("error", "text")
        .execute();
      await db.schema.createIndex("runs_flow_idx").on("runs").columns(["flow", "id"]).execute();

      // No foreign key to runs: lineage outlives pruned runs, and events arrive outside runs too.
      await db.schema
        .createTable("sync_events")
        .addColumn("id", idType, id)
        .addColumn("run_id", idType)
        .addColumn("flow", "text", (c) => c.notNull())
        .addColumn("entity", "text", entity)
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("system", "text", (c) => c.notNull())
        .addColumn("external_id", "text")
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("message", "text")
        .addColumn("detail", "text")
        .addColumn("at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("sync_events_key_idx")
        .on("sync_events")
        .columns(["entity", "key"])
        .execute();
      await db.schema
        .createIndex("sync_events_external_id_idx")
        .on("sync_events")
        .columns(["entity", "external_id"])
        .execute();

      await db.schema
        .createTable("failed_records")
        .addColumn("id", idType, id)
        .addColumn("flow", "text", (c) => c.notNull())
        .addColumn("entity", "text", entity)
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("source_system", "text", (c) => c.notNull())
        .addColumn("source_id", "text", (c) => c.notNull())
        .addColumn("source_payload", "text")
        .addColumn("mapped_payload", "text")
        .addColumn("error_kind", "text", (c) => c.notNull())
        .addColumn("error_message", "text", (c) => c.notNull())
        .addColumn("error_detail", "text")
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("status", "text", (c) => c.notNull().check(oneOf("status", FAILURE_STATUSES_V1)))
        .addColumn("reason", "text")
        .addColumn("first_failed_at", "text", (c) => c.notNull())
        .addColumn("last_failed_at", "text", (c) => c.notNull())
        .execute();
      // At most one live failure per record and flow, so the inbox shows one line with its attempt count.
      await db.schema
        .createIndex("failed_records_live_uq")
        .on("failed_records")
        .columns(["flow", "key"])
        .unique()
        .where(oneOf("status", ["open", "retrying"]))
        .execute();
      await db.schema
        .createIndex("failed_records_status_idx")
        .on("failed_records")
        .columns(["status", "last_failed_at"])
        .execute();

      await db.schema
        .createTable("intents")
        .addColumn("id", idType, id)
        .addColumn("flow", "text", (c) => c.notNull())
        .addColumn("entity", "text", entity)
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("system", "text", (c) => c.notNull())
        .addColumn("external_ref", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("completed_at", "text")
        .execute();
      await db.schema
        .createIndex("intents_pending_idx")
        .on("intents")
        .columns(["flow", "id"])
        .where(sql.ref("completed_at"), "is", null)
        .execute();

      await db.schema
        .createTable("jobs")
        .addColumn("id", idType, id)
        .addColumn("queue", "text", (c) => c.notNull())
        .addColumn("payload", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("run_at", "text", (c) => c.notNull())
        .addColumn("locked_by", "text")
        .addColumn("locked_until", "text")
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("last_error", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("jobs_due_idx").on("jobs").columns(["queue", "status", "run_at"]).execute();
    },
  };
}
