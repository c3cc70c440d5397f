/**
 * The Odoo connector: products, prices, stock, customers, orders, shipments and invoices over the legacy
 * JSON-RPC external API (/jsonrpc). It targets Odoo 14–18 and is tested against a real Odoo 17 (test:real);
 * the other versions differ in a few fields (docs/connectors/odoo.md). Reads page with a keyset on
 * (write_date, id); writes create customers and confirmed sale orders.
 */
import { SyncError } from "../../core/errors.ts";
import { type Connector, defineConnector } from "../../ports/connector.ts";
import type { ConnectionUse } from "../../ports/permissions.ts";
import { OdooClient } from "./client.ts";
import { OdooConfig } from "./config.ts";
import type { OdooContext } from "./context.ts";
import { odooPermissions } from "./permissions.ts";
import { categoryStream } from "./streams/category.ts";
import { customerStream } from "./streams/customer.ts";
import { inventoryStream } from "./streams/inventory.ts";
import { invoiceStream } from "./streams/invoice.ts";
import { orderStream } from "./streams/order.ts";
import { priceStream } from "./streams/price.ts";
import { productStream } from "./streams/product.ts";
import { shipmentStream } from "./streams/shipment.ts";
import { customerWriter } from "./writers/customer.ts";
import { orderWriter } from "./writers/order.ts";
import { refundWriter } from "./writers/refund.ts";

export interface OdooConnector extends Connector {
  /** Calls and latency per `model.method` this connection sent (bounded: see connectors/http/latency.ts). */
  latency(): Record<string, { count: number }>;
  /** The PDF of a posted customer invoice (account.move id), e.g. for an Invoice's document ref. */
  invoicePdf(invoiceId: string, signal?: AbortSignal): Promise<Uint8Array>;
}

function invoicePdf(ctx: OdooContext, invoiceId: string, signal?: AbortSignal): Promise<Uint8Array> {
  const id = Number(invoiceId);
  if (!Number.isInteger(id) || id <= 0) {
    return Promise.reject(
      new SyncError("data", `invoice id must be a positive integer, got ${JSON.stringify(invoiceId)}`, {
        system: ctx.name,
      }),
    );
  }
  return ctx.client.invoicePdf(id, signal);
}

/** When the JSON-RPC endpoints the connector uses may be gone: Odoo 22, announced for fall 2028. */
export const ODOO_RPC_REMOVAL = "2028-09-01";

export const odoo = defineConnector({
  id: "odoo",
  version: "1.0.0",
  description:
    "Odoo (14–18) via the JSON-RPC external API: the category tree, catalogue with kits, price lists, stock, customers, sales, deliveries, invoices, credit notes for shop refunds.",
  config: OdooConfig,
  client: (name, config): OdooContext => ({ client: new OdooClient(config, name), name, config }),
  entities: {
    category: { read: categoryStream },
    product: { read: productStream },
    price: { read: priceStream },
    inventory: { read: inventoryStream },
    // Removals (two-way delete policies): a partner is archived (active false) or deleted (unlink).
    customer: { read: customerStream, write: customerWriter, removal: ["archive", "delete"] },
    order: { read: orderStream, write: orderWriter },
    shipment: { read: shipmentStream },
    invoice: { read: invoiceStream },
    refund: { write: refundWriter },
  },
  // No published budget: bounded concurrency, and a 429 pauses the connection for its Retry-After.
  capabilities: { rateModel: "retry-after", documents: true },
  connection: (ctx, name) => {
    // The server's version, read by each health check (common.version: no login needed).
    let server: string | null = null;
    return {
      async check() {
        const v = await ctx.client.rpc(
          "/jsonrpc",
          { service: "common", method: "version", args: [] },
          "version",
        );
        const sv = (v as { server_version?: unknown } | null)?.server_version;
        server = typeof sv === "string" ? sv : null;
        await ctx.client.authenticate();
        // A uid alone does not prove the user may read: try the cheapest real call.
        await ctx.client.execute("res.partner", "search_count", [[["id", "=", 0]]]);
      },
      apiVersion: () => ({
        api: "Odoo external JSON-RPC API (/jsonrpc)",
        version: server
          ? `Odoo ${server}`
          : "server version not read yet (run the health check or passerelle doctor)",
        // Odoo announced the removal of /jsonrpc and /xmlrpc in Odoo 22, "fall 2028": the start of that season.
        supportedUntil: ODOO_RPC_REMOVAL,
        policy:
          "Odoo deprecated the /jsonrpc and /xmlrpc endpoints and scheduled their removal for Odoo 22 (fall 2028, taken as 1 September 2028); servers before 22 keep them",
      }),
      drainDeprecations: () => ctx.client.drainDeprecations(),
      permissions: (use: ConnectionUse, signal?: AbortSignal) =>
        odooPermissions(ctx.client, name, use, signal),
      stats: () => ({ calls: ctx.client.calls, throttled: ctx.client.throttled }),
      latency: () => ctx.client.stats().latency,
      invoicePdf: (invoiceId: string, signal?: AbortSignal) => invoicePdf(ctx, invoiceId, signal),
      async document(ref: string, signal?: AbortSignal) {
        // The ref is the report URL its invoice stream names (see invoicePdfRef).
        const m = /\/report\/pdf\/account\.report_invoice\/(\d+)$/.exec(ref);
        if (!m || !ref.startsWith(ctx.client.url)) {
          throw new SyncError("data", `not a document ref of ${name}: ${JSON.stringify(ref)}`, {
            system: name,
            field: "ref",
          });
        }
        const bytes = await invoicePdf(ctx, m[1]!, signal);
        return { mimeType: "application/pdf", fileName: `invoice-${m[1]}.pdf`, bytes };
      },
      async close() {},
    };
  },
});

export function createOdooConnector(name: string, config: OdooConfig): OdooConnector {
  return odoo.create(name, config);
}
