/**
 * Incremental SuiteQL reads: rows changed at or after the cursor, ordered by (lastmodifieddate, id), paged
 * by offset while `hasMore`. Offset paging over a changing set can shift rows between pages: a row changed
 * while the read pages moves to the end of the order and is read again later, never lost; a row can be
 * read twice (the engine drops what it has at or before its cursor).
 */
import type { ListRequest } from "../../../ports/connector.ts";
import { type NsRow, sql } from "../client.ts";
import type { NetSuiteContext } from "../context.ts";

export function changedSince(
  ctx: NetSuiteContext,
  table: string,
  cols: readonly string[],
  req: ListRequest,
  where: readonly string[] = [],
): AsyncIterable<NsRow[]> {
  const conditions = [...where, ...(req.since ? [`lastmodifieddate >= ${sql(req.since.updatedAt)}`] : [])];
  const q = `SELECT ${cols.join(", ")} FROM ${table}${conditions.length ? ` WHERE ${conditions.join(" AND ")}` : ""} ORDER BY lastmodifieddate, id`;
  return ctx.client.suiteql(q, Math.min(req.pageSize, ctx.config.pageSize), req.signal);
}

export const idOf = (row: NsRow) => String(row.id);
export const updatedAtOf = (row: NsRow) => new Date(String(row.lastmodifieddate)).toISOString();
export const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined);
