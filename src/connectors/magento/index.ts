/**
 * The Magento 2.4 / Adobe Commerce connector: the admin REST API V1 over plain HTTP with an integration
 * token as a bearer. Reads customers and orders (searchCriteria on updated_at, keyset over currentPage
 * pages); writes simple and configurable products (children as simples on global dropdown attributes),
 * base prices and customer-group tier prices, stock per MSI source, shipments with tracking (moving the
 * order to complete) and cancellations. Catalogue writes go through the global scope (`/rest/all/`).
 * Held to Adobe's OpenAPI document for 2.4.9 through the emulator (test/emulators/magento-replay.test.ts).
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { defineConnector } from "../../ports/connector.ts";
import { MagentoClient } from "./client.ts";
import { checkMagentoUse, MagentoConfig } from "./config.ts";
import { MagentoLookups } from "./lookup.ts";
import { customerStream, orderStream } from "./streams.ts";
import { inventoryWriter } from "./writers/inventory.ts";
import { orderWriter } from "./writers/order.ts";
import { priceWriter } from "./writers/price.ts";
import { productWriter } from "./writers/product.ts";
import { shipmentWriter } from "./writers/shipment.ts";

export { MagentoConfig } from "./config.ts";

export interface MagentoContext {
  name: string;
  client: MagentoClient;
  lookups: MagentoLookups;
}

const contextOf = (name: string, client: MagentoClient): MagentoContext => ({
  name,
  client,
  lookups: new MagentoLookups(client),
});

const StoreView = z.object({ id: z.number().int(), code: z.string() });

export const magento = defineConnector({
  id: "magento",
  version: "1.0.0",
  description:
    "Magento 2.4 / Adobe Commerce (admin REST API V1, integration token): customers and orders in (searchCriteria on updated_at); simple and configurable products, base and customer-group tier prices, stock per MSI source, shipments with tracking and cancellations out",
  config: MagentoConfig,
  client: (name, config): MagentoContext => contextOf(name, new MagentoClient(name, config)),
  entities: {
    product: { write: (x) => productWriter(x.name, x.client, x.lookups) },
    price: { write: (x) => priceWriter(x.name, x.client, x.lookups) },
    inventory: { write: (x) => inventoryWriter(x.name, x.client, x.lookups) },
    customer: { read: (x) => customerStream(x.name, x.client, x.lookups) },
    order: { read: (x) => orderStream(x.name, x.client), write: (x) => orderWriter(x.name, x.client) },
    shipment: { write: (x) => shipmentWriter(x.name, x.client) },
  },
  capabilities: { rateModel: "none", bulk: true },
  connection: (x) => ({
    /** The token is accepted and the configured store view exists. */
    async check() {
      const views = await x.client.get("all", "/store/storeViews", z.array(StoreView), "store views");
      const code = x.client.config.storeCode;
      if (!views.some((v) => v.code === code)) {
        throw new SyncError(
          "config",
          `${x.name}: Magento has no store view ${JSON.stringify(code)} (it has ${views.map((v) => v.code).join(", ")})`,
          { system: x.name, field: "storeCode" },
        );
      }
    },
    apiVersion: () => ({
      api: "Magento REST API",
      version: "V1 (the REST API does not expose the Magento version)",
      supportedUntil: null,
      policy:
        "Adobe publishes end of support per Magento/Adobe Commerce release; the release is not readable through the REST API, so no date is shown",
    }),
    drainDeprecations: () => x.client.http.deprecations.drain(),
    stats: () => ({ calls: x.client.calls, throttled: x.client.http.stats().throttled }),
    async close() {},
    /** Calls that changed data so far. */
    writes: () => x.client.writes,
  }),
  checkUse: checkMagentoUse,
});

export type MagentoConnector = ReturnType<typeof magento.create>;
