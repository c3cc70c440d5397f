/**
 * The service assembled from its parts, for `passerelle run`, `passerelle worker` and the demo. The CLI
 * commands only parse their options, handle signals and print; what runs is here.
 *
 * `startService` (`passerelle run`, the demo) holds
 * - the webhook server (`POST /webhooks/<connection>`, `GET /healthz`), which verifies each delivery with its
 *   connection's definition, stores it in the durable inbox and acknowledges it once committed;
 * - a job worker draining the inbox (coalesced per connection and entity), running reconciliation windows of
 *   event-driven flows, and the flow jobs (`sync`, `retry-failures`; flow-jobs.ts) — scheduled flows' runs
 *   and whatever a `passerelle worker` queued;
 * - the scheduler: every `trigger: schedule` flow's sync job on its cron, and every `trigger: events` flow's
 *   reconciliation poll on `reconcile.cron`.
 * `stop()` stops it cleanly: no new deliveries are accepted, deliveries being committed are committed and
 * answered, running jobs are asked to stop (their runs end after the batch being written, recorded
 * interrupted, and the jobs are handed back; when `cut` aborts first they are abandoned the same way). A
 * process killed outright loses nothing it acknowledged: the inbox acknowledged only committed events, and
 * pending events and queued jobs are picked up by the next start (`sweep`).
 *
 * `startFlowWorker` (`passerelle worker`) queues a sync and a retry-failures job per flow every interval and
 * runs the flow jobs, with no server and no scheduler.
 *
 * A process without the server (a worker or scheduler, `passerelle worker`) serves its metrics on a listener
 * of its own when `server.metrics` or `--metrics-port` asks for one (server/metrics-server.ts).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SyncError } from "../core/errors.ts";
import type { EntityName } from "../core/model.ts";
import type { RunSummary } from "../engine/sync.ts";
import type { InboundEvent, WebhookReceiver } from "../ports/connector.ts";
import type { WebhookInbox } from "../ports/inbox.ts";
import type { JobRunner, Jobs } from "../ports/jobs.ts";
import { type RunningServer, startServer, type WebhookEndpoint } from "../server/app.ts";
import { type MetricsListenFlags, metricsAddress, startMetricsServer } from "../server/metrics-server.ts";
import { ALERTS_QUEUE, alerterFor, alertJobHandler, alertSchedule } from "./alerting.ts";
import { type Context, definitionFor } from "./context.ts";
import { type EventFlow, EventRuntime, RECONCILE_QUEUE } from "./events.ts";
import { flowJobHandlers, retryFailuresJob, syncJob } from "./flow-jobs.ts";
import { openJobs } from "./job-backend.ts";
import { checkJobsThreadStore, JobsThread } from "./jobs-thread.ts";
import { processHolder } from "./leases.ts";
import { type ConnectorStats, Metrics } from "./metrics.ts";
import { type Role, startRoleScheduler } from "./roles.ts";
import type { ScheduleEntry } from "./scheduler.ts";
import { WEBHOOKS_QUEUE, webhookRenewalHandler, webhookRenewalSchedule } from "./webhook-renewal.ts";

/** Shortest time between two drain requests of one group from this process. */
const NOTIFY_GAP_MS = 50;

/** What a pass reported to `onPass` was: an inbox drain, a mass-change batch, a reconciliation, a sync job. */
export type PassKind = "events" | "batch" | "reconcile" | "schedule";

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
  /** Jobs and flow leases of this process outlive it by this long when it dies (default 30 s and 60 s). */
  leaseMs?: number;
  /** Automatic retries of a transiently failed record, by `retry-failures` jobs (default 5). */
  autoRetries?: number;
  /** Called after every pass of an event-driven or scheduled flow. */
  onPass?: (kind: PassKind, summary: RunSummary) => void;
  /** What this process does (roles.ts); default `all`. */
  role?: Role;
  /** pg-boss: how long a running job outlives a silent worker before it is retried (default: store.jobExpireSeconds). */
  jobExpireS?: number;
  /**
   * Requests to the management API from loopback without a token act as admin (`--no-auth-on-loopback`,
   * the demo's default); otherwise every request needs a bearer token.
   */
  noAuthOnLoopback?: boolean;
  /**
   * The metrics listener of a role that serves nothing else (worker, scheduler): the command line's
   * `--metrics-host` / `--metrics-port`, over the configuration's `server.metrics`. Refused for web and
   * all, whose server already has /metrics.
   */
  metricsListen?: MetricsListenFlags;
  /**
   * Role `all`: the jobs run in a worker thread of this process (jobs-thread.ts), the server and the
   * scheduler on the main thread. Default: the configuration's `server.jobsThread` (false).
   */
  jobsThread?: boolean;
  /** Internal (jobs-thread.ts): the lease holder of this service's runner, instead of processHolder(role). */
  holder?: string;
  /** Internal (jobs-thread.ts): this service is the jobs thread's; the main thread sweeps and serves metrics. */
  inJobsThread?: boolean;
}

