/**
 * `passerelle run`: the long-running service. One process holds
 * - the webhook server (`POST /webhooks/<connection>`, `GET /healthz`), which verifies each delivery with its
 *   connection's definition, stores it in the durable inbox and acknowledges it once committed;
 * - a job worker draining the inbox (coalesced per connection and entity), running reconciliation windows of
 *   event-driven flows and the runs of scheduled flows;
 * - the scheduler: every `trigger: schedule` flow on its cron, and every `trigger: events` flow's
 *   reconciliation poll on `reconcile.cron`.
 * SIGINT/SIGTERM stop it cleanly: no new deliveries are accepted, deliveries being committed are committed
 * and answered, running jobs are asked to stop (their runs end after the batch being written, recorded
 * interrupted, and the jobs are handed back; past the grace period they are abandoned the same way), then
 * the store is closed. A process killed
 * outright loses nothing it acknowledged: the inbox acknowledged only committed events, and pending events
 * and queued jobs are picked up by the next start (`sweep`).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import type { EntityName } from "../../core/model.ts";
import type { RunSummary } from "../../engine/sync.ts";
import type { InboundEvent, WebhookReceiver } from "../../ports/connector.ts";
import { type Context, definitionFor } from "../../runtime/context.ts";
import { type EventFlow, EventRuntime, FLOW_QUEUE, RECONCILE_QUEUE } from "../../runtime/events.ts";
import { JobQueue, Worker } from "../../runtime/jobs.ts";
import { processHolder } from "../../runtime/leases.ts";
import { abandonHeldFlows } from "../../runtime/run-flow.ts";
import { type ScheduleEntry, Scheduler } from "../../runtime/scheduler.ts";
import { exitWhenIdleOrSoon, shutdownOnSignals } from "../../runtime/shutdown.ts";
import { type RunningServer, startServer, type WebhookEndpoint } from "../../server/app.ts";
import { WebhookInbox } from "../../store/webhook-inbox.ts";
import { portNumber, positiveInt } from "../options.ts";
import { EXIT, type Output } from "../output.ts";

/** Shortest time between two drain requests of one group from this process. */
const NOTIFY_GAP_MS = 50;

export interface ServiceOptions {
  /** Default: the configuration's `server.host` (127.0.0.1). */
  host?: string;
  /** Default: the configuration's `server.port` (8470); 0 picks a free port. */
  port?: number;
  /** How often pending inbox events are looked for (events left by a crash or a busy flow); default 5 s. */
  sweepMs?: number;
  /** Worker poll interval when no job is due (default 200 ms). */
  pollMs?: number;
  /** Jobs run at once by this process's worker (default 2: a long reconciliation does not hold up events). */
  concurrency?: number;
  /** Called after every pass of an event-driven or scheduled flow. */
  onPass?: (kind: "events" | "batch" | "reconcile" | "schedule", summary: RunSummary) => void;
}

export interface Service {
  server: RunningServer;
  inbox: WebhookInbox;
  runtime: EventRuntime;
  queue: JobQueue;
  worker: Worker;
  /** The webhook address of one connection on this server. */
  webhookUrl(connection: string): string;
  /** Event-driven flows by name. */
  eventFlows: string[];
  schedules: ScheduleEntry[];
  /**
   * Stops accepting, commits and answers in-flight deliveries, stops the scheduler and the worker: running
   * jobs are asked to stop; when `cut` aborts first, those still running are handed back and returned.
   */
  stop(opts?: { reason?: string; cut?: AbortSignal }): Promise<{ abandoned: number[] }>;
}

/** The webhook endpoint of every configured connection (receiver null: its system sends none). */
export function webhookEndpoints(ctx: Context): Map<string, WebhookEndpoint> {
  const endpoints = new Map<string, WebhookEndpoint>();
  for (const [name, conn] of Object.entries(ctx.config.connections)) {
    const { type, ...settings } = conn;
    const def = definitionFor(type);
    endpoints.set(name, {
      receiver: (def.webhooks as WebhookReceiver<unknown> | undefined) ?? null,
      config: def.configSchema.parse(settings),
    });
  }
  return endpoints;
}

/** Flows with `trigger: events`, with their coalescing, mass-change and reconciliation settings. */
export function eventFlowsOf(ctx: Context): EventFlow[] {
  const out: EventFlow[] = [];
  for (const [name, spec] of Object.entries(ctx.config.flows)) {
    if (spec.trigger.type !== "events") continue;
    const { coalesceMs, massThreshold, reconcile } = spec.trigger;
    out.push({ flow: ctx.flow(name), settings: { coalesceMs, massThreshold, reconcile } });
  }
  return out;
}

