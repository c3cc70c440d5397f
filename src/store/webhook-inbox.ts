/**
 * The durable webhook inbox. A verified delivery is acknowledged only once its events are committed here;
 * events are unique per (connection, dedupe key), so a redelivery is acknowledged and dropped.
 *
 * Group commit (`GroupCommit`): a durable commit costs an fsync (0.3 ms on an idle disk, 5–10 ms when it is
 * busy), which would cap ingest if each delivery took its own. One transaction is in flight at a time;
 * deliveries arriving while it commits form the next group, which is sent the moment it finishes (before
 * the finished group's requests are answered), so the group size follows the fsync time with no timer on
 * top. An idle inbox commits what arrived in the same event-loop turn. Each request's promise resolves
 * when its transaction has committed, so nothing is acknowledged before it is on disk.
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
import type { Scrubber } from "./scrub.ts";

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
  /** Passes that failed to sync the event's record (migration 0004). */
  attempts: Generated<number>;
  /** Not tried again before this time (ISO), after a failed pass. */
  retry_at: string | null;
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

/** `failed`: given up after too many passes that could not sync its record (the note says why). */
export type InboxStatus = "pending" | "processed" | "ignored" | "failed";

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
  attempts: number;
  retryAt: string | null;
}

export interface InboxOptions {
  /**
   * How long the first delivery reaching an idle inbox waits for others to share its commit. Default 0:
   * it commits at the end of the current event-loop turn; under load groups form while the previous
   * commit runs, without waiting.
   */
  windowMs?: number;
  /** A batch this large commits at once (default 500 events). */
  maxBatch?: number;
  /**
   * SQLite: "full" commits inbox batches with synchronous=FULL (an acknowledged delivery survives a power
   * cut); "normal" keeps the store's WAL setting (survives a process crash, not an OS crash). Default full.
   */
  durability?: "full" | "normal";
  /**
   * SQLite: commit inbox batches on a thread of their own, with its own connection (see WriterThread):
   * nothing of a commit (write, fsync, checkpoint) runs on the event loop, so the next group's requests
   * are read and verified meanwhile. The long-running server uses it; default off. Without a file
   * (":memory:") it stays off.
   */
  writerThread?: boolean;
  now?: () => Date;
}

interface Pending {
  connection: string;
  events: InboundEvent[];
}

type AddResult = { stored: number; duplicates: number };

export interface GroupCommitOptions<T> {
  /** See InboxOptions.windowMs (default 0: the end of the current event-loop turn). */
  windowMs?: number;
  /** Most weight (events) in one group; a group this heavy is sent without waiting for the window. */
  maxBatch?: number;
  /** The weight of one item (default 1). */
  weight?: (item: T) => number;
}

/**
 * Group commit with one commit in flight. Items added while a commit runs queue up and form the next group,
 * which is committed as soon as the running commit settles (at most `maxBatch` weight per group); an item
 * reaching an idle committer waits `windowMs` (0: the rest of this event-loop turn) for company. An item's
 * promise settles only with the commit that held it: resolved with its result, or rejected with the
 * commit's error.
 */
export class GroupCommit<T, R> {
  readonly #commit: (items: T[]) => Promise<R[]>;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  readonly #weight: (item: T) => number;
  #queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  #queued = 0;
  #timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  #inFlight: Promise<void> | null = null;
  /** Commits started so far, and the items they held. */
  readonly stats = { commits: 0, items: 0 };

  constructor(commit: (items: T[]) => Promise<R[]>, opts: GroupCommitOptions<T> = {}) {
    this.#commit = commit;
    this.#windowMs = opts.windowMs ?? 0;
    this.#maxBatch = Math.max(1, opts.maxBatch ?? 500);
    this.#weight = opts.weight ?? (() => 1);
  }

  /** Items waiting for a commit. */
  get queued(): number {
    return this.#queue.length;
  }

