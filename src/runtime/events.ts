/**
 * Event-driven flows: inbox workers, burst coalescing, the mass-change switch and reconciliation.
 *
 * A webhook is a notice that a record changed, not the record: workers take a group's pending events from
 * the inbox (one connection and entity), collapse them by record id, read each record afresh from the
 * source and run it through the engine (`apply` + one page commit). Reading afresh is what makes
 * out-of-order delivery converge: whatever order "created" and "paid" arrive in, the last sync writes the
 * record's current state. Coalescing: a group's drain job is enqueued `coalesceMs` after the first event
 * (a singleton per group), so every event arriving meanwhile joins the same pass; fifty updates of one order
 * within the window cost one read and at most one write.
 *
 * Mass changes: when a group received more than `massThreshold` events in the last minute (a price import,
 * a bulk status change), per-record reads would cost one call per record; the flow instead runs one batch
 * pass over the source, paged, from a little before the oldest pending event.
 *
 * Reconciliation: webhooks get lost (delivery is not guaranteed, endpoints are down). Every event flow
 * also polls on its own cron over overlapping windows: from the last window's start minus `overlap` to
 * now, through the same pipeline, so a record whose webhook never came is still synced, and records
 * already synced are skipped by their unchanged content hash.
 *
 * Every pass of a flow (events, batch, reconciliation, schedule) holds the lease `flow:<name>`, so a flow
 * never runs twice at once, across processes.
 */
import { asSyncError } from "../core/errors.ts";
import type { EntityName } from "../core/model.ts";
import type { Flow } from "../engine/flow.ts";
import { emptySummary, type Prepared, prepare, type RunSummary, type SyncEngine } from "../engine/sync.ts";
import { requireStream, type Stream } from "../ports/connector.ts";
import type { Store } from "../ports/store.ts";
import type { StoredEvent, WebhookInbox } from "../store/webhook-inbox.ts";
import type { JobHandler, JobQueue } from "./jobs.ts";
import { withLease } from "./leases.ts";

export const EVENTS_QUEUE = "webhook-events";
export const RECONCILE_QUEUE = "reconcile";
export const FLOW_QUEUE = "flow-run";

export interface EventFlowSettings {
  coalesceMs: number;
  massThreshold: number;
  reconcile: { cron: string; overlapSeconds: number };
}

export interface EventFlow {
  flow: Flow;
  settings: EventFlowSettings;
}

export interface RuntimeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface EventRuntimeOptions {
  store: Store;
  engine: SyncEngine;
  inbox: WebhookInbox;
  queue: JobQueue;
  /** Event-driven flows. */
  eventFlows: EventFlow[];
  /** Every flow by name (scheduled runs and reconciliation look them up). */
  flow: (name: string) => Flow;
  /** This process's name in leases. */
  holder: string;
  /** How long a flow lease lasts without renewal (default 60 s; renewed every third). */
  leaseMs?: number;
  /** Records read at once from the source when syncing by event. */
  readConcurrency?: number;
  now?: () => Date;
  logger?: RuntimeLogger;
  /** Called after every pass with its summary (the CLI prints them; tests observe them). */
  onPass?: (kind: "events" | "batch" | "reconcile" | "schedule", summary: RunSummary) => void;
}

export class FlowBusyError extends Error {}

const DrainPayload = (p: unknown): { connection: string; entity: EntityName | null } | null => {
  if (p === null || typeof p !== "object") return null;
  const { connection, entity } = p as Record<string, unknown>;
  if (typeof connection !== "string") return null;
  return { connection, entity: typeof entity === "string" ? (entity as EntityName) : null };
};

const FlowPayload = (p: unknown): string | null => {
  if (p === null || typeof p !== "object") return null;
  const { flow } = p as Record<string, unknown>;
  return typeof flow === "string" ? flow : null;
};

export class EventRuntime {
  readonly #o: EventRuntimeOptions;
  readonly #now: () => Date;

  constructor(opts: EventRuntimeOptions) {
    this.#o = opts;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Job handlers for the Worker: inbox drains, reconciliation passes, scheduled runs. */
  handlers(): Record<string, JobHandler> {
    return {
      [EVENTS_QUEUE]: async (payload, _job, signal) => {
        const p = DrainPayload(payload);
        if (p) await this.drain(p.connection, p.entity, signal);
      },
      [RECONCILE_QUEUE]: async (payload, _job, signal) => {
        const name = FlowPayload(payload);
        if (name) await this.reconcile(name, signal);
      },
      [FLOW_QUEUE]: async (payload, _job, signal) => {
        const name = FlowPayload(payload);
        if (name) await this.scheduledRun(name, signal);
      },
    };
  }

  #flowsFor(connection: string, entity: EntityName | null): EventFlow[] {
    return this.#o.eventFlows.filter((f) => f.flow.source.name === connection && f.flow.entity === entity);
  }

