/**
 * The durable webhook inbox on the SQL store (the port: src/ports/inbox.ts). A verified delivery is
 * acknowledged only once its events are committed here; events are unique per (connection, dedupe key),
 * so a redelivery is acknowledged and dropped.
 *
 * Deliveries are committed in groups (group-commit.ts): one transaction in flight, the next group formed
 * meanwhile. Each request's promise resolves when its transaction has committed, so nothing is
 * acknowledged before it is on disk. On SQLite a group commits one of three ways: on the writer thread
 * (writer-thread.ts, `writerThread`: nothing of a commit runs on the event loop; it says why it uses
 * synchronous=NORMAL plus its own fsync), or on the store's connection with synchronous raised to FULL for
 * that commit only (`durability: "full"`, the default), so bulk syncs keep WAL NORMAL. On PostgreSQL a
 * group is one ordinary transaction (commits are durable).
 */
import { CompiledQuery, type Insertable, type Kysely, SqliteAdapter, sql } from "kysely";
import type { EntityName } from "../../core/model.ts";
import type { InboundEvent } from "../../ports/connector.ts";
import type { AddResult, InboxOptions, InboxStatus, StoredEvent, WebhookInbox } from "../../ports/inbox.ts";
import type { Database, WebhookInboxTable } from "../schema.ts";
import type { Scrubber } from "../scrub.ts";
import { GroupCommit } from "./group-commit.ts";
import { INBOX_SCHEMA, storeDatabaseFiles } from "./own-file.ts";
import { fromRow, insertParams, SQLITE_INSERT } from "./rows.ts";
import { WriterThread, writerThreadAvailable } from "./writer-thread.ts";

const CHUNK = 200;

interface Pending {
  connection: string;
  events: InboundEvent[];
}

export class SqlWebhookInbox implements WebhookInbox {
  readonly #db: Kysely<Database>;
  readonly #sqlite: boolean;
  readonly #scrub: Scrubber;
  readonly #opts: Required<Omit<InboxOptions, "now">> & { now: () => Date };
  readonly #group: GroupCommit<Pending, AddResult>;
  #writer: Promise<WriterThread | null> | null = null;
  #where: Promise<{ schema: string; path: string; store: string }> | null = null;
  /** Transactions committed by add() so far, and the events they held (for the benchmark and tests). */
  readonly commits = { transactions: 0, events: 0 };

