/**
 * The durable job runtime (embedded mode): jobs live in the store, a worker claims one with a lease and
 * keeps the lease alive with heartbeats while the handler runs. When a process dies, its jobs' leases
 * expire and another worker (or the restarted one) claims them again, so every job runs to completion at
 * least once; handlers make that safe by being idempotent (the sync engine's intents and links).
 *
 * Bad rows never stop the runtime: a job whose payload cannot be read, or that keeps killing its worker,
 * is marked dead with a message naming the job and the problem, and the worker moves on.
 */
import { asSyncError } from "../core/errors.ts";
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from "../engine/retry.ts";
import type {
  JobRequest,
  JobRow,
  JobRunner,
  JobStatus,
  Jobs,
  JobTable,
  JobWork,
  JobWorkerOptions,
} from "../ports/jobs.ts";
import type { Store } from "../ports/store.ts";

export type { JobStatus };

/** A job to queue (the port's JobRequest); here a singleton key admits one queued or running job. */
export type JobSpec = JobRequest;

export interface ClaimedJob {
  id: number;
  queue: string;
  payload: unknown;
  /** Counting this one. */
  attempts: number;
}

export interface JobInfo {
  id: number;
  queue: string;
  status: JobStatus;
  attempts: number;
  runAt: string;
  lockedBy: string | null;
  lockedUntil: string | null;
  lastError: string | null;
  singletonKey: string | null;
  /** The stored payload text. */
  payload: string;
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

function info(r: JobRow): JobInfo {
  return {
    id: r.id,
    queue: r.queue,
    status: r.status as JobStatus,
    attempts: r.attempts,
    runAt: r.runAt,
    lockedBy: r.lockedBy,
    lockedUntil: r.lockedUntil,
    lastError: r.lastError,
    singletonKey: r.singletonKey,
    payload: r.payload,
  };
}

export class JobQueue {
  readonly #jobs: JobTable;
  readonly #now: () => Date;
  /** Called when a claimed row cannot be read and is marked dead instead of run. */
  onBadRow?: (jobId: number, message: string) => void;

  constructor(store: Store, opts: { now?: () => Date } = {}) {
    this.#jobs = store.jobs();
    this.#now = opts.now ?? (() => new Date());
  }

  now(): Date {
    return this.#now();
  }

  /** null when a job with the same singletonKey is already queued or running (so a flow never runs twice). */
  async enqueue(spec: JobSpec): Promise<number | null> {
    if (typeof spec.queue !== "string" || spec.queue.trim() === "") {
      throw new Error(`job queue must be a non-empty string (got ${JSON.stringify(spec.queue)})`);
    }
    const payload = JSON.stringify(spec.payload ?? null);
    if (payload === undefined)
      throw new Error(`job payload for queue ${spec.queue} is not JSON-serializable`);
    if (spec.runAt !== undefined && Number.isNaN(spec.runAt.getTime())) {
      throw new Error(`job runAt for queue ${spec.queue} is not a valid date`);
    }
    const now = this.#now();
    return this.#jobs.insert({
      queue: spec.queue,
      payload,
      runAt: (spec.runAt ?? now).toISOString(),
      singletonKey: spec.singletonKey ?? null,
      now: now.toISOString(),
    });
  }

  /**
   * Takes the next due job of `queues` for `leaseMs`, or a running job whose lease expired (its worker died).
   * A row that cannot be read (corrupt or truncated payload) is marked dead with the reason and skipped.
   */
  async claim(worker: string, queues: string[], leaseMs: number): Promise<ClaimedJob | null> {
    for (;;) {
      const now = this.#now();
      const row = await this.#jobs.claim(
        worker,
        queues,
        now.toISOString(),
        new Date(now.getTime() + leaseMs).toISOString(),
      );
      if (!row) return null;
      let payload: unknown;
      try {
        payload = JSON.parse(row.payload);
      } catch (err) {
        const shown = row.payload.length > 80 ? `${row.payload.slice(0, 80)}…` : row.payload;
        const message = `job ${row.id} (queue ${row.queue}): payload is not valid JSON (${errorText(err)}): ${JSON.stringify(shown)}`;
        await this.#jobs.finish(row.id, worker, { status: "dead", lastError: message });
        this.onBadRow?.(row.id, message);
        continue;
      }
      return { id: row.id, queue: row.queue, payload, attempts: row.attempts };
    }
  }

  /** false: the lease was lost (it expired and another worker claimed the job). */
  async heartbeat(jobId: number, worker: string, leaseMs: number): Promise<boolean> {
    const until = new Date(this.#now().getTime() + leaseMs).toISOString();
    return this.#jobs.heartbeat(jobId, worker, until);
  }

  /** Marks the job done; false (and nothing changed) when `worker` no longer holds it. */
  async complete(jobId: number, worker: string): Promise<boolean> {
    return this.#jobs.finish(jobId, worker, { status: "done", lastError: null });
  }

  /** Re-queues the job for `retryAt`, or (null) marks it dead. false when `worker` no longer holds it. */
  async fail(jobId: number, worker: string, error: unknown, retryAt: Date | null): Promise<boolean> {
    return this.#jobs.finish(jobId, worker, {
      status: retryAt === null ? "dead" : "queued",
      lastError: errorText(error),
      ...(retryAt === null ? {} : { runAt: retryAt.toISOString() }),
    });
  }

  /** Puts a held job back without blaming it (its worker is stopping). */
  async release(jobId: number, worker: string): Promise<boolean> {
    return this.#jobs.finish(jobId, worker, { status: "queued", runAt: this.#now().toISOString() });
  }

  async get(jobId: number): Promise<JobInfo | null> {
    const row = await this.#jobs.get(jobId);
    return row ? info(row) : null;
  }

  async list(filter: { queue?: string; status?: JobStatus; limit?: number } = {}): Promise<JobInfo[]> {
    return (await this.#jobs.list(filter)).map(info);
  }
}

