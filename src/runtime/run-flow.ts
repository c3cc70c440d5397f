/**
 * The one way a flow is run for real. Every entry point — `passerelle sync`, the worker's jobs, the event
 * runtime of `passerelle run` (drains, reconciliation, schedules) and retries from the failed-records inbox —
 * goes through `withFlowLease`, so none can forget the lease `flow:<name>`: a flow's records are written by
 * one holder at a time, across processes. (`passerelle plan` writes nothing and takes no lease.)
 *
 * Taking the lease also settles what a dead holder left: while the lease is held, no other process runs the
 * flow, so any run of it still marked `running` belongs to a process that died or lost the lease; it is
 * marked `interrupted`, saying when and by whom it was found. A run stopped on purpose (SIGTERM, Ctrl-C) is
 * recorded `interrupted` by its own process.
 *
 * `passerelle plan` goes through `runFlow` too, with `dryRun`: a dry run only reads and writes nothing, so it
 * takes no lease (a plan may be made while the flow runs elsewhere). Nothing outside src/runtime and
 * src/engine calls the engine's `run` directly (run-entry.test.ts checks).
 */
import { SyncError } from "../core/errors.ts";
import { retryFailure } from "../engine/failures.ts";
import type { Flow } from "../engine/flow.ts";
import type { RetryPolicy } from "../engine/retry.ts";
import type { PlanLine, Progress, SyncEngine } from "../engine/sync.ts";
import { isTwoWay, type RestoreOutcome, TwoWayRunner } from "../engine/two-way.ts";
import type { FailedRecord, Run, Store } from "../ports/store.ts";
import { holderProcessGone, leaseHolder, takeOverLease, withLease } from "./leases.ts";
import { type PassResult, recordPass, windowPass } from "./passes.ts";

/** How long a flow lease outlives a holder that stopped renewing it (renewed every third). */
export const DEFAULT_FLOW_LEASE_MS = 60_000;

/**
 * How long a lease whose holder process is gone (same host, pid no longer exists) is left before it is taken
 * over: a write the dead process had already sent may still be landing at the target, and the next holder's
 * lookups must find it.
 */
export const DEAD_HOLDER_SETTLE_MS = 2_000;

export class FlowBusyError extends Error {
  constructor(
    readonly flow: string,
    /** Who holds the lease (null: it was released meanwhile). */
    readonly holder: string | null,
    waitedMs: number,
  ) {
    super(
      `flow ${flow} is running elsewhere (lease flow:${flow} held by ${holder ?? "another process"})${
        waitedMs > 0 ? `; waited ${Math.round(waitedMs / 1000)} s` : ""
      }; nothing was run for it`,
    );
    this.name = "FlowBusyError";
  }
}

export interface FlowLeaseOptions {
  /** This process's name in leases; each pass adds `#n`, so two passes in one process exclude each other. */
  holder: string;
  /** Default DEFAULT_FLOW_LEASE_MS. */
  leaseMs?: number;
  /** How long to wait for a busy flow before FlowBusyError (default 0: at once). */
  waitMs?: number;
  /** Between two tries while waiting (default 500 ms). */
  pollMs?: number;
  /** Asks the work to stop (SIGTERM, Ctrl-C); also ends a wait for the lease (FlowBusyError). */
  signal?: AbortSignal;
  now?: () => Date;
  /** Told once, when the flow is found held and `waitMs` lets it wait. */
  onBusy?: (holder: string | null) => void;
  /** Told when the lease was taken over from a holder whose process is gone (killed, crashed). */
  onTakeOver?: (deadHolder: string) => void;
  /** Default DEAD_HOLDER_SETTLE_MS. */
  deadHolderSettleMs?: number;
  /** Runs found `running` and marked interrupted when the lease was taken. */
  onInterrupted?: (runs: Run[]) => void;
}

let passes = 0;
/** Flows this process holds right now, for `abandonHeldFlows`. */
const held = new Map<string, { store: Store; flow: string }>();

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", finish);
      done();
    }
    signal?.addEventListener("abort", finish, { once: true });
  });
}

