/**
 * The refund entity (shop refunds → ERP credit notes): the `entity` CHECK of links, lineage, failed records
 * and intents is widened to allow it, as 0010 did for categories (SQLite: each table rebuilt from its own
 * definition with the value list widened; PostgreSQL: the column's constraint replaced).
 */
import { type Kysely, type Migration, sql } from "kysely";
import type { DialectName } from "../schema.ts";

const ENTITIES_V10 =
  "'category', 'product', 'price', 'inventory', 'customer', 'order', 'shipment', 'invoice'";
const ENTITIES_V11 = `${ENTITIES_V10}, 'refund'`;
const TABLES = ["links", "sync_events", "failed_records", "intents"];

async function widenSqlite(db: Kysely<unknown>, table: string): Promise<void> {
  const { rows } = await sql<{ type: string; sql: string | null }>`
    select type, sql from sqlite_master where tbl_name = ${table}`.execute(db);
  const create = rows.find((r) => r.type === "table")?.sql ?? "";
  const check = `"entity" in (${ENTITIES_V10})`;
  if (!create.includes(check)) throw new Error(`${table}: expected the CHECK ${check} in ${create}`);
  const copy = `${table}_v11`;
  const seq = await sql<{ seq: number }>`select seq from sqlite_sequence where name = ${table}`.execute(db);
  await sql
    .raw(
      create
        .replace(check, `"entity" in (${ENTITIES_V11})`)
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

async function widenPostgres(db: Kysely<unknown>, table: string): Promise<void> {
  // PostgreSQL names a column CHECK <table>_<column>_check (0010 recreated it under that name).
  await sql`alter table ${sql.table(table)} drop constraint ${sql.id(`${table}_entity_check`)}`.execute(db);
  await sql`alter table ${sql.table(table)} add constraint ${sql.id(`${table}_entity_check`)}
    check (${sql.ref("entity")} in (${sql.raw(ENTITIES_V11)}))`.execute(db);
}

export function refundEntity(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const table of TABLES) {
        if (dialect === "sqlite") await widenSqlite(db, table);
        else await widenPostgres(db, table);
      }
    },
  };
}
