/**
 * The Shopify connector: Admin GraphQL API 2026-10 through the official @shopify/admin-api-client.
 * Reads customers, orders and products (read back for verification); writes products, B2B prices,
 * inventory and shipments (fulfillments with tracking).
 */
import { z } from "zod";
import type { Connector, ConnectorDefinition } from "../../ports/connector.ts";
import { type ClientOptions, ShopifyClient } from "./client.ts";
import { ShopifyConfig } from "./config.ts";
import { LocationCache } from "./lookup.ts";
import { SHOP } from "./operations.ts";
import { customerStream } from "./streams/customer.ts";
import { orderStream } from "./streams/order.ts";
import { productStream } from "./streams/product.ts";
import { shopifyWebhookManager, shopifyWebhookReceiver } from "./webhooks.ts";
import { inventoryWriter } from "./writers/inventory.ts";
import { priceWriter } from "./writers/price.ts";
import { productWriter } from "./writers/product.ts";
import { shipmentWriter } from "./writers/shipment.ts";

export { ShopifyConfig } from "./config.ts";

const ShopAnswer = z.object({
  shop: z.object({ id: z.string(), name: z.string(), currencyCode: z.string() }),
});

export function createShopifyConnector(
  name: string,
  config: ShopifyConfig,
  opts: ClientOptions = {},
): Connector {
  const client = new ShopifyClient(name, config, opts);
  const locations = new LocationCache(client);
  let currency: Promise<string> | null = null;
  const shopCurrency = (): Promise<string> => {
    currency ??= client.request(SHOP, {}, ShopAnswer).then((d) => d.shop.currencyCode);
    currency.catch(() => {
      currency = null;
    });
    return currency;
  };
  const locationName = (canonical: string) => config.locationMap?.[canonical] ?? canonical;
  return {
    name,
    kind: "shopify",
    streams: {
      customer: customerStream(name, client),
      order: orderStream(name, client),
      product: productStream(name, client, shopCurrency),
    },
    writers: {
      product: productWriter(name, client, {
        ...(config.bulkThreshold === undefined ? {} : { bulkThreshold: config.bulkThreshold }),
        ...(opts.timer ? { bulk: { timer: opts.timer } } : {}),
      }),
      price: priceWriter(name, client),
      inventory: inventoryWriter(name, client, locations, locationName),
      shipment: shipmentWriter(name, client),
    },
    async check() {
      await client.request(SHOP, {}, ShopAnswer);
    },
    stats: () => ({ calls: client.calls, throttled: client.throttled, rateLimit: client.rateLimit() }),
    async close() {},
    webhooks: shopifyWebhookManager(name, client),
  };
}

export const shopify: ConnectorDefinition<typeof ShopifyConfig> = {
  kind: "shopify",
  description:
    "Shopify (Admin GraphQL API 2026-10): customers and orders in; products, B2B prices, stock and shipments out",
  configSchema: ShopifyConfig,
  reads: ["customer", "order", "product"],
  writes: ["product", "price", "inventory", "shipment"],
  create: (name, config) => createShopifyConnector(name, config),
  webhooks: shopifyWebhookReceiver,
};
