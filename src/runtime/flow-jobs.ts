/**
 * The flow jobs: one queue name and one handler per kind of work, shared by `passerelle worker` and
 * `passerelle run`, so a job queued by either process is run by whichever claims it first.
 *
 * - `sync` (payload `{"flow": "<name>"}`, singleton `sync:<name>`): a cursor run of the flow. The worker
 *   queues one per flow every round; `passerelle run`'s scheduler queues one on each `trigger: schedule`
 *   flow's cron. A flow never has two sync jobs queued or running.
 * - `retry-failures` (same payload, singleton `retry-failures:<name>`): retries the flow's failed records
 *   whose error was transient (network, timeout, 5xx, 429), up to `autoRetries` times each.
 * - `flow-run`: the queue `passerelle run` used for scheduled runs before both shared `sync`. A job queued
 *   there by an older version (still in an existing store) is run by the sync handler.
 *
 * Both handlers run the flow through `runFlow` / `retryFlowFailures` (the flow's lease, the flow's retry
 * policy) and pass the job's signal on, so a stopping process ends its run after the batch in flight; the
 * interrupted job goes back to the queue. A flow busy elsewhere skips the job: the next round or cron fire
 * queues it again.
 */
import { asSyncError, SyncError } from "../core/errors.ts";
import type { Flow } from "../engine/flow.ts";
import type { RunSummary, SyncEngine } from "../engine/sync.ts";
import type { FailedRecord, Store } from "../ports/store.ts";
import type { JobHandler, JobSpec } from "./jobs.ts";
import { FlowBusyError, type FlowLeaseOptions, retryFlowFailures, runFlow } from "./run-flow.ts";

export const SYNC_QUEUE = "sync";
export const RETRY_FAILURES_QUEUE = "retry-failures";
/** Scheduled runs queued by `passerelle run` before it shared SYNC_QUEUE; still run, never queued. */
export const LEGACY_FLOW_QUEUE = "flow-run";

/** A cursor run of `flow`, at most one queued or running. */
export function syncJob(flow: string, runAt?: Date): JobSpec {
  return { queue: SYNC_QUEUE, payload: { flow }, singletonKey: `sync:${flow}`, ...(runAt ? { runAt } : {}) };
}

/** Automatic retries of `flow`'s transient failures, at most one queued or running. */
export function retryFailuresJob(flow: string): JobSpec {
  return { queue: RETRY_FAILURES_QUEUE, payload: { flow }, singletonKey: `retry-failures:${flow}` };
}

export interface FlowJobLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface FlowJobDeps {
  store: Store;
  engine: SyncEngine;
  /** A flow by name; throws (a config error) for a name not in the configuration. */
  flow(name: string): Flow;
  logger: FlowJobLogger;
}

export interface FlowJobOptions {
  /** This process's name in leases. */
  holder: string;
  /** How long a flow lease outlives a silent holder (default: runFlow's). */
  leaseMs?: number;
  /** Times a transiently failed record is retried automatically before it waits for an operator. */
  autoRetries: number;
  /** Told after each sync job's run. */
  onRun?: (summary: RunSummary) => void;
  /** Told after each job whether it found nothing to do (`sync:<flow>` or `retry:<flow>`). */
  onIdle?: (key: string, idle: boolean) => void;
}

/** The flow a sync or retry-failures job names; a flow gone from the configuration is a config error. */
function flowOfPayload(deps: FlowJobDeps, payload: unknown, jobId: number | string): Flow {
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
  return deps.flow(name);
}

const TRANSIENT = new Set(["retryable", "rate_limited"]);

/** A retry that could not even start keeps the new error, so a permanent one waits for an operator. */
async function recordRetryError(store: Store, f: FailedRecord, err: SyncError): Promise<void> {
  const run = await store.startRun(f.flow, "retry");
  await store.commitPage({
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
  await store.finishRun(run.id, "partial", err.message);
}

/** Handlers of the sync, retry-failures and (legacy) flow-run queues; see the module comment. */
export function flowJobHandlers(deps: FlowJobDeps, opts: FlowJobOptions): Record<string, JobHandler> {
  const { logger } = deps;
  const lease = (signal: AbortSignal): FlowLeaseOptions => ({
    holder: opts.holder,
    ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}),
    signal,
    onTakeOver: (dead) =>
      logger.warn(
        { holder: dead },
        "took over a flow's lease from a process that is gone (killed or crashed)",
      ),
    onInterrupted: (runs) =>
      logger.warn(
        { runs: runs.map((r) => r.id) },
        "runs left running by a stopped process marked interrupted",
      ),
  });
  const busy = (e: unknown, flow: string, job: number | string): boolean => {
    if (!(e instanceof FlowBusyError)) return false;
    logger.info({ job, flow, holder: e.holder }, "flow busy; job skipped");
    return true;
  };
  const sync: JobHandler = async (payload, job, signal) => {
    const flow = flowOfPayload(deps, payload, job.id);
    let s: RunSummary;
    try {
      s = await runFlow(deps, flow, { kind: "cursor" }, lease(signal));
    } catch (e) {
      if (busy(e, flow.name, job.id)) return;
      throw e;
    }
    logger.info(
      { job: job.id, flow: flow.name, runId: s.runId, status: s.status, counts: s.counts },
      "run finished",
    );
    opts.onRun?.(s);
    if (s.status === "interrupted") {
      // Not done: the worker hands the job back when stopping, or retries it (a lost lease).
      throw new SyncError("retryable", `run ${s.runId} of flow ${flow.name} was interrupted`);
    }
    if (s.status === "failed" && s.error) throw s.error;
    opts.onIdle?.(`sync:${flow.name}`, s.counts.created + s.counts.updated + s.counts.failed === 0);
  };
  const retryFailures: JobHandler = async (payload, job, signal) => {
    const flow = flowOfPayload(deps, payload, job.id);
    let retryable: SyncError | null = null;
    let due = 0;
    let results: Awaited<ReturnType<typeof retryFlowFailures>>;
    try {
      results = await retryFlowFailures(
        deps,
        flow,
        async () => {
          const open = await deps.store.listFailures({ flow: flow.name, status: "open", limit: 500 });
          const picked = open.filter((f) => TRANSIENT.has(f.errorKind) && f.attempts <= opts.autoRetries);
          due = picked.length;
          return picked;
        },
        {
          ...lease(signal),
          actor: opts.holder,
          onError: async (f, e) => {
            const err = asSyncError(e, flow.source.name);
            if (err.retryable) retryable ??= err;
            else await recordRetryError(deps.store, f, err);
          },
        },
      );
    } catch (e) {
      if (busy(e, flow.name, job.id)) return;
      throw e;
    }
    if (retryable) throw retryable;
    const fixed = results.filter((r) => r.ok && r.outcome.ok).length;
    if (due > 0) logger.info({ job: job.id, flow: flow.name, due, fixed }, "transient failures retried");
    if (signal.aborted && results.length < due) throw new SyncError("retryable", "stopped");
    opts.onIdle?.(`retry:${flow.name}`, due === 0);
  };
  return { [SYNC_QUEUE]: sync, [RETRY_FAILURES_QUEUE]: retryFailures, [LEGACY_FLOW_QUEUE]: sync };
}
