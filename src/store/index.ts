/**
 * Opens the store named by a URL (see url.ts for the forms accepted):
 *   openStore("sqlite:./data/passerelle.db")
 *   openStore("postgres://passerelle:secret@db:5432/passerelle?schema=shop_eu")
 * Call `migrate()` before first use; it is safe on every start.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { type Dialect, Kysely, PostgresDialect, SqliteDialect, sql } from "kysely";
import { SyncError } from "../core/errors.ts";
import { maskUrl } from "../core/redact.ts";
import type { Store } from "../ports/store.ts";
import { INBOX_SCHEMA, inboxFilePath } from "./inbox/own-file.ts";
import { type RecreateOutcome, recreateInbox } from "./inbox/recreate.ts";
import { KyselyStore, type StoreLogger } from "./kysely-store.ts";
import type { Database } from "./schema.ts";
import { urlPassword } from "./scrub.ts";
import { withStatementCache } from "./statement-cache.ts";
import { parseStoreUrl } from "./url.ts";

export { maskUrl } from "../core/redact.ts";
export { StoreError } from "./errors.ts";
export { inboxFilePath, sqliteStoreFiles } from "./inbox/own-file.ts";
export type { RecreateOutcome } from "./inbox/recreate.ts";
export type { StoreLogger } from "./kysely-store.ts";
export { urlPassword } from "./scrub.ts";
export { parseStoreUrl } from "./url.ts";

export interface OpenStoreOptions {
  logger?: StoreLogger;
  /** Clock for stored timestamps; tests may freeze it. */
  now?: () => Date;
  /**
   * Values never to store (the configuration's resolved secrets), redacted from every error, payload and
   * message the store writes; the URL's own password is added.
   */
  secrets?: readonly string[];
}

const INT8_OID = 20;

export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const target = parseStoreUrl(url);
  const where = maskUrl(url);
  let dialect: Dialect;
  if (target.dialect === "sqlite") {
    dialect = new SqliteDialect({ database: withStatementCache(openSqlite(target.path, where)) });
  } else {
    // 64-bit ids and counts come back as numbers rather than strings; set on this pool only, so other
    // users of pg in the process (a job queue) keep their own parsing.
    // Imported here: a SQLite store (the default) never loads the PostgreSQL driver.
    const { default: pg } = await import("pg");
    const types = new pg.TypeOverrides();
    types.setTypeParser(INT8_OID, (v: string) => Number(v));
    const pool = new pg.Pool({
      connectionString: target.connectionString,
      types,
      ...(target.schema === null ? {} : { options: `-c search_path=${target.schema}` }),
      // A server that is gone without a word (a dead host, a dropped route) is noticed, not waited on forever.
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    // A connection the server drops emits `error` on its client: pg-pool listens on idle clients only, and
    // an `error` event nobody listens to ends the process. A restart drops them all, including the one a
    // transaction holds, so every client gets a listener for its whole life. The query in flight fails on
    // its own, the pool discards the broken client, and the store's gate retries (resilience.ts).
    const lost = (err: Error) =>
      opts.logger?.warn({ err: err.message, store: where }, "store connection lost");
    pool.on("error", lost);
    pool.on("connect", (client) => client.on("error", lost));
    dialect = new PostgresDialect({ pool });
  }
  const db = new Kysely<Database>({ dialect });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot open store ${where}: ${reason}`, { cause: err });
  }
  opts.logger?.info({ store: where, dialect: target.dialect }, "store opened");
  return new KyselyStore(db, {
    dialect: target.dialect,
    schema: target.dialect === "postgres" ? target.schema : null,
    where,
    retryMs: target.dialect === "postgres" ? target.retryMs : 0,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    secrets: [...(opts.secrets ?? []), ...urlPassword(url)],
  });
}

/**
 * An empty webhook inbox file for the SQLite store at `url` when its own was lost (inbox/recreate.ts);
 * `passerelle webhooks recreate-inbox`.
 */
export async function recreateWebhookInbox(url: string): Promise<RecreateOutcome> {
  const target = parseStoreUrl(url);
  const where = maskUrl(url);
  if (target.dialect !== "sqlite") {
    throw new SyncError(
      "config",
      `store ${where} is PostgreSQL, whose webhook inbox is a table of the store itself: there is no inbox file to recreate`,
    );
  }
  return recreateInbox(target.path, (path) => openSqlite(path, where));
}

function openSqlite(path: string, where: string): SqliteDatabase.Database {
  const memory = path === ":memory:";
  let db: SqliteDatabase.Database;
  try {
    if (!memory) mkdirSync(dirname(resolve(path)), { recursive: true });
    db = new SqliteDatabase(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot open store ${where}: ${reason}`, { cause: err });
  }
  // WAL lets readers run beside the one writer; NORMAL keeps WAL durable across process crashes (only
  // an OS crash may lose the last commits) at a fraction of FULL's fsync cost, which bulk sync needs.
  if (!memory) db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  if (!memory) {
    // The webhook inbox's own file (inbox/own-file.ts says why); created empty here, filled by migrate().
    try {
      db.prepare(`attach database ? as ${INBOX_SCHEMA}`).run(inboxFilePath(path));
    } catch (err) {
      db.close();
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`cannot open store ${where}: webhook inbox file ${inboxFilePath(path)}: ${reason}`, {
        cause: err,
      });
    }
    db.pragma(`${INBOX_SCHEMA}.journal_mode = WAL`);
    db.pragma(`${INBOX_SCHEMA}.synchronous = NORMAL`);
  }
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  return db;
}
