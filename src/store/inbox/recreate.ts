/**
 * `passerelle webhooks recreate-inbox`: an empty webhook inbox file for a SQLite store whose inbox file was
 * lost (deleted, or not restored with the store file). Every command refuses such a store (own-file.ts
 * says why: the deliveries it had acknowledged would otherwise be lost without a word), and a backup of the
 * inbox file taken with the store file is the first remedy. Without one, this is the way on, with the loss
 * said aloud: the events the file held are gone, and the next reconciliation poll of each event-driven flow
 * (or a `passerelle sync`) reads what changed meanwhile.
 *
 * The table and its indexes are built as the migrations build them: the migrations run on a throwaway
 * in-memory database and its definition of `webhook_inbox` is created in the inbox file, in one write
 * transaction on the store (another process starting meanwhile waits). Nothing else in the store changes;
 * event ids start again at 1 (nothing in the store refers to them). Refusals are configuration errors
 * (exit 2) naming the file and what to do.
 */
import { existsSync } from "node:fs";
import SqliteDatabase from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect, sql } from "kysely";
import { SyncError } from "../../core/errors.ts";
import { migrationProvider } from "../migrations/index.ts";
import {
  hasInboxTable,
  INBOX_SCHEMA,
  inboxDefinition,
  inboxFilePath,
  inboxSchemaRows,
  type SchemaRow,
} from "./own-file.ts";

export type RecreateOutcome =
  | { created: true; file: string }
  | { created: false; file: string; reason: string };

export async function recreateInbox(
  storePath: string,
  open: (path: string) => SqliteDatabase.Database,
): Promise<RecreateOutcome> {
  if (storePath === ":memory:")
    throw new SyncError("config", "an in-memory store has no webhook inbox file to recreate");
  const file = inboxFilePath(storePath);
  if (!existsSync(storePath)) {
    throw new SyncError(
      "config",
      `no store file at ${storePath} (store.url); a new store is created with its inbox file`,
    );
  }
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: open(storePath) }) });
  try {
    const { rows: tables } = await sql<{ n: number }>`
      select count(*) as n from main.sqlite_master where type = 'table' and name = 'kysely_migration'`.execute(
      db,
    );
    if (Number(tables[0]?.n ?? 0) === 0) {
      throw new SyncError(
        "config",
        `${storePath} is not a Passerelle store (it has no kysely_migration table)`,
      );
    }
    const { rows: applied } = await sql<{ name: string }>`select name from main.kysely_migration`.execute(db);
    const known = Object.keys(await migrationProvider("sqlite").getMigrations());
    const have = applied.map((r) => r.name);
    const pending = known.filter((m) => !have.includes(m));
    const unknown = have.filter((m) => !known.includes(m));
    if (unknown.length > 0) {
      throw new SyncError(
        "config",
        `${storePath} was run by a later version of Passerelle (migrations this one does not know: ${unknown.join(", ")}); recreate its inbox with that version`,
      );
    }
    if (pending.length > 0) {
      // Its inbox was made by an earlier version: this version's definition may not be the one the pending
      // migrations expect to change, so the version that last ran on the store recreates it.
      throw new SyncError(
        "config",
        `${storePath} was last run by an earlier version (migrations not applied: ${pending.join(", ")}); recreate its inbox with that version's passerelle webhooks recreate-inbox, then start this one`,
      );
    }
    if (await hasInboxTable(db, "main")) {
      return {
        created: false,
        file,
        reason: `the store file still holds its webhook inbox; the next start moves it into ${file}`,
      };
    }
    if (await hasInboxTable(db, INBOX_SCHEMA)) {
      return { created: false, file, reason: `${file} holds the webhook inbox already; nothing to recreate` };
    }
    const statements = inboxDefinition(await definitionFromMigrations());
    await db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        // Checked again under the write lock: another process may have recreated it meanwhile.
        if (!(await hasInboxTable(conn, INBOX_SCHEMA))) {
          for (const s of statements) await sql.raw(s).execute(conn);
        }
        await sql`commit`.execute(conn);
      } catch (e) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw e;
      }
    });
    return { created: true, file };
  } finally {
    await db.destroy();
  }
}

/** The `webhook_inbox` table's and indexes' definitions as this version's migrations create them. */
async function definitionFromMigrations(): Promise<SchemaRow[]> {
  const scratch = new Kysely<unknown>({
    dialect: new SqliteDialect({ database: new SqliteDatabase(":memory:") }),
  });
  try {
    const { error } = await new Migrator({
      db: scratch,
      provider: migrationProvider("sqlite"),
    }).migrateToLatest();
    if (error !== undefined) throw error;
    return await inboxSchemaRows(scratch);
  } finally {
    await scratch.destroy();
  }
}
