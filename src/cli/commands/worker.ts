/**
 * `passerelle worker`: the embedded job runtime in the foreground. Every interval it queues one sync job
 * per flow (a singleton per flow, so a flow never has two runs queued or running) and one job that retries
 * the flow's failed records whose error was transient (network, timeout, 5xx, 429). Jobs survive the
 * process: killed at any moment, a restarted worker (or another one) takes them over once their lease runs
 * out, and the engine's intents, links and page commits make the re-run safe.
 */
import { type Command, InvalidArgumentError } from "commander";
import { asSyncError, SyncError } from "../../core/errors.ts";
import type { FailedRecord } from "../../ports/store.ts";
import type { Context } from "../../runtime/context.ts";
import { type JobHandler, JobQueue, Worker } from "../../runtime/jobs.ts";
import { processHolder } from "../../runtime/leases.ts";
import { abandonHeldFlows, FlowBusyError, retryFlowFailures, runFlow } from "../../runtime/run-flow.ts";
import { exitWhenIdleOrSoon, shutdownOnSignals } from "../../runtime/shutdown.ts";
import { EXIT, type Output } from "../output.ts";

export interface WorkerCommandOptions {
  /** Between two rounds of queued syncs. */
  intervalMs: number;
  /** How long a job or flow lease outlives a silent (dead) worker. */
  leaseMs: number;
  /** Times a transient failed record is retried automatically before it waits for an operator. */
  autoRetries: number;
  /** After SIGTERM/SIGINT, how long running jobs may take to stop before they are abandoned. */
  graceMs: number;
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

/** A retry that could not even start keeps the new error, so a permanent one waits for an operator. */
async function recordRetryError(ctx: Context, f: FailedRecord, err: SyncError): Promise<void> {
  const run = await ctx.store.startRun(f.flow, "retry");
  await ctx.store.commitPage({
    flow: f.flow,
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

/**
 * Handlers of the `sync` and `retry-failures` queues. Both run through the flow's lease (runFlow), and both
 * pass the job's signal on, so a stopping worker's run ends after the batch in flight.
 */
export function flowJobHandlers(
  ctx: Context,
  holder: string,
  opts: { leaseMs: number; autoRetries: number; onIdle?: (flow: string, idle: boolean) => void },
): Record<string, JobHandler> {
  const lease = (signal: AbortSignal) => ({
    holder,
    leaseMs: opts.leaseMs,
    signal,
    onTakeOver: (dead: string) =>
      ctx.logger.warn(
        { holder: dead },
        "took over a flow's lease from a process that is gone (killed or crashed)",
      ),
    onInterrupted: (runs: { id: number }[]) =>
      ctx.logger.warn(
        { runs: runs.map((r) => r.id) },
        "runs left running by a stopped process marked interrupted",
      ),
  });
  const busy = (e: unknown, flow: string, job: number): boolean => {
    if (!(e instanceof FlowBusyError)) return false;
    // Running elsewhere; the next round queues it again.
    ctx.logger.info({ job, flow, holder: e.holder }, "flow busy; job skipped");
    return true;
  };
  return {
    sync: async (payload, job, signal) => {
      const flow = flowOfPayload(ctx, payload, job.id);
      let s: Awaited<ReturnType<typeof runFlow>>;
      try {
        s = await runFlow(ctx, flow, { kind: "cursor" }, lease(signal));
      } catch (e) {
        if (busy(e, flow.name, job.id)) return;
        throw e;
      }
      ctx.logger.info(
        { job: job.id, flow: flow.name, runId: s.runId, status: s.status, counts: s.counts },
        "run finished",
      );
      if (s.status === "interrupted") {
        // Not done: the worker hands the job back when stopping, or retries it (a lost lease).
        throw new SyncError("retryable", `run ${s.runId} of flow ${flow.name} was interrupted`);
      }
      if (s.status === "failed" && s.error) throw s.error;
      opts.onIdle?.(`sync:${flow.name}`, s.counts.created + s.counts.updated + s.counts.failed === 0);
    },
    "retry-failures": async (payload, job, signal) => {
      const flow = flowOfPayload(ctx, payload, job.id);
      let retryable: SyncError | null = null;
      let due = 0;
      let results: Awaited<ReturnType<typeof retryFlowFailures>>;
      try {
        results = await retryFlowFailures(
          ctx,
          flow,
          async () => {
            const open = await ctx.store.listFailures({ flow: flow.name, status: "open", limit: 500 });
            const picked = open.filter((f) => TRANSIENT.has(f.errorKind) && f.attempts <= opts.autoRetries);
            due = picked.length;
            return picked;
          },
          {
            ...lease(signal),
            actor: holder,
            onError: async (f, e) => {
              const err = asSyncError(e, flow.source.name);
              if (err.retryable) retryable ??= err;
              else await recordRetryError(ctx, f, err);
            },
          },
        );
      } catch (e) {
        if (busy(e, flow.name, job.id)) return;
        throw e;
      }
      if (retryable) throw retryable;
      const fixed = results.filter((r) => r.ok && r.outcome.ok).length;
      if (due > 0)
        ctx.logger.info({ job: job.id, flow: flow.name, due, fixed }, "transient failures retried");
      if (signal.aborted && results.length < due) throw new SyncError("retryable", "stopped");
      opts.onIdle?.(`retry:${flow.name}`, due === 0);
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
  const id = processHolder("worker");
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
  const shutdown = shutdownOnSignals({
    graceMs: opts.graceMs,
    onSignal: (signal, phase) =>
      out.info(
        phase === "stop"
          ? `${signal}: stopping — no new jobs; running ones stop after the records being written (up to ${opts.graceMs / 1000} s; again to quit at once)`
          : `${signal}: not waiting any longer for running jobs`,
      ),
  });
  running.start();
  let idleStop: () => void = () => undefined;
  const caughtUp = new Promise<void>((resolve) => {
    idleStop = resolve;
  });
  const tick = async () => {
    try {
      await round();
      if (opts.untilIdle && flowNames.every((f) => idle.get(`sync:${f}`) && idle.get(`retry:${f}`)))
        idleStop();
    } catch (err) {
      ctx.logger.error({ err: err instanceof Error ? err.message : String(err) }, "cannot queue jobs");
    }
  };
  await tick();
  const timer = setInterval(() => void tick(), opts.intervalMs);
  const signal = await Promise.race([caughtUp.then(() => null), shutdown.requested]);
  clearInterval(timer);
  const { abandoned } = await running.stop({
    reason: signal ? `${signal} received` : "caught up",
    cut: shutdown.cut,
  });
  shutdown.dispose();
  const interrupted = await abandonHeldFlows(
    `${signal ?? "stop"}: the worker exited before the run stopped (grace period of ${opts.graceMs / 1000} s)`,
  );
  if (abandoned.length > 0) exitWhenIdleOrSoon();
  out.result(
    {
      worker: running.id,
      stopped: true,
      signal,
      abandonedJobs: abandoned,
      interruptedRuns: interrupted.map((r) => r.id),
    },
    () =>
      [
        `worker ${running.id} stopped`,
        abandoned.length > 0
          ? `  ${abandoned.length} job(s) still running after the grace period were handed back to the queue (runs ${interrupted.map((r) => r.id).join(", ") || "-"} recorded interrupted); the next start resumes them`
          : "",
      ]
        .filter(Boolean)
        .join("\n"),
  );
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
    .option(
      "--grace <seconds>",
      "after SIGTERM/SIGINT, how long running jobs may take to stop",
      positive("--grace"),
      20,
    )
    .option("--until-idle", "exit once every flow is caught up and nothing is left to retry", false)
    .addHelpText(
      "after",
      `
SIGTERM or SIGINT (Ctrl-C) stops it cleanly: no new job is claimed, each running sync stops after the
records it is writing (they are committed, so nothing is written twice) and is recorded "interrupted",
and its job goes back to the queue, so the next start resumes it at once. Jobs still running after
--grace seconds (or at a second signal) are handed back and recorded interrupted; it then exits 0.`,
    )
    .action(function (
      this: Command,
      flows: string[],
      opts: { interval: number; lease: number; autoRetries: number; grace: number; untilIdle: boolean },
    ) {
      return withContext(this, (ctx, out) =>
        workerCommand(ctx, out, flows.length > 0 ? flows : ctx.flowNames(), {
          intervalMs: opts.interval,
          leaseMs: opts.lease,
          autoRetries: opts.autoRetries,
          graceMs: opts.grace * 1000,
          untilIdle: opts.untilIdle,
        }),
      );
    });
}
