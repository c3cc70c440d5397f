/** Per-record results: one record's refusal never fails its siblings. */
import { SyncError } from "../../../core/errors.ts";
import type { WriteResult } from "../../../ports/connector.ts";
import { perItem as sharedPerItem } from "../../write-results.ts";
import { SchemaMismatch } from "../client.ts";

export { failed } from "../../write-results.ts";

/**
 * Runs one record's step so its own SyncError becomes its result (see write-results.ts). A schema
 * mismatch fails the record naming the field, so the run goes on with the flows that do not need it.
 */
export function perItem(key: string, system: string, step: () => Promise<WriteResult>): Promise<WriteResult> {
  return sharedPerItem(key, system, step, (err) =>
    err instanceof SchemaMismatch
      ? {
          key,
          ok: false,
          error: new SyncError("permanent", `${key} not written: ${err.message}`, {
            ...err.details,
            cause: err,
          }),
        }
      : undefined,
  );
}