  /** Asks for a drain of one group after its coalescing window (no-op when one is already queued). */
  async notify(connection: string, entity: EntityName | null): Promise<void> {
    const flows = this.#flowsFor(connection, entity);
    const wait = Math.max(0, ...flows.map((f) => f.settings.coalesceMs));
    await this.#o.queue.enqueue({
      queue: EVENTS_QUEUE,
      payload: { connection, entity },
      singletonKey: `events:${connection}:${entity ?? "-"}`,
      runAt: new Date(this.#now().getTime() + wait),
    });
  }

  /** Enqueues a drain for every group with pending events (after a restart, or events left behind). */
  async sweep(): Promise<void> {
    for (const g of await this.#o.inbox.pendingGroups()) await this.notify(g.connection, g.entity);
  }

  async #locked<T>(flow: Flow, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const held = await withLease(
      this.#o.store,
      `flow:${flow.name}`,
      this.#o.holder,
      this.#o.leaseMs ?? 60_000,
      work,
    );
    if (held === null) throw new FlowBusyError(`flow ${flow.name} is running elsewhere`);
    return held.value;
  }

  /** `work` under the flow's lease; null (logged as `skipped`) when the flow is running elsewhere. */
  async #unlessBusy<T>(
    flow: Flow,
    skipped: string,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T | null> {
    try {
      return await this.#locked(flow, work);
    } catch (e) {
      if (e instanceof FlowBusyError) {
        this.#o.logger?.info({ flow: flow.name }, skipped);
        return null;
      }
      throw e;
    }
  }

  /** Processes every pending event of one group; events no flow wants are marked ignored. */
  async drain(connection: string, entity: EntityName | null, signal?: AbortSignal): Promise<void> {
    const flows = this.#flowsFor(connection, entity);
    for (;;) {
      if (signal?.aborted) return;
      const events = await this.#o.inbox.pending(connection, entity, 5000);
      if (events.length === 0) return;
      const ids = events.map((e) => e.id);
      if (flows.length === 0 || entity === null) {
        await this.#o.inbox.settle(ids, "ignored", "no event-driven flow reads this topic");
        continue;
      }
      let note = "";
      for (const ef of flows) {
        // When busy, the events stay pending; the periodic sweep asks again once the other pass is done.
        const done = await this.#unlessBusy(
          ef.flow,
          "flow busy; events stay in the inbox for the next drain",
          () => this.#process(ef, connection, entity, events),
        );
        if (done === null) return;
        note = done;
      }
      await this.#o.inbox.settle(ids, "processed", note);
    }
  }

  async #process(
    ef: EventFlow,
    connection: string,
    entity: EntityName,
    events: StoredEvent[],
  ): Promise<string> {
    const now = this.#now();
    const lastMinute = await this.#o.inbox.receivedSince(
      connection,
      entity,
      new Date(now.getTime() - 60_000).toISOString(),
    );
    if (lastMinute > ef.settings.massThreshold) {
      const oldest = events.map((e) => e.receivedAt).sort()[0] ?? now.toISOString();
      const since = new Date(Date.parse(oldest) - ef.settings.reconcile.overlapSeconds * 1000).toISOString();
      const s = await this.windowPass(ef.flow, since);
      this.#o.onPass?.("batch", s);
      return `batch pass (${lastMinute} events in the last minute)`;
    }
    const recordIds = [...new Set(events.map((e) => e.recordId).filter((id): id is string => id !== null))];
    const s = await this.recordPass(ef.flow, recordIds);
    this.#o.onPass?.("events", s);
    return `${events.length} events, ${recordIds.length} records`;
  }

  /** Reads the given records afresh from the source and syncs them in one page (no cursor move). */
  async recordPass(flow: Flow, recordIds: string[]): Promise<RunSummary> {
    return this.#pass(flow, async (stream, commit) => {
      const natives: unknown[] = [];
      const width = this.#o.readConcurrency ?? 8;
      for (let i = 0; i < recordIds.length; i += width) {
        const got = await Promise.all(recordIds.slice(i, i + width).map((id) => stream.get(id)));
        for (const n of got) if (n !== null) natives.push(n);
      }
      for (let i = 0; i < natives.length; i += flow.batchSize) {
        const prepared: Prepared[] = await Promise.all(
          natives.slice(i, i + flow.batchSize).map((n) => prepare(flow, stream, n)),
        );
        await commit(prepared);
      }
    });
  }

  /** Reads every source record changed since `since` (null: all), paged, and syncs them; no cursor move. */
  async windowPass(flow: Flow, since: string | null, signal?: AbortSignal): Promise<RunSummary> {
    return this.#pass(flow, async (stream, commit) => {
      for await (const page of stream.list({
        since: since === null ? null : { updatedAt: since, id: "" },
        signpost: this.#now().toISOString(),
        pageSize: flow.batchSize,
        ...(signal ? { signal } : {}),
      })) {
        await commit(await Promise.all(page.map((n) => prepare(flow, stream, n))));
      }
    });
  }

  /**
   * One sync run of `flow` that moves no cursor: `read` commits the pages it prepares; the run ends
   * succeeded, partial (some records failed) or failed (it threw), and its counts are recorded.
   */
  async #pass(
    flow: Flow,
    read: (stream: Stream, commit: (prepared: Prepared[]) => Promise<void>) => Promise<void>,
  ): Promise<RunSummary> {
    const stream = requireStream(flow.source, flow.entity);
    const run = await this.#o.store.startRun(flow.name, "sync");
    const summary = emptySummary(run.id, flow.name, "sync");
    const started = performance.now();
    const callsBefore = flow.source.stats().calls + flow.target.stats().calls;
    try {
      await read(stream, (prepared) => this.#commit(flow, prepared, run.id, summary));
      summary.status = summary.counts.failed > 0 ? "partial" : "succeeded";
    } catch (e) {
      summary.error = asSyncError(e, flow.source.name);
      summary.status = "failed";
    }
    return this.#finish(flow, summary, started, callsBefore);
  }

  async #commit(flow: Flow, prepared: Prepared[], runId: number, summary: RunSummary): Promise<void> {
    const result = await this.#o.engine.apply(flow, prepared, { runId, summary });
    await this.#o.store.commitPage({ flow: flow.name, runId, ...result });
    for (const k of ["read", "created", "updated", "skipped", "failed"] as const)
      summary.counts[k] += result.counts[k] ?? 0;
  }

  async #finish(flow: Flow, summary: RunSummary, started: number, callsBefore: number): Promise<RunSummary> {
    summary.counts.calls = flow.source.stats().calls + flow.target.stats().calls - callsBefore;
    summary.durationMs = Math.round(performance.now() - started);
    await this.#o.store.commitPage({
      flow: flow.name,
      runId: summary.runId,
      links: [],
      events: [],
      failures: [],
      resolvedKeys: [],
      completedIntents: [],
      counts: { calls: summary.counts.calls },
    });
    await this.#o.store.finishRun(summary.runId, summary.status, summary.error?.message ?? null);
    return summary;
  }

  /**
   * One reconciliation window of an event flow: from the previous window's start minus the overlap (or
   * everything, the first time) to now. The window's start becomes the mark only when the pass succeeded.
   */
  async reconcile(name: string, signal?: AbortSignal): Promise<RunSummary | null> {
    const ef = this.#o.eventFlows.find((f) => f.flow.name === name);
    if (!ef) return null;
    return this.#unlessBusy(ef.flow, "reconciliation skipped: the flow is running", async (lost) => {
      const mark = await this.#o.inbox.getMark(`reconcile:${name}`);
      const start = this.#now();
      const since =
        mark === null
          ? null
          : new Date(Date.parse(mark) - ef.settings.reconcile.overlapSeconds * 1000).toISOString();
      const s = await this.windowPass(ef.flow, since, signal ?? lost);
      if (s.status !== "failed") await this.#o.inbox.setMark(`reconcile:${name}`, start.toISOString());
      this.#o.onPass?.("reconcile", s);
      return s;
    });
  }

  /** A scheduled flow's cursor-based run; skipped (not queued twice) while the flow runs elsewhere. */
  async scheduledRun(name: string, _signal?: AbortSignal): Promise<RunSummary | null> {
    const flow = this.#o.flow(name);
    return this.#unlessBusy(flow, "scheduled run skipped: the flow is already running", async () => {
      const s = await this.#o.engine.run(flow);
      this.#o.onPass?.("schedule", s);
      return s;
    });
  }
}
