/**
 * Store access for the job runtime (src/runtime/jobs.ts, src/runtime/leases.ts): durable jobs and named
 * leases, on the same Kysely database as the rest of the store, SQLite and PostgreSQL alike.
 *
 * Every state change is one conditional UPDATE (or an upsert), so two processes racing for the same job or
 * lease never both win: the database decides. Timestamps are ISO 8601 UTC strings, which sort as they read.
 */
import { type Kysely, PostgresAdapter, type Selectable, sql, type Transaction } from "kysely";
import type { JobRow, JobStatus, JobTable } from "../ports/jobs.ts";
import type { LeaseStore } from "../ports/leases.ts";
import type { Store } from "../ports/store.ts";
import { KyselyStore } from "./kysely-store.ts";
import type { StoreGate } from "./resilience.ts";
import type { Database, JobsTable } from "./schema.ts";
import type { Scrubber } from "./scrub.ts";

export type { JobRow, JobStatus };

const LIVE: JobStatus[] = ["queued", "running"];

/**
 * The live job of a singleton key. The statuses are written into the SQL, not bound: SQLite uses the partial
 * unique index jobs_singleton_live_uq (singleton_key, where status is queued or running) only when it can see
 * that the query asks for those statuses, which it cannot through parameters (the page commit's failure
 * lookup had the same trap; commit-page.ts).
 */
export function liveBySingletonQuery(db: Kysely<Database>, key: string) {
  return db
    .selectFrom("jobs")
    .selectAll()
    .where("singleton_key", "=", key)
    .where(
      "status",
      "in",
      LIVE.map((s) => sql.lit(s)),
    );
}

/**
 * The Kysely database behind a store, for tests and tools that read or corrupt job rows on purpose. The
 * runtime goes through the ports (`store.jobs()`, `store.leases()`) instead.
 */
export function jobsDb(store: Store): Kysely<Database> {
  if (!(store instanceof KyselyStore)) {
    throw new Error("jobsDb needs the SQL store (openStore); this store has no jobs table");
  }
  return store.db;
}

/** A jobs row as the database returns it. */
type StoredJob = Selectable<JobsTable>;

function rowOut(r: StoredJob): JobRow {
  return {
    id: Number(r.id),
    queue: r.queue,
    payload: r.payload,
    status: r.status,
    runAt: r.run_at,
    lockedBy: r.locked_by,
    lockedUntil: r.locked_until,
    attempts: Number(r.attempts),
    lastError: r.last_error,
    singletonKey: r.singleton_key,
    createdAt: r.created_at,
  };
}

/** Jobs and leases on the SQL store: the JobTable and LeaseStore ports (src/ports/jobs.ts, leases.ts). */
export class JobStore implements JobTable, LeaseStore {
  readonly #db: Kysely<Database>;
  readonly #pg: boolean;
  readonly #scrub: Scrubber;
  readonly #gate: StoreGate;

  constructor(db: Kysely<Database>, scrub: Scrubber, gate: StoreGate) {
    this.#db = db;
    this.#scrub = scrub;
    this.#gate = gate;
    this.#pg = this.#db.getExecutor().adapter instanceof PostgresAdapter;
  }

