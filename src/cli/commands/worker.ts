/**
 * `passerelle worker`: the embedded job runtime in the foreground. Every interval it queues one sync job
 * per flow (a singleton per flow, so a flow never has two runs queued or running) and one job that retries
 * the flow's failed records whose error was transient (network, timeout, 5xx, 429). Jobs survive the
 * process: killed at any moment, a restarted worker (or another one) takes them over once their lease runs
 * out, and the engine's intents, links and page commits make the re-run safe.
 */
import { hostname } from "node:os";
import { type Command, InvalidArgumentError } from "commander";
import { asSyncError, SyncError } from "../../core/errors.ts";
import { retryFailure } from "../../engine/failures.ts";
import { retryPolicyFor } from "../../engine/retry.ts";
import type { Context } from "../../runtime/context.ts";
import { type JobHandler, JobQueue, Worker } from "../../runtime/jobs.ts";
import { withLease } from "../../runtime/leases.ts";
import { EXIT, type Output } from "../output.ts";

export interface WorkerCommandOptions {
  /** Between two rounds of queued syncs. */
  intervalMs: number;
  /** How long a job or flow lease outlives a silent (dead) worker. */
  leaseMs: number;
  /** Times a transient failed record is retried automatically before it waits for an operator. */
  autoRetries: number;
  /** Exit once every flow has had a full sync with nothing left to retry (scripts, tests). */
  untilIdle?: boolean;
}

/** The payload of sync and retry-failures jobs. */
function flowOfPayload(ctx: Context, payload: unknown, jobId: number): ReturnType<Context["flow"]> {
  const name =
    payload !== null && typeof payload === "object" && "flow" in payload
      ? (payload as { flow: unknown }).flow
      : undefined;
  if (typeof name !== "string" || name === "") {
    throw new SyncError(
      "data",
      `job ${jobId}: payload must be {"flow": "<name>"}, got ${JSON.stringify(payload)?.slice(0, 200)}`,
    );
  }
  return ctx.flow(name); // a flow deleted from the configuration: a config error, the job is given up
}

const TRANSIENT = new Set(["retryable", "rate_limited"]);

/** Handlers of the `sync` and `retry-failures` queues; both hold the flow's lease while they write. */
export function flowJobHandlers(
  ctx: Context,
  holder: string,
  opts: { leaseMs: number; autoRetries: number; onIdle?: (flow: string, idle: boolean) => void },
): Record<string, JobHandler> {
  return {
    sync: async (payload, job) => {
      const flow = flowOfPayload(ctx, payload, job.id);
      const ran = await withLease(ctx.store, `flow:${flow.name}`, holder, opts.leaseMs, () =>
        ctx.engine.run(flow, { retry: retryPolicyFor(ctx.config, flow.name) }),
      );
      if (!ran) return; // running elsewhere; the next round queues it again
      const s = ran.value;
      ctx.logger.info(
        { job: job.id, flow: flow.name, runId: s.runId, status: s.status, counts: s.counts },
        "run finished",
      );
      if (s.status === "failed" && s.error) throw s.error;
      opts.onIdle?.(`sync:${flow.name}`, s.counts.created + s.counts.updated + s.counts.failed === 0);
    },
    "retry-failures": async (payload, job) => {
      const flow = flowOfPayload(ctx, payload, job.id);
      const ran = await withLease(ctx.store, `flow:${flow.name}`, holder, opts.leaseMs, async () => {
        const open = await ctx.store.listFailures({ flow: flow.name, status: "open", limit: 500 });
        const due = open.filter((f) => TRANSIENT.has(f.errorKind) && f.attempts <= opts.autoRetries);
        let fixed = 0;
        for (const f of due) {
          try {
            const outcome = await retryFailure(ctx.engine, ctx.store, flow, f, {
              retry: retryPolicyFor(ctx.config, flow.name),
              actor: holder,
            });
            if (outcome.ok) fixed++;
          } catch (e) {
            // The retry itself could not start (e.g. the source no longer has the record): the failure keeps
            // the new error, so a permanent one waits for an operator instead of being retried forever.
            const err = asSyncError(e, flow.source.name);
            if (err.retryable) throw err;
            const run = await ctx.store.startRun(flow.name, "retry");
            await ctx.store.commitPage({
              flow: flow.name,
              runId: run.id,
              links: [],
              events: [],
              failures: [
                {
                  flow: f.flow,
                  entity: f.entity,
                  key: f.key,
                  sourceSystem: f.sourceSystem,
                  sourceId: f.sourceId,
                  sourcePayload: f.sourcePayload,
                  mappedPayload: f.mappedPayload,
                  errorKind: err.kind,
                  errorMessage: err.message,
                  errorDetail: err.toJSON(),
                },
              ],
              resolvedKeys: [],
              completedIntents: [],
              counts: { failed: 1 },
            });
            await ctx.store.finishRun(run.id, "partial", err.message);
          }
        }
        return { due: due.length, fixed };
      });
      if (!ran) return;
      if (ran.value.due > 0) {
        ctx.logger.info({ job: job.id, flow: flow.name, ...ran.value }, "transient failures retried");
      }
      opts.onIdle?.(`retry:${flow.name}`, ran.value.due === 0);
    },
  };
}

