/**
 * `passerelle worker`: the flow jobs in the foreground (src/runtime/service.ts `createFlowWorker` queues and
 * runs them; src/runtime/flow-jobs.ts handles them). This file parses the options, stops the worker on
 * SIGTERM/SIGINT (or once caught up, with --until-idle) and prints.
 */
import { type Command, InvalidArgumentError } from "commander";
import type { Context } from "../../runtime/context.ts";
import { abandonHeldFlows } from "../../runtime/run-flow.ts";
import type { FlowWorkerOptions } from "../../runtime/service.ts";
import { exitWhenIdleOrSoon, shutdownOnSignals } from "../../runtime/shutdown.ts";
import { EXIT, type Output } from "../output.ts";
import { addMetricsOptions, announceMetrics } from "./run.ts";

export interface WorkerCommandOptions extends FlowWorkerOptions {
  /** After SIGTERM/SIGINT, how long running jobs may take to stop before they are abandoned. */
  graceMs: number;
  /** Exit once every flow has had a full sync with nothing left to retry (scripts, tests). */
  untilIdle?: boolean;
}

export async function workerCommand(
  ctx: Context,
  out: Output,
  flowNames: string[],
  opts: WorkerCommandOptions,
): Promise<number> {
  const { createFlowWorker } = await import("../../runtime/service.ts");
  const flows = createFlowWorker(ctx, flowNames, opts);
  const running = flows;
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
  await flows.start();
  if (flows.metricsServer) announceMetrics(ctx, out, flows.metricsServer, opts.noAuthOnLoopback ?? false);
  const caughtUp = opts.untilIdle ? flows.caughtUp.then(() => null) : new Promise<null>(() => undefined);
  const signal = await Promise.race([caughtUp, shutdown.requested]);
  const { abandoned } = await flows.stop({
    reason: signal ? `${signal} received` : "caught up",
    cut: shutdown.cut,
  });
  shutdown.dispose();
  const interrupted = await abandonHeldFlows(
    `${signal ?? "stop"}: the worker exited before the run stopped (grace period of ${opts.graceMs / 1000} s)`,
  );
  // pg-boss may leave a loop of its own polling until its workers report stopped (see run.ts).
  if (abandoned.length > 0 || flows.jobs?.kind === "pg-boss") exitWhenIdleOrSoon();
  out.result(
    {
      worker: running.id,
      metricsUrl: flows.metricsServer?.url ?? null,
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
  const worker = program
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
    .option("--until-idle", "exit once every flow is caught up and nothing is left to retry", false);
  addMetricsOptions(worker, "for Prometheus to scrape this worker")
    .option(
      "--no-auth-on-loopback",
      "let requests to /metrics from loopback (127.0.0.1, ::1) through without a token",
    )
    .addHelpText(
      "after",
      `
SIGTERM or SIGINT (Ctrl-C) stops it cleanly: no new job is claimed, each running sync stops after the
records it is writing (they are committed, so nothing is written twice) and is recorded "interrupted",
and its job goes back to the queue, so the next start resumes it at once. Jobs still running after
--grace seconds (or at a second signal) are handed back and recorded interrupted; it then exits 0.

Its metrics (records, runs, API calls, 429s, retries, queue depth, lag) are served only when asked for:
--metrics-port, or server.metrics in the configuration; /metrics needs a bearer token of any role.`,
    )
    .action(function (
      this: Command,
      flows: string[],
      opts: {
        interval: number;
        lease: number;
        autoRetries: number;
        grace: number;
        untilIdle: boolean;
        metricsHost?: string;
        metricsPort?: number;
        authOnLoopback: boolean;
      },
    ) {
      return withContext(this, (ctx, out) =>
        workerCommand(ctx, out, flows.length > 0 ? flows : ctx.flowNames(), {
          intervalMs: opts.interval,
          leaseMs: opts.lease,
          autoRetries: opts.autoRetries,
          graceMs: opts.grace * 1000,
          untilIdle: opts.untilIdle,
          noAuthOnLoopback: opts.authOnLoopback === false,
          metricsListen: {
            ...(opts.metricsHost !== undefined ? { host: opts.metricsHost } : {}),
            ...(opts.metricsPort !== undefined ? { port: opts.metricsPort } : {}),
          },
        }),
      );
    });
}
