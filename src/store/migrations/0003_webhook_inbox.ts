/**
 * The webhook inbox (verified deliveries, unique per connection and dedupe key, processed by workers) and
 * named marks: how far each reconciliation window reached and when each schedule last fired, so missed
 * runs after downtime are seen and run once.
 */
import { type ColumnDefinitionBuilder, type Kysely, type Migration, sql } from "kysely";
import type { DialectName } from "../schema.ts";

const INBOX_STATUSES_V3 = ["pending", "processed", "ignored"];

export function webhookInbox(dialect: DialectName): Migration {
  const idType = dialect === "sqlite" ? "integer" : "bigint";
  const id = (col: ColumnDefinitionBuilder) =>
    dialect === "sqlite" ? col.primaryKey().autoIncrement() : col.primaryKey().generatedByDefaultAsIdentity();
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("webhook_inbox")
        .addColumn("id", idType, id)
        .addColumn("connection", "text", (c) => c.notNull())
        .addColumn("dedupe_key", "text", (c) => c.notNull())
        .addColumn("topic", "text", (c) => c.notNull())
        .addColumn("entity", "text")
        .addColumn("record_id", "text")
        .addColumn("occurred_at", "text")
        .addColumn("payload", "text", (c) => c.notNull())
        .addColumn("received_at", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) =>
          c
            .notNull()
            .check(
              sql<boolean>`${sql.ref("status")} in (${sql.join(INBOX_STATUSES_V3.map((s) => sql.lit(s)))})`,
            ),
        )
        .addColumn("processed_at", "text")
        .addColumn("note", "text")
        .addUniqueConstraint("webhook_inbox_dedupe_uq", ["connection", "dedupe_key"])
        .execute();
      await db.schema
        .createIndex("webhook_inbox_pending_idx")
        .on("webhook_inbox")
        .columns(["status", "connection", "entity", "id"])
        .execute();
      await db.schema
        .createIndex("webhook_inbox_received_idx")
        .on("webhook_inbox")
        .columns(["connection", "entity", "received_at"])
        .execute();
      await db.schema
        .createTable("sync_marks")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("mark", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
    },
  };
}
