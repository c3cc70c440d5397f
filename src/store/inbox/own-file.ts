/**
 * On SQLite the webhook inbox lives in a database file of its own beside the store's, `<store>-inbox`,
 * attached to the store's connection as schema `inbox` (index.ts attaches it when the store opens).
 *
 * Why: SQLite has one write lock and one WAL per database file. With the inbox in the store's file, a
 * webhook's commit waited for whatever the sync was committing at that moment (a 250-record page's links,
 * lineage events and intents hold the write lock for tens of milliseconds), and the fsync that makes an
 * acknowledgement durable also flushed every frame the sync had written since the last one. In a file of its
 * own, an acknowledgement waits only for other webhook commits and syncs only its own frames.
 *
 * Queries name the table without a schema: SQLite resolves `webhook_inbox` in main first, then in attached
 * databases, and main no longer has one. Nothing joins the inbox with the store's tables or writes both in one
 * transaction (an event is settled after its records are committed, in a statement of its own), so no
 * guarantee rests on SQLite's cross-file commits, which WAL mode does not make atomic.
 *
 * The table's definition stays with the migrations (0003, 0004), which create it in main; `moveInboxToOwnFile`
 * runs after them on every start, in two transactions: the first creates the table and its indexes in
 * `inbox` from main's own definition and copies the rows (ids kept); only once that has committed does the
 * second drop main's. A crash between them leaves the rows in both files, and the next start copies again
 * (duplicates ignored) and drops. An inbox file holding events main does not have belongs to another store
 * (a store file deleted to start afresh, its inbox file left behind): the start is refused, naming it,
 * rather than draining another store's events into this one. A store whose inbox file is gone is refused
 * too: its acknowledged deliveries would otherwise be lost without a word (`passerelle webhooks
 * recreate-inbox`, recreate.ts, goes on with an empty one when no backup has it). A later migration that changes
 * the inbox must name `inbox.webhook_inbox` on SQLite.
 */
import { type Kysely, sql } from "kysely";

export const INBOX_SCHEMA = "inbox";

/** The inbox file beside a SQLite store file. */
export function inboxFilePath(storePath: string): string {
  return `${storePath}-inbox`;
}

/** Every file a SQLite store at `storePath` is made of: both databases and SQLite's WAL and shm files. */
export function sqliteStoreFiles(storePath: string): string[] {
  return [storePath, inboxFilePath(storePath)].flatMap((f) => [f, `${f}-wal`, `${f}-shm`]);
}

/**
 * The files of a SQLite store's connection: the store's own (main; "" in memory) and the attached inbox
 * file (null without one: an in-memory store).
 */
export async function storeDatabaseFiles<DB>(
  db: Kysely<DB>,
): Promise<{ store: string; inbox: string | null }> {
  const { rows } = await sql<{ name: string; file: string }>`
    select name, file from pragma_database_list`.execute(db);
  return {
    store: rows.find((r) => r.name === "main")?.file ?? "",
    inbox: rows.find((r) => r.name === INBOX_SCHEMA)?.file ?? null,
  };
}

/** The attached inbox file's path; null without one (an in-memory store). */
export async function attachedInboxFile<DB>(db: Kysely<DB>): Promise<string | null> {
  return (await storeDatabaseFiles(db)).inbox;
}

/**
 * Moves `main.webhook_inbox` (as the migrations left it) into the attached inbox file; afterwards checks the
 * table is there. `transaction` runs its argument in a write transaction of its own (BEGIN IMMEDIATE on the
 * store: another process starting meanwhile waits). A no-op once moved or without an attached file.
 */
