/**
 * `passerelle run`: the long-running service (src/runtime/service.ts assembles it: webhook server, job
 * worker, scheduler). This file parses the options, stops the service on SIGINT/SIGTERM and prints.
 */
import { type Command, InvalidArgumentError } from "commander";
import type { RunSummary } from "../../engine/sync.ts";
import type { Context } from "../../runtime/context.ts";
import { ROLES, type Role } from "../../runtime/roles.ts";
import { abandonHeldFlows } from "../../runtime/run-flow.ts";
import type { Service } from "../../runtime/service.ts";
import { exitWhenIdleOrSoon, shutdownOnSignals } from "../../runtime/shutdown.ts";
import type { RunningServer } from "../../server/app.ts";
import type { MetricsListenFlags } from "../../server/metrics-server.ts";
import { portNumber, positiveInt } from "../options.ts";
import { EXIT, type Output } from "../output.ts";

export function describePass(kind: string, s: RunSummary): string {
  const c = s.counts;
  return `${kind} ${s.flow}: ${c.read} read, ${c.created + c.updated} written (${c.created} new), ${c.skipped} unchanged, ${c.failed} failed${s.error ? `; stopped: ${s.error.message}` : ""}`;
}

/** `passerelle run`: starts the service and keeps it up until SIGINT or SIGTERM. */
export async function runCommand(
  ctx: Context,
  out: Output,
  opts: {
    host?: string;
    port?: number;
    graceMs?: number;
    noAuthOnLoopback?: boolean;
    role?: Role;
    metricsListen?: MetricsListenFlags;
  },
): Promise<number> {
  const graceMs = opts.graceMs ?? 20_000;
  // Listening before the service starts: a signal that comes while it starts still stops it cleanly.
  const shutdown = shutdownOnSignals({
    graceMs,
    onSignal: (signal, phase) =>
      out.info(
        phase === "stop"
          ? `${signal}: stopping (in-flight deliveries are committed and answered; running jobs stop after the records being written, up to ${graceMs / 1000} s; again to quit at once)…`
          : `${signal}: not waiting any longer for running jobs`,
      ),
  });
  let service: Service;
  try {
    // Imported here: the HTTP server's modules load only for the commands that serve.
    const { startService } = await import("../../runtime/service.ts");
    service = await startService(ctx, {
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      noAuthOnLoopback: opts.noAuthOnLoopback ?? false,
      ...(opts.role ? { role: opts.role } : {}),
      ...(opts.metricsListen ? { metricsListen: opts.metricsListen } : {}),
      onPass: (kind, s) => {
        if (kind === "reconcile" && s.counts.created + s.counts.updated + s.counts.failed === 0) return;
        out.info(describePass(kind, s));
      },
    });
  } catch (e) {
    shutdown.dispose();
    throw e;
  }
  const server = service.server;
  out.info(
    `role ${service.role}; jobs on ${service.jobs.kind === "pg-boss" ? "pg-boss" : "the embedded queue"}`,
  );
  if (server) {
    out.info(
      `Listening on ${server.url} (GET /healthz, POST /webhooks/<connection>, management API /api/v1, GET /metrics)`,
    );
    out.info(`Dashboard: ${server.url}/`);
    out.info(
      opts.noAuthOnLoopback
        ? "API auth: requests from loopback need no token (--no-auth-on-loopback); every other address needs a bearer token"
        : "API auth: every request needs a bearer token (passerelle tokens create --role viewer|operator|admin)",
    );
    // With --json the human lines are silent; a security warning still reaches stderr, as a log line.
    for (const w of server.warnings) {
      if (out.json) ctx.logger.warn({ url: server.url }, w);
      else out.info(`warning: ${w}`);
    }
  }
  if (service.metricsServer) announceMetrics(ctx, out, service.metricsServer, opts.noAuthOnLoopback ?? false);
  out.info(
    `Event-driven flows: ${service.eventFlows.join(", ") || "(none)"}; schedules: ${
      service.schedules.map((s) => `${s.name} "${s.cron}"${s.atStart ? " and at start" : ""}`).join(", ") ||
      "(none)"
    }`,
  );
  out.info("Ctrl-C (SIGINT) or SIGTERM stops it.");
  const signal = await shutdown.requested;
  const { abandoned } = await service.stop({ reason: `${signal} received`, cut: shutdown.cut });
  shutdown.dispose();
  const interrupted = (
    await abandonHeldFlows(
      `${signal}: passerelle run exited before the run stopped (grace period of ${graceMs / 1000} s)`,
    )
  ).map((r) => r.id);
  // Runs of the jobs thread (server.jobsThread) were recorded interrupted by the thread itself.
  const worker = service.worker;
  if (worker && "interrupted" in worker && typeof worker.interrupted === "function")
    interrupted.push(...((await worker.interrupted()) as number[]));
  // pg-boss may leave a loop of its own polling until its workers report stopped; the jobs are handed
  // over and the store is closed by then, so the process does not wait for it.
  if (abandoned.length > 0 || service.jobs.kind === "pg-boss") exitWhenIdleOrSoon();
  out.result(
    {
      stopped: true,
      signal,
      role: service.role,
      url: server?.url ?? null,
      metricsUrl: service.metricsServer?.url ?? null,
      abandonedJobs: abandoned,
      interruptedRuns: interrupted,
    },
    () =>
      abandoned.length > 0
        ? `Stopped; ${abandoned.length} job(s) still running were handed back to the queue (runs ${interrupted.join(", ") || "-"} recorded interrupted).`
        : "Stopped.",
  );
  return EXIT.ok;
}