/** Schedules: `flow:<name>` for scheduled flows, `reconcile:<name>` for event-driven ones. */
export function scheduleEntries(ctx: Context): ScheduleEntry[] {
  const out: ScheduleEntry[] = [];
  for (const [name, spec] of Object.entries(ctx.config.flows)) {
    if (spec.trigger.type === "schedule") {
      out.push({
        name: `flow:${name}`,
        cron: spec.trigger.cron,
        job: { queue: FLOW_QUEUE, payload: { flow: name }, singletonKey: `flow:${name}` },
      });
    } else if (spec.trigger.type === "events") {
      out.push({
        name: `reconcile:${name}`,
        cron: spec.trigger.reconcile.cron,
        job: { queue: RECONCILE_QUEUE, payload: { flow: name }, singletonKey: `reconcile:${name}` },
      });
    }
  }
  return out;
}

function readTls(ctx: Context): { cert: Buffer; key: Buffer } | undefined {
  const tls = ctx.config.server.tls;
  if (!tls) return undefined;
  const base = dirname(resolve(ctx.configPath));
  const read = (what: "cert" | "key") => {
    const path = resolve(base, tls[what]);
    try {
      return readFileSync(path);
    } catch (e) {
      const code = e !== null && typeof e === "object" && "code" in e ? ` (${String(e.code)})` : "";
      throw new Error(`server.tls.${what}: cannot read ${path}${code}`);
    }
  };
  return { cert: read("cert"), key: read("key") };
}

/**
 * Starts the server, the worker and the scheduler on an open context. The caller keeps the context and
 * closes it after `stop()`.
 */
export async function startService(ctx: Context, opts: ServiceOptions = {}): Promise<Service> {
  const holder = processHolder("run");
  const inbox = new WebhookInbox(ctx.store, { writerThread: true });
  const queue = new JobQueue(ctx.store);
  const eventFlows = eventFlowsOf(ctx);
  const runtime = new EventRuntime({
    store: ctx.store,
    engine: ctx.engine,
    inbox,
    queue,
    eventFlows,
    flow: (name) => ctx.flow(name),
    holder,
    logger: ctx.logger,
    ...(opts.onPass ? { onPass: opts.onPass } : {}),
  });
  const worker = new Worker(queue, runtime.handlers(), {
    id: holder,
    concurrency: opts.concurrency ?? 2,
    pollMs: opts.pollMs ?? 200,
    leaseMs: 30_000,
    logger: ctx.logger,
  });

  // A group's drain job waits its coalescing window; until that window has passed (at least NOTIFY_GAP_MS),
  // further deliveries of the group are covered by it, so the store is not asked again for each of them.
  // A delivery that arrived while covered asks once more when the window ends (trailing edge), so none is
  // left without a drain after it.
  const groups = new Map<string, { timer: NodeJS.Timeout; again: boolean }>();
  const coalesceOf = (connection: string, entity: EntityName | null) =>
    Math.max(
      0,
      ...eventFlows
        .filter((f) => f.flow.source.name === connection && f.flow.entity === entity)
        .map((f) => f.settings.coalesceMs),
    );
  const ask = (connection: string, entity: EntityName | null) => {
    const key = `${connection}\u0000${entity ?? ""}`;
    const wait = coalesceOf(connection, entity);
    const timer = setTimeout(
      () => {
        const g = groups.get(key);
        groups.delete(key);
        worker.wake();
        if (g?.again) ask(connection, entity);
      },
      Math.max(wait + 5, NOTIFY_GAP_MS),
    );
    groups.set(key, { timer, again: false });
    runtime
      .notify(connection, entity)
      .catch((err: unknown) =>
        ctx.logger.warn(
          { connection, err: err instanceof Error ? err.message : String(err) },
          "cannot queue the inbox drain; the next sweep will",
        ),
      );
  };
  const notify = (connection: string, events: InboundEvent[]) => {
    for (const entity of new Set(events.map((e) => e.entity))) {
      const g = groups.get(`${connection}\u0000${entity ?? ""}`);
      if (g) g.again = true;
      else ask(connection, entity);
    }
  };

  const tls = readTls(ctx);
  const server = await startServer({
    host: opts.host ?? ctx.config.server.host,
    port: opts.port ?? ctx.config.server.port,
    endpoints: webhookEndpoints(ctx),
    inbox,
    ...(ctx.config.server.bodyLimit ? { bodyLimit: ctx.config.server.bodyLimit } : {}),
    ...(tls ? { tls } : {}),
    onStored: notify,
    logger: ctx.logger,
  });

  const schedules = scheduleEntries(ctx);
  const scheduler = new Scheduler({
    queue,
    marks: inbox,
    entries: schedules,
    onEnqueued: () => worker.wake(),
    onError: (entry, err) =>
      ctx.logger.warn(
        { schedule: entry.name, err: err instanceof Error ? err.message : String(err) },
        "cannot queue a scheduled job",
      ),
  });
  let sweepTimer: NodeJS.Timeout | null = null;
  try {
    worker.start();
    await scheduler.start();
    // Events left pending by a previous process (killed, or stopped while a flow was busy).
    await runtime.sweep();
    worker.wake();
    sweepTimer = setInterval(() => {
      runtime.sweep().then(
        () => worker.wake(),
        (err: unknown) =>
          ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "inbox sweep failed"),
      );
    }, opts.sweepMs ?? 5_000);
  } catch (e) {
    scheduler.stop();
    await server.close();
    await worker.stop();
    throw e;
  }

  let stopping: Promise<{ abandoned: number[] }> | null = null;
  const stop = async (how: { reason?: string; cut?: AbortSignal } = {}) => {
    scheduler.stop();
    if (sweepTimer) clearInterval(sweepTimer);
    for (const g of groups.values()) clearTimeout(g.timer);
    groups.clear();
    // No new connections; requests already in the handler finish (their events commit, then 200).
    await server.close();
    await inbox.close();
    return worker.stop(how);
  };
  return {
    server,
    inbox,
    runtime,
    queue,
    worker,
    webhookUrl: (connection) => `${server.url}/webhooks/${encodeURIComponent(connection)}`,
    eventFlows: eventFlows.map((f) => f.flow.name),
    schedules,
    stop: (how) => {
      stopping ??= stop(how);
      return stopping;
    },
  };
}