  constructor(db: Kysely<Database>, scrub: Scrubber, opts: InboxOptions = {}) {
    this.#scrub = scrub;
    this.#db = db;
    this.#sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
    this.#opts = {
      windowMs: opts.windowMs ?? 2,
      maxBatch: opts.maxBatch ?? 500,
      durability: opts.durability ?? "full",
      writerThread: opts.writerThread ?? false,
      now: opts.now ?? (() => new Date()),
    };
    this.#group = new GroupCommit((batch) => this.#commit(batch), {
      windowMs: this.#opts.windowMs,
      maxBatch: this.#opts.maxBatch,
      weight: (p) => p.events.length,
    });
  }

  /** Stores one delivery's events; resolves once they are committed (duplicates counted, not stored). */
  add(connection: string, events: InboundEvent[]): Promise<AddResult> {
    if (events.length === 0) return Promise.resolve({ stored: 0, duplicates: 0 });
    return this.#group.add({ connection, events });
  }

  async #commit(batch: Pending[]): Promise<AddResult[]> {
    const now = this.#opts.now().toISOString();
    const seen = new Set<string>();
    const rows: Insertable<WebhookInboxTable>[] = [];
    for (const p of batch) {
      for (const e of p.events) {
        const k = `${p.connection}\u0000${e.dedupeKey}`;
        if (seen.has(k)) continue;
        seen.add(k);
        rows.push({
          connection: p.connection,
          dedupe_key: e.dedupeKey,
          topic: e.topic,
          entity: e.entity,
          record_id: e.recordId,
          occurred_at: e.occurredAt,
          payload: JSON.stringify(e.payload ?? null),
          received_at: now,
          status: "pending",
          processed_at: null,
          note: null,
        });
      }
    }
    const inserted = new Set<string>();
    const insertAll = async (db: Kysely<Database>) => {
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += CHUNK) {
          const out = await trx
            .insertInto("webhook_inbox")
            .values(rows.slice(i, i + CHUNK))
            .onConflict((oc) => oc.columns(["connection", "dedupe_key"]).doNothing())
            .returning(["connection", "dedupe_key"])
            .execute();
          for (const r of out) inserted.add(`${r.connection}\u0000${r.dedupe_key}`);
        }
      });
    };
    const writer = await this.#writerThread();
    if (writer) {
      const fresh = await writer.commit(rows.map(insertParams));
      for (const i of fresh) {
        const r = rows[i];
        if (r) inserted.add(`${r.connection}\u0000${r.dedupe_key}`);
      }
    } else if (this.#sqlite) {
      // One prepared single-row statement, reused for every row and every batch (the store keeps prepared
      // statements by SQL text): building a many-row insert through the query builder cost more than
      // SQLite's own work. synchronous is per connection: raised for this commit only, so bulk syncs keep
      // WAL NORMAL.
      const full = this.#opts.durability === "full";
      // synchronous is also per database file: the inbox's own file when attached (own-file.ts), else main.
      const schema = (await this.#file()).schema;
      await this.#db.connection().execute(async (conn) => {
        const run = (text: string, params: unknown[] = []) =>
          conn.executeQuery(CompiledQuery.raw(text, params));
        if (full) await run(`pragma ${schema}.synchronous = FULL`);
        try {
          // Deferred, not IMMEDIATE: BEGIN IMMEDIATE takes the write lock of every attached file, the store's
          // included; the first insert takes the inbox file's alone.
          await run(schema === "main" ? "begin immediate" : "begin");
          try {
            for (const r of rows) {
              const out = await run(SQLITE_INSERT, insertParams(r));
              if (out.rows.length > 0) inserted.add(`${r.connection}\u0000${r.dedupe_key}`);
            }
            await run("commit");
          } catch (e) {
            await run("rollback").catch(() => undefined);
            throw e;
          }
        } finally {
          if (full) await run(`pragma ${schema}.synchronous = NORMAL`);
        }
      });
    } else {
      await insertAll(this.#db);
    }
    this.commits.transactions += 1;
    this.commits.events += rows.length;
    // A key stored now counts once, for the first delivery that carried it; every other is a duplicate.
    return batch.map((p) => {
      let stored = 0;
      for (const e of p.events) {
        const k = `${p.connection}\u0000${e.dedupeKey}`;
        if (inserted.delete(k)) stored += 1;
      }
      return { stored, duplicates: p.events.length - stored };
    });
  }

  /**
   * Where the inbox table is on SQLite: the attached inbox file (own-file.ts) or the store's own file (an
   * in-memory store: path ""); `store` is the store's file.
   */
  #file(): Promise<{ schema: string; path: string; store: string }> {
    this.#where ??= (async () => {
      const { store, inbox } = await storeDatabaseFiles(this.#db);
      return inbox !== null
        ? { schema: INBOX_SCHEMA, path: inbox, store }
        : { schema: "main", path: store, store };
    })();
    return this.#where;
  }

  /** The SQLite writer thread, started on first use; null when off or not possible. */
  async #writerThread(): Promise<WriterThread | null> {
    if (!this.#sqlite || !this.#opts.writerThread) return null;
    this.#writer ??= (async () => {
      const { path, store } = await this.#file();
      if (path === "" || !writerThreadAvailable()) return null;
      return new WriterThread(path, store, this.#opts.durability);
    })();
    const writer = await this.#writer;
    // A writer thread that died takes its group with it (those requests were not acknowledged); later
    // groups commit on the store's connection.
    return writer && !writer.broken ? writer : null;
  }

  /** Commits what is queued, then stops the writer thread (if any). The store itself stays open. */
  async close(): Promise<void> {
    await this.drain();
    const writer = await this.#writer;
    this.#writer = null;
    await writer?.close();
  }

  /** Waits until every delivery handed to add() so far is committed. */
  async drain(): Promise<void> {
    await this.#group.drain();
  }

  /**
   * Pending events of one connection and entity (null: events no entity was found for) that are due (not
   * waiting after a failed pass), oldest first.
   */
  async pending(connection: string, entity: EntityName | null, limit = 5000): Promise<StoredEvent[]> {
    const now = this.#opts.now().toISOString();
    let q = this.#db
      .selectFrom("webhook_inbox")
      .selectAll()
      .where("status", "=", "pending")
      .where((eb) => eb.or([eb("retry_at", "is", null), eb("retry_at", "<=", now)]))
      .where("connection", "=", connection);
    q = entity === null ? q.where("entity", "is", null) : q.where("entity", "=", entity);
    const rows = await q.orderBy("id").limit(limit).execute();
    return rows.map(fromRow);
  }

  /** (connection, entity) pairs that have pending events due now. */
  async pendingGroups(): Promise<{ connection: string; entity: EntityName | null }[]> {
    const now = this.#opts.now().toISOString();
    const rows = await this.#db
      .selectFrom("webhook_inbox")
      .select(["connection", "entity"])
      .where("status", "=", "pending")
      .where((eb) => eb.or([eb("retry_at", "is", null), eb("retry_at", "<=", now)]))
      .groupBy(["connection", "entity"])
      .execute();
    return rows.map((r) => ({ connection: r.connection, entity: r.entity as EntityName | null }));
  }

  async settle(
    ids: number[],
    status: Exclude<InboxStatus, "pending">,
    note: string | null = null,
  ): Promise<void> {
    const at = this.#opts.now().toISOString();
    for (let i = 0; i < ids.length; i += 500) {
      await this.#db
        .updateTable("webhook_inbox")
        .set({ status, processed_at: at, note: this.#scrub.text(note) })
        .where("id", "in", ids.slice(i, i + 500))
        .execute();
    }
  }

  /**
   * Counts a failed pass against each event: it stays pending until `retryAt` (ISO), or becomes `failed`
   * once it has had `maxAttempts` passes; `note` says why. Returns how many were given up.
   */
  async retryLater(ids: number[], note: string, retryAt: string, maxAttempts: number): Promise<number> {
    const at = this.#opts.now().toISOString();
    let failed = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#db
        .updateTable("webhook_inbox")
        .set((eb) => ({
          attempts: eb("attempts", "+", 1),
          retry_at: retryAt,
          note,
          status: sql<InboxStatus>`case when ${eb.ref("attempts")} + 1 >= ${maxAttempts} then 'failed' else 'pending' end`,
          processed_at: sql<
            string | null
          >`case when ${eb.ref("attempts")} + 1 >= ${maxAttempts} then ${at} else null end`,
        }))
        .where("id", "in", ids.slice(i, i + 500))
        .where("status", "=", "pending")
        .returning("status")
        .execute();
      failed += rows.filter((r) => r.status === "failed").length;
    }
    return failed;
  }

  /** Events of one connection and entity received at or after `since` (ISO), any status. */
  async receivedSince(connection: string, entity: EntityName, since: string): Promise<number> {
    const row = await this.#db
      .selectFrom("webhook_inbox")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("connection", "=", connection)
      .where("entity", "=", entity)
      .where("received_at", ">=", since)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async byKey(connection: string, dedupeKey: string): Promise<StoredEvent | null> {
    const row = await this.#db
      .selectFrom("webhook_inbox")
      .selectAll()
      .where("connection", "=", connection)
      .where("dedupe_key", "=", dedupeKey)
      .executeTakeFirst();
    return row ? fromRow(row) : null;
  }

  async list(filter: { connection?: string; status?: InboxStatus } = {}): Promise<StoredEvent[]> {
    let q = this.#db.selectFrom("webhook_inbox").selectAll();
    if (filter.connection !== undefined) q = q.where("connection", "=", filter.connection);
    if (filter.status !== undefined) q = q.where("status", "=", filter.status);
    return (await q.orderBy("id").execute()).map(fromRow);
  }

  async count(filter: { connection?: string; status?: InboxStatus } = {}): Promise<number> {
    let q = this.#db.selectFrom("webhook_inbox").select((eb) => eb.fn.countAll<number>().as("n"));
    if (filter.connection !== undefined) q = q.where("connection", "=", filter.connection);
    if (filter.status !== undefined) q = q.where("status", "=", filter.status);
    return Number((await q.executeTakeFirst())?.n ?? 0);
  }
}