export interface Service {
  role: Role;
  /**
   * This process's Prometheus metrics, served at /metrics; null in a worker or scheduler without a metrics
   * listener: nobody could read them there (docs/api.md, Metrics).
   */
  metrics: Metrics | null;
  /** null unless the role serves webhooks (web, all). */
  server: RunningServer | null;
  /** The metrics listener of a worker or scheduler (`server.metrics`, `--metrics-port`); null when off. */
  metricsServer: RunningServer | null;
  inbox: WebhookInbox;
  runtime: EventRuntime;
  /** The jobs port: pg-boss on PostgreSQL, the embedded queue on SQLite. */
  jobs: Jobs;
  /** null unless the role runs jobs (worker, all). */
  worker: JobRunner | null;
  /** The webhook address of one connection on this server. */
  webhookUrl(connection: string): string;
  /** Event-driven flows by name. */
  eventFlows: string[];
  schedules: ScheduleEntry[];
  /**
   * Stops accepting, commits and answers in-flight deliveries, stops the scheduler and the worker: running
   * jobs are asked to stop; when `cut` aborts first, those still running are handed back and returned.
   */
  stop(opts?: { reason?: string; cut?: AbortSignal }): Promise<{ abandoned: (number | string)[] }>;
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
        job: syncJob(name),
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
  const role = opts.role ?? "all";
  const serves = role === "web" || role === "all";
  const works = role === "worker" || role === "all";
  const holder = opts.holder ?? processHolder(role === "all" ? "run" : role);
  const threaded = role === "all" && (opts.jobsThread ?? ctx.config.server.jobsThread ?? false);
  if (threaded) checkJobsThreadStore(ctx.storeUrl);
  const flags = opts.metricsListen ?? {};
  if (serves && (flags.port !== undefined || flags.host !== undefined)) {
    throw new SyncError(
      "config",
      `--metrics-port and --metrics-host are for --role worker or scheduler; role ${role} serves /metrics on its own server (--host, --port)`,
    );
  }
  // server.metrics, shared by every process of a deployment, is simply not used by a role with a server.
  const metricsAt = serves || opts.inJobsThread ? null : metricsAddress(ctx.config, flags);
  // Created once the jobs port is open (its depth() feeds the queue-depth gauge); read only by passes.
  let metrics: Metrics | undefined;
  const given = opts.onPass;
  opts = {
    ...opts,
    onPass: (kind, s) => {
      metrics?.observeRun(kind, s);
      given?.(kind, s);
    },
  };
  const eventFlows = eventFlowsOf(ctx);
  // Alert rules are evaluated on their own schedule through the job queue (src/runtime/alerting.ts).
  const alerter = alerterFor(ctx);
  // Webhook subscriptions are renewed on their own schedule (src/runtime/webhook-renewal.ts).
  const renewal = webhookRenewalSchedule(ctx);
  const jobs = await openJobs(ctx.store, ctx.storeUrl, {
    queues: [
      ...new Set([
        "sync",
        "retry-failures",
        "flow-run",
        "events",
        RECONCILE_QUEUE,
        ...(alerter ? [ALERTS_QUEUE] : []),
        ...(renewal ? [WEBHOOKS_QUEUE] : []),
      ]),
    ],
    logger: ctx.logger,
    expireS: opts.jobExpireS ?? ctx.config.store.jobExpireSeconds,
  });
  // Only a process with a server or a metrics listener has a /metrics to serve them at.
  // With the jobs in a thread, the calls the connectors make are counted there (the thread reports them).
  let threadStats: (() => Record<string, ConnectorStats>) | undefined;
  const served =
    serves || metricsAt
      ? new Metrics(ctx, { depth: () => jobs.depth(), moreStats: () => threadStats?.() ?? {} })
      : null;
  metrics = served ?? undefined;
  const inbox = ctx.store.openInbox({ writerThread: serves });
  const queue = jobs;
  const runtime = new EventRuntime({
    store: ctx.store,
    engine: ctx.engine,
    inbox,
    queue,
    eventFlows,
    holder,
    logger: ctx.logger,
    ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}),
    ...(opts.onPass ? { onPass: opts.onPass } : {}),
  });
  const onPass = opts.onPass;
  // The job handlers, built only where jobs run here (with the jobs thread, the thread builds its own).
  const handlers = () => {
    const all = {
      ...runtime.handlers(),
      // The worker's queues: a sync job queued by `passerelle worker` runs here too, and the other way round.
      ...flowJobHandlers(ctx, {
        holder,
        autoRetries: opts.autoRetries ?? 5,
        ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}),
        ...(onPass ? { onRun: (s: RunSummary) => onPass("schedule", s) } : {}),
      }),
    };
    if (alerter) Object.assign(all, { [ALERTS_QUEUE]: alertJobHandler(alerter) });
    if (renewal) Object.assign(all, { [WEBHOOKS_QUEUE]: webhookRenewalHandler(ctx) });
    return all;
  };
  const thread = threaded
    ? new JobsThread({
        configPath: ctx.configPath,
        storeUrl: ctx.storeUrl,
        holder: processHolder("worker"),
        service: {
          ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
          ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
          ...(opts.leaseMs !== undefined ? { leaseMs: opts.leaseMs } : {}),
          ...(opts.autoRetries !== undefined ? { autoRetries: opts.autoRetries } : {}),
          ...(opts.jobExpireS !== undefined ? { jobExpireS: opts.jobExpireS } : {}),
        },
        logger: ctx.logger,
        ...(opts.onPass ? { onPass: opts.onPass } : {}),
      })
    : null;
  if (thread) threadStats = () => thread.stats();
  const worker: JobRunner | null = thread
    ? thread
    : works
      ? jobs.runner(handlers(), {
          id: holder,
          concurrency: opts.concurrency ?? 2,
          pollMs: opts.pollMs ?? 200,
          leaseMs: opts.leaseMs ?? 30_000,
        })
      : null;

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
        worker?.wake();
        if (g?.again) ask(connection, entity);
      },
      Math.max(wait + 5, NOTIFY_GAP_MS),
    );
    groups.set(key, { timer, again: false });
    // With the jobs thread, the thread queues the drain (JobsThread.notify): the main thread never waits on
    // the store's write lock between a delivery and its acknowledgement.
    if (thread?.notify(connection, entity)) return;
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
  const server =
    serves && served
      ? await startServer({
          host: opts.host ?? ctx.config.server.host,
          port: opts.port ?? ctx.config.server.port,
          endpoints: webhookEndpoints(ctx),
          inbox,
          ...(ctx.config.server.bodyLimit ? { bodyLimit: ctx.config.server.bodyLimit } : {}),
          ...(tls ? { tls } : {}),
          onStored: notify,
          onWebhook: (connection, o) =>
            "stored" in o
              ? served.webhookStored(connection, o.stored)
              : served.webhookRefused(connection, o.refused),
          logger: ctx.logger,
          ...(ctx.config.server.documentLinks
            ? {
                documents: {
                  secret: ctx.config.server.documentLinks.secret,
                  fetch: (connection: string, ref: string, signal: AbortSignal) => {
                    const c = ctx.connectors.get(connection);
                    return c?.document ? c.document(ref, signal) : null;
                  },
                },
              }
            : {}),
          api: {
            ctx,
            queue: jobs,
            metrics: served,
            holder,
            noAuthOnLoopback: opts.noAuthOnLoopback ?? false,
            onEnqueued: () => worker?.wake(),
          },
        })
      : null;
  let metricsServer: RunningServer | null = null;
  try {
    metricsServer =
      metricsAt && served
        ? await startMetricsServer({
            ...metricsAt,
            metrics: served,
            access: ctx.store.access(),
            noAuthOnLoopback: opts.noAuthOnLoopback ?? false,
            role,
            ...(tls ? { tls } : {}),
            logger: ctx.logger,
          })
        : null;
  } catch (e) {
    await inbox.close();
    await jobs.close();
    alerter?.close();
    throw e;
  }

  const schedules = scheduleEntries(ctx);
  if (alerter) schedules.push(alertSchedule(ctx));
  if (renewal) schedules.push(renewal);
  const scheduler =
    role === "scheduler" || role === "all"
      ? startRoleScheduler(ctx, {
          jobs,
          entries: schedules,
          onEnqueued: () => worker?.wake(),
        })
      : null;
  let sweepTimer: NodeJS.Timeout | null = null;
  // The periodic sweep: with the jobs thread running, the thread queues the drains (as for deliveries);
  // without it, or while it is down, this thread does.
  const sweep = async () => {
    if (thread) {
      const pending = await inbox.pendingGroups();
      if (pending.every((g) => thread.notify(g.connection, g.entity))) return;
    }
    await runtime.sweep();
  };
  try {
    worker?.start();
    await thread?.ready();
    await scheduler?.start();
    // Events left pending by a previous process (killed, or stopped while a flow was busy); the jobs
    // thread's service leaves this to the main thread's.
    if (!opts.inJobsThread) await runtime.sweep();
    worker?.wake();
    if (!opts.inJobsThread)
      sweepTimer = setInterval(() => {
        sweep().then(
          () => worker?.wake(),
          (err: unknown) =>
            ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "inbox sweep failed"),
        );
      }, opts.sweepMs ?? 5_000);
  } catch (e) {
    await scheduler?.stop();
    await server?.close();
    await metricsServer?.close();
    await worker?.stop();
    await inbox.close();
    await jobs.close();
    alerter?.close();
    throw e;
  }

  let stopping: Promise<{ abandoned: (number | string)[] }> | null = null;
  const stop = async (how: { reason?: string; cut?: AbortSignal } = {}) => {
    await scheduler?.stop();
    if (sweepTimer) clearInterval(sweepTimer);
    for (const g of groups.values()) clearTimeout(g.timer);
    groups.clear();
    // No new connections; requests already in the handler finish (their events commit, then 200).
    await server?.close();
    await inbox.close();
    const stopped = (await worker?.stop(how)) ?? { abandoned: [] };
    // Scraped until the jobs have stopped: the last passes are counted.
    await metricsServer?.close();
    await jobs.close();
    alerter?.close();
    return stopped;
  };
  return {
    role,
    metrics: metrics ?? null,
    server,
    metricsServer,
    inbox,
    runtime,
    jobs,
    worker,
    webhookUrl: (connection) => {
      if (!server) throw new Error(`role ${role} serves no webhooks`);
      return `${server.url}/webhooks/${encodeURIComponent(connection)}`;
    },
    eventFlows: eventFlows.map((f) => f.flow.name),
    schedules,
    stop: (how) => {
      stopping ??= stop(how);
      return stopping;
    },
  };
}

