/**
 * The Medusa 2 connector: the Admin API over plain HTTP (no Medusa package at run time). Reads registered
 * customers and orders (polled by updated_at: Medusa core sends no webhooks); writes products with options
 * and variants, variant prices per currency, customer-group price lists, stock per location, shipments
 * (fulfilment + shipment with tracking labels) and order cancellations. Proven against a real Medusa 2.21
 * (test/real/medusa.test.ts).
 */
import { z } from "zod";
import { defineConnector } from "../../ports/connector.ts";
import type { ConnectionUse } from "../../ports/permissions.ts";
import { MedusaClient } from "./client.ts";
import { checkMedusaUse, MedusaConfig } from "./config.ts";
import { MedusaLookups } from "./lookup.ts";
import { medusaPermissions } from "./permissions.ts";
import { customerStream, orderStream } from "./streams.ts";
import { inventoryWriter } from "./writers/inventory.ts";
import { orderWriter } from "./writers/order.ts";
import { priceWriter } from "./writers/price.ts";
import { productWriter } from "./writers/product.ts";
import { shipmentWriter } from "./writers/shipment.ts";

export { MedusaConfig } from "./config.ts";

export interface MedusaContext {
  name: string;
  client: MedusaClient;
  lookups: MedusaLookups;
}

const contextOf = (name: string, client: MedusaClient): MedusaContext => ({
  name,
  client,
  lookups: new MedusaLookups(client),
});

export const medusa = defineConnector({
  id: "medusa",
  version: "1.0.0",
  description:
    "Medusa 2 (Admin API): registered customers and orders in (polled by updated_at); products with options and variants, prices per currency, customer-group price lists, stock per location, shipments (fulfilment + tracking) and cancellations out",
  config: MedusaConfig,
  client: (name, config): MedusaContext => contextOf(name, new MedusaClient(name, config)),
  entities: {
    customer: { read: (x) => customerStream(x.name, x.client) },
    order: { read: (x) => orderStream(x.name, x.client), write: (x) => orderWriter(x.name, x.client) },
    product: { write: (x) => productWriter(x.name, x.client, x.lookups, x.client.config.productPrices) },
    price: { write: (x) => priceWriter(x.name, x.client, x.lookups) },
    inventory: { write: (x) => inventoryWriter(x.name, x.client, x.lookups) },
    shipment: { write: (x) => shipmentWriter(x.name, x.client, x.lookups) },
  },
  capabilities: { rateModel: "none" },
  connection: (x) => ({
    async check() {
      await x.client.get(
        "/admin/stores?fields=id",
        z.object({ stores: z.array(z.object({ id: z.string() })) }),
        "check",
      );
    },
    apiVersion: () => ({
      api: "Medusa Admin API",
      version: "/admin (Medusa v2 routes; the server does not expose its version)",
      supportedUntil: null,
      policy:
        "Medusa publishes no end of support for its Admin API; breaking changes come with major versions",
    }),
    drainDeprecations: () => x.client.http.deprecations.drain(),
    permissions: (use: ConnectionUse) => medusaPermissions(x.client, use),
    stats: () => ({ calls: x.client.calls, throttled: x.client.http.stats().throttled }),
    async close() {},
    /** Calls that changed data so far. */
    writes: () => x.client.writes,
  }),
  checkUse: checkMedusaUse,
});

export type MedusaConnector = ReturnType<typeof medusa.create>;

export function createMedusaConnector(
  name: string,
  config: MedusaConfig,
  fetchApi?: typeof fetch,
): MedusaConnector {
  return medusa.assemble(name, contextOf(name, new MedusaClient(name, config, fetchApi)));
}