export function describePass(kind: string, s: RunSummary): string {
  const c = s.counts;
  return `${kind} ${s.flow}: ${c.read} read, ${c.created + c.updated} written (${c.created} new), ${c.skipped} unchanged, ${c.failed} failed${s.error ? `; stopped: ${s.error.message}` : ""}`;
}

/** `passerelle run`: starts the service and keeps it up until SIGINT or SIGTERM. */
export async function runCommand(
  ctx: Context,
  out: Output,
  opts: { host?: string; port?: number; graceMs?: number },
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
    service = await startService(ctx, {
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      onPass: (kind, s) => {
        if (kind === "reconcile" && s.counts.created + s.counts.updated + s.counts.failed === 0) return;
        out.info(describePass(kind, s));
      },
    });
  } catch (e) {
    shutdown.dispose();
    throw e;
  }
  out.info(`Listening on ${service.server.url} (GET /healthz, POST /webhooks/<connection>)`);
  // With --json the human lines are silent; a security warning still reaches stderr, as a log line.
  for (const w of service.server.warnings) {
    if (out.json) ctx.logger.warn({ url: service.server.url }, w);
    else out.info(`warning: ${w}`);
  }
  out.info(
    `Event-driven flows: ${service.eventFlows.join(", ") || "(none)"}; schedules: ${
      service.schedules.map((s) => `${s.name} "${s.cron}"`).join(", ") || "(none)"
    }`,
  );
  out.info("Ctrl-C (SIGINT) or SIGTERM stops it.");
  const signal = await shutdown.requested;
  const { abandoned } = await service.stop({ reason: `${signal} received`, cut: shutdown.cut });
  shutdown.dispose();
  const interrupted = await abandonHeldFlows(
    `${signal}: passerelle run exited before the run stopped (grace period of ${graceMs / 1000} s)`,
  );
  if (abandoned.length > 0) exitWhenIdleOrSoon();
  out.result(
    {
      stopped: true,
      signal,
      url: service.server.url,
      abandonedJobs: abandoned,
      interruptedRuns: interrupted.map((r) => r.id),
    },
    () =>
      abandoned.length > 0
        ? `Stopped; ${abandoned.length} job(s) still running were handed back to the queue (runs ${interrupted.map((r) => r.id).join(", ") || "-"} recorded interrupted).`
        : "Stopped.",
  );
  return EXIT.ok;
}

/** Adds `passerelle run` to the program; `withContext` opens the configuration and sets the exit code. */
export function registerRunCommand(
  program: Command,
  withContext: (cmd: Command, body: (ctx: Context, out: Output) => Promise<number>) => Promise<void>,
): void {
  program
    .command("run")
    .description(
      "serve webhooks (POST /webhooks/<connection>, GET /healthz) and run event-driven flows, their reconciliation polls and scheduled flows until SIGINT/SIGTERM",
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
(or at a second signal) are handed back and their runs recorded interrupted.`,
    )
    .action(function (this: Command, opts: { host?: string; port?: number; grace: number }) {
      return withContext(this, (ctx, out) =>
        runCommand(ctx, out, {
          ...(opts.host !== undefined ? { host: opts.host } : {}),
          ...(opts.port !== undefined ? { port: opts.port } : {}),
          graceMs: opts.grace * 1000,
        }),
      );
    });
}
