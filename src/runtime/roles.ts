/**
 * Roles of `passerelle run` (`--role web|worker|scheduler|all`), for running many processes over one
 * PostgreSQL store:
 * - `web` verifies, stores and acknowledges webhook deliveries (and queues their drains); it runs no job;
 * - `worker` runs jobs (inbox drains, reconciliation windows, flow syncs and retries); it serves nothing but,
 *   when given a port (`server.metrics`, `--metrics-port`), its own /metrics (server/metrics-server.ts);
 * - `scheduler` queues the cron ticks of scheduled flows and reconciliation polls. On PostgreSQL only the
 *   holder of the `passerelle:scheduler` advisory lock fires (leader.ts): of two schedulers one fires and
 *   the other waits as a standby, taking over when the first one dies or loses its connection;
 * - `all` (the default) is the three at once, the single-process setup.
 */
import type { Jobs } from "../ports/jobs.ts";
import { parseStoreUrl } from "../store/index.ts";
import type { Context } from "./context.ts";
import { Leader } from "./leader.ts";
import { type ScheduleEntry, Scheduler } from "./scheduler.ts";

export const ROLES = ["web", "worker", "scheduler", "all"] as const;
export type Role = (typeof ROLES)[number];

export const SCHEDULER_LOCK = "passerelle:scheduler";

export interface RoleScheduler {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The scheduler of this process: on SQLite it simply runs; on PostgreSQL it runs while this process
 * holds the scheduler lock, and waits as a standby otherwise.
 */
export function startRoleScheduler(
  ctx: Context,
  opts: {
    jobs: Pick<Jobs, "enqueue">;
    entries: ScheduleEntry[];
    onEnqueued?: () => void;
    /** How often a standby asks for the lock (default 1 s). */
    standbyPollMs?: number;
  },
): RoleScheduler {
  const scheduler = new Scheduler({
    queue: opts.jobs,
    marks: ctx.store.marks(),
    entries: opts.entries,
    onEnqueued: () => opts.onEnqueued?.(),
    onFired: (entry, tick, reason) =>
      ctx.logger.info(
        {
          schedule: entry.name,
          tick: new Date(Math.floor(tick.getTime() / 1000) * 1000).toISOString(),
          reason,
        },
        "schedule fired",
      ),
    onError: (entry, err) =>
      ctx.logger.warn(
        { schedule: entry.name, err: err instanceof Error ? err.message : String(err) },
        "cannot queue a scheduled job",
      ),
  });
  const target = parseStoreUrl(ctx.storeUrl);
  if (target.dialect === "sqlite") {
    return { start: () => scheduler.start(), stop: async () => scheduler.stop() };
  }
  // The lock is per store: two deployments sharing a database in different schemas do not exclude each other.
  const leader = new Leader({
    connectionString: target.connectionString,
    name: `${SCHEDULER_LOCK}:${target.schema ?? ""}`,
    ...(opts.standbyPollMs ? { pollMs: opts.standbyPollMs } : {}),
    logger: ctx.logger,
    onLeader: async () => {
      ctx.logger.info({ lock: SCHEDULER_LOCK }, "scheduler: leading (holds the scheduler lock)");
      await scheduler.start();
    },
    onLost: (reason) => {
      scheduler.stop();
      ctx.logger.warn({ lock: SCHEDULER_LOCK, reason }, "scheduler: lost the scheduler lock; standing by");
    },
  });
  return {
    async start() {
      ctx.logger.info({ lock: SCHEDULER_LOCK }, "scheduler: standby until it holds the scheduler lock");
      leader.start();
    },
    async stop() {
      scheduler.stop();
      await leader.stop();
    },
  };
}
