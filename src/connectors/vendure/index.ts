/**
 * The Vendure connector: the Admin GraphQL API over plain HTTP (`fetch`; no Vendure package at run time).
 * Reads customers and placed orders; writes products with variants, price lists (one channel each), stock
 * per stock location, customers with their group, shipments (fulfilments with tracking) and invoices
 * (order custom fields).
 */
import { z } from "zod";
import type { Connector, ConnectorDefinition } from "../../ports/connector.ts";
import { VendureClient } from "./client.ts";
import { VendureConfig } from "./config.ts";
import { activeChannel, StockLocations } from "./lookup.ts";
import { customerStream } from "./streams/customer.ts";
import { orderStream } from "./streams/order.ts";
import { priceListChannels } from "./writers/channels.ts";
import { customerWriter } from "./writers/customer.ts";
import { inventoryWriter } from "./writers/inventory.ts";
import { invoiceWriter } from "./writers/invoice.ts";
import { orderWriter } from "./writers/order.ts";
import { priceWriter } from "./writers/price.ts";
import { productWriter } from "./writers/product.ts";
import { shipmentWriter } from "./writers/shipment.ts";

export { VendureConfig } from "./config.ts";

export function createVendureConnector(
  name: string,
  config: VendureConfig,
  fetchApi?: typeof fetch,
): Connector {
  const client = new VendureClient(name, config, fetchApi);
  const channel = activeChannel(client);
  const locations = new StockLocations(client);
  const locationName = (canonical: string) => config.locationMap?.[canonical] ?? canonical;
  const priceChannels = priceListChannels(client, channel, Object.values(config.priceListChannels ?? {}));
  return {
    name,
    kind: "vendure",
    streams: {
      customer: customerStream(name, client, config.pageSize),
      order: orderStream(name, client, config.pageSize),
    },
    writers: {
      customer: customerWriter(name, client),
      product: productWriter(name, client, channel),
      price: priceWriter(name, client, config, priceChannels),
      inventory: inventoryWriter(name, client, locations, locationName, priceChannels),
      shipment: shipmentWriter(name, client, config),
      invoice: invoiceWriter(name, client, config),
      order: orderWriter(name, client, config),
    },
    async check() {
      await client.request(
        "query Check { activeChannel { id code } }",
        {},
        z.object({ activeChannel: z.object({ id: z.string() }) }),
      );
    },
    stats: () => ({ calls: client.calls, throttled: 0 }),
    async close() {},
  };
}

export const vendure: ConnectorDefinition<typeof VendureConfig> = {
  kind: "vendure",
  description:
    "Vendure (Admin GraphQL API): customers and orders in; products, channel price lists, stock per location, customers with groups, fulfilments, invoices and order cancellations out",
  configSchema: VendureConfig,
  reads: ["customer", "order"],
  writes: ["customer", "product", "price", "inventory", "shipment", "invoice", "order"],
  create: (name, config) => createVendureConnector(name, config),
};
