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
 * pass over the source, paged, from the oldest pending event's shop timestamp minus a small margin
 * (EVENT_WINDOW_MARGIN_MS).
 *
 * Reconciliation: webhooks get lost (delivery is not guaranteed, endpoints are down). Every event flow
 * also polls on its own cron over overlapping windows: from the last window's start minus `overlap` to
 * now, through the same pipeline, so a record whose webhook never came is still synced, and records
 * already synced are skipped by their unchanged content hash.
 *
 * Every pass of a flow (events, batch, reconciliation) runs through `runFlow`, which holds the
 * lease `flow:<name>`, so a flow never runs twice at once, across processes.
 *
 * An event is done only when the record it names was written, skipped as unchanged, quarantined in the
 * failed-records inbox, or is gone from the source. When its pass could not sync it (the source read failed,
 * the target was unreachable), the event stays pending with an attempt count and is not tried again before
 * a backoff; after `maxEventAttempts` it is marked `failed`, with the last reason, never silently dropped
 * (the reconciliation window still brings its record in once the systems answer again).
 */
import type { EntityName } from "../core/model.ts";
import type { Flow } from "../engine/flow.ts";
import type { RunSummary, SyncEngine } from "../engine/sync.ts";
import type { StoredEvent, WebhookInbox } from "../ports/inbox.ts";
import type { Jobs } from "../ports/jobs.ts";
import type { MarkStore } from "../ports/marks.ts";
import type { Store } from "../ports/store.ts";
import type { JobHandler } from "./jobs.ts";
import type { PassResult } from "./passes.ts";
import { FlowBusyError, type FlowScope, runFlow } from "./run-flow.ts";

export const EVENTS_QUEUE = "webhook-events";
export const RECONCILE_QUEUE = "reconcile";

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
  queue: Pick<Jobs, "enqueue">;
  /** Where reconciliation windows are marked (default: the store's marks, on this runtime's clock). */
  marks?: MarkStore;
  /** Event-driven flows. */
  eventFlows: EventFlow[];
  /** This process's name in leases. */
  holder: string;
  /** How long a flow lease lasts without renewal (default 60 s; renewed every third). */
  leaseMs?: number;
  /** Records read at once from the source when syncing by event. */
  readConcurrency?: number;
  /** Passes an event may fail before it is marked failed (default 10). */
  maxEventAttempts?: number;
  /** Wait before an event whose pass failed is tried again: doubles per attempt (default 2 s, up to 5 min). */
  eventRetryBaseMs?: number;
  now?: () => Date;
  logger?: RuntimeLogger;
  /** Called after every pass with its summary (the CLI prints them; tests observe them). */
  onPass?: (kind: "events" | "batch" | "reconcile", summary: RunSummary) => void;
}

const EVENT_RETRY_MAX_MS = 5 * 60_000;

/**
 * How far before the oldest pending event's own timestamp (the shop's `updated_at` of the record, as the
 * webhook carries it) a mass-change pass starts reading. The pass filters on that same field of the same
 * system, so no clock skew between the shop and Passerelle enters; what the margin covers is precision:
 * a payload stamp given to the second (or to the millisecond) against a filter compared to the second,
 * and stamps rounded or converted between time zones on the way. 2 s covers a one-second truncation on
 * each side. It does not cover a shop whose search index lags behind its writes (a record written, its
 * webhook sent, the record not yet found by the filter): the reconciliation window (`overlapSeconds`,
 * every `reconcile.cron`) is what catches those, as it catches lost webhooks.
 */
export const EVENT_WINDOW_MARGIN_MS = 2_000;

/**
 * Where a mass-change pass over `events` starts reading: the oldest event's shop timestamp minus
 * EVENT_WINDOW_MARGIN_MS; an event without one (the vendor did not say when) falls back to when it was
 * received minus the reconciliation overlap, as wide as a reconciliation window.
 */
