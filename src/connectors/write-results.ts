/** Per-record write results: one record's refusal never fails its siblings. */
import { SyncError } from "../core/errors.ts";
import type { WriteResult } from "../ports/connector.ts";

/** A record's failed result, its error naming the system and (where known) the field. */
export function failed(
  key: string,
  kind: SyncError["kind"],
  message: string,
  system: string,
  field?: string,
): WriteResult {
  return { key, ok: false, error: new SyncError(kind, message, { system, field }) };
}

/**
 * Runs one record's step so its own SyncError becomes its result. A failure of the system itself
 * (unreachable, credentials, rate limit) would fail every sibling alike, so it stops the batch.
 * `recover` turns a connector's own errors into the record's result first, where it knows them.
 */
export async function perItem(
  key: string,
  system: string,
  step: () => Promise<WriteResult>,
  recover?: (err: unknown) => WriteResult | undefined,
): Promise<WriteResult> {
  try {
    return await step();
  } catch (err) {
    const own = recover?.(err);
    if (own) return own;
    if (
      err instanceof SyncError &&
      (err.kind === "config" || err.kind === "retryable" || err.kind === "rate_limited")
    ) {
      throw err;
    }
    const e =
      err instanceof SyncError ? err : new SyncError("permanent", String(err), { system, cause: err });
    return { key, ok: false, error: e };
  }
}

/** A record's row waiting for a request that carries many records. */
export interface Pending<R> {
  key: string;
  targetId: string;
  created: boolean;
  row: R;
}

/** Queues a record's row; a later record of the page for the same target replaces the earlier one. */
export function queueLast<R>(send: Pending<R>[], pending: Pending<R>): void {
  const twin = send.findIndex((s) => s.targetId === pending.targetId);
  if (twin >= 0) send.splice(twin, 1);
  send.push(pending);
}

/**
 * Sends the queued rows `size` per request. A request the system refuses as bad data fails the records
 * it carried and the next goes on; any other failure (unreachable, credentials, rate limit) stops the batch.
 */
export async function sendChunks<R>(
  send: readonly Pending<R>[],
  size: number,
  results: Map<string, WriteResult>,
  request: (rows: R[]) => Promise<unknown>,
  explain: (err: unknown) => unknown,
): Promise<void> {
  for (let at = 0; at < send.length; at += size) {
    const chunk = send.slice(at, at + size);
    try {
      await request(chunk.map((c) => c.row));
    } catch (err) {
      const e = explain(err);
      if (e instanceof SyncError && (e.kind === "permanent" || e.kind === "data")) {
        for (const c of chunk) results.set(c.key, { key: c.key, ok: false, error: e });
        continue;
      }
      throw e;
    }
    for (const c of chunk)
      results.set(c.key, {
        key: c.key,
        ok: true,
        targetId: c.targetId,
        action: c.created ? "created" : "updated",
      });
  }
}

/**
 * The records of the page with no result yet were replaced by a later record for the same target
 * (`sameTarget`): they are unchanged, pointing at that target.
 */
export function settleReplaced<I extends { key: string }, R>(
  items: readonly I[],
  results: Map<string, WriteResult>,
  send: readonly Pending<R>[],
  sameTarget: (pending: Pending<R>, item: I) => boolean,
): WriteResult[] {
  for (const i of items)
    if (!results.has(i.key)) {
      const s = send.find((x) => x.key !== i.key && sameTarget(x, i));
      results.set(i.key, { key: i.key, ok: true, targetId: s?.targetId ?? "", action: "unchanged" });
    }
  return items.map((i) => results.get(i.key) as WriteResult);
}

/** Runs `step` for every item through `limit` (the connector's concurrency cap), each as its own result. */
export function perItemLimited<I extends { key: string }>(
  items: readonly I[],
  system: string,
  limit: <T>(fn: () => Promise<T>) => Promise<T>,
  step: (item: I) => Promise<WriteResult>,
): Promise<WriteResult[]> {
  return Promise.all(items.map((i) => limit(() => perItem(i.key, system, () => step(i)))));
}