/**
 * Runs `work` holding `flow:<flow>`; its signal aborts on `opts.signal` or when the lease is lost. Throws
 * FlowBusyError when the flow stays held elsewhere for `waitMs`.
 */
export async function withFlowLease<T>(
  store: Store,
  flow: string,
  opts: FlowLeaseOptions,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const name = `flow:${flow}`;
  const holder = `${opts.holder}#${++passes}`;
  const leaseMs = opts.leaseMs ?? DEFAULT_FLOW_LEASE_MS;
  const clock = opts.now ? { now: opts.now } : {};
  const started = Date.now();
  let told = false;
  const run = async (lost: AbortSignal): Promise<T> => {
    held.set(holder, { store, flow });
    try {
      const now = (opts.now?.() ?? new Date()).toISOString();
      const gone = await store.interruptRuns(
        flow,
        `interrupted: the process running it stopped before the end (its lease ${name} ran out or its process was gone); found by ${holder} at ${now}`,
      );
      if (gone.length > 0) opts.onInterrupted?.(gone);
      return await work(opts.signal ? AbortSignal.any([opts.signal, lost]) : lost);
    } finally {
      held.delete(holder);
    }
  };
  for (;;) {
    const ran = await withLease(store, name, holder, leaseMs, run, clock);
    if (ran) return ran.value;
    // A holder killed on this host (kill -9, out of memory) never gives its lease back: after a short
    // settle, take it over instead of making the next run wait out the whole lease.
    const current = await leaseHolder(store, name, clock);
    if (current && holderProcessGone(current)) {
      await pause(opts.deadHolderSettleMs ?? DEAD_HOLDER_SETTLE_MS, opts.signal);
      if (opts.signal?.aborted) throw new FlowBusyError(flow, current, Date.now() - started);
      if (holderProcessGone(current) && (await takeOverLease(store, name, current, holder, leaseMs, clock))) {
        opts.onTakeOver?.(current);
        const taken = await withLease(store, name, holder, leaseMs, run, clock);
        if (taken) return taken.value;
      }
      continue;
    }
    const waited = Date.now() - started;
    const left = (opts.waitMs ?? 0) - waited;
    if (left <= 0 || opts.signal?.aborted) {
      throw new FlowBusyError(flow, current ?? (await leaseHolder(store, name, clock)), waited);
    }
    if (!told) opts.onBusy?.(current);
    told = true;
    await pause(Math.min(left, opts.pollMs ?? 500), opts.signal);
  }
}

/**
 * Records every run of a flow this process still holds as interrupted, for a process about to exit with
 * work in flight (its grace period ran out, or a second Ctrl-C). The leases themselves are kept until they
 * expire: a write already sent may still land, and the next holder must not look for it before then.
 */
export async function abandonHeldFlows(reason: string): Promise<Run[]> {
  const out: Run[] = [];
  for (const { store, flow } of held.values()) {
    out.push(...(await store.interruptRuns(flow, `interrupted: ${reason}`).catch(() => [])));
  }
  held.clear();
  return out;
}

export interface FlowDeps {
  store: Store;
  engine: SyncEngine;
}

/** What a flow run covers. */
export type FlowScope =
  /** From the flow's cursor to the end of its source (or `maxPages`); moves the cursor. */
  | { kind: "cursor"; maxPages?: number; onProgress?: (p: Progress) => void }
  /** These records, read afresh from the source (webhook events). */
  | { kind: "records"; ids: string[] }
  /** Every record changed since `since` (null: all): reconciliation and mass changes. */
  | { kind: "window"; since: string | null };

export interface RunFlowOptions extends FlowLeaseOptions {
  /** Default: the flow's own policy (`flow.retry`). */
  retry?: RetryPolicy;
  /** Records read at once from the source by a records pass. */
  readConcurrency?: number;
}

