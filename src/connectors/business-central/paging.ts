/**
 * Incremental, resumable reads of one company's entity set: records changed at or after the cursor
 * (`lastModifiedDateTime ge <cursor>`), in (lastModifiedDateTime, key) order, paged by Business Central
 * (`@odata.nextLink`). `ge` rather than `gt`: Business Central stamps to the millisecond and several records
 * can share one stamp, so `gt` would lose the rest of a stamp a page ended in; the engine drops what it
 * already has at the cursor. A record changed while the read pages moves to the end of that order and is
 * read again later, never lost.
 */
import type { ListRequest } from "../../ports/connector.ts";
import type { BcRow } from "./client.ts";
import type { BusinessCentralContext } from "./context.ts";

export interface SetQuery {
  set: string;
  select: readonly string[];
  expand?: readonly string[];
  /** The field the stream's ids are (`number` or `id`): the order's tie-breaker. */
  key?: "number" | "id";
  /** The stream's own condition, ANDed with the cursor's. */
  where?: string;
}

/** `$filter` of the records changed at or after an ISO instant. */
export function changedSince(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) throw new RangeError(`not an ISO 8601 timestamp: ${JSON.stringify(iso)}`);
  return `lastModifiedDateTime ge ${at.toISOString()}`;
}

export function listChanged(
  ctx: BusinessCentralContext,
  q: SetQuery,
  req: ListRequest,
  pageSize = req.pageSize,
) {
  const conditions = [q.where, req.since ? changedSince(req.since.updatedAt) : undefined].filter(
    (c): c is string => c !== undefined,
  );
  return ctx.client.list(q.set, {
    ...(conditions.length > 0 ? { filter: conditions.join(" and ") } : {}),
    orderby: `lastModifiedDateTime,${q.key ?? "id"}`,
    select: q.select,
    ...(q.expand ? { expand: q.expand } : {}),
    pageSize: Math.max(1, Math.min(pageSize, ctx.config.pageSize)),
    ...(req.signal ? { signal: req.signal } : {}),
  });
}

/** A record's change stamp as an ISO instant. */
export function updatedAt(row: BcRow): string {
  const v = typeof row.lastModifiedDateTime === "string" ? Date.parse(row.lastModifiedDateTime) : Number.NaN;
  return Number.isNaN(v) ? "1970-01-01T00:00:00.000Z" : new Date(v).toISOString();
}

/** A decimal from Business Central as a string with the currency's digits. */
export function money(n: unknown, digits = 2): string {
  const v = typeof n === "number" && Number.isFinite(n) ? n : 0;
  return (Math.round((v + Number.EPSILON * Math.sign(v)) * 10 ** digits) / 10 ** digits).toFixed(digits);
}

export const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined);

/** A GUID as the path segment of one entity, refused when the id is not one. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
