/**
 * Business Central webhooks: the receiver (src/server/verify/business-central.ts: the validation handshake
 * echoing `validationToken`, `clientState` compared in constant time with the connection's `webhookSecret`,
 * one event per change) and the subscriptions, through the environment-level `/api/v2.0/subscriptions`.
 *
 * A subscription is one company entity set (`resource: /api/v2.0/companies(<id>)/<set>`) sent to one
 * notification URL with the secret as its `clientState`. Business Central calls the URL with
 * `?validationToken=` before it creates or renews one, so the server must be reachable there first. It
 * expires three days after its creation or last renewal: `register` renews (PATCH with If-Match, which
 * repeats the handshake) those expiring within a day, and those whose clientState is no longer the
 * configured secret (a rotated secret), and leaves the others alone, so running it daily keeps them alive
 * and running it twice changes nothing. The secret goes only into the subscription's body; a subscription
 * as Passerelle reports it is its id, entity set and URL.
 */
import { SyncError } from "../../core/errors.ts";
import type { WebhookManager, WebhookReceiver, WebhookSubscription } from "../../ports/connector.ts";
import { businessCentralReceiver } from "../../server/verify/business-central.ts";
import { type BcRow, BusinessCentralPlatform } from "./client.ts";
import type { BusinessCentralConfig } from "./config.ts";
import type { BusinessCentralContext } from "./context.ts";

/** The entity sets this connector's streams read (items: products and inventory; customers; invoices). */
export const DEFAULT_TOPICS = ["items", "customers", "salesInvoices"] as const;

/** The v2.0 entity sets Microsoft lists as webhook-enabled (a topic is one of them). */
export const WEBHOOK_SETS: readonly string[] = [
  "accounts",
  "companyInformation",
  "countriesRegions",
  "currencies",
  "customerPaymentJournals",
  "customers",
  "dimensions",
  "employees",
  "generalLedgerEntries",
  "itemCategories",
  "items",
  "journals",
  "paymentMethods",
  "paymentTerms",
  "purchaseInvoices",
  "salesCreditMemos",
  "salesInvoices",
  "salesOrders",
  "salesQuotes",
  "shipmentMethods",
  "unitsOfMeasure",
  "vendors",
];

/** A subscription expiring sooner than this is renewed by `register`. */
export const RENEW_WITHIN_MS = 24 * 3600 * 1000;

export const businessCentralWebhooks: WebhookReceiver<BusinessCentralConfig> =
  businessCentralReceiver<BusinessCentralConfig>((config) => config.webhookSecret);

export function businessCentralWebhookManager(
  ctx: BusinessCentralContext,
  now: () => number = Date.now,
): WebhookManager {
  const platform = new BusinessCentralPlatform(ctx.client);
  const prefix = `/api/v2.0/companies(${ctx.config.companyId})/`;
  /** The entity set of a subscription of this company, or null for another company's or another API's. */
  const setOf = (row: BcRow): string | null => {
    const resource = String(row.resource ?? "").replace(/^https?:\/\/[^/]+(\/v2\.0\/[^/]+\/[^/]+)?/i, "");
    const path = resource.startsWith("/") ? resource : `/${resource}`;
    if (!path.toLowerCase().startsWith(prefix.toLowerCase())) return null;
    const set = path.slice(prefix.length);
    return /^[A-Za-z]+$/.test(set) ? set : null;
  };
  const asSubscription = (row: BcRow): WebhookSubscription => ({
    id: String(row.subscriptionId),
    topic: setOf(row) as string,
    url: String(row.notificationUrl),
  });
  const ours = async (): Promise<BcRow[]> =>
    (await platform.subscriptions()).filter((r) => setOf(r) !== null);
  const secret = (): string => {
    const s = ctx.config.webhookSecret;
    if (!s)
      throw new SyncError(
        "config",
        `${ctx.name}: webhookSecret is not set; Business Central's notifications carry it as clientState and are refused without it`,
        { system: ctx.name, field: "webhookSecret" },
      );
    return s;
  };
  const handshakeHint = (url: string, e: unknown): never => {
    if (e instanceof SyncError && e.details.status === 400)
      throw new SyncError(
        "config",
        `${ctx.name}: Business Central refused the subscription to ${url}: ${e.message} (the address must answer its validation handshake: is the server reachable there?)`,
        { system: ctx.name, status: 400, field: "address" },
      );
    throw e;
  };

  return {
    topics: DEFAULT_TOPICS,
    list: async () => (await ours()).map(asSubscription),
    async register(url, topics = DEFAULT_TOPICS) {
      const state = secret();
      const unknown = topics.filter((t) => !WEBHOOK_SETS.includes(t));
      if (unknown.length > 0)
        throw new SyncError(
          "config",
          `${ctx.name}: ${unknown.join(", ")} ${unknown.length === 1 ? "is not an entity set" : "are not entity sets"} Business Central sends webhooks for (e.g. ${DEFAULT_TOPICS.join(", ")})`,
          { system: ctx.name, field: "topics" },
        );
      const current = (await ours()).filter((r) => String(r.notificationUrl) === url);
      const created: WebhookSubscription[] = [];
      const existing: WebhookSubscription[] = [];
      for (const topic of topics) {
        const found = current.find((r) => setOf(r) === topic);
        if (!found) {
          const made = await platform
            .subscription("POST", null, {
              notificationUrl: url,
              resource: `${prefix}${topic}`,
              clientState: state,
            })
            .catch((e: unknown) => handshakeHint(url, e));
          if (!made)
            throw new SyncError("retryable", `${ctx.name}: Business Central answered no subscription`);
          created.push(asSubscription(made));
          continue;
        }
        const expires = Date.parse(String(found.expirationDateTime));
        const stale = !Number.isFinite(expires) || expires - now() < RENEW_WITHIN_MS;
        // A clientState Business Central shows and that is not the configured one: the secret was rotated.
        const rotated =
          typeof found.clientState === "string" && found.clientState !== "" && found.clientState !== state;
        if (stale || rotated) {
          // PATCH renews for three more days (and repeats the handshake).
          const renewed = await platform
            .subscription(
              "PATCH",
              String(found.subscriptionId),
              { clientState: state },
              String(found["@odata.etag"] ?? "*"),
            )
            .catch((e: unknown) => handshakeHint(url, e));
          existing.push(asSubscription(renewed ?? found));
        } else existing.push(asSubscription(found));
      }
      return { created, existing };
    },
    async unregister(url) {
      const gone = (await ours()).filter((r) => url === undefined || String(r.notificationUrl) === url);
      for (const r of gone)
        await platform.subscription(
          "DELETE",
          String(r.subscriptionId),
          undefined,
          String(r["@odata.etag"] ?? "*"),
        );
      return gone.map(asSubscription);
    },
  };
}
