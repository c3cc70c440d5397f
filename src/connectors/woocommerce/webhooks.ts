/**
 * WooCommerce webhook deliveries, verified by the server's WooCommerce receiver (src/server/verify/
 * woocommerce.ts: X-WC-Webhook-Signature, the creation ping, delivery ids) with the connection's
 * `webhookSecret`.
 */
import type { WebhookReceiver } from "../../ports/connector.ts";
import { wooCommerceReceiver } from "../../server/verify/woocommerce.ts";
import type { WooCommerceConfig } from "./config.ts";

export const wooWebhooks: WebhookReceiver<WooCommerceConfig> = wooCommerceReceiver<WooCommerceConfig>(
  (config) => config.webhookSecret,
);
