/**
 * The durable webhook inbox. A verified delivery is acknowledged only once its events are committed here;
 * events are unique per (connection, dedupe key), so a redelivery is acknowledged and dropped.
 *
 * Group commit: a durable commit costs an fsync (≈ 340 µs on SQLite with synchronous=FULL), which would cap
 * ingest near 3,000 deliveries/s if each took its own. Deliveries arriving within `windowMs` of the first
 * one of a batch (or while the previous batch commits) share one transaction; each request's promise
 * resolves when that transaction has committed, so nothing is acknowledged before it is on disk.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import {
  CompiledQuery,
  type Generated,
  type Insertable,
  type Kysely,
  type Selectable,
  SqliteAdapter,
  sql,
} from "kysely";
import type { EntityName } from "../core/model.ts";
import type { InboundEvent } from "../ports/connector.ts";
import type { Store } from "../ports/store.ts";
import { KyselyStore } from "./kysely-store.ts";

export interface WebhookInboxTable {
  id: Generated<number>;
  connection: string;
  dedupe_key: string;
  topic: string;
  entity: string | null;
  record_id: string | null;
  occurred_at: string | null;
  payload: string;
  received_at: string;
  status: InboxStatus;
  processed_at: string | null;
  note: string | null;
}

export interface SyncMarksTable {
  name: string;
  mark: string;
  updated_at: string;
}

type InboxDatabase = {
  webhook_inbox: WebhookInboxTable;
  sync_marks: SyncMarksTable;
};

export type InboxStatus = "pending" | "processed" | "ignored";

export interface StoredEvent {
  id: number;
  connection: string;
  dedupeKey: string;
  topic: string;
  entity: EntityName | null;
  recordId: string | null;
  occurredAt: string | null;
  payload: unknown;
  receivedAt: string;
  status: InboxStatus;
  note: string | null;
}

export interface InboxOptions {
  /** How long the first delivery of a batch waits for others to share its commit (default 2 ms). */
  windowMs?: number;
  /** A batch this large commits at once (default 500 events). */
  maxBatch?: number;
  /**
   * SQLite: "full" commits inbox batches with synchronous=FULL (an acknowledged delivery survives a power
   * cut); "normal" keeps the store's WAL setting (survives a process crash, not an OS crash). Default full.
   */
  durability?: "full" | "normal";
  /**
   * SQLite: commit inbox batches on a thread of their own, with its own connection. A commit's fsync then
   * no longer stops the event loop, so the next batch's requests are read and verified meanwhile (the
   * long-running server uses it; default off). Without a file (":memory:") it stays off.
   */
  writerThread?: boolean;
  now?: () => Date;
}

interface Pending {
  connection: string;
  events: InboundEvent[];
  resolve: (r: { stored: number; duplicates: number }) => void;
  reject: (e: unknown) => void;
}

function inboxDb(store: Store): { db: Kysely<InboxDatabase>; sqlite: boolean } {
  if (!(store instanceof KyselyStore)) {
    throw new Error("the webhook inbox needs the SQL store (openStore)");
  }
  const db = store.db.withTables<InboxDatabase>() as unknown as Kysely<InboxDatabase>;
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  return { db, sqlite };
}

const CHUNK = 200;

/**
 * The writer thread: plain JavaScript (no TypeScript loader in worker threads), one prepared statement,
 * one immediate transaction per batch; answers with the indexes of the rows that were new.
 */
