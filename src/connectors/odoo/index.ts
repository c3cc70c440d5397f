/**
 * The Odoo connector: products, prices, stock, customers, orders, shipments and invoices over the legacy
 * JSON-RPC external API (/jsonrpc), which every Odoo from 8 to 18 serves. Reads page with a keyset on
 * (write_date, id); writes create customers and confirmed sale orders.
 */
import { SyncError } from "../../core/errors.ts";
import type { Connector, ConnectorDefinition } from "../../ports/connector.ts";
import { OdooClient } from "./client.ts";
import { OdooConfig } from "./config.ts";
import type { OdooContext } from "./context.ts";
import { customerStream } from "./streams/customer.ts";
import { inventoryStream } from "./streams/inventory.ts";
import { invoiceStream } from "./streams/invoice.ts";
import { orderStream } from "./streams/order.ts";
import { priceStream } from "./streams/price.ts";
import { productStream } from "./streams/product.ts";
import { shipmentStream } from "./streams/shipment.ts";
import { customerWriter } from "./writers/customer.ts";
import { orderWriter } from "./writers/order.ts";

export interface OdooConnector extends Connector {
  /** The PDF of a posted customer invoice (account.move id), e.g. for an Invoice's document ref. */
  invoicePdf(invoiceId: string, signal?: AbortSignal): Promise<Uint8Array>;
}

export function createOdooConnector(name: string, config: OdooConfig): OdooConnector {
  const client = new OdooClient(config, name);
  const ctx: OdooContext = { client, name, config };
  return {
    name,
    kind: "odoo",
    streams: {
      product: productStream(ctx),
      price: priceStream(ctx),
      inventory: inventoryStream(ctx),
      customer: customerStream(ctx),
      order: orderStream(ctx),
      shipment: shipmentStream(ctx),
      invoice: invoiceStream(ctx),
    },
    writers: {
      customer: customerWriter(ctx),
      order: orderWriter(ctx),
    },
    async check() {
      await client.authenticate();
      // A uid alone does not prove the user may read: try the cheapest real call.
      await client.execute("res.partner", "search_count", [[["id", "=", 0]]]);
    },
    stats: () => ({ calls: client.calls, throttled: 0 }),
    invoicePdf(invoiceId, signal) {
      const id = Number(invoiceId);
      if (!Number.isInteger(id) || id <= 0) {
        return Promise.reject(
          new SyncError("data", `invoice id must be a positive integer, got ${JSON.stringify(invoiceId)}`, {
            system: name,
          }),
        );
      }
      return client.invoicePdf(id, signal);
    },
    async document(ref, signal) {
      // The ref is the report URL its invoice stream names (see invoicePdfRef).
      const m = /\/report\/pdf\/account\.report_invoice\/(\d+)$/.exec(ref);
      if (!m || !ref.startsWith(client.url)) {
        throw new SyncError("data", `not a document ref of ${name}: ${JSON.stringify(ref)}`, {
          system: name,
          field: "ref",
        });
      }
      const bytes = await this.invoicePdf(m[1]!, signal);
      return { mimeType: "application/pdf", fileName: `invoice-${m[1]}.pdf`, bytes };
    },
    async close() {},
  };
}

export const odoo: ConnectorDefinition<typeof OdooConfig> = {
  kind: "odoo",
  description:
    "Odoo (14–18) via the JSON-RPC external API: catalogue, price lists, stock, customers, sales, deliveries, invoices.",
  configSchema: OdooConfig,
  reads: ["product", "price", "inventory", "customer", "order", "shipment", "invoice"],
  writes: ["customer", "order"],
  create: createOdooConnector,
};
