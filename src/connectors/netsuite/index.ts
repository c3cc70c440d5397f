/**
 * The Oracle NetSuite connector (SuiteTalk REST, Token-Based Authentication: OAuth 1.0a with HMAC-SHA256,
 * signing.ts): items, customers, item fulfilments (shipments with tracking numbers) and invoices read through
 * SuiteQL, incremental on lastmodifieddate and paged by offset while hasMore, stock per location read as a
 * snapshot, the prices of configured price levels as customer-group price lists (a snapshot too); customers
 * and sales orders written through the REST record service. Held only to the documented shapes in
 * test/fixtures/netsuite/record-shapes.json through the emulator (packages/emulators/src/netsuite): NetSuite publishes no static contract (docs/connectors/netsuite.md).
 */
import { SyncError } from "../../core/errors.ts";
import { defineConnector } from "../../ports/connector.ts";
import { NetSuiteClient } from "./client.ts";
import { NetSuiteConfig } from "./config.ts";
import type { NetSuiteContext } from "./context.ts";
import { customerStream } from "./streams/customer.ts";
import { shipmentStream } from "./streams/fulfilments.ts";
import { inventoryStream } from "./streams/inventory.ts";
import { invoiceStream } from "./streams/invoices.ts";
import { productStream } from "./streams/items.ts";
import { listsOf, priceStream } from "./streams/prices.ts";
import { customerWriter } from "./writers/customer.ts";
import { orderWriter } from "./writers/order.ts";

export const netsuite = defineConnector({
  id: "netsuite",
  version: "0.3.0",
  description:
    "Oracle NetSuite via SuiteTalk REST (TBA, OAuth 1.0a HMAC-SHA256): items, customers, stock per location, price levels as customer-group price lists, item fulfilments with tracking numbers and invoices read through SuiteQL; customers and sales orders written.",
  config: NetSuiteConfig,
  client: (name, config): NetSuiteContext => ({ name, config, client: new NetSuiteClient(name, config) }),
  entities: {
    product: { read: productStream },
    customer: { read: customerStream, write: customerWriter },
    order: { write: orderWriter },
    inventory: { read: inventoryStream },
    shipment: { read: shipmentStream },
    invoice: { read: invoiceStream },
    price: { read: priceStream },
  },
  // Account-level concurrency governance: bounded in-flight requests, a 429 pauses for its Retry-After.
  capabilities: { rateModel: "retry-after" },
  connection: (ctx, name) => ({
    async check() {
      const row = await ctx.client.first("SELECT id FROM item ORDER BY id");
      if (row !== null && typeof row !== "object") {
        throw new SyncError("retryable", `${name}: NetSuite answered the check with no row`, {
          system: name,
        });
      }
      // The configured price levels must exist: a name NetSuite does not know fails here, named, not mid-sync.
      if (ctx.config.priceLevels.length > 0) await listsOf(ctx);
    },
    stats: () => ({ calls: ctx.client.calls, throttled: ctx.client.http.stats().throttled }),
    apiVersion: () => ({
      api: "NetSuite SuiteTalk REST (record v1, query v1)",
      version: "v1",
      supportedUntil: null,
      policy: "NetSuite ships two releases a year; REST record and query services stay at v1.",
    }),
    close: async () => undefined,
  }),
});
