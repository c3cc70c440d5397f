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
