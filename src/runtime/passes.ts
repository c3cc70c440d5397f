/**
 * Passes of a flow that move no cursor: the records a batch of webhook events names, read afresh from the
 * source, and every record changed in a time window (reconciliation, mass changes). Like a cursor run
 * (`SyncEngine.run`), each pass is a run of its own, committed a page at a time, and stops between pages
 * when its signal aborts (the run is then `interrupted`). Only `runFlow` calls these, under the flow's lease.
 */
import { asSyncError, SyncError } from "../core/errors.ts";
import type { Flow } from "../engine/flow.ts";
import type { RetryPolicy } from "../engine/retry.ts";
import {
  emptySummary,
  type Prepared,
  prepare,
  ReadAhead,
  type RunSummary,
  type SyncEngine,
} from "../engine/sync.ts";
import { requireStream, type Stream } from "../ports/connector.ts";
import type { Store } from "../ports/store.ts";

export interface PassDeps {
  store: Store;
  engine: SyncEngine;
}

export interface PassOptions {
  signal?: AbortSignal;
  retry?: RetryPolicy;
  now?: () => Date;
  /** Records read at once from the source by a records pass (default 8). */
  readConcurrency?: number;
}

export interface PassResult extends RunSummary {
  /**
   * Records pass: the ids asked for that were not synced (their read failed, or the pass stopped before
   * their page was committed), each with the reason. Empty when every record was written, skipped as
   * unchanged, quarantined in the failed-records inbox, or is gone from the source.
   */
  unsynced: Map<string, string>;
}

/** Why a pass stopped early, for the run's error and the CLI. */
export function stopReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  const text = r instanceof Error ? r.message : typeof r === "string" ? r : "stop requested";
  return `interrupted: ${text}`;
}

/** Reads the given records afresh from the source and syncs them, a batch at a time (no cursor move). */
export async function recordPass(
  deps: PassDeps,
  flow: Flow,
  recordIds: string[],
  opts: PassOptions = {},
): Promise<PassResult> {
  const ids = [...new Set(recordIds)];
  const done = new Set<string>();
  const readErrors = new Map<string, string>();
  const result = await pass(deps, flow, opts, async (stream, commit) => {
    const width = opts.readConcurrency ?? 8;
    const natives: { id: string; native: unknown }[] = [];
    for (let i = 0; i < ids.length && !opts.signal?.aborted; i += width) {
      const slice = ids.slice(i, i + width);
      const got = await Promise.allSettled(slice.map((id) => stream.get(id)));
      got.forEach((r, j) => {
        const id = slice[j] as string;
        if (r.status === "rejected") readErrors.set(id, asSyncError(r.reason, flow.source.name).message);
        else if (r.value === null)
          done.add(id); // gone from the source: nothing left to sync
        else natives.push({ id, native: r.value });
      });
    }
    for (let i = 0; i < natives.length && !opts.signal?.aborted; i += flow.batchSize) {
      const batch = natives.slice(i, i + flow.batchSize);
      await commit(await Promise.all(batch.map((n) => prepare(flow, stream, n.native))));
      for (const n of batch) done.add(n.id);
    }
    if (readErrors.size > 0 && !opts.signal?.aborted) {
      const [first] = readErrors.values();
      throw new SyncError(
        "retryable",
        `${readErrors.size} of ${ids.length} records could not be read from ${flow.source.name}: ${first}`,
        { system: flow.source.name },
      );
    }
  });
  const why = result.error?.message ?? (result.status === "interrupted" ? "interrupted" : "not synced");
  for (const id of ids) if (!done.has(id)) result.unsynced.set(id, readErrors.get(id) ?? why);
  return result;
}