export interface FlowWorkerOptions {
  /** Between two rounds of queued jobs. */
  intervalMs: number;
  /** How long a job or flow lease outlives a silent (dead) worker. */
  leaseMs: number;
  /** Times a transient failed record is retried automatically before it waits for an operator. */
  autoRetries: number;
  /** pg-boss: how long a running job outlives a silent worker before it is retried (default 900 s). */
  jobExpireS?: number;
  /** The metrics listener (`--metrics-host` / `--metrics-port` over `server.metrics`); off when neither. */
  metricsListen?: MetricsListenFlags;
  /** The metrics listener lets requests from loopback through without a token (`--no-auth-on-loopback`). */
  noAuthOnLoopback?: boolean;
}

export interface FlowWorker {
  /** This worker's name in leases and logs. */
  id: string;
  /** The jobs port, once started (pg-boss on PostgreSQL, the embedded queue on SQLite). */
  jobs: Jobs | null;
  /** The metrics listener, once started; null when not configured. */
  metricsServer: RunningServer | null;
  /** Claims jobs and queues the first round at once, then one every interval. */
  start(): Promise<void>;
  /** Resolves once every flow's latest sync and retry-failures jobs both found nothing to do. */
  caughtUp: Promise<void>;
  /** Stops queuing rounds and stops the worker (see JobRunner.stop). */
  stop(how?: { reason?: string; cut?: AbortSignal }): Promise<{ abandoned: (number | string)[] }>;
}

