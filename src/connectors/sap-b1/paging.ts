/**
 * An incremental, resumable read of one entity set: records changed at or after the cursor (see time.ts),
 * in (UpdateDate, UpdateTime, key) order, paged by Service Layer (`@odata.nextLink`). A record changed
 * while the read pages moves to the end of that order, so it is read again later, never lost; the engine
 * drops what it has at or before its cursor.
 */
import type { ListRequest } from "../../ports/connector.ts";
import type { B1Row } from "./client.ts";
import type { SapB1Context } from "./context.ts";
import { changedSince, updatedOrder } from "./time.ts";

export interface SetQuery {
  set: string;
  key: string;
  select: readonly string[];
  /** The stream's own condition (`CardType eq 'cCustomer'`), ANDed with the cursor's. */
  where?: string;
}

export function listChanged(ctx: SapB1Context, q: SetQuery, req: ListRequest, pageSize = req.pageSize) {
  const conditions = [q.where, req.since ? changedSince(req.since.updatedAt) : undefined].filter(
    (c): c is string => c !== undefined,
  );
  return ctx.client.list(q.set, {
    ...(conditions.length > 0 ? { filter: conditions.join(" and ") } : {}),
    orderby: updatedOrder(q.key),
    select: q.select,
    pageSize: Math.max(1, Math.min(pageSize, ctx.config.pageSize)),
    ...(req.signal ? { signal: req.signal } : {}),
  });
}

/** A number from Service Layer (Edm.Double) as a decimal string with the currency's digits. */
export function money(n: unknown, digits = 2): string {
  const v = typeof n === "number" && Number.isFinite(n) ? n : 0;
  return (Math.round((v + Number.EPSILON * Math.sign(v)) * 10 ** digits) / 10 ** digits).toFixed(digits);
}

export type { B1Row };
