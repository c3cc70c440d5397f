/**
 * Alerting in the runtime. `passerelle run` evaluates the rules on `alerts.evaluate` (every minute by
 * default) through the job queue — the `alerts` queue, singleton `alerts`, so processes sharing a store
 * take turns — and `passerelle sync` evaluates once after its flows. Every command that opened connections
 * moves the deprecation notices their answers carried into the store when it closes its context.
 */
import { Alerter } from "../alerts/alerter.ts";

export { flushDeprecations } from "../alerts/alerter.ts";

import type { Context } from "./context.ts";
import type { JobHandler } from "./jobs.ts";
import type { ScheduleEntry } from "./scheduler.ts";

export const ALERTS_QUEUE = "alerts";

/** The alerter of an open context; null when passerelle.yaml has no alert rules. */
export function alerterFor(ctx: Context, opts: { now?: () => Date } = {}): Alerter | null {
  const alerts = ctx.config.alerts;
  if (alerts.rules.length === 0) return null;
  return new Alerter({
    store: ctx.store,
    alerts,
    flows: ctx.config.flows,
    connectors: ctx.connectors,
    secrets: ctx.secrets,
    logger: ctx.logger,
    ...(opts.now ? { now: opts.now } : {}),
  });
}

/** The schedule entry that queues an evaluation. */
export function alertSchedule(ctx: Context): ScheduleEntry {
  return {
    name: "alerts",
    cron: ctx.config.alerts.evaluate,
    job: { queue: ALERTS_QUEUE, payload: {}, singletonKey: "alerts" },
  };
}

/** The `alerts` queue's handler: one evaluation; a channel that fails is logged and tried next time. */
export function alertJobHandler(alerter: Alerter): JobHandler {
  return async () => {
    await alerter.evaluate();
  };
}
