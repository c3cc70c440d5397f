/**
 * The jobs port on pg-boss, for PostgreSQL stores: many stateless processes share one set of queues in
 * the database. pg-boss brings what the embedded queue would otherwise have to grow for that: `FOR UPDATE
 * SKIP LOCKED` fetching across processes, retries with exponential backoff, a dead-letter queue, singleton
 * keys, expiry of jobs whose worker vanished, and its own schema with its own migration lock, so several
 * processes starting together install it once.
 *
 * How the port maps onto it:
 * - Every queue is created with pg-boss's `short` policy: one *queued* job per singleton key (a flow's sync
 *   is queued once however often it is asked for), while a running one does not block the next. Two runs of
 *   a flow are kept apart by the flow's lease (run-flow.ts), whichever queue runs the job — not by the queue.
 * - A handler's retryable error (network, 5xx, 429, an interrupted run) is thrown to pg-boss, which retries
 *   the job with exponential backoff up to `maxAttempts` and then moves it to the queue's dead-letter queue
 *   (`<queue>__dead`). Any other error (data, permanent, config) is not retried: the job is completed and a
 *   copy with the error goes to the dead-letter queue at once, as the embedded queue marks it dead.
 * - A job whose process died (SIGKILL, out of memory) stays `active` until its expiry (`expireS`), then
 *   pg-boss's maintenance retries it. pg-boss 10 has no heartbeat of its own (a job's expiry counts from
 *   its start), so the runner beats for it: every third of the expiry, while the handler runs, it moves the
 *   job's expiry to a full `expireS` from now. A long run whose process is alive is therefore never expired
 *   and run a second time; a dead process stops beating and its job is retried one expiry later. A beat
 *   finding the job no longer its own (the process stalled past the expiry and the job was retried) aborts
 *   the handler and records nothing for that attempt. Meanwhile the flow does not wait for the expiry: the
 *   next tick queues a new job, which takes over the dead holder's flow lease.
 * - pg-boss's schema is `<store schema>_pgboss` (or `pgboss` when the store has none), beside the store's.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import PgBoss from "pg-boss";
import { asSyncError } from "../core/errors.ts";
import type { JobRequest, JobRunner, Jobs, JobWork, JobWorkerOptions } from "../ports/jobs.ts";
import { loopsEndedBeforeCut, type WorkerLogger } from "./jobs.ts";

export interface BossJobsOptions {
  /** The store's PostgreSQL URL without Passerelle's own parameters (parseStoreUrl's connectionString). */
  connectionString: string;
  /** The store's schema (null: the database's default), to name pg-boss's own beside it. */
  storeSchema: string | null;
  /** The queues this process may send to or work on; created when missing. */
  queues: string[];
  logger?: WorkerLogger;
  /** Connections in pg-boss's own pool (default 4). */
  poolSize?: number;
  /** Seconds between pg-boss maintenance passes (expiry, retention; default 30). */
  maintenanceS?: number;
  /** Default expiry of a running job whose worker went silent (default 900 s, pg-boss's own). */
  expireS?: number;
  /** Attempts of a job failing with a retryable error before it goes to the dead-letter queue (default 5). */
  maxAttempts?: number;
  /** Seconds before the first retry (doubled each time; default 1). */
  retryDelayS?: number;
}

/** pg-boss's schema for a store schema. */
export function bossSchema(storeSchema: string | null): string {
  return storeSchema === null ? "pgboss" : `${storeSchema}_pgboss`.slice(0, 63);
}

export const deadLetterQueue = (queue: string) => `${queue}__dead`;

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

