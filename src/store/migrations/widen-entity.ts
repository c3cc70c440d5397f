/**
 * Widens the `entity` CHECK of links, lineage, failed records and intents to admit a new entity (0010
 * categories, 0011 refunds). As in 0004, a CHECK cannot be altered in place on SQLite, so there each table is
 * rebuilt from its own definition with the value list widened (create, copy, drop, rename, recreate the
 * indexes, keep the AUTOINCREMENT sequence); on PostgreSQL the column's constraint is replaced.
 */
import { type Kysely, type Migration, sql } from "kysely";
import type { DialectName } from "../schema.ts";

const TABLES = ["links", "sync_events", "failed_records", "intents"];

/** `before` and `after` are the SQL value lists of the CHECK as the previous migration left it and as wanted. */
export interface EntityWidening {
  before: string;
  after: string;
  /** Suffix of the SQLite copy table while a table is rebuilt, e.g. "v10". */
  copySuffix: string;
}

async function widenSqlite(db: Kysely<unknown>, table: string, w: EntityWidening): Promise<void> {
  const { rows } = await sql<{ type: string; sql: string | null }>`
    select type, sql from sqlite_master where tbl_name = ${table}`.execute(db);
  const create = rows.find((r) => r.type === "table")?.sql ?? "";
  const check = `"entity" in (${w.before})`;
  if (!create.includes(check)) throw new Error(`${table}: expected the CHECK ${check} in ${create}`);
  const copy = `${table}_${w.copySuffix}`;
  const seq = await sql<{ seq: number }>`select seq from sqlite_sequence where name = ${table}`.execute(db);
  await sql
    .raw(
      create
        .replace(check, `"entity" in (${w.after})`)
        .replace(/^CREATE TABLE "[^"]+"/, `CREATE TABLE "${copy}"`),
    )
    .execute(db);
  await sql`insert into ${sql.table(copy)} select * from ${sql.table(table)}`.execute(db);
  await sql`drop table ${sql.table(table)}`.execute(db);
  await sql`alter table ${sql.table(copy)} rename to ${sql.table(table)}`.execute(db);
  const last = seq.rows[0]?.seq;
  if (last !== undefined) {
    await sql`update sqlite_sequence set seq = ${last} where name = ${table}`.execute(db);
  }
  for (const r of rows) if (r.type === "index" && r.sql) await sql.raw(r.sql).execute(db);
}

async function widenPostgres(db: Kysely<unknown>, table: string, w: EntityWidening): Promise<void> {
  // PostgreSQL names a column CHECK <table>_<column>_check; each widening recreates it under that name.
  await sql`alter table ${sql.table(table)} drop constraint ${sql.id(`${table}_entity_check`)}`.execute(db);
  await sql`alter table ${sql.table(table)} add constraint ${sql.id(`${table}_entity_check`)}
    check (${sql.ref("entity")} in (${sql.raw(w.after)}))`.execute(db);
}

export function widenEntity(dialect: DialectName, w: EntityWidening): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const table of TABLES) {
        if (dialect === "sqlite") await widenSqlite(db, table, w);
        else await widenPostgres(db, table, w);
      }
    },
  };
}
