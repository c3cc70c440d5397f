/**
 * Prometheus metrics of one process (prom-client), served at `/metrics` by `passerelle run`. Fed from what
 * the runtime already observes — every pass's run summary (onPass), webhook deliveries stored or refused by
 * the server — and read at scrape time from the connectors' own call counters and the store (queue depth,
 * pending webhook events, lag). Nothing in src/core or src/engine calls it.
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { RunSummary } from "../engine/sync.ts";
import type { Connector } from "../ports/connector.ts";
import type { Context } from "./context.ts";
import { flowLag } from "./lag.ts";

/**
 * A pass's kind as the runtime reports it (`schedule`: every run of the flow-job queue, whether its cron, a
 * `passerelle worker` or the API queued it); `reconcile` passes that wrote records found drift.
 */
export type PassKindLabel = "events" | "batch" | "reconcile" | "schedule";

/** A connector's counters as /metrics reads them (HTTP connectors also count their retries, HttpStats). */
export type ConnectorStats = ReturnType<Connector["stats"]> & { retries?: unknown };

export class Metrics {
  readonly registry = new Registry();
  readonly #records: Counter<"flow" | "connection" | "outcome">;
  readonly #runs: Counter<"flow" | "status" | "kind">;
  readonly #drift: Counter<"flow">;
  readonly #webhooks: Counter<"connection" | "outcome">;
  readonly #webhookEvents: Counter<"connection">;
  readonly #lastRun = new Map<string, number>();