/**
 * `passerelle worker`'s runtime: every interval it queues one sync job and one retry-failures job per flow
 * (singletons, so a flow never has two of either queued or running) and runs the flow jobs. Jobs survive
 * the process: killed at any moment, a restarted worker (or another one, or `passerelle run`) takes them
 * over once their lease runs out, and the engine's intents, links and page commits make the re-run safe.
 */
export function createFlowWorker(ctx: Context, flowNames: string[], opts: FlowWorkerOptions): FlowWorker {
  for (const name of flowNames) ctx.flow(name); // unknown names fail now, with the list of flows
  const metricsAt = metricsAddress(ctx.config, opts.metricsListen);
  const idle = new Map<string, boolean>();
  const id = processHolder("worker");
  // Created once the jobs port is open (its depth() feeds the queue-depth gauge); read only by passes.
  let metrics: Metrics | null = null;
  const handlers = flowJobHandlers(ctx, {
    holder: id,
    leaseMs: opts.leaseMs,
    autoRetries: opts.autoRetries,
    onIdle: (k, v) => idle.set(k, v),
    onRun: (s) => metrics?.observeRun("schedule", s),
  });
  let metricsServer: RunningServer | null = null;
  let jobs: Jobs | null = null;
  let worker: JobRunner | null = null;
  let markCaughtUp: () => void = () => undefined;
  const caughtUp = new Promise<void>((done) => {
    markCaughtUp = done;
  });
  const tick = async () => {
    try {
      if (!jobs) return;
      for (const name of flowNames) {
        await jobs.enqueue(syncJob(name));
        await jobs.enqueue(retryFailuresJob(name));
      }
      worker?.wake();
      if (flowNames.every((f) => idle.get(`sync:${f}`) && idle.get(`retry:${f}`))) markCaughtUp();
    } catch (err) {
      ctx.logger.error({ err: err instanceof Error ? err.message : String(err) }, "cannot queue jobs");
    }
  };
  let timer: NodeJS.Timeout | null = null;
  return {
    id,
    get jobs() {
      return jobs;
    },
    get metricsServer() {
      return metricsServer;
    },
    caughtUp,
    async start() {
      const opened = await openJobs(ctx.store, ctx.storeUrl, {
        queues: Object.keys(handlers),
        logger: ctx.logger,
        retry: { attempts: 5, baseDelayMs: 1_000, maxDelayMs: 60_000 },
        expireS: opts.jobExpireS ?? ctx.config.store.jobExpireSeconds,
      });
      jobs = opened;
      if (metricsAt) {
        const m = new Metrics(ctx, { depth: () => opened.depth() });
        const tls = readTls(ctx);
        try {
          metricsServer = await startMetricsServer({
            ...metricsAt,
            metrics: m,
            access: ctx.store.access(),
            noAuthOnLoopback: opts.noAuthOnLoopback ?? false,
            role: "worker",
            ...(tls ? { tls } : {}),
            logger: ctx.logger,
          });
        } catch (e) {
          await opened.close();
          jobs = null;
          throw e;
        }
        metrics = m;
      }
      worker = jobs.runner(handlers, { id, leaseMs: opts.leaseMs, pollMs: 200 });
      worker.start();
      await tick();
      timer = setInterval(() => void tick(), opts.intervalMs);
    },
    async stop(how = {}) {
      if (timer) clearInterval(timer);
      timer = null;
      const stopped = (await worker?.stop(how)) ?? { abandoned: [] };
      await metricsServer?.close();
      await jobs?.close();
      return stopped;
    },
  };
}
