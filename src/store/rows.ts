/** Conversions between stored rows (snake_case, JSON as text) and the port's records. */
import { z } from "zod";
import type { Cursor } from "../ports/connector.ts";
import type { FailedRecord, Intent, Link, Run, SyncEvent } from "../ports/store.ts";
import type { FailedRecordRow, IntentRow, LinkRow, NewSyncEventRow, RunRow, SyncEventRow } from "./schema.ts";

/** JSON text, or SQL NULL for null/undefined so "no payload" stays distinguishable from a JSON value. */
export function toJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(value);
}

export function fromJson(text: string | null): unknown {
  if (text === null) return null;
  const value: unknown = JSON.parse(text);
  return value;
}

const Detail = z.record(z.string(), z.unknown()).nullable();

export function linkFromRow(row: LinkRow): Link {
  return {
    entity: row.entity,
    key: row.key,
    system: row.system,
    externalId: row.external_id,
    lastHash: row.last_hash,
    version: row.version,
    updatedAt: row.updated_at,
  };
}

export function cursorFromRow(row: { updated_at_cursor: string; id_cursor: string }): Cursor {
  return { updatedAt: row.updated_at_cursor, id: row.id_cursor };
}

export function runFromRow(row: RunRow): Run {
  return {
    id: Number(row.id),
    flow: row.flow,
    mode: row.mode,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    counts: {
      read: row.read,
      created: row.created,
      updated: row.updated,
      skipped: row.skipped,
      failed: row.failed,
      calls: row.calls,
    },
    error: row.error,
  };
}

export function eventFromRow(row: SyncEventRow): SyncEvent {
  return {
    id: Number(row.id),
    runId: row.run_id === null ? null : Number(row.run_id),
    flow: row.flow,
    entity: row.entity,
    key: row.key,
    system: row.system,
    externalId: row.external_id,
    kind: row.kind,
    message: row.message,
    detail: Detail.parse(fromJson(row.detail)),
    at: row.at,
  };
}

/** A lineage event as a row to insert. */
export function eventToRow(
  e: Omit<SyncEvent, "id" | "at" | "runId" | "flow">,
  runId: number | null,
  flow: string,
  at: string,
): NewSyncEventRow {
  return {
    run_id: runId,
    flow,
    entity: e.entity,
    key: e.key,
    system: e.system,
    external_id: e.externalId,
    kind: e.kind,
    message: e.message,
    detail: toJson(e.detail),
    at,
  };
}

export function failureFromRow(row: FailedRecordRow): FailedRecord {
  return {
    id: Number(row.id),
    flow: row.flow,
    entity: row.entity,
    key: row.key,
    sourceSystem: row.source_system,
    sourceId: row.source_id,
    sourcePayload: fromJson(row.source_payload),
    mappedPayload: fromJson(row.mapped_payload),
    errorKind: row.error_kind,
    errorMessage: row.error_message,
    errorDetail: fromJson(row.error_detail),
    attempts: row.attempts,
    status: row.status,
    reason: row.reason,
    firstFailedAt: row.first_failed_at,
    lastFailedAt: row.last_failed_at,
  };
}

export function intentFromRow(row: IntentRow): Intent {
  return {
    id: Number(row.id),
    flow: row.flow,
    entity: row.entity,
    key: row.key,
    system: row.system,
    externalRef: row.external_ref,
    createdAt: row.created_at,
  };
}

/**
 * Rows per multi-row statement. 500 rows of ≤ 11 columns stay far below both SQLite's 32,766 and
 * PostgreSQL's 65,535 bound parameters, while amortizing the per-statement cost.
 */
export const CHUNK = 500;

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