/** Starts pg-boss (installing or migrating its schema when needed) and creates the queues. */
export async function openBossJobs(opts: BossJobsOptions): Promise<BossJobs> {
  const schema = bossSchema(opts.storeSchema);
  const boss = new PgBoss({
    connectionString: opts.connectionString,
    schema,
    max: opts.poolSize ?? 4,
    application_name: "passerelle-jobs",
    // Cron lives in Passerelle's scheduler (one leader by advisory lock), not in pg-boss.
    schedule: false,
    maintenanceIntervalSeconds: opts.maintenanceS ?? 30,
  });
  // pg-boss reports what its background loops meet (a lost connection while PostgreSQL restarts) as
  // `error` events; unheard they would end the process. Its loops carry on and reconnect by themselves.
  boss.on("error", (err: Error) =>
    opts.logger?.warn({ err: errorText(err) }, "job queue (pg-boss): database error; retrying"),
  );
  await boss.start();
  const jobs = new BossJobs(boss, schema, opts);
  for (const q of opts.queues) await jobs.ensureQueue(q);
  return jobs;
}

export class BossJobs implements Jobs {
  readonly kind = "pg-boss" as const;
  readonly boss: PgBoss;
  readonly schema: string;
  readonly #opts: BossJobsOptions;
  readonly #queues = new Set<string>();

  constructor(boss: PgBoss, schema: string, opts: BossJobsOptions) {
    this.boss = boss;
    this.schema = schema;
    this.#opts = opts;
  }

