/**
 * The BigCommerce connector: the REST management API (v3 catalog, price lists, inventory, customers and
 * webhooks; v2 orders and customer groups) with a store API token. Reads customers (v3, date_modified:min)
 * and orders (v2, min_date_modified, with their products); writes products with variants, variant prices
 * and customer-group price lists, stock per location (absolute adjustments, respecting inventory_tracking),
 * shipments with tracking and cancellations. Paces itself on the store's rate quota headers. Held to
 * BigCommerce's OpenAPI documents through the emulator (test/emulators/bigcommerce-replay.test.ts).
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { defineConnector } from "../../ports/connector.ts";
import { BigCommerceClient } from "./client.ts";
import { BigCommerceConfig, checkBigCommerceUse } from "./config.ts";
import { BigCommerceLookups } from "./lookup.ts";
import { customerStream, orderStream } from "./streams.ts";
import { bigcommerceWebhookManager, bigcommerceWebhookReceiver } from "./webhooks.ts";
import { inventoryWriter } from "./writers/inventory.ts";
import { orderWriter } from "./writers/order.ts";
import { priceWriter } from "./writers/price.ts";
import { productWriter } from "./writers/product.ts";
import { shipmentWriter } from "./writers/shipment.ts";

export { BigCommerceConfig } from "./config.ts";

export interface BigCommerceContext {
  name: string;
  client: BigCommerceClient;
  lookups: BigCommerceLookups;
}

export const bigcommerce = defineConnector({
  id: "bigcommerce",
  version: "1.0.0",
  description:
    "BigCommerce (REST v3 catalog, price lists, inventory, customers, webhooks; v2 orders; store API token): customers and orders in (date_modified); products with variants, customer-group price lists, stock per location, shipments with tracking and cancellations out",
  config: BigCommerceConfig,
  client: (name, config): BigCommerceContext => {
    const client = new BigCommerceClient(name, config);
    return { name, client, lookups: new BigCommerceLookups(client) };
  },
  entities: {
    product: { write: (x) => productWriter(x.name, x.client, x.lookups) },
    price: { write: (x) => priceWriter(x.name, x.client, x.lookups) },
    inventory: { write: (x) => inventoryWriter(x.name, x.client, x.lookups) },
    customer: { read: (x) => customerStream(x.name, x.client, x.lookups) },
    order: { read: (x) => orderStream(x.name, x.client), write: (x) => orderWriter(x.name, x.client) },
    shipment: { write: (x) => shipmentWriter(x.name, x.client) },
  },
  capabilities: { rateModel: "quota-window", bulk: true },
  webhooks: bigcommerceWebhookReceiver,
  connection: (x) => ({
    /** The token is accepted (the order statuses are readable with any store API account). */
    async check() {
      const statuses = await x.client.get(
        "/v2/order_statuses",
        z.array(z.object({ id: z.number() }).loose()),
        "order statuses",
      );
      if (statuses.length === 0)
        throw new SyncError("config", `${x.name}: BigCommerce answered no order statuses`, {
          system: x.name,
        });
    },
    webhooks: bigcommerceWebhookManager(x.client),
    drainDeprecations: () => x.client.http.deprecations.drain(),
    stats: () => {
      const rateLimit = x.client.rateLimit();
      return {
        calls: x.client.calls,
        throttled: x.client.http.stats().throttled,
        ...(rateLimit ? { rateLimit } : {}),
      };
    },
    async close() {},
    writes: () => x.client.writes,
    /** Times the client held a request for the quota window to reset. */
    quotaWaits: () => x.client.waits,
  }),
  checkUse: checkBigCommerceUse,
});

export type BigCommerceConnector = ReturnType<typeof bigcommerce.create>;