export async function workerCommand(
  ctx: Context,
  out: Output,
  flowNames: string[],
  opts: WorkerCommandOptions,
): Promise<number> {
  for (const name of flowNames) ctx.flow(name); // unknown names fail now, with the list of flows
  const queue = new JobQueue(ctx.store);
  const idle = new Map<string, boolean>();
  const id = `worker-${hostname()}-${process.pid}`;
  const handlers = flowJobHandlers(ctx, id, {
    leaseMs: opts.leaseMs,
    autoRetries: opts.autoRetries,
    onIdle: (k, v) => idle.set(k, v),
  });
  const running = new Worker(queue, handlers, {
    id,
    leaseMs: opts.leaseMs,
    pollMs: 200,
    logger: ctx.logger,
    retry: { attempts: 5, baseDelayMs: 1_000, maxDelayMs: 60_000 },
  });
  const round = async (): Promise<void> => {
    for (const name of flowNames) {
      await queue.enqueue({ queue: "sync", payload: { flow: name }, singletonKey: `sync:${name}` });
      await queue.enqueue({
        queue: "retry-failures",
        payload: { flow: name },
        singletonKey: `retry-failures:${name}`,
      });
    }
    running.wake();
  };
  out.info(
    `worker ${running.id}: flows ${flowNames.join(", ")}; every ${opts.intervalMs} ms; Ctrl-C to stop`,
  );
  running.start();
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.once("SIGINT", () => stop());
  process.once("SIGTERM", () => stop());
  const tick = async () => {
    try {
      await round();
      if (opts.untilIdle && flowNames.every((f) => idle.get(`sync:${f}`) && idle.get(`retry:${f}`))) stop();
    } catch (err) {
      ctx.logger.error({ err: err instanceof Error ? err.message : String(err) }, "cannot queue jobs");
    }
  };
  await tick();
  const timer = setInterval(() => void tick(), opts.intervalMs);
  await stopped;
  clearInterval(timer);
  await running.stop();
  out.result({ worker: running.id, stopped: true }, () => `worker ${running.id} stopped`);
  return EXIT.ok;
}

function positive(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) {
      throw new InvalidArgumentError(`${flag} must be a whole number above 0, got ${JSON.stringify(v)}`);
    }
    return n;
  };
}

/** Adds `passerelle worker` to the program; `withContext` opens the configuration and sets the exit code. */
export function registerWorkerCommand(
  program: Command,
  withContext: (cmd: Command, body: (ctx: Context, out: Output) => Promise<number>) => Promise<void>,
): void {
  program
    .command("worker")
    .description("run flows continuously as durable jobs (survives crashes and restarts; Ctrl-C to stop)")
    .argument("[flows...]", "flow names (default: every flow)")
    .option("--interval <ms>", "pause between rounds of queued syncs", positive("--interval"), 10_000)
    .option("--lease <ms>", "how long a dead worker's jobs stay locked", positive("--lease"), 30_000)
    .option(
      "--auto-retries <n>",
      "automatic retries of a transiently failed record",
      positive("--auto-retries"),
      5,
    )
    .option("--until-idle", "exit once every flow is caught up and nothing is left to retry", false)
    .action(function (
      this: Command,
      flows: string[],
      opts: { interval: number; lease: number; autoRetries: number; untilIdle: boolean },
    ) {
      return withContext(this, (ctx, out) =>
        workerCommand(ctx, out, flows.length > 0 ? flows : ctx.flowNames(), {
          intervalMs: opts.interval,
          leaseMs: opts.lease,
          autoRetries: opts.autoRetries,
          untilIdle: opts.untilIdle,
        }),
      );
    });
}