/** The startup lines of a metrics listener (`passerelle run --role worker|scheduler`, `passerelle worker`). */
export function announceMetrics(
  ctx: Context,
  out: Output,
  server: RunningServer,
  noAuthOnLoopback: boolean,
): void {
  out.info(`Metrics on ${server.url} (GET /metrics with a bearer token of any role, GET /healthz)`);
  out.info(
    noAuthOnLoopback
      ? "Metrics auth: requests from loopback need no token (--no-auth-on-loopback); every other address needs a bearer token"
      : "Metrics auth: every request to /metrics needs a bearer token (passerelle tokens create --role viewer)",
  );
  for (const w of server.warnings) {
    if (out.json) ctx.logger.warn({ url: server.url }, w);
    else out.info(`warning: ${w}`);
  }
}

/** `--metrics-host` and `--metrics-port`, shared by `passerelle run` and `passerelle worker`. */
export function addMetricsOptions(cmd: Command, what: string): Command {
  return cmd
    .option(
      "--metrics-port <n>",
      `serve GET /metrics and GET /healthz on this port (0 for any free one), ${what} (default: server.metrics.port; no listener when neither is set)`,
      portNumber("--metrics-port"),
    )
    .option(
      "--metrics-host <address>",
      "address of that metrics listener (default: server.metrics.host, 127.0.0.1); /metrics needs a bearer token like the API",
    );
}

function roleOption(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`--role must be one of ${ROLES.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as Role;
}

/** Adds `passerelle run` to the program; `withContext` opens the configuration and sets the exit code. */
export function registerRunCommand(
  program: Command,
  withContext: (cmd: Command, body: (ctx: Context, out: Output) => Promise<number>) => Promise<void>,
): void {
  const run = program
    .command("run")
    .description(
      "serve webhooks (POST /webhooks/<connection>, GET /healthz) and the management API (/api/v1, /metrics), and run event-driven flows, their reconciliation polls and scheduled flows until SIGINT/SIGTERM",
    )
    .option(
      "--host <address>",
      "address to listen on (default: server.host, 127.0.0.1); plain HTTP on any other than loopback is warned about (set server.tls)",
    )
    .option(
      "--port <n>",
      "port to listen on, 0 for any free one (default: server.port, 8470)",
      portNumber("--port"),
    )
    .option(
      "--no-auth-on-loopback",
      "let requests to the management API (and to /metrics) from loopback (127.0.0.1, ::1) through without a token, acting as admin",
    )
    .option(
      "--role <role>",
      `what this process does: ${ROLES.join(", ")} (web: webhooks and API only; worker: jobs only; scheduler: cron ticks, one leader at a time on PostgreSQL)`,
      roleOption,
      "all",
    );
  addMetricsOptions(run, "for --role worker or scheduler (web and all serve /metrics on --port)")
    .option(
      "--grace <seconds>",
      "after SIGTERM/SIGINT, how long running jobs may take to stop",
      positiveInt("--grace"),
      20,
    )
    .addHelpText(
      "after",
      `
Deliveries are verified with the connection's webhook secret, stored durably, then acknowledged (200);
workers process them afterwards. SIGINT or SIGTERM stops it cleanly: in-flight deliveries are stored
and answered, running jobs are asked to stop (a run stops after the records it is writing and is recorded
"interrupted"; its job goes back to the queue), and it exits 0. Jobs still running after --grace seconds
(or at a second signal) are handed back and their runs recorded interrupted.

Scaled out (--role worker, --role scheduler), each process counts its own syncs: give each one a
metrics listener (--metrics-port, or server.metrics in the configuration) and scrape every one of them.

With server.jobsThread: true in the configuration, the jobs run in a worker thread of this process at a
lower CPU priority, so webhook deliveries are acknowledged without waiting behind a sync (docs/realtime.md).`,
    )
    .action(function (
      this: Command,
      opts: {
        host?: string;
        port?: number;
        grace: number;
        authOnLoopback: boolean;
        role: Role;
        metricsHost?: string;
        metricsPort?: number;
      },
    ) {
      return withContext(this, (ctx, out) =>
        runCommand(ctx, out, {
          noAuthOnLoopback: opts.authOnLoopback === false,
          ...(opts.host !== undefined ? { host: opts.host } : {}),
          ...(opts.port !== undefined ? { port: opts.port } : {}),
          graceMs: opts.grace * 1000,
          role: opts.role,
          metricsListen: {
            ...(opts.metricsHost !== undefined ? { host: opts.metricsHost } : {}),
            ...(opts.metricsPort !== undefined ? { port: opts.metricsPort } : {}),
          },
        }),
      );
    });
}
