/**
 * The Salesforce B2C Commerce connector: the B2C Commerce API (SCAPI) admin APIs with an Account Manager
 * API client (OAuth2 client credentials). Reads customers with their address books (customer-list search)
 * and orders (by lastModified); writes standard and master products with their variation attributes and
 * variants, with category assignments in the site's catalog; writes back order cancellations and
 * shipments (the order's shipping status, tracking numbers in an order custom attribute). Price books and
 * inventory lists are not in the four SCAPI documents it is held to and are not written. Held to
 * Salesforce's OpenAPI documents through the emulator (test/emulators/sfcc-replay.test.ts).
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { defineConnector } from "../../ports/connector.ts";
import { SfccClient } from "./client.ts";
import { SfccConfig } from "./config.ts";
import { customerStream, orderStream } from "./streams.ts";
import { orderWriter } from "./writers/order.ts";
import { productWriter } from "./writers/product.ts";
import { shipmentWriter } from "./writers/shipment.ts";

export { SfccConfig } from "./config.ts";

export interface SfccContext {
  name: string;
  client: SfccClient;
}

const Catalog = z.looseObject({ id: z.string() });

export const sfcc = defineConnector({
  id: "sfcc",
  version: "1.0.0",
  description:
    "Salesforce B2C Commerce (SCAPI admin APIs, Account Manager client credentials): customers with addresses and orders in (orders by lastModified); standard and master/variant products with category assignments out; order cancellations and shipping status (tracking in an order custom attribute) back",
  config: SfccConfig,
  client: (name, config): SfccContext => ({ name, client: new SfccClient(name, config) }),
  entities: {
    product: { write: (x) => productWriter(x.name, x.client) },
    customer: { read: (x) => customerStream(x.name, x.client) },
    order: { read: (x) => orderStream(x.name, x.client), write: (x) => orderWriter(x.name, x.client) },
    shipment: { write: (x) => shipmentWriter(x.name, x.client) },
  },
  capabilities: { rateModel: "retry-after", bulk: false },
  connection: (x) => ({
    /** The API client gets a token and the configured catalog exists in the organization. */
    async check() {
      const { catalogId } = x.client.config;
      const found = await x.client.find(
        x.client.path("catalogs", `/catalogs/${encodeURIComponent(catalogId)}`),
        Catalog,
        "catalog",
      );
      if (!found)
        throw new SyncError("config", `${x.name}: B2C Commerce has no catalog ${JSON.stringify(catalogId)}`, {
          system: x.name,
          field: "catalogId",
        });
    },
    apiVersion: () => ({
      api: "B2C Commerce API (SCAPI) admin: Products, Catalogs, Customers, Orders",
      version: "v1",
      supportedUntil: null,
      policy: "Salesforce versions each SCAPI family in its path (v1); no end of support is published for v1",
    }),
    drainDeprecations: () => x.client.http.deprecations.drain(),
    stats: () => ({ calls: x.client.calls, throttled: x.client.http.stats().throttled }),
    async close() {},
    writes: () => x.client.writes,
  }),
});

export type SfccConnector = ReturnType<typeof sfcc.create>;
