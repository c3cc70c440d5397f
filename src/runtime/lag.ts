/**
 * A flow's lag: how long changes in its source may have been waiting to reach the target. Computed here
 * only; the management API (`lagSeconds` of `/api/v1/flows`) and `/metrics` (`passerelle_flow_lag_seconds`)
 * both read it, and the dashboard shows what the API says.
 *
 * The flow is behind since the earliest of:
 * - its last catch-up: the start of its latest sync run (or event, batch or reconciliation pass) that read
 *   everything available and ended `succeeded` or `partial` (records that failed to write are in the failed
 *   records inbox, counted as open failures, not as lag). The start, not the end: a run reads its source up
 *   to the moment it started, so a change made while it ran may still be waiting. A run stopped by
 *   `maxPages` did not read everything and does not count. A run in progress does not count until it ends,
 *   so the lag keeps growing while it runs and drops when it ends having caught up;
 * - a flow that never caught up: the start of its first sync run (it has been behind since it first tried);
 * - event flows: the receipt of the oldest webhook event still pending for its source (either side of a
 *   two-way flow), the oldest change known to be unprocessed.
 *
 * The lag is null when the flow never ran and no event is pending. A quiet source does not make the lag
 * grow: a flow that caught up a minute ago lags a minute, however old its last record is.
 */
import type { Context } from "./context.ts";

export interface FlowLag {
  /** Seconds from `since` to now; null when the flow never ran and nothing is pending. */
  seconds: number | null;
  /** The instant the flow is behind since (ISO), null with `seconds`. */
  since: string | null;
  /** What `since` is: the last catch-up, the first run (never caught up), or the oldest pending event. */
  basis: "caught-up" | "first-run" | "pending-event" | null;
}

export async function flowLag(ctx: Context, flow: string, now: Date = new Date()): Promise<FlowLag> {
  const access = ctx.store.access();
  const { caughtUpAt, firstStartedAt } = await access.lagBasis(flow);
  const spec = ctx.config.flows[flow];
  const groups =
    spec?.trigger?.type === "events"
      ? [
          { connection: spec.source.connection, entity: spec.source.entity },
          ...(spec.direction === "two-way"
            ? [{ connection: spec.target.connection, entity: spec.target.entity }]
            : []),
        ]
      : [];
  const pending = await access.oldestPendingEvent(groups);
  const candidates: { at: string; basis: NonNullable<FlowLag["basis"]> }[] = [];
  if (caughtUpAt !== null) candidates.push({ at: caughtUpAt, basis: "caught-up" });
  else if (firstStartedAt !== null) candidates.push({ at: firstStartedAt, basis: "first-run" });
  if (pending !== null) candidates.push({ at: pending, basis: "pending-event" });
  const earliest = candidates
    .map((c) => ({ ...c, ms: Date.parse(c.at) }))
    .filter((c) => !Number.isNaN(c.ms))
    .sort((a, b) => a.ms - b.ms)[0];
  if (!earliest) return { seconds: null, since: null, basis: null };
  return {
    seconds: Math.max(0, (now.getTime() - earliest.ms) / 1000),
    since: earliest.at,
    basis: earliest.basis,
  };
}
