/** Helpers that turn Shopify's userErrors into per-record results. */
import { SyncError } from "../../../core/errors.ts";
import type { WriteResult } from "../../../ports/connector.ts";
import type { UserErrors } from "../client.ts";

export { failed, perItem } from "../../write-results.ts";

export function userErrorResult(key: string, errors: UserErrors, system: string): WriteResult {
  const first = errors[0];
  return {
    key,
    ok: false,
    error: new SyncError("permanent", `Shopify refused: ${errors.map((e) => e.message).join("; ")}`, {
      system,
      field: first?.field?.join(".") ?? undefined,
      vendorBody: errors,
    }),
  };
}

/** Index of the input list entry a userError points at, e.g. ["input","quantities","3","quantity"] → 3. */
export function indexIn(errorField: readonly string[] | null, list: string): number | null {
  if (errorField === null) return null;
  const at = errorField.indexOf(list);
  const n = at >= 0 ? Number(errorField[at + 1]) : Number.NaN;
  return Number.isInteger(n) ? n : null;
}

/**
 * Shopify rejects a batch mutation whole when any entry is wrong. The entries its userErrors point at fail
 * alone and the rest is returned to be sent once more; when no entry can be told apart, or this was already
 * the second send, every entry fails with all the errors and nothing is returned.
 */
export function failPointedAt<T extends { item: { key: string } }>(
  batch: T[],
  bad: Map<number, UserErrors>,
  errors: UserErrors,
  results: WriteResult[],
  system: string,
  retry: boolean,
): T[] {
  if (bad.size === 0 || !retry) {
    for (const r of batch) results.push(userErrorResult(r.item.key, errors, system));
    return [];
  }
  for (const [i, errs] of bad) {
    const r = batch[i];
    if (r) results.push(userErrorResult(r.item.key, errs, system));
  }
  return batch.filter((_, i) => !bad.has(i));
}
