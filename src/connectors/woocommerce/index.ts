/**
 * The WooCommerce connector: the REST API wc/v3 over plain HTTP (`fetch`; no WooCommerce package at run
 * time). Reads customers and orders; writes the category tree (product categories), simple and variable
 * products in their categories, stock, regular prices, shipments (tracking in a customer note; the order
 * completed once every line shipped), invoices (order meta and a customer note) and ERP-side cancellations.
 * Proven against a real WooCommerce 7.9 (test/real/woocommerce.test.ts, test/real/tryton-woocommerce.test.ts,
 * test/real/categories-tryton-woocommerce.test.ts).
 */
import { z } from "zod";
import { defineConnector } from "../../ports/connector.ts";
import type { ConnectionUse } from "../../ports/permissions.ts";
import { categoryWriter } from "./categories.ts";
import { WooClient } from "./client.ts";
import { checkWooUse, WooCommerceConfig } from "./config.ts";
import { wooPermissions } from "./permissions.ts";
import { customerStream, orderStream } from "./streams.ts";
import { wooWebhookManager } from "./webhook-manager.ts";
import { wooWebhooks } from "./webhooks.ts";
import {
  inventoryWriter,
  invoiceWriter,
  orderWriter,
  priceWriter,
  productWriter,
  shipmentWriter,
} from "./writers.ts";

export { WooCommerceConfig } from "./config.ts";

export interface WooContext {
  name: string;
  config: WooCommerceConfig;
  client: WooClient;
}

export const woocommerce = defineConnector({
  id: "woocommerce",
  version: "1.2.0",
  description:
    "WooCommerce (REST API wc/v3): customers and orders in; product categories (the tree: name, parent, position), simple and variable products (sale prices, categories), stock, regular prices, shipments (partial: tracking note; complete: order completed), invoices (order meta and note, no PDF) and order cancellations out",
  config: WooCommerceConfig,
  client: (name, config): WooContext => ({ name, config, client: new WooClient(name, config) }),
  entities: {
    customer: { read: (x) => customerStream(x.name, x.client, x.config.pageSize, x.config.customerRole) },
    order: {
      read: (x) => orderStream(x.name, x.client, x.config.pageSize),
      write: (x) => orderWriter(x.name, x.client),
    },
    category: { write: (x) => categoryWriter(x.name, x.client) },
    product: { write: (x) => productWriter(x.name, x.client, x.config.productPrices) },
    price: { write: (x) => priceWriter(x.name, x.client, x.config) },
    inventory: { write: (x) => inventoryWriter(x.name, x.client, x.config) },
    shipment: { write: (x) => shipmentWriter(x.name, x.client) },
    invoice: { write: (x) => invoiceWriter(x.name, x.client) },
  },
  capabilities: { rateModel: "none" },
  connection: (x) => {
    // WooCommerce's and WordPress's versions, from the system status each health check reads.
    let server: string | null = null;
    return {
      async check() {
        const status = await x.client.get(
          "/system_status?_fields=environment",
          z
            .object({
              environment: z
                .object({ version: z.string().optional(), wp_version: z.string().optional() })
                .loose()
                .optional(),
            })
            .loose(),
          "check",
        );
        const env = status.environment;
        server = env?.version
          ? `WooCommerce ${env.version}${env.wp_version ? ` on WordPress ${env.wp_version}` : ""}`
          : null;
      },
      permissions: (use: ConnectionUse) => wooPermissions(x.client, use),
      apiVersion: () => ({
        api: "WooCommerce REST API wc/v3",
        version: server ?? "wc/v3 (server version not read yet (run the health check or passerelle doctor))",
        supportedUntil: null,
        policy: "WooCommerce publishes no end of support for wc/v3; deprecations are announced per release",
      }),
      drainDeprecations: () => x.client.http.deprecations.drain(),
      stats: () => ({ calls: x.client.calls, throttled: x.client.http.stats().throttled }),
      webhooks: wooWebhookManager(x.name, x.client, x.config),
      async close() {},
      /** Calls that changed data so far. */
      writes: () => x.client.writes,
    };
  },
  webhooks: wooWebhooks,
  checkUse: checkWooUse,
});

export type WooConnector = ReturnType<typeof woocommerce.create>;

export function createWooConnector(
  name: string,
  config: WooCommerceConfig,
  fetchApi?: typeof fetch,
): WooConnector {
  return woocommerce.assemble(name, { name, config, client: new WooClient(name, config, fetchApi) });
}
