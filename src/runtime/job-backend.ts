/**
 * Which implementation of the jobs port a store gets: the embedded queue in the store's own `jobs` table
 * on SQLite (one process), pg-boss on PostgreSQL (any number of processes; boss-jobs.ts).
 */
import type { RetryPolicy } from "../engine/retry.ts";
import type { Jobs } from "../ports/jobs.ts";
import type { Store } from "../ports/store.ts";
import { parseStoreUrl } from "../store/index.ts";
import { openBossJobs } from "./boss-jobs.ts";
import { EmbeddedJobs, type WorkerLogger } from "./jobs.ts";

export interface OpenJobsOptions {
  /** The queues this process sends to or works on (pg-boss creates them up front). */
  queues: string[];
  logger?: WorkerLogger;
  /** Backoff of the embedded queue's retries (pg-boss: doubling from 1 s). */
  retry?: RetryPolicy;
  /** pg-boss: how long a running job outlives a silent worker before it is retried (default 900 s). */
  expireS?: number;
}

export async function openJobs(store: Store, storeUrl: string, opts: OpenJobsOptions): Promise<Jobs> {
  const target = parseStoreUrl(storeUrl);
  if (target.dialect === "sqlite") {
    return new EmbeddedJobs(store, {
      ...(opts.retry ? { retry: opts.retry } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }
  return openBossJobs({
    connectionString: target.connectionString,
    storeSchema: target.schema,
    queues: opts.queues,
    ...(opts.logger ? { logger: opts.logger } : {}),
    // Expired jobs are found by pg-boss's maintenance: at least twice per expiry, at most every 30 s.
    ...(opts.expireS
      ? { expireS: opts.expireS, maintenanceS: Math.max(1, Math.min(30, Math.floor(opts.expireS / 2))) }
      : {}),
  });
}
