/**
 * The SAP Business One connector (B1 10, Service Layer, OData v4 at /b1s/v2/): items with the prices of the
 * configured price lists and the stock per warehouse, customers (business partners) with their addresses,
 * deliveries with their tracking and A/R invoices read; customers and sales orders written. Reads are
 * incremental on UpdateDate + UpdateTime (time.ts) and page as Service Layer pages (`@odata.nextLink`,
 * `Prefer: odata.maxpagesize`). It is held to Service Layer's `$metadata` document through the emulator
 * (packages/emulators/src/sap-b1); no B1 runs here (docs/connectors/sap-b1.md says what that leaves out).
 */
import { SyncError } from "../../core/errors.ts";
import { defineConnector } from "../../ports/connector.ts";
import { ROOT, SapB1Client } from "./client.ts";
import { SapB1Config } from "./config.ts";
import type { SapB1Context } from "./context.ts";
import { customerStream } from "./streams/customer.ts";
import { invoiceStream, shipmentStream } from "./streams/documents.ts";
import { inventoryStream, priceStream, productStream } from "./streams/items.ts";
import { customerWriter } from "./writers/customer.ts";
import { orderWriter } from "./writers/order.ts";

export const sapB1 = defineConnector({
  id: "sap-b1",
  version: "1.1.0",
  description:
    "SAP Business One 10 via the Service Layer (OData v4): items, price lists per customer group, stock per warehouse, business partners, sales orders, deliveries, invoices.",
  config: SapB1Config,
  client: (name, config): SapB1Context => ({ name, config, client: new SapB1Client(name, config) }),
  entities: {
    product: { read: productStream },
    price: { read: priceStream },
    inventory: { read: inventoryStream },
    customer: { read: customerStream, write: customerWriter },
    order: { write: orderWriter },
    shipment: { read: shipmentStream },
    invoice: { read: invoiceStream },
  },
  // Service Layer publishes no budget: bounded concurrency, and a 429 from a proxy pauses for its Retry-After.
  capabilities: { rateModel: "retry-after" },
  connection: (ctx, name) => ({
    async check() {
      // A session alone does not prove the user may read: the cheapest real read.
      const rows = await ctx.client.http.request(
        "GET",
        `${ROOT}/Items?$select=ItemCode&$top=1`,
        undefined,
        undefined,
        {
          what: "check",
        },
      );
      if (typeof rows !== "object" || rows === null) {
        throw new SyncError("retryable", `${name}: Service Layer answered the check with no JSON object`, {
          system: name,
        });
      }
    },
    stats: () => ({ calls: ctx.client.calls, throttled: ctx.client.http.stats().throttled }),
    apiVersion: () => ({
      api: "SAP Business One Service Layer (OData v4)",
      version: "v2",
      supportedUntil: null,
      policy:
        "SAP supports B1 10.0 feature packs per its maintenance schedule; Service Layer v2 has no separate end date.",
    }),
    close: () => ctx.client.logout(),
  }),
});
