/**
 * The Tryton connector: catalogue, sale price lists, stock per warehouse, customers, shipments and
 * invoices read from trytond over JSON-RPC; customers and confirmed sales written to it. Reads are
 * incremental on write_date (create_date for never-written records), see paging.ts.
 */
import { SyncError } from "../../core/errors.ts";
import type { Connector, ConnectorDefinition } from "../../ports/connector.ts";
import { TrytonClient } from "./client.ts";
import { TrytonConfig } from "./config.ts";
import { companyCurrency, failure, type TrytonContext } from "./context.ts";
import { type InvoiceDocument, pdfOfReport } from "./document.ts";
import { customerStream } from "./streams/customer.ts";
import { inventoryStream } from "./streams/inventory.ts";
import { invoiceStream } from "./streams/invoice.ts";
import { orderStream } from "./streams/order.ts";
import { priceStream } from "./streams/price.ts";
import { productStream } from "./streams/product.ts";
import { shipmentStream } from "./streams/shipment.ts";
import { customerWriter } from "./writers/customer.ts";
import { orderWriter } from "./writers/order.ts";

export type { InvoiceDocument } from "./document.ts";

export interface TrytonConnector extends Connector {
  /**
   * The PDF of a posted customer invoice from Tryton's report service (`report.account.invoice`). Fails
   * with a config error naming the invoice when Tryton renders anything else (no LibreOffice beside
   * trytond, or the report not set to PDF when the invoice was posted).
   */
  invoiceDocument(invoiceId: string, signal?: AbortSignal): Promise<InvoiceDocument>;
  /** Per-method call latencies seen so far, ms. */
  latencies(): Map<string, number[]>;
}

export function createTrytonConnector(name: string, config: TrytonConfig): TrytonConnector {
  const client = new TrytonClient(config, name);
  const ctx: TrytonContext = { client, name, config, currency: companyCurrency(client) };
  return {
    name,
    kind: "tryton",
    streams: {
      product: productStream(ctx),
      price: priceStream(ctx),
      inventory: inventoryStream(ctx),
      customer: customerStream(ctx),
      shipment: shipmentStream(ctx),
      invoice: invoiceStream(ctx),
      order: orderStream(ctx),
    },
    writers: {
      customer: customerWriter(ctx),
      order: orderWriter(ctx),
    },
    async check() {
      await client.login();
      // A session alone does not prove the user may read: try the cheapest real call.
      await client.model("party.party", "search_count", [[["id", "=", 0]]]);
    },
    stats: () => ({ calls: client.calls, throttled: 0 }),
    latencies: () => client.latencies,
    async invoiceDocument(invoiceId, signal) {
      const id = Number(invoiceId);
      if (!Number.isInteger(id) || id <= 0) {
        throw new SyncError(
          "data",
          `invoice id must be a positive integer, got ${JSON.stringify(invoiceId)}`,
          {
            system: name,
            field: "invoiceId",
          },
        );
      }
      try {
        const [result, rows] = await Promise.all([
          client.report("account.invoice", [id], `the report of account.invoice ${id}`, signal),
          client.read("account.invoice", [id], ["number"], { signal }),
        ]);
        const number = rows[0]?.number;
        return pdfOfReport(
          result,
          name,
          `account.invoice ${id}${typeof number === "string" && number ? ` (${number})` : ""}`,
        );
      } catch (err) {
        throw failure(err, name);
      }
    },
    document(ref, signal) {
      const prefix = `${name}:account.invoice/`;
      const id = ref.startsWith(prefix) ? ref.slice(prefix.length) : "";
      if (!/^\d+$/.test(id)) {
        return Promise.reject(
          new SyncError(
            "data",
            `not a document ref of ${name}: ${JSON.stringify(ref)} (expected ${prefix}<invoice id>)`,
            { system: name, field: "ref" },
          ),
        );
      }
      return this.invoiceDocument(id, signal);
    },
    async close() {},
  };
}

export const tryton: ConnectorDefinition<typeof TrytonConfig> = {
  kind: "tryton",
  description:
    "Tryton (6.0+) via JSON-RPC: products and variants, sale price lists, stock per warehouse, parties, sales (in, and their withdrawal out), shipments, invoices.",
  configSchema: TrytonConfig,
  reads: ["product", "price", "inventory", "customer", "shipment", "invoice", "order"],
  writes: ["customer", "order"],
  create: createTrytonConnector,
};
