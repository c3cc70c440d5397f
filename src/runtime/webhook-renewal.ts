/**
 * Keeps alive, while `passerelle run` runs, the webhook subscriptions `passerelle webhooks register` made:
 * at every start of the service and every six hours after (the `webhooks` queue, singleton `webhooks`, so
 * processes sharing a store take turns), each connection that manages subscriptions registers again the
 * topics its vendor holds at their addresses, and the default topics at every address `webhooks register`
 * subscribed (remembered in the store). `register` is idempotent, so nothing changes at a vendor whose
 * subscriptions are all there (Shopify, WooCommerce, BigCommerce); Business Central's expire three days after
 * they were made or renewed, and its `register` renews those expiring within a day, so they never lapse
 * while the service runs.
 *
 * A subscription the vendor dropped (a Business Central one that expired while the service was down for
 * days; a shop's, deleted after deliveries kept failing) is no longer in the vendor's list, so only the
 * remembered address brings it back: it is subscribed again and reported (`recreated`, logged as a warning:
 * the events of the gap never came, and the flow's reconciliation pass is what catches them up).
 * A connection whose vendor refuses is logged and tried at the next turn, the others go on.
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
  /** Topics the vendor no longer held at a remembered address, subscribed again. */
  recreated: { url: string; topics: string[] }[];
  error?: string;
}

/** The connections that manage webhook subscriptions at their vendor. */
export function managed(connectors: Iterable<Connector>): Connector[] {
  return [...connectors].filter((c) => c.webhooks !== undefined);
}

/**
 * Registers again, per address, the topics each connection's vendor holds, and the default topics at each
 * of its `remembered` addresses (connection → addresses); one connection's failure is its own.
 */
export async function renewSubscriptions(
  connectors: Iterable<Connector>,
  remembered: ReadonlyMap<string, readonly string[]> = new Map(),
): Promise<Renewal[]> {
  const out: Renewal[] = [];
  for (const c of managed(connectors)) {
    const manager = c.webhooks;
    if (!manager) continue;
    const renewal: Renewal = { connection: c.name, addresses: [], recreated: [] };
    try {
      const byUrl = new Map<string, string[]>();
      for (const s of await manager.list()) byUrl.set(s.url, [...(byUrl.get(s.url) ?? []), s.topic]);
      const mine = new Set(remembered.get(c.name) ?? []);
      for (const url of mine) {
        // The defaults, as `webhooks register` subscribed them, plus whatever else the vendor holds there.
        const topics = [...new Set([...manager.topics, ...(byUrl.get(url) ?? [])])].sort();
        const { created } = await manager.register(url, topics);
        renewal.addresses.push({ url, topics });
        if (created.length > 0)
          renewal.recreated.push({ url, topics: [...new Set(created.map((s) => s.topic))].sort() });
      }
      for (const [url, topics] of byUrl) {
        if (mine.has(url)) continue;
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

/** The addresses `webhooks register` subscribed, per connection, as the store remembers them. */
export async function rememberedAddresses(ctx: Pick<Context, "store">): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const r of await ctx.store.webhookAddresses())
    out.set(r.connection, [...(out.get(r.connection) ?? []), r.address]);
  return out;
}

/** The renewal's schedule, when a connection of the configuration manages subscriptions; else null. */
export function webhookRenewalSchedule(ctx: Context): ScheduleEntry | null {
  if (managed(ctx.connectors.values()).length === 0) return null;
  return {
    name: "webhooks",
    cron: RENEW_CRON,
    job: { queue: WEBHOOKS_QUEUE, payload: {}, singletonKey: "webhooks" },
    // A start may follow days down: whatever expired or was dropped meanwhile comes back now, not hours later.
    atStart: true,
  };
}

/** The `webhooks` queue's handler: one renewal, logged per connection. */
export function webhookRenewalHandler(ctx: Context, onRenewed?: (renewals: Renewal[]) => void): JobHandler {
  return async () => {
    const renewals = await renewSubscriptions(ctx.connectors.values(), await rememberedAddresses(ctx));
    for (const r of renewals) {
      const subscribed = r.addresses.reduce((n, a) => n + a.topics.length, 0);
      for (const { url, topics } of r.recreated)
        ctx.logger.warn(
          { connection: r.connection, address: url, topics },
          "webhook subscriptions the vendor had dropped subscribed again; events of the gap come with the next reconciliation",
        );
      if (r.error)
        ctx.logger.warn({ connection: r.connection, err: r.error }, "webhook subscriptions not renewed");
      else ctx.logger.info({ connection: r.connection, subscribed }, "webhook subscriptions renewed");
    }
    onRenewed?.(renewals);
  };
}
