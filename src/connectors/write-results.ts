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
