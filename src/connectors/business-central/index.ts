/**
 * The Dynamics 365 Business Central connector (API v2.0, OData v4, under
 * /api/v2.0/companies({id})/ of an environment): items with their variants and their total inventory,
 * customers with their address, and sales invoices and credit memos (with their PDF) read; customers and sales orders
 * written; webhook subscriptions (webhooks.ts) for items, customers and invoices. Auth is OAuth2
 * client credentials against a configurable token endpoint. Reads are incremental on lastModifiedDateTime
 * (paging.ts) and page as Business Central pages (`@odata.nextLink`, `Prefer: odata.maxpagesize`); at most
 * 5 requests are in flight, and a 429 waits for its Retry-After. A page of orders (at least `batchThreshold`)
 * is written in OData JSON `$batch` requests (client.ts, writers/order.ts). It is held to the digest of the API v2.0
 * pages through the emulator (packages/emulators/src/business-central); no Business Central runs here
 * (docs/connectors/business-central.md says what that leaves out).
 */
import { SyncError } from "../../core/errors.ts";
import { defineConnector } from "../../ports/connector.ts";
import { BusinessCentralClient } from "./client.ts";
import { BusinessCentralConfig } from "./config.ts";
import type { BusinessCentralContext } from "./context.ts";
import { customerStream } from "./streams/customer.ts";
import { invoiceStream, salesDocumentPdf } from "./streams/invoices.ts";
import { inventoryStream, productStream } from "./streams/items.ts";
import { businessCentralWebhookManager, businessCentralWebhooks } from "./webhooks.ts";
import { customerWriter } from "./writers/customer.ts";
import { orderWriter } from "./writers/order.ts";

export const businessCentral = defineConnector({
  id: "business-central",
  version: "1.3.0",
  description:
    "Dynamics 365 Business Central via API v2.0 (OData v4, OAuth2 client credentials): items with variants, total inventory, customers, sales orders, sales invoices and credit memos with their PDF; webhook subscriptions.",
  config: BusinessCentralConfig,
  client: (name, config): BusinessCentralContext => ({
    name,
    config,
    client: new BusinessCentralClient(name, config),
  }),
  entities: {
    product: { read: productStream },
    inventory: { read: inventoryStream },
    customer: { read: customerStream, write: customerWriter },
    order: { write: orderWriter },
    invoice: { read: invoiceStream },
  },
  // Business Central answers 429 with Retry-After past 5 concurrent requests (and its own per-minute budget).
  capabilities: { rateModel: "retry-after", documents: true },
  // Notifications carry the subscription's clientState (the connection's webhookSecret), no signature.
  webhooks: businessCentralWebhooks,
  connection: (ctx, name) => ({
    async check() {
      // A token alone does not prove the app may read this company: the cheapest real read.
      const pages = ctx.client.list("items", { select: ["id"], top: 1, pageSize: 1 });
      const page = await pages.next();
      await pages.return(undefined);
      if (page.done) {
        throw new SyncError("retryable", `${name}: Business Central answered the check with no page`, {
          system: name,
        });
      }
    },
    webhooks: businessCentralWebhookManager(ctx),
    // A ref is `sales-invoice:<number>:<id>` or `sales-credit-memo:<number>:<id>`, as the invoice stream
    // names its documents.
    document: (ref, signal) => salesDocumentPdf(ctx, ref, signal),
    stats: () => ({ calls: ctx.client.calls, throttled: ctx.client.http.stats().throttled }),
    apiVersion: () => ({
      api: "Dynamics 365 Business Central API (OData v4)",
      version: "v2.0",
      supportedUntil: null,
      policy: "Microsoft keeps API v2.0 in every Business Central release; v1.0 and beta are being retired.",
    }),
    // A bearer token holds no session on the server: nothing to end.
    close: async () => undefined,
  }),
});