const WRITER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
db.pragma("synchronous = " + workerData.synchronous);
const insert = db.prepare(workerData.insert);
const commit = db.transaction((rows) => {
  const fresh = [];
  for (let i = 0; i < rows.length; i++) if (insert.get(...rows[i]) !== undefined) fresh.push(i);
  return fresh;
});
parentPort.on("message", (m) => {
  if (m.close) {
    db.close();
    process.exit(0);
  }
  try {
    parentPort.postMessage({ id: m.id, fresh: commit.immediate(m.rows) });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

class WriterThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (fresh: number[]) => void; reject: (e: Error) => void }>();
  #next = 1;
  #broken: Error | null = null;

  constructor(path: string, synchronous: "FULL" | "NORMAL") {
    this.#worker = new Worker(WRITER_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve("better-sqlite3"),
        path,
        synchronous,
        insert: SQLITE_INSERT,
      },
    });
    this.#worker.unref(); // kept alive only while a commit is outstanding
    this.#worker.on("message", (m: { id: number; fresh?: number[]; error?: string }) => {
      const w = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (this.#waiting.size === 0) this.#worker.unref();
      if (m.error !== undefined) w?.reject(new Error(`webhook inbox commit failed: ${m.error}`));
      else w?.resolve(m.fresh ?? []);
    });
    const fail = (e: Error) => {
      this.#broken = e;
      for (const w of this.#waiting.values()) w.reject(e);
      this.#waiting.clear();
    };
    this.#worker.on("error", fail);
    this.#worker.on("exit", () => fail(new Error("webhook inbox writer thread stopped")));
  }

  get broken(): boolean {
    return this.#broken !== null;
  }

  commit(rows: unknown[][]): Promise<number[]> {
    if (this.#broken) return Promise.reject(this.#broken);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      if (this.#waiting.size === 0) this.#worker.ref();
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ id, rows });
    });
  }

  async close(): Promise<void> {
    if (this.#broken) return;
    this.#worker.ref();
    const exited = new Promise<void>((done) => this.#worker.once("exit", () => done()));
    this.#worker.postMessage({ close: true });
    await exited;
  }
}

const SQLITE_INSERT = `insert into webhook_inbox
  (connection, dedupe_key, topic, entity, record_id, occurred_at, payload, received_at, status)
  values (?, ?, ?, ?, ?, ?, ?, ?, 'pending')
  on conflict (connection, dedupe_key) do nothing
  returning id`;

/** A row's values in the order of SQLITE_INSERT's placeholders. */
function insertParams(r: Insertable<WebhookInboxTable>): unknown[] {
  return [
    r.connection,
    r.dedupe_key,
    r.topic,
    r.entity,
    r.record_id,
    r.occurred_at,
    r.payload,
    r.received_at,
  ];
}

function fromRow(r: Omit<Selectable<WebhookInboxTable>, "processed_at">): StoredEvent {
  let payload: unknown = null;
  try {
    payload = JSON.parse(r.payload);
  } catch {
    payload = r.payload;
  }
  return {
    id: Number(r.id),
    connection: r.connection,
    dedupeKey: r.dedupe_key,
    topic: r.topic,
    entity: r.entity as EntityName | null,
    recordId: r.record_id,
    occurredAt: r.occurred_at,
    payload,
    receivedAt: r.received_at,
    status: r.status,
    note: r.note,
  };
}

export class WebhookInbox {
  readonly #db: Kysely<InboxDatabase>;
  readonly #sqlite: boolean;
  readonly #opts: Required<Omit<InboxOptions, "now">> & { now: () => Date };
  #queue: Pending[] = [];
  #queued = 0;
  #timer: NodeJS.Timeout | null = null;
  #committing: Promise<void> | null = null;
  #writer: Promise<WriterThread | null> | null = null;
  /** Transactions committed by add() so far, and the events they held (for the benchmark and tests). */
  readonly commits = { transactions: 0, events: 0 };

  constructor(store: Store, opts: InboxOptions = {}) {
    const { db, sqlite } = inboxDb(store);
    this.#db = db;
    this.#sqlite = sqlite;
    this.#opts = {
      windowMs: opts.windowMs ?? 2,
      maxBatch: opts.maxBatch ?? 500,
      durability: opts.durability ?? "full",
      writerThread: opts.writerThread ?? false,
      now: opts.now ?? (() => new Date()),
    };
  }

  /** Stores one delivery's events; resolves once they are committed (duplicates counted, not stored). */
  add(connection: string, events: InboundEvent[]): Promise<{ stored: number; duplicates: number }> {
    if (events.length === 0) return Promise.resolve({ stored: 0, duplicates: 0 });
    return new Promise((resolve, reject) => {
      this.#queue.push({ connection, events, resolve, reject });
      this.#queued += events.length;
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#committing) return; // the running commit flushes what queued meanwhile
    if (this.#queued >= this.#opts.maxBatch || this.#opts.windowMs <= 0) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      this.#flush();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      this.#flush();
    }, this.#opts.windowMs);
  }

  #flush(): void {
    if (this.#committing || this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    this.#queued = 0;
    this.#committing = this.#commit(batch).then(
      (results) => {
        for (const [i, p] of batch.entries()) {
          p.resolve(results[i] as { stored: number; duplicates: number });
        }
      },
      (err: unknown) => {
        for (const p of batch) p.reject(err);
      },
    );
    void this.#committing.finally(() => {
      this.#committing = null;
      // Deliveries that queued during the commit have waited long enough: commit them now.
      if (this.#queue.length > 0) this.#flush();
    });
  }

  async #commit(batch: Pending[]): Promise<{ stored: number; duplicates: number }[]> {
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
    const insertAll = async (db: Kysely<InboxDatabase>) => {
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
      await this.#db.connection().execute(async (conn) => {
        const run = (text: string, params: unknown[] = []) =>
          conn.executeQuery(CompiledQuery.raw(text, params));
        if (full) await run("pragma synchronous = FULL");
        try {
          await run("begin immediate");
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
          if (full) await run("pragma synchronous = NORMAL");
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

  /** The SQLite writer thread, started on first use; null when off or not possible. */
  async #writerThread(): Promise<WriterThread | null> {
    if (!this.#sqlite || !this.#opts.writerThread) return null;
    this.#writer ??= (async () => {
      const rows = await sql<{
        file: string;
      }>`select file from pragma_database_list where name = 'main'`.execute(this.#db);
      const file = rows.rows[0]?.file ?? "";
      if (file === "") return null;
      return new WriterThread(file, this.#opts.durability === "full" ? "FULL" : "NORMAL");
    })();
    const writer = await this.#writer;
    // A writer thread that died takes its batch with it (those requests were not acknowledged); later
    // batches commit on the main connection.
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
    while (this.#committing || this.#queue.length > 0) {
      if (!this.#committing) {
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = null;
        this.#flush();
      }
      await this.#committing?.catch(() => undefined);
    }
  }

  /** Pending events of one connection and entity (null: events no entity was found for), oldest first. */
  async pending(connection: string, entity: EntityName | null, limit = 5000): Promise<StoredEvent[]> {
    let q = this.#db
      .selectFrom("webhook_inbox")
      .selectAll()
      .where("status", "=", "pending")
      .where("connection", "=", connection);
    q = entity === null ? q.where("entity", "is", null) : q.where("entity", "=", entity);
    const rows = await q.orderBy("id").limit(limit).execute();
    return rows.map(fromRow);
  }

  /** (connection, entity) pairs that have pending events. */
  async pendingGroups(): Promise<{ connection: string; entity: EntityName | null }[]> {
    const rows = await this.#db
      .selectFrom("webhook_inbox")
      .select(["connection", "entity"])
      .where("status", "=", "pending")
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
        .set({ status, processed_at: at, note })
        .where("id", "in", ids.slice(i, i + 500))
        .execute();
    }
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

  /** A named mark (reconciliation window end, a schedule's last fire); null when never set. */
  async getMark(name: string): Promise<string | null> {
    const row = await this.#db
      .selectFrom("sync_marks")
      .select("mark")
      .where("name", "=", name)
      .executeTakeFirst();
    return row?.mark ?? null;
  }

  async setMark(name: string, mark: string): Promise<void> {
    const at = this.#opts.now().toISOString();
    await this.#db
      .insertInto("sync_marks")
      .values({ name, mark, updated_at: at })
      .onConflict((oc) => oc.column("name").doUpdateSet({ mark, updated_at: at }))
      .execute();
  }
}