  /** Inserts a queued job; null when a live job already holds its singleton key. */
  async insert(job: {
    queue: string;
    payload: string;
    runAt: string;
    singletonKey: string | null;
    now: string;
  }): Promise<number | null> {
    const row = await this.#gate.transaction("enqueue: insert jobs", (trx: Transaction<Database>) =>
      trx
        .insertInto("jobs")
        .values({
          queue: job.queue,
          payload: job.payload,
          status: "queued",
          run_at: job.runAt,
          locked_by: null,
          locked_until: null,
          last_error: null,
          created_at: job.now,
          singleton_key: job.singletonKey,
        })
        // The only unique constraint a new row can hit is the live singleton key.
        .onConflict((oc) => oc.doNothing())
        .returning("id")
        .executeTakeFirst(),
    );
    return row ? Number(row.id) : null;
  }

  /**
   * Takes the next due job of `queues` (queued and due, or running with an expired lease: its process
   * died), locks it to `worker` until `lockedUntil` and counts the attempt. One statement, so two workers
   * never take the same job; on PostgreSQL, SKIP LOCKED lets them take different ones at once.
   */
  async claim(worker: string, queues: string[], now: string, lockedUntil: string): Promise<JobRow | null> {
    if (queues.length === 0) return null;
    const claimable = sql<boolean>`(
      (${sql.ref("status")} = 'queued' and ${sql.ref("run_at")} <= ${now})
      or (${sql.ref("status")} = 'running' and ${sql.ref("locked_until")} < ${now}))`;
    const queueIn = sql<boolean>`${sql.ref("queue")} in (${sql.join(queues)})`;
    const lock = this.#pg ? sql`for update skip locked` : sql``;
    // A transaction: claiming again after a commit whose answer was lost would take a second job.
    const result = await this.#gate.transaction("claim: update jobs", (trx: Transaction<Database>) =>
      sql<StoredJob>`update ${sql.table("jobs")}
         set ${sql.ref("status")} = 'running', ${sql.ref("locked_by")} = ${worker},
             ${sql.ref("locked_until")} = ${lockedUntil}, ${sql.ref("attempts")} = ${sql.ref("attempts")} + 1
         where ${sql.ref("id")} = (
           select ${sql.ref("id")} from ${sql.table("jobs")}
           where ${queueIn} and ${claimable}
           order by ${sql.ref("run_at")}, ${sql.ref("id")} limit 1 ${lock})
         and ${claimable}
         returning *`.execute(trx),
    );
    const row = result.rows[0];
    return row ? rowOut(row) : null;
  }

  async heartbeat(id: number, worker: string, lockedUntil: string): Promise<boolean> {
    const r = await this.#gate.repeatable("heartbeat: update jobs", () =>
      this.#db
        .updateTable("jobs")
        .set({ locked_until: lockedUntil })
        .where("id", "=", id)
        .where("locked_by", "=", worker)
        .where("status", "=", "running")
        .executeTakeFirst(),
    );
    return r.numUpdatedRows > 0n;
  }

  /** Moves a job `worker` holds to `status`; false when the worker no longer holds it. */
  async finish(
    id: number,
    worker: string,
    patch: { status: JobStatus; runAt?: string; lastError?: string | null },
  ): Promise<boolean> {
    // A transaction: applied twice, the second finds the job no longer held and would report it lost.
    const r = await this.#gate.transaction(
      `finish: update jobs (${patch.status})`,
      (trx: Transaction<Database>) =>
        trx
          .updateTable("jobs")
          .set({
            status: patch.status,
            locked_by: null,
            locked_until: null,
            ...(patch.runAt !== undefined ? { run_at: patch.runAt } : {}),
            ...(patch.lastError !== undefined ? { last_error: this.#scrub.text(patch.lastError) } : {}),
          })
          .where("id", "=", id)
          .where("locked_by", "=", worker)
          .where("status", "=", "running")
          .executeTakeFirst(),
    );
    return r.numUpdatedRows > 0n;
  }

  async get(id: number): Promise<JobRow | null> {
    const row = await this.#gate.repeatable("getJob: select jobs", () =>
      this.#db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst(),
    );
    return row ? rowOut(row) : null;
  }

  async list(filter: { queue?: string; status?: JobStatus; limit?: number } = {}): Promise<JobRow[]> {
    let q = this.#db
      .selectFrom("jobs")
      .selectAll()
      .orderBy("id")
      .limit(filter.limit ?? 1000);
    if (filter.queue !== undefined) q = q.where("queue", "=", filter.queue);
    if (filter.status !== undefined) q = q.where("status", "=", filter.status);
    const rows = await this.#gate.repeatable("listJobs: select jobs", () => q.execute());
    return rows.map(rowOut);
  }

  /** Live (queued or running) job holding a singleton key. */
  async liveBySingleton(key: string): Promise<JobRow | null> {
    const row = await this.#gate.repeatable("liveBySingleton: select jobs", () =>
      liveBySingletonQuery(this.#db, key).executeTakeFirst(),
    );
    return row ? rowOut(row) : null;
  }

  /** Takes lease `name` for `holder` when free, expired, or already held by `holder`. */
  async acquireLease(name: string, holder: string, now: string, expiresAt: string): Promise<boolean> {
    const row = await this.#gate.repeatable("acquireLease: upsert leases", () =>
      this.#db
        .insertInto("leases")
        .values({ name, holder, expires_at: expiresAt, acquired_at: now })
        .onConflict((oc) =>
          oc
            .column("name")
            .doUpdateSet({
              holder: (eb) => eb.ref("excluded.holder"),
              expires_at: (eb) => eb.ref("excluded.expires_at"),
              acquired_at: (eb) => eb.ref("excluded.acquired_at"),
            })
            .where((eb) => eb.or([eb("leases.expires_at", "<=", now), eb("leases.holder", "=", holder)])),
        )
        .returning("name")
        .executeTakeFirst(),
    );
    return row !== undefined;
  }

  /**
   * Hands lease `name` from `from` (a holder known to be gone) to `to`; false when `from` no longer holds it
   * (it was released, or someone else took it first).
   */
  async takeOverLease(
    name: string,
    from: string,
    to: string,
    now: string,
    expiresAt: string,
  ): Promise<boolean> {
    const r = await this.#gate.repeatable("takeOverLease: update leases", () =>
      this.#db
        .updateTable("leases")
        .set({ holder: to, expires_at: expiresAt, acquired_at: now })
        .where("name", "=", name)
        .where("holder", "=", from)
        .executeTakeFirst(),
    );
    return r.numUpdatedRows > 0n;
  }

  /** Extends a lease `holder` still has (even past its expiry, as long as nobody else took it). */
  async renewLease(name: string, holder: string, expiresAt: string): Promise<boolean> {
    const r = await this.#gate.repeatable("renewLease: update leases", () =>
      this.#db
        .updateTable("leases")
        .set({ expires_at: expiresAt })
        .where("name", "=", name)
        .where("holder", "=", holder)
        .executeTakeFirst(),
    );
    return r.numUpdatedRows > 0n;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.#gate.repeatable("releaseLease: delete leases", () =>
      this.#db.deleteFrom("leases").where("name", "=", name).where("holder", "=", holder).execute(),
    );
  }

  async leaseHolder(name: string, now: string): Promise<string | null> {
    const row = await this.#gate.repeatable("leaseHolder: select leases", () =>
      this.#db
        .selectFrom("leases")
        .select("holder")
        .where("name", "=", name)
        .where("expires_at", ">", now)
        .executeTakeFirst(),
    );
    return row?.holder ?? null;
  }
}