  /**
   * Creates `queue` and its dead-letter queue unless they exist. Processes starting together would
   * deadlock in pg-boss's create_queue (each creates a partition and its constraints), so creation is
   * serialised by an advisory lock on pg-boss's schema, held on a connection of its own.
   */
  async ensureQueue(queue: string): Promise<void> {
    if (this.#queues.has(queue)) return;
    const existing = await this.boss.getQueue(queue);
    if (existing) {
      // The expiry comes from the configuration (store.jobExpireSeconds): a change applies at the next start.
      if (existing.expireInSeconds !== this.#expireS())
        await this.boss.updateQueue(queue, this.#settings(queue));
      this.#queues.add(queue);
      return;
    }
    const client = new pg.Client({ connectionString: this.#opts.connectionString });
    await client.connect();
    try {
      await client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [
        `passerelle:queues:${this.schema}`,
      ]);
      await this.#create(queue);
    } finally {
      await client.end().catch(() => undefined);
    }
    this.#queues.add(queue);
  }

  #expireS(): number {
    return this.#opts.expireS ?? 900;
  }

  /** How long a running job outlives a silent worker, in seconds (the queues' expiry). */
  get expireS(): number {
    return this.#expireS();
  }

  /**
   * Moves the expiry of one attempt of a running job to `expireS` from now (pg-boss expires a job
   * `expire_in` after `started_on`). The attempt is named by its retry count, since a retried job keeps its
   * id. false: the attempt is no longer active (expired and retried, or finished).
   */
  async heartbeat(queue: string, id: string, retryCount: number): Promise<boolean> {
    const { rows } = await this.boss.getDb().executeSql(
      `UPDATE ${this.schema}.job SET expire_in = (now() - started_on) + $4 * interval '1 second'
         WHERE name = $1 AND id = $2 AND retry_count = $3 AND state = 'active' RETURNING id`,
      [queue, id, retryCount, this.#expireS()],
    );
    return rows.length === 1;
  }

  #settings(queue: string): PgBoss.Queue {
    const attempts = this.#opts.maxAttempts ?? 5;
    return {
      name: queue,
      policy: "short",
      retryLimit: Math.max(0, attempts - 1),
      retryDelay: this.#opts.retryDelayS ?? 1,
      retryBackoff: true,
      expireInSeconds: this.#expireS(),
      deadLetter: deadLetterQueue(queue),
    };
  }

  async #create(queue: string): Promise<void> {
    await this.boss.createQueue(deadLetterQueue(queue), { name: deadLetterQueue(queue), policy: "standard" });
    await this.boss.createQueue(queue, this.#settings(queue));
  }

  async enqueue(job: JobRequest): Promise<string | null> {
    if (typeof job.queue !== "string" || job.queue.trim() === "") {
      throw new Error(`job queue must be a non-empty string (got ${JSON.stringify(job.queue)})`);
    }
    if (job.runAt !== undefined && Number.isNaN(job.runAt.getTime())) {
      throw new Error(`job runAt for queue ${job.queue} is not a valid date`);
    }
    await this.ensureQueue(job.queue);
    // pg-boss keeps `data` as JSON; a payload is wrapped so that any JSON value (not only objects) fits.
    // The `short` policy admits one queued job per key, and pg-boss counts "no key" as one key: a job
    // without one gets a key of its own, so it is never merged with another.
    return this.boss.send(
      job.queue,
      { payload: job.payload ?? null },
      {
        singletonKey: job.singletonKey ?? `job:${randomUUID()}`,
        ...(job.runAt ? { startAfter: job.runAt } : {}),
      },
    );
  }

  runner(handlers: Record<string, JobWork>, opts: JobWorkerOptions): JobRunner {
    return new BossRunner(this, handlers, opts, this.#opts.logger);
  }

  async pending(queue: string): Promise<number> {
    const { rows } = await this.boss
      .getDb()
      .executeSql(
        `SELECT count(*)::int AS n FROM ${this.schema}.job WHERE name = $1 AND state IN ('created', 'retry', 'active')`,
        [queue],
      );
    return Number((rows[0] as { n: number }).n);
  }

  /**
   * Jobs waiting (created, or waiting for a retry) in each queue this process knows, by pg-boss's
   * getQueueSize; dead-letter queues are left out (what waits there is given up, not due).
   */
  async depth(): Promise<Map<string, number>> {
    const depth = new Map<string, number>();
    for (const queue of [...this.#queues].sort()) {
      const n = await this.boss.getQueueSize(queue);
      if (n > 0) depth.set(queue, n);
    }
    return depth;
  }

  /** Jobs of `queue` in each state (tests, `pending`'s detail). */
  async states(queue: string): Promise<Record<string, number>> {
    const { rows } = await this.boss
      .getDb()
      .executeSql(`SELECT state, count(*)::int AS n FROM ${this.schema}.job WHERE name = $1 GROUP BY state`, [
        queue,
      ]);
    return Object.fromEntries((rows as { state: string; n: number }[]).map((r) => [r.state, Number(r.n)]));
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true, close: true });
  }
}

/**
 * Runs handlers on jobs fetched from pg-boss, one loop per queue and unit of concurrency. The loop is
 * Passerelle's own over `fetch`, `complete` and `fail` rather than pg-boss's `work()`: `work()` completes
 * or fails a job without awaiting it, so a database that goes away at that moment (a restart) rejects a
 * promise nobody holds, which ends the process. Here every call is awaited; a job whose outcome cannot be
 * recorded stays active until its expiry and is run again (the flow lease and intents make that safe).
 */
class BossRunner implements JobRunner {
  readonly id: string;
  readonly #jobs: BossJobs;
  readonly #handlers: Record<string, JobWork>;
  readonly #opts: JobWorkerOptions;
  readonly #logger: WorkerLogger | undefined;
  readonly #active = new Map<string, AbortController>();
  readonly #waiters = new Set<() => void>();
  #loops: Promise<void>[] = [];
  #running = false;

  constructor(
    jobs: BossJobs,
    handlers: Record<string, JobWork>,
    opts: JobWorkerOptions,
    logger?: WorkerLogger,
  ) {
    this.#jobs = jobs;
    this.#handlers = handlers;
    this.#opts = opts;
    this.#logger = logger;
    this.id = opts.id;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const [queue, handler] of Object.entries(this.#handlers)) {
      for (let i = 0; i < (this.#opts.concurrency ?? 1); i++) this.#loops.push(this.#loop(queue, handler));
    }
  }

  async #idle(): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.#opts.pollMs ?? 500);
      this.#waiters.add(done);
    });
  }

  async #loop(queue: string, handler: JobWork): Promise<void> {
    let ready = false;
    while (this.#running) {
      let job: PgBoss.JobWithMetadata<{ payload: unknown }> | undefined;
      try {
        if (!ready) {
          await this.#jobs.ensureQueue(queue);
          ready = true;
        }
        [job] = await this.#jobs.boss.fetch<{ payload: unknown }>(queue, {
          batchSize: 1,
          includeMetadata: true,
        });
      } catch (err) {
        this.#logger?.warn(
          { queue, err: errorText(err) },
          "job fetch failed; retrying after the poll interval",
        );
      }
      if (!job) {
        if (this.#running) await this.#idle();
        continue;
      }
      await this.#run(queue, handler, job);
    }
  }

  async #run(
    queue: string,
    handler: JobWork,
    job: PgBoss.JobWithMetadata<{ payload: unknown }>,
  ): Promise<void> {
    const ctl = new AbortController();
    this.#active.set(job.id, ctl);
    const attempt = { id: job.id, queue, payload: job.data?.payload ?? null, attempts: job.retryCount + 1 };
    const beat = this.#beat(queue, job, ctl);
    const record = async (what: string, call: () => Promise<unknown>) => {
      // The attempt expired and the job was retried: its outcome belongs to the retry now.
      if (beat.lost) return;
      try {
        await call();
      } catch (err) {
        this.#logger?.warn(
          { jobId: job.id, queue, err: errorText(err) },
          `cannot record the job as ${what}; it runs again after its expiry`,
        );
      }
    };
    try {
      await handler(attempt.payload, attempt, ctl.signal);
      await record("completed", () => this.#jobs.boss.complete(queue, job.id));
    } catch (e) {
      const err = asSyncError(e);
      const message = `job ${job.id} (queue ${queue}) attempt ${attempt.attempts}: ${err.message}`;
      if (err.retryable) {
        // pg-boss retries it with backoff, then moves it to the dead-letter queue.
        this.#logger?.warn({ jobId: job.id, kind: err.kind }, message);
        await record("failed", () => this.#jobs.boss.fail(queue, job.id, { message }));
      } else {
        this.#logger?.error({ jobId: job.id, kind: err.kind }, message);
        await record("given up", async () => {
          await this.#jobs.boss.send(deadLetterQueue(queue), {
            payload: attempt.payload,
            error: errorText(err),
            kind: err.kind,
            job: job.id,
          });
          await this.#jobs.boss.complete(queue, job.id);
        });
      }
    } finally {
      clearInterval(beat.timer);
      this.#active.delete(job.id);
    }
  }

  /** Keeps a running job from expiring while its handler runs (see the module comment). */
  #beat(
    queue: string,
    job: PgBoss.JobWithMetadata<{ payload: unknown }>,
    ctl: AbortController,
  ): { lost: boolean; timer: NodeJS.Timeout } {
    let lost = false;
    let beating = false;
    const timer = setInterval(
      () => {
        if (beating || lost) return;
        beating = true;
        this.#jobs
          .heartbeat(queue, job.id, job.retryCount)
          .then(
            (held) => {
              if (held) return;
              lost = true;
              if (ctl.signal.aborted) return;
              this.#logger?.warn(
                { jobId: job.id, queue },
                "job expired while running (this process stalled past its expiry); stopping this attempt",
              );
              ctl.abort(new Error(`job ${job.id} expired while running; it was handed to another attempt`));
            },
            (err: unknown) =>
              this.#logger?.warn(
                { jobId: job.id, queue, err: errorText(err) },
                "cannot extend the running job's expiry; trying again",
              ),
          )
          .finally(() => {
            beating = false;
          });
      },
      Math.max(250, (this.#jobs.expireS * 1000) / 3),
    );
    timer.unref();
    return {
      get lost() {
        return lost;
      },
      timer,
    };
  }

  wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  async stop(opts: { reason?: string; cut?: AbortSignal } = {}): Promise<{ abandoned: string[] }> {
    if (!this.#running) return { abandoned: [] };
    this.#running = false;
    const reason = new Error(opts.reason ?? "worker stopping");
    for (const ctl of this.#active.values()) ctl.abort(reason);
    this.wake();
    const finished = await loopsEndedBeforeCut(this.#loops, opts.cut);
    this.#loops = [];
    // Abandoned jobs stay `active` until their expiry; pg-boss then retries them.
    return { abandoned: finished ? [] : [...this.#active.keys()] };
  }
}