  /**
   * `depth`: the jobs waiting per queue (the jobs port's `depth()`: the store's `jobs` table on SQLite,
   * pg-boss on PostgreSQL); default the store's embedded queue.
   */
  constructor(
    ctx: Context,
    opts: {
      depth?: () => Promise<Map<string, number>>;
      /**
       * Counters of connections used elsewhere in this process (the jobs thread, jobs-thread.ts), added to
       * this context's: calls, throttles and retries summed, the rate budget as the other side last saw it.
       */
      moreStats?: () => Record<string, ConnectorStats>;
    } = {},
  ) {
    const depth = opts.depth ?? (() => ctx.store.access().queueDepth());
    const r = this.registry;
    this.#records = new Counter({
      name: "passerelle_records_total",
      help: "Records per flow and connection by outcome: read (from the source); created, updated, skipped, failed, held (in the target)",
      labelNames: ["flow", "connection", "outcome"],
      registers: [r],
    });
    this.#runs = new Counter({
      name: "passerelle_runs_total",
      help: "Passes of a flow by how they ended and what started them (events, batch, reconcile, schedule)",
      labelNames: ["flow", "status", "kind"],
      registers: [r],
    });
    this.#drift = new Counter({
      name: "passerelle_drift_records_total",
      help: "Records a reconciliation poll had to write: changes the webhooks did not bring",
      labelNames: ["flow"],
      registers: [r],
    });
    this.#webhooks = new Counter({
      name: "passerelle_webhook_deliveries_total",
      help: "Webhook deliveries per connection: stored, or refused with a 4xx status",
      labelNames: ["connection", "outcome"],
      registers: [r],
    });
    this.#webhookEvents = new Counter({
      name: "passerelle_webhook_events_stored_total",
      help: "Webhook events stored in the inbox per connection (duplicates of a stored event not counted)",
      labelNames: ["connection"],
      registers: [r],
    });
    // HTTP connectors also count their retries (HttpStats); the port promises calls and throttles only.
    // A counter is the sum of both threads' (the jobs thread's, moreStats, and this context's); a reading
    // such as the rate budget is the jobs thread's when it has one, the side that calls the vendor most.
    const num = (v: unknown) => (typeof v === "number" ? v : undefined);
    const connectorGauge = (
      name: string,
      help: string,
      read: (s: ConnectorStats) => unknown,
      kind: "counter" | "reading" = "counter",
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ["connection"],
        registers: [r],
        collect() {
          const more = opts.moreStats?.() ?? {};
          for (const [conn, c] of ctx.connectors) {
            const here = num(read(c.stats()));
            const other = more[conn];
            const there = other ? num(read(other)) : undefined;
            const v =
              here === undefined || there === undefined
                ? (there ?? here)
                : kind === "counter"
                  ? here + there
                  : there;
            if (v !== undefined) this.set({ connection: conn }, v);
          }
        },
      });
    connectorGauge(
      "passerelle_api_calls",
      "API calls made to each connection by this process since it started",
      (s) => s.calls,
    );
    connectorGauge(
      "passerelle_throttled",
      "Throttled answers (HTTP 429, or the vendor's throttle in the body) from each connection since start",
      (s) => s.throttled,
    );
    connectorGauge(
      "passerelle_retries",
      "Calls to each connection retried after a transient failure since start (HTTP connectors)",
      (s) => s.retries,
    );
    connectorGauge(
      "passerelle_rate_budget_available",
      "The vendor's rate budget currently available, as it last reported it",
      (s) => s.rateLimit?.currentlyAvailable,
      "reading",
    );
    new Gauge({
      name: "passerelle_queue_depth",
      help: "Jobs waiting to be run in the job queue (embedded or pg-boss), per queue",
      labelNames: ["queue"],
      registers: [r],
      async collect() {
        this.reset();
        for (const [queue, n] of await depth()) this.set({ queue }, n);
      },
    });
    new Gauge({
      name: "passerelle_webhook_events_pending",
      help: "Webhook events stored and not processed yet",
      registers: [r],
      async collect() {
        this.set(await ctx.store.openInbox().count({ status: "pending" }));
      },
    });
    const lastRun = this.#lastRun;
    new Gauge({
      name: "passerelle_flow_lag_seconds",
      help: "Per flow: seconds since it last caught up with its source, or since the oldest webhook event still pending for it when older (see docs/api.md, lag)",
      labelNames: ["flow"],
      registers: [r],
      async collect() {
        this.reset();
        const now = new Date();
        for (const flow of ctx.flowNames()) {
          const lag = await flowLag(ctx, flow, now);
          if (lag.seconds !== null) this.set({ flow }, lag.seconds);
        }
      },
    });
    new Gauge({
      name: "passerelle_flow_last_run_timestamp_seconds",
      help: "Per flow: when its last pass in this process ended (Unix time)",
      labelNames: ["flow"],
      registers: [r],
      collect() {
        for (const [flow, at] of lastRun) this.set({ flow }, at / 1000);
      },
    });
    this.#ctx = ctx;
  }

  readonly #ctx: Context;

  /** One pass of a flow, from its run summary. */
  observeRun(kind: PassKindLabel, s: RunSummary): void {
    const spec = this.#ctx.config.flows[s.flow];
    const source = spec?.source.connection ?? "";
    const target = spec?.target.connection ?? "";
    const c = s.counts;
    const add = (connection: string, outcome: string, n: number) => {
      if (n > 0) this.#records.inc({ flow: s.flow, connection, outcome }, n);
    };
    add(source, "read", c.read);
    add(target, "created", c.created);
    add(target, "updated", c.updated);
    add(target, "skipped", c.skipped);
    add(target, "failed", c.failed - c.held);
    add(target, "held", c.held);
    this.#runs.inc({ flow: s.flow, status: s.status, kind });
    if (kind === "reconcile" && c.created + c.updated > 0)
      this.#drift.inc({ flow: s.flow }, c.created + c.updated);
    this.#lastRun.set(s.flow, Date.now());
  }

  webhookStored(connection: string, events: number): void {
    this.#webhooks.inc({ connection, outcome: "stored" });
    if (events > 0) this.#webhookEvents.inc({ connection }, events);
  }

  webhookRefused(connection: string, status: number): void {
    this.#webhooks.inc({ connection, outcome: String(status) });
  }

  /** The Prometheus text exposition. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
