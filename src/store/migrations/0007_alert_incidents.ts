/**
 * Alerting (src/alerts/, ports/alerts.ts): incidents (one open per rule and subject: a partial unique index),
 * the notifications sent about them (one row per incident, channel and kind: inserting it is the claim), and
 * the API deprecation notices connections saw, counted per call site.
 */
import { type ColumnDefinitionBuilder, type Kysely, type Migration, sql } from "kysely";
import type { DialectName } from "../schema.ts";

export function alertIncidents(dialect: DialectName): Migration {
  const idType = dialect === "sqlite" ? "integer" : "bigint";
  const id = (col: ColumnDefinitionBuilder) =>
    dialect === "sqlite" ? col.primaryKey().autoIncrement() : col.primaryKey().generatedByDefaultAsIdentity();
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("alert_incidents")
        .addColumn("id", idType, id)
        .addColumn("rule", "text", (c) => c.notNull())
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) =>
          c.notNull().check(sql`${sql.ref("status")} in ('open', 'closed')`),
        )
        .addColumn("summary", "text", (c) => c.notNull())
        .addColumn("opened_at", "text", (c) => c.notNull())
        .addColumn("closed_at", "text")
        .execute();
      await db.schema
        .createIndex("alert_incidents_open_uq")
        .on("alert_incidents")
        .columns(["rule", "subject"])
        .unique()
        .where(sql.ref("status"), "=", sql.lit("open"))
        .execute();
      await db.schema
        .createTable("alert_notifications")
        .addColumn("incident_id", idType, (c) => c.notNull())
        .addColumn("channel", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull().check(sql`${sql.ref("kind")} in ('fire', 'recovery')`))
        .addColumn("status", "text", (c) =>
          c.notNull().check(sql`${sql.ref("status")} in ('sending', 'sent', 'failed')`),
        )
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("claimed_at", "text", (c) => c.notNull())
        .addColumn("sent_at", "text")
        .addColumn("last_error", "text")
        .addPrimaryKeyConstraint("alert_notifications_pk", ["incident_id", "channel", "kind"])
        .execute();
      await db.schema
        .createTable("api_deprecations")
        .addColumn("connection", "text", (c) => c.notNull())
        .addColumn("site", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("sunset", "text")
        .addColumn("count", "integer", (c) => c.notNull())
        .addColumn("first_seen", "text", (c) => c.notNull())
        .addColumn("last_seen", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("api_deprecations_pk", ["connection", "site", "reason"])
        .execute();
      // failure-rate reads a flow's recent events by kind.
      await db.schema
        .createIndex("sync_events_flow_at_idx")
        .on("sync_events")
        .columns(["flow", "at"])
        .execute();
    },
  };
}
