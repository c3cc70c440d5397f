/**
 * The Shopify connector: Admin GraphQL API 2026-10 through the official @shopify/admin-api-client.
 * Reads customers, orders, refunds and products (read back for verification); writes products, B2B prices,
 * inventory and shipments (fulfillments with tracking).
 */
import { z } from "zod";
import type { EntityName } from "../../core/model.ts";
import { type Connector, defineConnector } from "../../ports/connector.ts";
import { type ConnectionUse, neededRights, type RightCheck } from "../../ports/permissions.ts";
import { type ClientOptions, ShopifyClient } from "./client.ts";
import { ShopifyConfig } from "./config.ts";
import { LocationCache } from "./lookup.ts";
import { SHOP } from "./operations.ts";
import { customerStream } from "./streams/customer.ts";
import { orderStream } from "./streams/order.ts";
import { productStream } from "./streams/product.ts";
import { refundStream } from "./streams/refund.ts";
import { shopifyVersionInfo } from "./versions.ts";
import { shopifyWebhookManager, shopifyWebhookReceiver } from "./webhooks.ts";
import { categoryWriter } from "./writers/category.ts";
import { inventoryWriter } from "./writers/inventory.ts";
import { priceWriter } from "./writers/price.ts";
import { productWriter } from "./writers/product.ts";
import { shipmentWriter } from "./writers/shipment.ts";

export { ShopifyConfig } from "./config.ts";

const ACCESS_SCOPES = `query AccessScopes {
  currentAppInstallation { accessScopes { handle } }
}`;

const ScopesAnswer = z.object({
  currentAppInstallation: z.object({ accessScopes: z.array(z.object({ handle: z.string() })) }),
});

/**
 * The access scopes each entity needs, read and written by this connector's documents (Shopify's scope of
 * each query and mutation it sends). A write_ scope grants the read_ one of the same resource.
 */
const SCOPES: Record<"read" | "write", Partial<Record<EntityName, readonly string[]>>> = {
  read: {
    customer: ["read_customers"],
    order: ["read_orders"],
    product: ["read_products"],
    // Refunds are read from their orders (Order.refunds, Query.refund).
    refund: ["read_orders"],
  },
  write: {
    // Collections are products' resource; the category menu is the online store's navigation.
    category: ["write_products", "write_online_store_navigation"],
    product: ["write_products"],
    price: ["write_products"],
    inventory: ["write_inventory", "read_locations"],
    shipment: ["write_merchant_managed_fulfillment_orders"],
  },
};

/** write_x grants read_x (Shopify's rule). */
function holds(granted: readonly string[], scope: string): boolean {
  return (
    granted.includes(scope) || (scope.startsWith("read_") && granted.includes(`write_${scope.slice(5)}`))
  );
}

/** The scopes `use` needs against those the app installation holds. */
export function scopeRights(use: ConnectionUse, granted: readonly string[]): RightCheck[] {
  const held = granted.length > 0 ? granted.join(", ") : "none";
  return [...neededRights(use, SCOPES)].map(([scope, needs]) => ({
    right: scope,
    neededFor: needs.join(", "),
    granted: holds(granted, scope),
    how: `currentAppInstallation.accessScopes (held: ${held})`,
    grant: `add the access scope ${scope} to the app and reinstall it`,
  }));
}

const ShopAnswer = z.object({
  shop: z.object({ id: z.string(), name: z.string(), currencyCode: z.string() }),
});

/** A connection's client and what its entities share. */
interface ShopifyContext {
  name: string;
  config: ShopifyConfig;
  opts: ClientOptions;
  client: ShopifyClient;
  locations: LocationCache;
  shopCurrency(): Promise<string>;
  locationName(canonical: string): string;
}

function shopifyContext(name: string, config: ShopifyConfig, opts: ClientOptions = {}): ShopifyContext {
  const client = new ShopifyClient(name, config, opts);
  let currency: Promise<string> | null = null;
  const shopCurrency = (): Promise<string> => {
    currency ??= client.request(SHOP, {}, ShopAnswer).then((d) => d.shop.currencyCode);
    currency.catch(() => {
      currency = null;
    });
    return currency;
  };
  return {
    name,
    config,
    opts,
    client,
    locations: new LocationCache(client),
    shopCurrency,
    locationName: (canonical) => config.locationMap?.[canonical] ?? canonical,
  };
}

export const shopify = defineConnector({
  id: "shopify",
  version: "1.0.0",
  description:
    "Shopify (Admin GraphQL API 2026-10): customers, orders and refunds in; the category tree (collections and a navigation menu), products, B2B prices, stock and shipments out",
  config: ShopifyConfig,
  client: (name, config) => shopifyContext(name, config),
  entities: {
    category: { write: (x) => categoryWriter(x.name, x.client) },
    customer: { read: (x) => customerStream(x.name, x.client) },
    order: { read: (x) => orderStream(x.name, x.client) },
    product: {
      read: (x) => productStream(x.name, x.client, x.shopCurrency),
      write: (x) =>
        productWriter(x.name, x.client, {
          ...(x.config.bulkThreshold === undefined ? {} : { bulkThreshold: x.config.bulkThreshold }),
          ...(x.opts.timer ? { bulk: { timer: x.opts.timer } } : {}),
        }),
    },
    price: { write: (x) => priceWriter(x.name, x.client) },
    inventory: { write: (x) => inventoryWriter(x.name, x.client, x.locations, x.locationName) },
    shipment: { write: (x) => shipmentWriter(x.name, x.client) },
    refund: { read: (x) => refundStream(x.name, x.client) },
  },
  // The calculated query cost of GraphQL, drawn from a bucket that refills at the plan's restore rate.
  capabilities: { rateModel: "cost-bucket", bulk: true },
  connection: (x, name) => ({
    async check() {
      await x.client.request(SHOP, {}, ShopAnswer);
    },
    stats: () => ({ calls: x.client.calls, throttled: x.client.throttled, rateLimit: x.client.rateLimit() }),
    async close() {},
    webhooks: shopifyWebhookManager(name, x.client),
    apiVersion: () => shopifyVersionInfo(x.client.servedVersion ?? x.config.apiVersion),
    drainDeprecations: () => x.client.deprecations.drain(),
    async permissions(use: ConnectionUse, signal?: AbortSignal) {
      const d = await x.client.request(ACCESS_SCOPES, {}, ScopesAnswer, signal);
      return scopeRights(
        use,
        d.currentAppInstallation.accessScopes.map((s) => s.handle),
      );
    },
  }),
  webhooks: shopifyWebhookReceiver,
});

export function createShopifyConnector(
  name: string,
  config: ShopifyConfig,
  opts: ClientOptions = {},
): Connector {
  return shopify.assemble(name, shopifyContext(name, config, opts));
}
