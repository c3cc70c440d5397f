/**
 * Keeps alive, while `passerelle run` runs, the webhook subscriptions `passerelle webhooks register` made:
 * every six hours (the `webhooks` queue, singleton `webhooks`, so processes sharing a store take turns), each
 * connection that manages subscriptions lists them and registers again the same topics at the same
 * addresses. `register` is idempotent, so nothing changes at a vendor whose subscriptions do not expire
 * (Shopify, WooCommerce, BigCommerce); Business Central's expire three days after they were made or renewed,
 * and its `register` renews those expiring within a day, so they never lapse while the service runs.
 * A topic the vendor has dropped is not listed any more and is not subscribed again here (that is
 * `passerelle webhooks register`'s decision); a connection whose vendor refuses is logged and tried at the
 * next turn, the others go on.
 */
import type { Connector } from "../ports/connector.ts";
import type { Context } from "./context.ts";
import type { JobHandler } from "./jobs.ts";
import type { ScheduleEntry } from "./scheduler.ts";

export const WEBHOOKS_QUEUE = "webhooks";
/** Every six hours, at minute 17: four chances a day to renew a subscription with a day left. */
export const RENEW_CRON = "17 */6 * * *";

/** What one connection's renewal did. */
export interface Renewal {
  connection: string;
  /** Addresses whose subscriptions were registered again, with their topics. */
  addresses: { url: string; topics: string[] }[];
  error?: string;
}

/** The connections that manage webhook subscriptions at their vendor. */
export function managed(connectors: Iterable<Connector>): Connector[] {
  return [...connectors].filter((c) => c.webhooks !== undefined);
}

/** Registers again, per address, the topics each connection's vendor holds; one connection's failure is its own. */
export async function renewSubscriptions(connectors: Iterable<Connector>): Promise<Renewal[]> {
  const out: Renewal[] = [];
  for (const c of managed(connectors)) {
    const manager = c.webhooks;
    if (!manager) continue;
    const renewal: Renewal = { connection: c.name, addresses: [] };
    try {
      const byUrl = new Map<string, string[]>();
      for (const s of await manager.list()) byUrl.set(s.url, [...(byUrl.get(s.url) ?? []), s.topic]);
      for (const [url, topics] of byUrl) {
        const unique = [...new Set(topics)].sort();
        await manager.register(url, unique);
        renewal.addresses.push({ url, topics: unique });
      }
    } catch (e) {
      renewal.error = e instanceof Error ? e.message : String(e);
    }
    out.push(renewal);
  }
  return out;
}

/** The renewal's schedule, when a connection of the configuration manages subscriptions; else null. */
export function webhookRenewalSchedule(ctx: Context): ScheduleEntry | null {
  if (managed(ctx.connectors.values()).length === 0) return null;
  return {
    name: "webhooks",
    cron: RENEW_CRON,
    job: { queue: WEBHOOKS_QUEUE, payload: {}, singletonKey: "webhooks" },
  };
}

/** The `webhooks` queue's handler: one renewal, logged per connection. */
export function webhookRenewalHandler(ctx: Context, onRenewed?: (renewals: Renewal[]) => void): JobHandler {
  return async () => {
    const renewals = await renewSubscriptions(ctx.connectors.values());
    for (const r of renewals) {
      const subscribed = r.addresses.reduce((n, a) => n + a.topics.length, 0);
      if (r.error)
        ctx.logger.warn({ connection: r.connection, err: r.error }, "webhook subscriptions not renewed");
      else ctx.logger.info({ connection: r.connection, subscribed }, "webhook subscriptions renewed");
    }
    onRenewed?.(renewals);
  };
}
