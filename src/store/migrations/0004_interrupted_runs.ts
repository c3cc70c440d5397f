/**
 * Runs and inbox events that did not finish get a state of their own. A run whose process died or was
 * stopped becomes `interrupted` (it used to stay `running` forever); a webhook event whose pass failed stays
 * pending with an attempt count and a time before which it is not tried again (`attempts`, `retry_at`), and
 * becomes `failed` after too many attempts instead of being marked processed.
 *
 * A CHECK cannot be altered in place on SQLite, so there the table is rebuilt from its own definition with
 * the value list widened (the documented way: create, copy, drop, rename, recreate the indexes); on
 * PostgreSQL the column's constraint is replaced.
 */
import { type Kysely, type Migration, sql } from "kysely";
import type { DialectName } from "../schema.ts";

const RUN_STATUSES_V1 = "'running', 'succeeded', 'failed', 'partial'";
const RUN_STATUSES_V4 = "'running', 'succeeded', 'failed', 'partial', 'interrupted'";
const INBOX_STATUSES_V3 = "'pending', 'processed', 'ignored'";
const INBOX_STATUSES_V4 = "'pending', 'processed', 'ignored', 'failed'";

/** Rebuilds one SQLite table with `from` (a CHECK's value list) replaced by `to`, keeping rows and ids. */
async function widenSqlite(db: Kysely<unknown>, table: string, from: string, to: string): Promise<void> {
  const { rows } = await sql<{ type: string; sql: string | null }>`
    select type, sql from sqlite_master where tbl_name = ${table}`.execute(db);
  const create = rows.find((r) => r.type === "table")?.sql ?? "";
  const check = `"status" in (${from})`;
  if (!create.includes(check)) throw new Error(`${table}: expected the CHECK ${check} in ${create}`);
  const copy = `${table}_v4`;
  const seq = await sql<{ seq: number }>`select seq from sqlite_sequence where name = ${table}`.execute(db);
  await sql
    .raw(
      create.replace(check, `"status" in (${to})`).replace(/^CREATE TABLE "[^"]+"/, `CREATE TABLE "${copy}"`),
    )
    .execute(db);
  await sql`insert into ${sql.table(copy)} select * from ${sql.table(table)}`.execute(db);
  await sql`drop table ${sql.table(table)}`.execute(db);
  await sql`alter table ${sql.table(copy)} rename to ${sql.table(table)}`.execute(db);
  // AUTOINCREMENT must not hand out an id a deleted row once had.
  const last = seq.rows[0]?.seq;
  if (last !== undefined) {
    await sql`update sqlite_sequence set seq = ${last} where name = ${table}`.execute(db);
  }
  for (const r of rows) if (r.type === "index" && r.sql) await sql.raw(r.sql).execute(db);
}

async function widenPostgres(db: Kysely<unknown>, table: string, to: string): Promise<void> {
  // PostgreSQL names a column CHECK <table>_<column>_check.
  await sql`alter table ${sql.table(table)} drop constraint ${sql.id(`${table}_status_check`)}`.execute(db);
  await sql`alter table ${sql.table(table)} add constraint ${sql.id(`${table}_status_check`)}
    check (${sql.ref("status")} in (${sql.raw(to)}))`.execute(db);
}

export function interruptedRuns(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable("webhook_inbox")
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable("webhook_inbox").addColumn("retry_at", "text").execute();
      if (dialect === "sqlite") {
        await widenSqlite(db, "runs", RUN_STATUSES_V1, RUN_STATUSES_V4);
        await widenSqlite(db, "webhook_inbox", INBOX_STATUSES_V3, INBOX_STATUSES_V4);
      } else {
        await widenPostgres(db, "runs", RUN_STATUSES_V4);
        await widenPostgres(db, "webhook_inbox", INBOX_STATUSES_V4);
      }
      // The runs a flow's next holder looks for: its own still marked running.
      await db.schema.createIndex("runs_status_idx").on("runs").columns(["flow", "status"]).execute();
    },
  };
}