export type JobHandler = JobWork;

export interface WorkerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WorkerOptions {
  /** This worker's name in job locks (default: host pid + random suffix). */
  id?: string;
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** How long a claim lasts without a heartbeat (default 30 s); heartbeats every third of it. */
  leaseMs?: number;
  /** Wait between claims when no job is due (default 500 ms). */
  pollMs?: number;
  /**
   * Attempts before a failing job is marked dead (default 5). Counts claims, so a job that kills its worker
   * every time is given up after this many crashes instead of looping forever.
   */
  maxAttempts?: number;
  /** Backoff between attempts of a failed job (default: the engine's retry policy). */
  retry?: RetryPolicy;
  logger?: WorkerLogger;
  random?: () => number;
}

export class Worker {
  readonly id: string;
  readonly #queue: JobQueue;
  readonly #handlers: Record<string, JobHandler>;
  readonly #opts: Required<Omit<WorkerOptions, "logger" | "id">> & { logger?: WorkerLogger };
  #running = false;
  #loops: Promise<void>[] = [];
  readonly #active = new Map<number, { ctl: AbortController; beat: NodeJS.Timeout }>();
  readonly #waiters = new Set<() => void>();
  #stopping: AbortController = new AbortController();

  constructor(queue: JobQueue, handlers: Record<string, JobHandler>, opts: WorkerOptions = {}) {
    this.#queue = queue;
    this.#handlers = handlers;
    this.id = opts.id ?? `worker-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.#opts = {
      concurrency: opts.concurrency ?? 1,
      leaseMs: opts.leaseMs ?? 30_000,
      pollMs: opts.pollMs ?? 500,
      maxAttempts: opts.maxAttempts ?? 5,
      retry: opts.retry ?? DEFAULT_RETRY,
      random: opts.random ?? Math.random,
      ...(opts.logger ? { logger: opts.logger } : {}),
    };
    queue.onBadRow = (jobId, message) => this.#opts.logger?.error({ jobId }, message);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = new AbortController();
    for (let i = 0; i < this.#opts.concurrency; i++) this.#loops.push(this.#loop());
  }

  /** Claims again now instead of at the next poll (e.g. right after enqueueing in this process). */
  wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /**
   * Stops claiming, asks running handlers to stop (their signal aborts with `reason`) and waits for them:
   * a handler that stops in time hands its job back (released) or completes it. When `cut` aborts first (a
   * grace period ran out, a second Ctrl-C), the jobs still running are released at once, so the next start
   * takes them without waiting for their lease to expire, and their ids are returned: their handlers are
   * still running and the caller is expected to exit.
   */
  async stop(opts: { reason?: string; cut?: AbortSignal } = {}): Promise<{ abandoned: number[] }> {
    if (!this.#running) return { abandoned: [] };
    this.#running = false;
    const reason = new Error(opts.reason ?? "worker stopping");
    this.#stopping.abort(reason);
    for (const a of this.#active.values()) a.ctl.abort(reason);
    this.wake();
    const finished = await loopsEndedBeforeCut(this.#loops, opts.cut);
    this.#loops = [];
    if (finished) return { abandoned: [] };
    const abandoned = [...this.#active.keys()];
    for (const [id, a] of this.#active) {
      // No more heartbeats for a job handed back: its handler is left to die with the process.
      clearInterval(a.beat);
      await this.#queue
        .release(id, this.id)
        .catch((err: unknown) =>
          this.#opts.logger?.error({ jobId: id, err: errorText(err) }, "cannot hand the job back"),
        );
    }
    return { abandoned };
  }

  async #idle(): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.#opts.pollMs);
      this.#waiters.add(done);
    });
  }

  async #loop(): Promise<void> {
    const queues = Object.keys(this.#handlers);
    while (this.#running) {
      let job: ClaimedJob | null = null;
      try {
        job = await this.#queue.claim(this.id, queues, this.#opts.leaseMs);
      } catch (err) {
        this.#opts.logger?.error(
          { err: errorText(err) },
          "job claim failed; retrying after the poll interval",
        );
      }
      if (!job) {
        if (this.#running) await this.#idle();
        continue;
      }
      await this.#run(job);
    }
  }

  async #run(job: ClaimedJob): Promise<void> {
    const { leaseMs, maxAttempts, logger } = this.#opts;
    const handler = this.#handlers[job.queue] as JobHandler;
    if (job.attempts > maxAttempts) {
      const msg = `job ${job.id} (queue ${job.queue}) given up after ${maxAttempts} attempts (its worker stopped before finishing each time)`;
      await this.#queue.fail(job.id, this.id, new Error(msg), null).catch(() => undefined);
      logger?.error({ jobId: job.id }, msg);
      return;
    }
    const ctl = new AbortController();
    const beat = setInterval(
      () => {
        this.#queue.heartbeat(job.id, this.id, leaseMs).then(
          (ok) => {
            if (!ok) ctl.abort(new Error(`job ${job.id}: lease lost`));
          },
          (err: unknown) => logger?.warn({ jobId: job.id, err: errorText(err) }, "job heartbeat failed"),
        );
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    );
    this.#active.set(job.id, { ctl, beat });
    try {
      await handler(job.payload, job, ctl.signal);
      if (!(await this.#queue.complete(job.id, this.id))) {
        logger?.warn(
          { jobId: job.id },
          "job finished after its lease was lost; another worker may run it again",
        );
      }
    } catch (e) {
      if (ctl.signal.aborted && !this.#running) {
        await this.#queue.release(job.id, this.id).catch(() => undefined);
        return;
      }
      const err = asSyncError(e);
      const retry = err.retryable && job.attempts < maxAttempts;
      const retryAt = retry
        ? new Date(
            this.#queue.now().getTime() +
              backoffDelay(this.#opts.retry, job.attempts, err, this.#opts.random),
          )
        : null;
      const message = `job ${job.id} (queue ${job.queue}) attempt ${job.attempts}: ${err.message}`;
      if (retry) logger?.warn({ jobId: job.id, kind: err.kind, retryAt }, message);
      else logger?.error({ jobId: job.id, kind: err.kind }, message);
      await this.#queue
        .fail(job.id, this.id, err, retryAt)
        .catch((failErr: unknown) =>
          logger?.error({ jobId: job.id, err: errorText(failErr) }, "cannot record job failure"),
        );
    } finally {
      clearInterval(beat);
      this.#active.delete(job.id);
    }
  }
}

/**
 * The jobs port over the store's own `jobs` table: the single-process default on SQLite (and what
 * `passerelle` used on PostgreSQL before pg-boss). Runners are `Worker`s.
 */
export class EmbeddedJobs implements Jobs {
  readonly kind = "embedded" as const;
  readonly queue: JobQueue;
  readonly #store: Store;
  readonly #retry: RetryPolicy | undefined;
  readonly #logger: WorkerLogger | undefined;

  constructor(store: Store, opts: { retry?: RetryPolicy; logger?: WorkerLogger } = {}) {
    this.queue = new JobQueue(store);
    this.#store = store;
    this.#retry = opts.retry;
    this.#logger = opts.logger;
  }

  enqueue(job: JobRequest): Promise<number | null> {
    return this.queue.enqueue(job);
  }

  runner(handlers: Record<string, JobWork>, opts: JobWorkerOptions): JobRunner & Worker {
    return new Worker(this.queue, handlers, {
      ...opts,
      ...(this.#retry ? { retry: this.#retry } : {}),
      ...(this.#logger ? { logger: this.#logger } : {}),
    });
  }

  async pending(queue: string): Promise<number> {
    const [queued, running] = await Promise.all([
      this.queue.list({ queue, status: "queued" }),
      this.queue.list({ queue, status: "running" }),
    ]);
    return queued.length + running.length;
  }

  /** Queued jobs per queue, counted in the store's `jobs` table. */
  depth(): Promise<Map<string, number>> {
    return this.#store.access().queueDepth();
  }

  async close(): Promise<void> {}
}

/** Waits for a worker's loops to end: true when they did, false when `cut` aborted first. */
export async function loopsEndedBeforeCut(loops: Promise<unknown>[], cut?: AbortSignal): Promise<boolean> {
  const ended = Promise.all(loops).then(() => true);
  if (!cut) return ended;
  return Promise.race([
    ended,
    new Promise<false>((done) => {
      if (cut.aborted) done(false);
      else cut.addEventListener("abort", () => done(false), { once: true });
    }),
  ]);
}
