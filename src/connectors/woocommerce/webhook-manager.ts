/**
 * The connection's webhooks at WooCommerce (`/wc/v3/webhooks`), for `passerelle webhooks register|list|
 * unregister` and the service's renewal (src/runtime/webhook-renewal.ts).
 *
 * One webhook per topic and delivery URL, named "Passerelle <topic>" and signed with the connection's
 * `webhookSecret` (the receiver checks X-WC-Webhook-Signature with it). A shop lists every integration's
 * webhooks to any admin key, so `list` and `unregister` (without a URL) keep to those named so: another
 * integration's webhooks are never renewed, turned on or removed. Registering is idempotent: a topic
 * already at the URL is left alone while it is active. WooCommerce disables a webhook by itself after repeated failed deliveries (more than
 * five in a row: `WC_Webhook::failed_delivery` in WooCommerce 7.9, filter
 * `woocommerce_max_webhook_delivery_failures`) and never turns it back on, so a receiver that was down for
 * a while stops getting the shop's orders for good; a paused one (the merchant's choice in the admin) is as
 * silent (the service's renewal undoes a pause: to stop deliveries, unregister). `register` makes such a
 * webhook active again, with the secret, and reports it among `created`: for
 * the caller it is a subscription that was not delivering and now is. WooCommerce keeps the failure count
 * until a delivery succeeds, so a webhook turned on again while its receiver is still down is disabled
 * again at its next failure.
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { WebhookManager, WebhookSubscription } from "../../ports/connector.ts";
import { q, type WooClient } from "./client.ts";
import type { WooCommerceConfig } from "./config.ts";

/** The resources Passerelle reads from WooCommerce (orders and customers), created and updated. */
export const WOO_DEFAULT_TOPICS = [
  "customer.created",
  "customer.updated",
  "order.created",
  "order.updated",
] as const;

const Hook = z
  .object({
    id: z.number().int(),
    name: z.string(),
    topic: z.string(),
    status: z.enum(["active", "paused", "disabled"]),
    delivery_url: z.string(),
  })
  .loose();
type Hook = z.infer<typeof Hook>;

const PAGE = 100;
const NAME = "Passerelle";
const ours = (h: Hook) => h.name.startsWith(`${NAME} `);
const toSub = (h: Hook): WebhookSubscription => ({ id: String(h.id), topic: h.topic, url: h.delivery_url });

export function wooWebhookManager(
  system: string,
  client: WooClient,
  config: WooCommerceConfig,
): WebhookManager {
  /** Every webhook of the shop, whatever its status (WooCommerce lists only active ones unless asked). */
  const all = async (): Promise<Hook[]> => {
    const out: Hook[] = [];
    for (let page = 1; ; page++) {
      const { rows, totalPages } = await client.page(
        `/webhooks?${q({ status: "all", per_page: PAGE, page, orderby: "id", order: "asc" })}`,
        z.array(Hook),
      );
      out.push(...rows);
      if (page >= totalPages || rows.length < PAGE) return out;
    }
  };
  const secret = (): string => {
    if (config.webhookSecret) return config.webhookSecret;
    throw new SyncError(
      "config",
      `${system}: webhookSecret is not set; WooCommerce signs every delivery with the webhook's secret and the receiver checks it with this one`,
      { system },
    );
  };
  return {
    topics: WOO_DEFAULT_TOPICS,
    list: async () => (await all()).filter(ours).map(toSub),
    async register(url, topics = WOO_DEFAULT_TOPICS) {
      const key = secret();
      const at = (await all()).filter((h) => h.delivery_url === url);
      const created: WebhookSubscription[] = [];
      const existing: WebhookSubscription[] = [];
      for (const topic of topics) {
        const hooks = at.filter((h) => h.topic === topic);
        if (hooks.some((h) => h.status === "active")) {
          existing.push(toSub(hooks.find((h) => h.status === "active") as Hook));
          continue;
        }
        const stopped = hooks[0];
        const hook = stopped
          ? await client.write(
              "PUT",
              `/webhooks/${stopped.id}`,
              { status: "active", secret: key },
              Hook,
              `turn webhook ${stopped.id} (${topic}, ${stopped.status}) on again`,
            )
          : await client.write(
              "POST",
              "/webhooks",
              { name: `${NAME} ${topic}`, topic, delivery_url: url, secret: key, status: "active" },
              Hook,
              `create webhook ${topic}`,
            );
        if (hook.status !== "active" || hook.topic !== topic) {
          throw new SyncError(
            "permanent",
            `${system}: WooCommerce answered webhook ${hook.id} as ${hook.topic} (${hook.status}), not ${topic} (active), for ${url}`,
            { system },
          );
        }
        created.push(toSub(hook));
      }
      return { created, existing };
    },
    async unregister(url) {
      const hooks = (await all()).filter((h) => (url === undefined ? ours(h) : h.delivery_url === url));
      for (const h of hooks) {
        await client.write(
          "DELETE",
          `/webhooks/${h.id}?force=true`,
          undefined,
          Hook,
          `delete webhook ${h.id}`,
        );
      }
      return hooks.map(toSub);
    },
  };
}
