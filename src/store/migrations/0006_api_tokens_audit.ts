/**
 * The management API's tables: bearer tokens (by their SHA-256 hash, never the token), the audit log of
 * operators' and admins' actions, and API calls per UTC day, connection and flow (cost against budgets).
 */
import { type ColumnDefinitionBuilder, type Kysely, type Migration, sql } from "kysely";
import type { DialectName } from "../schema.ts";

const ROLES_V6 = ["viewer", "operator", "admin"];

export function apiTokensAudit(dialect: DialectName): Migration {
  const idType = dialect === "sqlite" ? "integer" : "bigint";
  const id = (col: ColumnDefinitionBuilder) =>
    dialect === "sqlite" ? col.primaryKey().autoIncrement() : col.primaryKey().generatedByDefaultAsIdentity();
  const role = sql<boolean>`${sql.ref("role")} in (${sql.join(ROLES_V6.map((r) => sql.lit(r)))})`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("api_tokens")
        .addColumn("id", idType, id)
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull().check(role))
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("last_used_at", "text")
        .addColumn("revoked_at", "text")
        .execute();
      await db.schema
        .createTable("audit_log")
        .addColumn("id", idType, id)
        .addColumn("at", "text", (c) => c.notNull())
        .addColumn("token_id", idType)
        .addColumn("actor", "text", (c) => c.notNull())
        .addColumn("role", "text")
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("target", "text", (c) => c.notNull())
        .addColumn("outcome", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("api_calls")
        .addColumn("day", "text", (c) => c.notNull())
        .addColumn("connection", "text", (c) => c.notNull())
        .addColumn("flow", "text", (c) => c.notNull())
        .addColumn("calls", "integer", (c) => c.notNull())
        .addPrimaryKeyConstraint("api_calls_pk", ["day", "connection", "flow"])
        .execute();
    },
  };
}
