/**
 * The Vendure connector: the Admin GraphQL API over plain HTTP (`fetch`; no Vendure package at run time).
 * Reads customers, placed orders and their settled refunds, and products (two-way product content); writes the category tree (collections linked to products by a facet
 * value per category, see writers/category.ts), products with variants and their categories, price lists (one channel each), stock
 * per stock location, customers with their group, shipments (fulfilments with tracking), invoices
 * (order custom fields) and ERP credit notes (refunds of the order's payment).
 */
import { z } from "zod";
import { type Connector, defineConnector } from "../../ports/connector.ts";
import type { ConnectionUse } from "../../ports/permissions.ts";
import { VendureClient } from "./client.ts";
import { VendureConfig } from "./config.ts";
import { activeChannel, StockLocations } from "./lookup.ts";
import { vendurePermissions } from "./permissions.ts";
import { customerStream } from "./streams/customer.ts";
import { orderStream } from "./streams/order.ts";
import { productStream } from "./streams/product.ts";
import { refundStream } from "./streams/refund.ts";
import { categoryWriter } from "./writers/category.ts";
import { priceListChannels } from "./writers/channels.ts";
import { customerWriter } from "./writers/customer.ts";
import { inventoryWriter } from "./writers/inventory.ts";
import { invoiceWriter } from "./writers/invoice.ts";
import { orderWriter } from "./writers/order.ts";
import { priceWriter } from "./writers/price.ts";
import { productWriter } from "./writers/product.ts";
import { refundWriter } from "./writers/refund.ts";
import { shipmentWriter } from "./writers/shipment.ts";

export { VendureConfig } from "./config.ts";

/** A connection's client and what its entities share. */
interface VendureContext {
  name: string;
  config: VendureConfig;
  client: VendureClient;
  channel: ReturnType<typeof activeChannel>;
  locations: StockLocations;
  locationName(canonical: string): string;
  priceChannels: ReturnType<typeof priceListChannels>;
}

function vendureContext(name: string, config: VendureConfig, fetchApi?: typeof fetch): VendureContext {
  const client = new VendureClient(name, config, fetchApi);
  const channel = activeChannel(client);
  return {
    name,
    config,
    client,
    channel,
    locations: new StockLocations(client),
    locationName: (canonical) => config.locationMap?.[canonical] ?? canonical,
    priceChannels: priceListChannels(client, channel, Object.values(config.priceListChannels ?? {})),
  };
}

export const vendure = defineConnector({
  id: "vendure",
  version: "1.0.0",
  description:
    "Vendure (Admin GraphQL API): customers, orders, settled refunds and products (two-way product content) in; the category tree (collections), products, channel price lists, stock per location, customers with groups, fulfilments, invoices, order cancellations and refunds (of ERP credit notes) out",
  config: VendureConfig,
  client: (name, config) => vendureContext(name, config),
  entities: {
    customer: {
      read: (x) => customerStream(x.name, x.client, x.config.pageSize),
      write: (x) => customerWriter(x.name, x.client),
      // Two-way delete policies: a customer deleted in Vendure is reported; Vendure can only delete one.
      removal: ["delete"],
    },
    order: {
      read: (x) => orderStream(x.name, x.client, x.config.pageSize),
      write: (x) => orderWriter(x.name, x.client, x.config),
    },
    // Settled refunds, one record each (streams/refund.ts: every placed order is read each run); ERP credit
    // notes out as refunds of the order's settled payment (writers/refund.ts). Each skips the other's echo.
    refund: {
      read: (x) => refundStream(x.name, x.client, x.config.pageSize),
      write: (x) => refundWriter(x.name, x.client),
    },
    category: { write: (x) => categoryWriter(x.name, x.client, x.channel) },
    // Read for two-way product content (streams/product.ts: every product is read each run).
    product: {
      read: (x) => productStream(x.name, x.client, x.channel, x.config.pageSize),
      write: (x) => productWriter(x.name, x.client, x.channel),
    },
    price: { write: (x) => priceWriter(x.name, x.client, x.config, x.priceChannels) },
    inventory: {
      write: (x) =>
        inventoryWriter(x.name, x.client, x.locations, x.locationName, x.priceChannels, {
          backorderLimit: x.config.backorderLimit,
          ...(x.config.shipsOnField ? { shipsOnField: x.config.shipsOnField } : {}),
        }),
    },
    shipment: { write: (x) => shipmentWriter(x.name, x.client, x.config) },
    invoice: { write: (x) => invoiceWriter(x.name, x.client, x.config) },
  },
  capabilities: { rateModel: "none" },
  connection: (x) => ({
    async check() {
      await x.client.request(
        "query Check { activeChannel { id code } }",
        {},
        z.object({ activeChannel: z.object({ id: z.string() }) }),
      );
    },
    apiVersion: () => ({
      api: "Vendure Admin API (GraphQL)",
      version: "n/a: Vendure does not expose its version through the Admin API",
      supportedUntil: null,
      policy:
        "Vendure announces schema changes per release and publishes no end-of-support date for the Admin API",
    }),
    drainDeprecations: () => x.client.drainDeprecations(),
    permissions: (use: ConnectionUse, signal?: AbortSignal) =>
      vendurePermissions(x.client, x.channel, use, signal),
    stats: () => ({ calls: x.client.calls, throttled: 0 }),
    async close() {},
  }),
});

export function createVendureConnector(
  name: string,
  config: VendureConfig,
  fetchApi?: typeof fetch,
): Connector {
  return vendure.assemble(name, vendureContext(name, config, fetchApi));
}