/** Reads every source record changed since `since` (null: all), paged, and syncs them; no cursor move. */
export async function windowPass(
  deps: PassDeps,
  flow: Flow,
  since: string | null,
  opts: PassOptions = {},
): Promise<PassResult> {
  const now = opts.now ?? (() => new Date());
  const marks = deps.store.marks();
  return pass(deps, flow, opts, async (stream, commit) => {
    // One page of read-ahead, as a cursor run has (SyncEngine.run): the next page is read from the source
    // and mapped while this one is written, so the shop's round trip overlaps the ERP's. Pages are still
    // written and committed one at a time, in order; a failed read surfaces when its page is reached,
    // after the pages before it are committed; the read-ahead is dropped when the pass stops.
    const ahead = new ReadAhead(
      () =>
        stream.list({
          since: since === null ? null : { updatedAt: since, id: "" },
          signpost: now().toISOString(),
          pageSize: flow.batchSize,
          ...(opts.signal ? { signal: opts.signal } : {}),
          marks,
        }),
      async (page: unknown[]) => ({
        page,
        prepared: await Promise.all(page.map((n) => prepare(flow, stream, n))),
      }),
    );
    // Pages are gathered up to `batchSize` records before they are written: a source may page smaller than
    // the flow's batch (the Shopify order stream fits each page to the query's cost budget, about five
    // orders), and the target's cost is per write batch (the Odoo order writer: four calls, whatever its
    // size). Nothing read is written after a stop; what was gathered is read again by a later pass.
    //
    // One gathered batch is written while the next is read and gathered: the shop's page reads overlap the
    // ERP's writes. Batches are still applied and committed one at a time, in order (a batch is planned
    // only once the one before it is committed, so it sees that batch's links), and at most one batch is
    // gathered ahead. A write that fails surfaces when the next batch is handed over, or at the end.
    let gathered: { page: unknown[]; prepared: Prepared[] }[] = [];
    let size = 0;
    let writing: Promise<void> | null = null;
    const settle = async () => {
      const w = writing;
      writing = null;
      if (w) await w;
    };
    const handOver = async () => {
      await settle();
      if (gathered.length === 0) return;
      const pages = gathered;
      gathered = [];
      size = 0;
      writing = (async () => {
        await commit(pages.flatMap((p) => p.prepared));
        // As in a sync run: a stream consumes what it read (a file) only once its page is committed.
        for (const p of pages) await stream.committed?.(p.page, marks);
      })();
      // Observed by the next settle(); until then a rejection must not count as unhandled.
      writing.catch(() => undefined);
    };
    try {
      while (!opts.signal?.aborted) {
        const read = await ahead.next();
        if (read === undefined) break;
        if (!opts.signal?.aborted) ahead.prefetch();
        gathered.push(read);
        size += read.page.length;
        if (size >= flow.batchSize) await handOver();
      }
      if (!opts.signal?.aborted) await handOver();
      await settle();
    } catch (e) {
      // A failed read surfaces after the batch being written is committed (or with that batch's failure,
      // which came first).
      await settle();
      throw e;
    } finally {
      await ahead.close().catch(() => undefined);
    }
  });
}

/**
 * One run of `flow` that moves no cursor: `read` commits the pages it prepares; the run ends succeeded,
 * partial (some records failed), failed (it threw) or interrupted (its signal aborted), with its counts.
 */
async function pass(
  deps: PassDeps,
  flow: Flow,
  opts: PassOptions,
  read: (stream: Stream, commit: (prepared: Prepared[]) => Promise<void>) => Promise<void>,
): Promise<PassResult> {
  const stream = requireStream(flow.source, flow.entity);
  const run = await deps.store.startRun(flow.name, "sync");
  const summary: PassResult = { ...emptySummary(run.id, flow.name, "sync"), unsynced: new Map() };
  const started = performance.now();
  const callsBefore = flow.source.stats().calls + flow.target.stats().calls;
  const commit = async (prepared: Prepared[]) => {
    const result = await deps.engine.apply(flow, prepared, {
      runId: run.id,
      summary,
      ...(opts.retry ? { retry: opts.retry } : {}),
    });
    await deps.store.commitPage({ flow: flow.name, runId: run.id, ...result });
    for (const k of ["read", "created", "updated", "skipped", "failed"] as const)
      summary.counts[k] += result.counts[k] ?? 0;
  };
  try {
    await read(stream, commit);
    summary.status = summary.counts.failed > 0 ? "partial" : "succeeded";
  } catch (e) {
    summary.error = asSyncError(e, flow.source.name);
    summary.status = "failed";
  }
  let message = summary.error?.message ?? null;
  if (opts.signal?.aborted) {
    summary.status = "interrupted";
    message = stopReason(opts.signal);
  }
  summary.counts.calls = flow.source.stats().calls + flow.target.stats().calls - callsBefore;
  summary.durationMs = Math.round(performance.now() - started);
  await deps.store.commitPage({
    flow: flow.name,
    runId: run.id,
    links: [],
    events: [],
    failures: [],
    resolvedKeys: [],
    completedIntents: [],
    counts: { calls: summary.counts.calls },
  });
  await deps.store.finishRun(run.id, summary.status, message);
  return summary;
}
