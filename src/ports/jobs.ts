/**
 * Durable jobs in the store, for the job runtime (src/runtime/jobs.ts). Every state change is one
 * conditional statement, so two workers racing for a job never both take it. Times are ISO 8601 UTC.
 */
export type JobStatus = "queued" | "running" | "done" | "dead";

export interface JobRow {
  id: number;
  queue: string;
  /** JSON text as stored; may be unreadable (a corrupt row): the runtime checks it. */
  payload: string;
  status: string;
  runAt: string;
  lockedBy: string | null;
  lockedUntil: string | null;
  attempts: number;
  lastError: string | null;
  singletonKey: string | null;
  createdAt: string;
}

export interface JobTable {
  /** Inserts a queued job; null when a live (queued or running) job already holds its singleton key. */
  insert(job: {
    queue: string;
    payload: string;
    runAt: string;
    singletonKey: string | null;
    now: string;
  }): Promise<number | null>;
  /**
   * Takes the next due job of `queues` (queued and due, or running with an expired lock: its process died),
   * locks it to `worker` until `lockedUntil` and counts the attempt.
   */
  claim(worker: string, queues: string[], now: string, lockedUntil: string): Promise<JobRow | null>;
  /** Extends the lock of a job `worker` holds; false when it no longer holds it. */
  heartbeat(id: number, worker: string, lockedUntil: string): Promise<boolean>;
  /** Moves a job `worker` holds to `status`; false when the worker no longer holds it. */
  finish(
    id: number,
    worker: string,
    patch: { status: JobStatus; runAt?: string; lastError?: string | null },
  ): Promise<boolean>;
  get(id: number): Promise<JobRow | null>;
  list(filter?: { queue?: string; status?: JobStatus; limit?: number }): Promise<JobRow[]>;
  /** The live (queued or running) job holding a singleton key. */
  liveBySingleton(key: string): Promise<JobRow | null>;
}

/**
 * The jobs port, one level above `JobTable`: what the runtime asks of a job system. Two implementations:
 * the embedded queue over the store's `jobs` table (`src/runtime/jobs.ts`, SQLite's single process) and
 * pg-boss (`src/runtime/boss-jobs.ts`, on PostgreSQL, for many processes). The same contract test runs on
 * both (`src/runtime/jobs-port.test.ts`).
 */
export interface JobRequest {
  queue: string;
  payload: unknown;
  /** At most one queued job per key (a flow's sync is queued once, however often it is asked for). */
  singletonKey?: string;
  /** Not before this time (default: now). */
  runAt?: Date;
}

export interface JobAttempt {
  /** A number for the embedded queue, a UUID for pg-boss. */
  id: number | string;
  queue: string;
  payload: unknown;
  /** Counting this one. */
  attempts: number;
}

/** Runs one job; a thrown retryable SyncError is retried with backoff, anything else is given up (dead). */
export type JobWork = (payload: unknown, job: JobAttempt, signal: AbortSignal) => Promise<void>;

export interface JobWorkerOptions {
  /** This worker's name (in leases and job locks). */
  id: string;
  /** Jobs run at once (embedded: in all; pg-boss: per queue). Default 1. */
  concurrency?: number;
  /** How long a held job outlives its silent worker (embedded: the claim's lease; pg-boss: the job's expiry). */
  leaseMs?: number;
  /** Wait between polls when nothing is due. */
  pollMs?: number;
  /** Attempts before a failing job is given up. */
  maxAttempts?: number;
}

export interface JobRunner {
  readonly id: string;
  start(): void;
  /** Polls now instead of at the next interval (after enqueueing in this process). */
  wake(): void;
  /**
   * Stops taking jobs and asks running handlers to stop (their signal aborts); when `cut` aborts first,
   * the ids of the jobs still running are returned (they are retried after their lease or expiry).
   */
  stop(opts?: { reason?: string; cut?: AbortSignal }): Promise<{ abandoned: (number | string)[] }>;
}

export interface Jobs {
  readonly kind: "embedded" | "pg-boss";
  /** The job's id, or null when a queued job already holds its singleton key. */
  enqueue(job: JobRequest): Promise<number | string | null>;
  /** A runner of `handlers` (queue name → handler) in this process. */
  runner(handlers: Record<string, JobWork>, opts: JobWorkerOptions): JobRunner;
  /** Jobs of `queue` queued or running (not yet finished). */
  pending(queue: string): Promise<number>;
  /**
   * Jobs waiting to be run (queued, or waiting for a retry), per queue; queues with none may be left out.
   * What `/metrics` shows as `passerelle_queue_depth`.
   */
  depth(): Promise<Map<string, number>>;
  /** Stops what `open` started (pg-boss's pool and maintenance); the store is closed by its owner. */
  close(): Promise<void>;
}