/** A dry run: what a cursor run would do, written nowhere; see the module comment. */
export interface DryRunOptions {
  dryRun: true;
  /** Told every planned record. */
  onPlan?: (line: PlanLine) => void;
  /** Default: the flow's own policy (`flow.retry`). */
  retry?: RetryPolicy;
  signal?: AbortSignal;
  now?: () => Date;
}

/**
 * Runs `work` and adds the API calls it made to each of the flow's connections to today's counters
 * (api_calls: cost per connection, day and flow). Counted from the connectors' own call counters, so two
 * flows of one process sharing a connection at the same moment each count the other's calls too.
 */
async function countingCalls<T>(store: Store, flow: Flow, work: () => Promise<T>): Promise<T> {
  const systems = flow.source === flow.target ? [flow.source] : [flow.source, flow.target];
  const before = systems.map((c) => c.stats().calls);
  const record = () =>
    store.access().addCalls(
      systems.map((c, i) => ({
        connection: c.name,
        flow: flow.name,
        calls: c.stats().calls - (before[i] ?? 0),
      })),
      new Date().toISOString().slice(0, 10),
    );
  let result: T;
  try {
    result = await work();
  } catch (e) {
    // The run's own error is the news; a store that cannot count its calls now says so on the next call.
    await record().catch(() => undefined);
    throw e;
  }
  await record();
  return result;
}

/** Runs one flow over `scope` under its lease (a dry run: without one); see the module comment. */
export function runFlow(
  deps: FlowDeps,
  flow: Flow,
  scope: FlowScope,
  opts: RunFlowOptions | DryRunOptions,
): Promise<PassResult> {
  return countingCalls(deps.store, flow, () => runFlowUncounted(deps, flow, scope, opts));
}

