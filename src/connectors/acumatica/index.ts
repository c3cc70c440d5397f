/**
 * The Acumatica ERP connector (2024 R2, contract-based REST API, endpoint Default/24.200.001 by default):
 * stock items with their default price, the prices of customer price classes, their stock per warehouse, customers, shipments with their
 * tracking and sales invoices read; customers and sales orders written. Reads are incremental on LastModifiedDateTime and page by `$top`/`$skip`; the
 * session is a cookie login (client.ts). It is held to Acumatica's OpenAPI document of the endpoint through
 * the emulator (packages/emulators/src/acumatica); docs/connectors/acumatica.md says what it leaves out.
 */
import { SyncError } from "../../core/errors.ts";
import { defineConnector } from "../../ports/connector.ts";
import { AcumaticaClient } from "./client.ts";
import { AcumaticaConfig } from "./config.ts";
import type { AcumaticaContext } from "./context.ts";
import {
  customerStream,
  inventoryStream,
  invoiceStream,
  priceStream,
  productStream,
  shipmentStream,
} from "./streams.ts";
import { customerWriter } from "./writers/customer.ts";
import { orderWriter } from "./writers/order.ts";

export const acumatica = defineConnector({
  id: "acumatica",
  version: "1.0.0",
  description:
    "Acumatica ERP 2024 R2 via the contract-based REST API: stock items and prices, customer-price-class prices, stock per warehouse, customers, sales orders, shipments with tracking, sales invoices.",
  config: AcumaticaConfig,
  client: (name, config): AcumaticaContext => ({ name, config, client: new AcumaticaClient(name, config) }),
  entities: {
    product: { read: productStream },
    price: { read: priceStream },
    inventory: { read: inventoryStream },
    customer: { read: customerStream, write: customerWriter },
    order: { write: orderWriter },
    shipment: { read: shipmentStream },
    invoice: { read: invoiceStream },
  },
  // The license's API limits answer 429 with Retry-After: bounded concurrency, and a pause when told.
  capabilities: { rateModel: "retry-after" },
  connection: (ctx, name) => ({
    async check() {
      // A session alone does not prove the user may read stock items: the cheapest real read.
      const rows = await ctx.client.page("StockItem", { select: ["InventoryID"] }, 1, 0);
      if (!Array.isArray(rows)) {
        throw new SyncError("retryable", `${name}: Acumatica answered the check with no list`, {
          system: name,
        });
      }
    },
    stats: () => ({ calls: ctx.client.calls, throttled: ctx.client.http.stats().throttled }),
    apiVersion: () => ({
      api: `Acumatica contract-based REST API (${ctx.config.endpoint} endpoint)`,
      version: ctx.config.endpointVersion,
      supportedUntil: null,
      policy:
        "Acumatica keeps an endpoint version working in the releases that ship it; a new ERP release adds a new endpoint version beside the old ones.",
    }),
    close: () => ctx.client.logout(),
  }),
});
