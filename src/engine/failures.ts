/**
 * Actions on the failed-records inbox. Each is recorded in the record's trace, so the lineage shows who
 * retried, edited or skipped it and what came of it.
 */
import { SyncError } from "../core/errors.ts";
import { type Canonical, SCHEMAS } from "../core/model.ts";
import { requireStream } from "../ports/connector.ts";
import type { FailedRecord, Store, SyncEvent } from "../ports/store.ts";
import type { Flow } from "./flow.ts";
import { emptySummary, type Prepared, prepare, type SyncEngine, type SyncOptions } from "./sync.ts";

export interface RetryOutcome {
  id: number;
  key: string;
  ok: boolean;
  action: "created" | "updated" | "skipped" | "failed" | "held";
  message: string | null;
}

/** The record as it will be retried: the (possibly edited) mapped payload, or a fresh read from the source. */
async function reprepare(flow: Flow, failure: FailedRecord, resync: boolean): Promise<Prepared> {
  if (resync || failure.mappedPayload === null || failure.mappedPayload === undefined) {
    const stream = requireStream(flow.source, flow.entity);
    const native = await stream.get(failure.sourceId);
    if (native === null) {
      throw new SyncError(
        "permanent",
        `${flow.source.name} no longer has ${flow.entity} ${failure.sourceId}`,
        {
          system: flow.source.name,
        },
      );
    }
    return prepare(flow, stream, native);
  }
  const parsed = SCHEMAS[flow.entity].safeParse(failure.mappedPayload);
  const stamped = parsed.success ? (parsed.data as { updatedAt?: unknown }).updatedAt : undefined;
  const base = {
    key: failure.key,
    sourceId: failure.sourceId,
    // The record's own stamp, so a stale stock level retried from the inbox is still recognised as stale.
    updatedAt: typeof stamped === "string" ? stamped : new Date().toISOString(),
    native: failure.sourcePayload,
    filtered: false,
  };
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") ?? "";
    return {
      ...base,
      canonical: null,
      mapped: null,
      error: new SyncError(
        "data",
        `edited record is not a valid ${flow.entity}: ${field}: ${issue?.message}`,
        { field },
      ),
    };
  }
  const record = parsed.data as Canonical;
  return { ...base, canonical: record, mapped: record, error: null };
}

export async function retryFailure(
  engine: SyncEngine,
  store: Store,
  flow: Flow,
  failure: FailedRecord,
  opts: SyncOptions & { resync?: boolean; actor?: string } = {},
): Promise<RetryOutcome> {
  if (failure.status === "resolved" || failure.status === "skipped") {
    throw new SyncError("config", `failure ${failure.id} is already ${failure.status}; nothing to retry`);
  }
  const run = await store.startRun(flow.name, "retry");
  const summary = emptySummary(run.id, flow.name, "retry");
  await store.appendEvents([
    {
      runId: run.id,
      flow: flow.name,
      entity: flow.entity,
      key: failure.key,
      system: flow.target.name,
      externalId: null,
      kind: "retried",
      message: `${opts.resync ? "resync from source" : "retry"} of failure ${failure.id} (attempt ${failure.attempts + 1})`,
      detail: { failureId: failure.id, actor: opts.actor ?? null },
    },
  ]);
  let outcome: RetryOutcome;
  try {
    const prepared = await reprepare(flow, failure, opts.resync ?? false);
    const result = await engine.apply(flow, [prepared], { ...opts, runId: run.id, summary });
    await store.commitPage({ flow: flow.name, runId: run.id, ...result });
    const failed = result.failures[0];
    outcome = failed
      ? {
          id: failure.id,
          key: failure.key,
          ok: false,
          action: failed.errorKind === "hold" ? "held" : "failed",
          message: failed.errorMessage,
        }
      : {
          id: failure.id,
          key: failure.key,
          ok: true,
          action:
            (result.counts.created ?? 0) > 0
              ? "created"
              : (result.counts.updated ?? 0) > 0
                ? "updated"
                : "skipped",
          message: null,
        };
    if (outcome.ok && result.resolvedKeys.length === 0) {
      // Unchanged since last written (the hash matched): the record is in place, the failure is moot.
      await store.updateFailure(failure.id, {
        status: "resolved",
        reason: "already up to date in the target",
      });
    }
    await store.finishRun(run.id, outcome.ok ? "succeeded" : "partial");
  } catch (e) {
    await store.finishRun(run.id, "failed", e instanceof Error ? e.message : String(e));
    throw e;
  }
  return outcome;
}

/** A lineage event about a failed record, written by an operator's action on it. */
function actionEvent(failure: FailedRecord, kind: SyncEvent["kind"], message: string, actor?: string) {
  return {
    runId: null,
    flow: failure.flow,
    entity: failure.entity,
    key: failure.key,
    system: failure.sourceSystem,
    externalId: null,
    kind,
    message,
    detail: { failureId: failure.id, actor: actor ?? null },
  };
}

export async function skipFailure(
  store: Store,
  failure: FailedRecord,
  reason: string,
  actor?: string,
): Promise<void> {
  if (!reason.trim()) throw new SyncError("config", "skip needs a reason (--reason)", { field: "reason" });
  await store.updateFailure(failure.id, { status: "skipped", reason });
  await store.appendEvents([actionEvent(failure, "resolved", `skipped: ${reason}`, actor)]);
}

export async function editFailure(
  store: Store,
  failure: FailedRecord,
  mappedPayload: unknown,
  actor?: string,
): Promise<void> {
  await store.updateFailure(failure.id, { mappedPayload });
  await store.appendEvents([actionEvent(failure, "edited", "mapped payload edited", actor)]);
}

/**
 * Marks a failed record resolved by hand: an operator fixed it in the target (or found it was never
 * needed) and says how. Unlike skip, the record counts as done rather than left out.
 */
export async function resolveFailure(
  store: Store,
  failure: FailedRecord,
  reason: string,
  actor?: string,
): Promise<void> {
  if (!reason.trim()) throw new SyncError("config", "resolve needs a reason (--reason)", { field: "reason" });
  if (failure.status === "resolved" || failure.status === "skipped") {
    throw new SyncError("config", `failure ${failure.id} is already ${failure.status}`);
  }
  if (failure.errorKind === "conflict") {
    // Closing it by hand would leave the record held in the flow's two-way state, never merged again.
    throw new SyncError(
      "config",
      `failure ${failure.id} is a held two-way conflict: resolve it by the version to take (passerelle failures resolve ${failure.id} --take <side or file>), not by a reason`,
      { field: "reason" },
    );
  }
  await store.updateFailure(failure.id, { status: "resolved", reason });
  await store.appendEvents([actionEvent(failure, "resolved", `resolved by hand: ${reason}`, actor)]);
}