async function runFlowUncounted(
  deps: FlowDeps,
  flow: Flow,
  scope: FlowScope,
  opts: RunFlowOptions | DryRunOptions,
): Promise<PassResult> {
  if (isTwoWay(flow) && scope.kind !== "cursor") {
    throw new SyncError(
      "config",
      `flow ${flow.name} is two-way: it runs from its cursors only (passerelle sync, plan, schedules); webhook events and reconciliation windows do not cover two-way flows yet`,
    );
  }
  if ("dryRun" in opts) {
    if (scope.kind !== "cursor") {
      throw new Error(`flow ${flow.name}: a dry run covers the cursor scope only, got scope ${scope.kind}`);
    }
    const retry = opts.retry ?? flow.retry;
    const runner = isTwoWay(flow) ? new TwoWayRunner(deps.store, deps.engine) : deps.engine;
    const s = await runner.run(flow, {
      dryRun: true,
      ...(opts.onPlan ? { onPlan: opts.onPlan } : {}),
      ...(retry ? { retry } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      ...(scope.maxPages ? { maxPages: scope.maxPages } : {}),
      ...(scope.onProgress ? { onProgress: scope.onProgress } : {}),
    });
    return { ...s, unsynced: new Map() };
  }
  return withFlowLease(deps.store, flow.name, opts, async (signal) => {
    const retry = opts.retry ?? flow.retry;
    const pass = {
      signal,
      ...(retry ? { retry } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    };
    switch (scope.kind) {
      case "cursor": {
        if (isTwoWay(flow)) {
          const s = await new TwoWayRunner(deps.store, deps.engine).run(flow, {
            ...pass,
            ...(scope.onProgress ? { onProgress: scope.onProgress } : {}),
          });
          return { ...s, unsynced: new Map() };
        }
        const s = await deps.engine.run(flow, {
          ...pass,
          ...(scope.maxPages ? { maxPages: scope.maxPages } : {}),
          ...(scope.onProgress ? { onProgress: scope.onProgress } : {}),
        });
        return { ...s, unsynced: new Map() };
      }
      case "records":
        return recordPass(deps, flow, scope.ids, {
          ...pass,
          ...(opts.readConcurrency ? { readConcurrency: opts.readConcurrency } : {}),
        });
      case "window":
        return windowPass(deps, flow, scope.since, pass);
    }
  });
}

/** Resolves a held two-way conflict under the flow's lease (see TwoWayRunner.resolve). */
export async function resolveConflict(
  deps: FlowDeps,
  flow: Flow,
  failure: FailedRecord,
  take: Parameters<TwoWayRunner["resolve"]>[2],
  opts: FlowLeaseOptions & { retry?: RetryPolicy; actor?: string },
): Promise<{ written: string[] }> {
  return withFlowLease(deps.store, flow.name, opts, async (signal) => {
    const retry = opts.retry ?? flow.retry;
    return new TwoWayRunner(deps.store, deps.engine).resolve(flow, failure, take, {
      signal,
      ...(retry ? { retry } : {}),
      ...(opts.actor ? { actor: opts.actor } : {}),
    });
  });
}

/** Lifts a two-way record's tombstone under the flow's lease (see TwoWayRunner.restore). */
export async function restoreRemoved(
  deps: FlowDeps,
  flow: Flow,
  key: string,
  opts: FlowLeaseOptions & { retry?: RetryPolicy; actor?: string },
): Promise<RestoreOutcome> {
  return withFlowLease(deps.store, flow.name, opts, async (signal) => {
    const retry = opts.retry ?? flow.retry;
    return new TwoWayRunner(deps.store, deps.engine).restore(flow, key, {
      signal,
      ...(retry ? { retry } : {}),
      ...(opts.actor ? { actor: opts.actor } : {}),
    });
  });
}

export type RetryResult =
  | { failure: FailedRecord; ok: true; outcome: Awaited<ReturnType<typeof retryFailure>> }
  | { failure: FailedRecord; ok: false; error: SyncError | Error };

/**
 * Retries records of one flow's failed-records inbox under the flow's lease, one by one, stopping between
 * two records when the signal aborts. `failures` may be a loader, called once the lease is held, so the list
 * is read when nobody else can be retrying it. A record whose retry cannot even start (its source record is
 * gone) is reported with the error — and handed to `onError` while the lease is still held; the others are
 * still retried.
 */
export async function retryFlowFailures(
  deps: FlowDeps,
  flow: Flow,
  failures: FailedRecord[] | (() => Promise<FailedRecord[]>),
  opts: FlowLeaseOptions & {
    /** Default: the flow's own policy (`flow.retry`). */
    retry?: RetryPolicy;
    resync?: boolean;
    actor?: string;
    onError?: (failure: FailedRecord, error: Error) => Promise<void>;
  },
): Promise<RetryResult[]> {
  return countingCalls(deps.store, flow, () => retryUnderLease(deps, flow, failures, opts));
}

async function retryUnderLease(
  deps: FlowDeps,
  flow: Flow,
  failures: FailedRecord[] | (() => Promise<FailedRecord[]>),
  opts: Parameters<typeof retryFlowFailures>[3],
): Promise<RetryResult[]> {
  return withFlowLease(deps.store, flow.name, opts, async (signal) => {
    const out: RetryResult[] = [];
    const todo = typeof failures === "function" ? await failures() : failures;
    const retry = opts.retry ?? flow.retry;
    for (const f of todo) {
      if (signal.aborted) break;
      try {
        if (isTwoWay(flow)) {
          // Both sides read afresh and merged again (a held conflict is refused: failures resolve settles it).
          const outcome = await new TwoWayRunner(deps.store, deps.engine).retry(flow, f, {
            signal,
            ...(retry ? { retry } : {}),
            ...(opts.actor ? { actor: opts.actor } : {}),
          });
          out.push({ failure: f, ok: true, outcome });
          continue;
        }
        const outcome = await retryFailure(deps.engine, deps.store, flow, f, {
          ...(retry ? { retry } : {}),
          ...(opts.resync ? { resync: true } : {}),
          ...(opts.actor ? { actor: opts.actor } : {}),
        });
        out.push({ failure: f, ok: true, outcome });
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        await opts.onError?.(f, error);
        out.push({ failure: f, ok: false, error });
      }
    }
    return out;
  });
}