export async function moveInboxToOwnFile<DB>(
  db: Kysely<DB>,
  transaction: (step: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const inboxFile = await attachedInboxFile(db);
  if (inboxFile === null) return;
  // Once moved (every start but the first) there is nothing to write, so no write lock is taken for it. The
  // copy checks again inside its transaction, which another process's move may have preceded.
  if (await hasInboxTable(db, "main")) {
    let copied = false;
    await transaction(async () => {
      copied = await copyToInboxFile(db, inboxFile);
    });
    if (copied) {
      await transaction(async () => {
        await sql`drop table if exists main.webhook_inbox`.execute(db);
      });
    }
  }
  if (!(await hasInboxTable(db, INBOX_SCHEMA))) {
    throw new Error(
      `the webhook inbox file ${inboxFile} has no webhook_inbox table, and the store file has none to move: the inbox file was replaced or deleted after the store was created; restore it from the backup taken with the store file, or run \`passerelle webhooks recreate-inbox\` to go on with an empty inbox (the events it held are lost; the reconciliation polls catch up)`,
    );
  }
}

/**
 * Creates the table and its indexes in the inbox file from main's own definition (so the file holds exactly
 * what the migrations built) and copies main's rows into it; false when main has no table (moved meanwhile).
 */
async function copyToInboxFile<DB>(db: Kysely<DB>, inboxFile: string): Promise<boolean> {
  const rows = await inboxSchemaRows(db);
  const table = rows.find((r) => r.type === "table")?.sql;
  if (!table) return false;
  // The inbox file already has a table: either a start cut off after the copy (every row of it is in main
  // too), or the file of another store (the store file was deleted or replaced without it), whose events
  // must not be drained into this one.
  if (await hasInboxTable(db, INBOX_SCHEMA)) {
    const foreign = await sql<{ n: number }>`
      select count(*) as n from inbox.webhook_inbox i where not exists (
        select 1 from main.webhook_inbox m
        where m.id = i.id and m.connection = i.connection and m.dedupe_key = i.dedupe_key)`.execute(db);
    const n = Number(foreign.rows[0]?.n ?? 0);
    if (n > 0) {
      throw new Error(
        `the webhook inbox file ${inboxFile} holds ${n} event(s) this store never had: it belongs to another store (the store file was deleted or replaced without it). Move it away, or delete it (with its -wal and -shm files) to start with an empty inbox`,
      );
    }
  }
  for (const statement of inboxDefinition(rows)) await sql.raw(statement).execute(db);
  await sql`insert or ignore into inbox.webhook_inbox select * from main.webhook_inbox`.execute(db);
  return true;
}

/** A row of sqlite_master: a table's or an index's definition. */
export interface SchemaRow {
  type: string;
  name: string;
  sql: string | null;
}

/** The main database's definitions of `webhook_inbox` and its indexes (none once moved). */
export async function inboxSchemaRows<DB>(db: Kysely<DB>): Promise<SchemaRow[]> {
  const { rows } = await sql<SchemaRow>`
    select type, name, sql from main.sqlite_master where tbl_name = 'webhook_inbox'`.execute(db);
  return rows;
}

/**
 * The statements that create `webhook_inbox` and its indexes in the inbox file, from a database's own
 * definition of them (its sqlite_master rows for the table): the same SQL with the schema named.
 */
export function inboxDefinition(rows: SchemaRow[]): string[] {
  const table = rows.find((r) => r.type === "table")?.sql;
  if (!table) throw new Error("webhook inbox: no table definition to create");
  const create = table.replace(
    /^CREATE TABLE "?webhook_inbox"?/i,
    `CREATE TABLE IF NOT EXISTS ${INBOX_SCHEMA}."webhook_inbox"`,
  );
  if (create === table) throw new Error(`webhook inbox: unexpected table definition ${table}`);
  const out = [create];
  for (const r of rows) {
    if (r.type !== "index" || !r.sql) continue; // the unique constraint's own index is part of the table
    const index = r.sql.replace(
      /^CREATE INDEX "?([^" ]+)"?/i,
      `CREATE INDEX IF NOT EXISTS ${INBOX_SCHEMA}."$1"`,
    );
    if (index === r.sql) throw new Error(`webhook inbox: unexpected index definition ${r.sql}`);
    out.push(index);
  }
  return out;
}

/** Whether schema `main` or `inbox` of the connection holds a webhook_inbox table. */
export async function hasInboxTable<DB>(
  db: Kysely<DB>,
  schema: "main" | typeof INBOX_SCHEMA,
): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    select count(*) as n from ${sql.id(schema, "sqlite_master")}
    where type = 'table' and name = 'webhook_inbox'`.execute(db);
  return Number(rows[0]?.n ?? 0) > 0;
}