export function massWindowStart(
  events: Pick<StoredEvent, "occurredAt" | "receivedAt">[],
  overlapSeconds: number,
  now: Date,
): string {
  let start = now.getTime();
  for (const e of events) {
    const occurred = e.occurredAt === null ? Number.NaN : Date.parse(e.occurredAt);
    const from = Number.isFinite(occurred)
      ? occurred - EVENT_WINDOW_MARGIN_MS
      : Date.parse(e.receivedAt) - overlapSeconds * 1000;
    if (from < start) start = from;
  }
  return new Date(start).toISOString();
}

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

/** What one flow's pass over a group of events left undone. */
interface GroupPass {
  note: string;
  /** Record ids not synced, with why; every event of the group when a batch pass failed. */
  unsynced: Map<string, string>;
  /** A batch pass that failed leaves every event of the group undone. */
  failed: string | null;
}

export class EventRuntime {
  readonly #o: EventRuntimeOptions;
  readonly #now: () => Date;
  readonly #marks: MarkStore;

  constructor(opts: EventRuntimeOptions) {
    this.#o = opts;
    this.#now = opts.now ?? (() => new Date());
    this.#marks = opts.marks ?? opts.store.marks({ now: this.#now });
  }

  /** Job handlers for the Worker: inbox drains and reconciliation passes (scheduled runs: flow-jobs.ts). */
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

  /** Enqueues a drain for every group with events due (after a restart, a busy flow, a failed pass). */
  async sweep(): Promise<void> {
    for (const g of await this.#o.inbox.pendingGroups()) await this.notify(g.connection, g.entity);
  }

  /** `scope` of `flow` under its lease; null (logged as `skipped`) when the flow is running elsewhere. */
  async #unlessBusy(
    flow: Flow,
    scope: FlowScope,
    skipped: string,
    signal?: AbortSignal,
  ): Promise<PassResult | null> {
    try {
      return await runFlow({ store: this.#o.store, engine: this.#o.engine }, flow, scope, {
        holder: this.#o.holder,
        ...(this.#o.leaseMs ? { leaseMs: this.#o.leaseMs } : {}),
        ...(this.#o.readConcurrency ? { readConcurrency: this.#o.readConcurrency } : {}),
        ...(this.#o.now ? { now: this.#o.now } : {}),
        ...(signal ? { signal } : {}),
        onTakeOver: (dead) =>
          this.#o.logger?.warn(
            { flow: flow.name, holder: dead },
            "took over the flow's lease from a process that is gone (killed or crashed)",
          ),
        onInterrupted: (runs) =>
          this.#o.logger?.warn(
            { flow: flow.name, runs: runs.map((r) => r.id) },
            "runs left running by a stopped process marked interrupted",
          ),
      });
    } catch (e) {
      if (e instanceof FlowBusyError) {
        this.#o.logger?.info({ flow: flow.name, holder: e.holder }, skipped);
        return null;
      }
      throw e;
    }
  }

  /**
   * Processes the due events of one group; events no flow wants are marked ignored. An event is settled
   * `processed` only when every flow synced its record; otherwise it waits for another pass (see above).
   */
  async drain(connection: string, entity: EntityName | null, signal?: AbortSignal): Promise<void> {
    const flows = this.#flowsFor(connection, entity);
    for (;;) {
      if (signal?.aborted) return;
      const events = await this.#o.inbox.pending(connection, entity, 5000);
      if (events.length === 0) return;
      if (flows.length === 0 || entity === null) {
        const ids = events.map((e) => e.id);
        await this.#o.inbox.settle(ids, "ignored", "no event-driven flow reads this topic");
        continue;
      }
      const results: GroupPass[] = [];
      for (const ef of flows) {
        // When busy, the events stay pending; the periodic sweep asks again once the other pass is done.
        const r = await this.#process(ef, connection, entity, events, signal);
        if (r === null) return;
        results.push(r);
      }
      // Stopped (SIGTERM): what was not synced is not the events' fault; they stay as they were.
      if (signal?.aborted && results.some((r) => r.failed !== null || r.unsynced.size > 0)) return;
      await this.#settle(events, results);
    }
  }

  async #settle(events: StoredEvent[], results: GroupPass[]): Promise<void> {
    const why = (e: StoredEvent): string | null => {
      for (const r of results) {
        if (r.failed !== null) return r.failed;
        const reason = e.recordId === null ? undefined : r.unsynced.get(e.recordId);
        if (reason !== undefined) return reason;
      }
      return null;
    };
    const done: number[] = [];
    const again = new Map<number, StoredEvent[]>();
    const reasons = new Map<number, string>();
    for (const e of events) {
      const reason = why(e);
      if (reason === null) {
        done.push(e.id);
        continue;
      }
      // Grouped by attempt count, so each group gets its own backoff.
      const group = again.get(e.attempts) ?? [];
      group.push(e);
      again.set(e.attempts, group);
      reasons.set(e.attempts, reason);
    }
    await this.#o.inbox.settle(done, "processed", results.map((r) => r.note).join("; "));
    const max = this.#o.maxEventAttempts ?? 10;
    const base = this.#o.eventRetryBaseMs ?? 2_000;
    for (const [attempts, group] of again) {
      const delay = Math.min(EVENT_RETRY_MAX_MS, base * 2 ** attempts);
      const retryAt = new Date(this.#now().getTime() + delay).toISOString();
      const note = `pass ${attempts + 1} could not sync the record: ${reasons.get(attempts)}`;
      const given = await this.#o.inbox.retryLater(
        group.map((e) => e.id),
        note,
        retryAt,
        max,
      );
      const log = { connection: group[0]?.connection, events: group.length, attempt: attempts + 1 };
      if (given > 0)
        this.#o.logger?.warn({ ...log, failed: given }, `events given up after ${max} passes: ${note}`);
      else this.#o.logger?.info({ ...log, retryAt }, `events stay pending: ${note}`);
    }
  }