  add(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#queued += this.#weight(item);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#inFlight) return; // the running commit sends the next group when it settles
    if (this.#queued >= this.#maxBatch) {
      this.#cancelTimer();
      this.#flush();
      return;
    }
    if (this.#timer) return;
    const fire = () => {
      this.#timer = null;
      this.#flush();
    };
    this.#timer = this.#windowMs > 0 ? setTimeout(fire, this.#windowMs) : setImmediate(fire);
  }

  #cancelTimer(): void {
    if (this.#timer === null) return;
    if (this.#windowMs > 0) clearTimeout(this.#timer as NodeJS.Timeout);
    else clearImmediate(this.#timer as NodeJS.Immediate);
    this.#timer = null;
  }

  /** Sends the next group (at most maxBatch weight, at least one item) when no commit is in flight. */
  #flush(): void {
    if (this.#inFlight || this.#queue.length === 0) return;
    this.#cancelTimer();
    let weight = 0;
    let n = 0;
    while (n < this.#queue.length) {
      const w = this.#weight((this.#queue[n] as { item: T }).item);
      if (n > 0 && weight + w > this.#maxBatch) break;
      weight += w;
      n += 1;
    }
    const group = this.#queue.splice(0, n);
    this.#queued -= weight;
    this.stats.commits += 1;
    this.stats.items += group.length;
    let committed: Promise<R[]>;
    try {
      committed = this.#commit(group.map((g) => g.item));
    } catch (e) {
      committed = Promise.reject(e);
    }
    this.#inFlight = committed.then(
      (results) => {
        // The next group goes to the disk first; the finished one's answers are written meanwhile.
        this.#inFlight = null;
        this.#flush();
        for (const [i, g] of group.entries()) g.resolve(results[i] as R);
      },
      (err: unknown) => {
        this.#inFlight = null;
        this.#flush();
        for (const g of group) g.reject(err);
      },
    );
  }

  /** Waits until every item added so far has been committed (or its commit failed). */
  async drain(): Promise<void> {
    while (this.#inFlight || this.#queue.length > 0) {
      if (!this.#inFlight) this.#flush();
      await this.#inFlight;
    }
  }
}

function inboxDb(store: Store): { db: Kysely<InboxDatabase>; sqlite: boolean; scrub: Scrubber } {
  if (!(store instanceof KyselyStore)) {
    throw new Error("the webhook inbox needs the SQL store (openStore)");
  }
  const db = store.db.withTables<InboxDatabase>() as unknown as Kysely<InboxDatabase>;
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  return { db, sqlite, scrub: store.scrub };
}

const CHUNK = 200;

/**
 * The checkpoint thread: a PASSIVE checkpoint every `CHECKPOINT_MS` on a connection of its own, synced
 * (synchronous=NORMAL syncs the WAL before a checkpoint and the database file after it). SQLite's automatic
 * checkpoint runs inside the commit that crosses 1,000 WAL pages, on whichever connection made it: it put
 * a checkpoint's copying and database fsync (tens to hundreds of ms on a busy disk) on the event loop.
 * Kept small by this thread, the WAL does not reach that mark; a PASSIVE checkpoint never waits for (or
 * holds up) a reader or a writer. Plain JavaScript: worker threads have no TypeScript loader.
 */
const CHECKPOINT_SOURCE = `
const { workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("synchronous = NORMAL");
setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {}
}, workerData.checkpointMs);
`;

/** How often the checkpoint thread moves the WAL into the database file. */
const CHECKPOINT_MS = 50;

/**
 * The writer thread (`writerThread`): the inbox's own connection on a thread of its own, so neither a
 * commit's write() (which the kernel may hold up when other processes fill the page cache) nor its fsync
 * ever stops the event loop. Plain JavaScript: worker threads have no TypeScript loader. One prepared
 * statement, one immediate transaction per group; answers with the indexes of the rows that were new.
 *
 * Durable commits in WAL mode: a commit only appends frames to the -wal file, so the thread commits with
 * synchronous=NORMAL, which releases the write lock without waiting for the disk, then fsyncs the -wal file
 * itself before answering: the store's connection (job queue, inbox settlement) waits on that lock only
 * for the insert, not for the fsync (it waits in SQLite's busy handler, on the event loop). An fsync
 * covers every frame written so far; frames a checkpoint moved into the database file were synced there
 * first. The -wal file keeps its inode while this connection is open; it is checked before each fsync and
 * reopened if it changed. Outside WAL mode the commit itself syncs (synchronous as asked). The thread
 * also starts the checkpoint thread.
 */
const WRITER_SOURCE = `
const { parentPort, workerData, Worker } = require("node:worker_threads");
const fs = require("node:fs");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
const wal = String(db.pragma("journal_mode", { simple: true })).toLowerCase() === "wal";
const syncAfter = wal && workerData.synchronous === "FULL";
db.pragma("synchronous = " + (wal ? "NORMAL" : workerData.synchronous));
if (wal) {
  db.pragma("wal_autocheckpoint = 0");
  const checkpointer = new Worker(workerData.checkpointer, { eval: true, workerData });
  checkpointer.on("error", () => db.pragma("wal_autocheckpoint = 1000"));
}
const walPath = workerData.path + "-wal";
let walFd = -1;
let walIno = -1;
const syncWal = () => {
  const ino = fs.statSync(walPath).ino;
  if (walFd < 0 || ino !== walIno) {
    if (walFd >= 0) fs.closeSync(walFd);
    walFd = fs.openSync(walPath, "r");
    walIno = fs.fstatSync(walFd).ino;
  }
  fs.fsyncSync(walFd);
};
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
    const fresh = commit.immediate(m.rows);
    if (syncAfter) syncWal();
    parentPort.postMessage({ id: m.id, fresh });
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

  constructor(path: string, durability: "full" | "normal") {
    this.#worker = new Worker(WRITER_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve("better-sqlite3"),
        path,
        synchronous: durability === "full" ? "FULL" : "NORMAL",
        insert: SQLITE_INSERT,
        checkpointer: CHECKPOINT_SOURCE,
        checkpointMs: CHECKPOINT_MS,
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
    attempts: Number(r.attempts),
    retryAt: r.retry_at,
  };
}

export class WebhookInbox {
  readonly #db: Kysely<InboxDatabase>;
  readonly #sqlite: boolean;
  readonly #scrub: Scrubber;
  readonly #opts: Required<Omit<InboxOptions, "now">> & { now: () => Date };
  readonly #group: GroupCommit<Pending, AddResult>;
  #writer: Promise<WriterThread | null> | null = null;
  /** Transactions committed by add() so far, and the events they held (for the benchmark and tests). */
  readonly commits = { transactions: 0, events: 0 };

  constructor(store: Store, opts: InboxOptions = {}) {
    const { db, sqlite, scrub } = inboxDb(store);
    this.#scrub = scrub;
    this.#db = db;
    this.#sqlite = sqlite;
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
      return new WriterThread(file, this.#opts.durability);
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