  async #process(
    ef: EventFlow,
    connection: string,
    entity: EntityName,
    events: StoredEvent[],
    signal?: AbortSignal,
  ): Promise<GroupPass | null> {
    const now = this.#now();
    const lastMinute = await this.#o.inbox.receivedSince(
      connection,
      entity,
      new Date(now.getTime() - 60_000).toISOString(),
    );
    const busy = "flow busy; events stay in the inbox for the next drain";
    if (lastMinute > ef.settings.massThreshold) {
      // From the oldest pending event's shop timestamp, not a reconciliation-wide window: at 50 orders a
      // second, 300 s of overlap re-read 15,000 orders (skipped unchanged, but read) on every pass.
      const since = massWindowStart(events, ef.settings.reconcile.overlapSeconds, now);
      const s = await this.#unlessBusy(ef.flow, { kind: "window", since }, busy, signal);
      if (s === null) return null;
      this.#o.onPass?.("batch", s);
      const failed =
        s.status === "failed" || s.status === "interrupted" ? (s.error?.message ?? s.status) : null;
      return { note: `batch pass (${lastMinute} events in the last minute)`, unsynced: new Map(), failed };
    }
    const recordIds = [...new Set(events.map((e) => e.recordId).filter((id): id is string => id !== null))];
    const s = await this.#unlessBusy(ef.flow, { kind: "records", ids: recordIds }, busy, signal);
    if (s === null) return null;
    this.#o.onPass?.("events", s);
    return {
      note: `${events.length} events, ${recordIds.length} records`,
      unsynced: s.unsynced,
      failed: null,
    };
  }

  /**
   * One reconciliation window of an event flow: from the previous window's start minus the overlap (or
   * everything, the first time) to now. The window's start becomes the mark only when the pass finished.
   */
  async reconcile(name: string, signal?: AbortSignal): Promise<RunSummary | null> {
    const ef = this.#o.eventFlows.find((f) => f.flow.name === name);
    if (!ef) return null;
    const mark = await this.#marks.getMark(`reconcile:${name}`);
    const start = this.#now();
    const since =
      mark === null
        ? null
        : new Date(Date.parse(mark) - ef.settings.reconcile.overlapSeconds * 1000).toISOString();
    const s = await this.#unlessBusy(
      ef.flow,
      { kind: "window", since },
      "reconciliation skipped: the flow is running",
      signal,
    );
    if (s === null) return null;
    if (s.status !== "failed" && s.status !== "interrupted") {
      await this.#marks.setMark(`reconcile:${name}`, start.toISOString());
    }
    this.#o.onPass?.("reconcile", s);
    return s;
  }
}
