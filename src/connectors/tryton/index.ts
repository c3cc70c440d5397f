/**
 * The Tryton connector: the category tree, catalogue, sale price lists, stock per warehouse, customers, shipments and
 * invoices and credit notes (as refunds) read from trytond over JSON-RPC; customers, confirmed sales, shop refunds
 * (credit notes) and product descriptions (two-way product content) written to it. Reads are
 * incremental on write_date (create_date for never-written records), see paging.ts.
 */
import { SyncError } from "../../core/errors.ts";
import { type Connector, defineConnector } from "../../ports/connector.ts";
import type { ConnectionUse } from "../../ports/permissions.ts";
import { TrytonClient } from "./client.ts";
import { TrytonConfig } from "./config.ts";
import {
  companyCurrency,
  failure,
  modelProbe,
  type TrytonContext,
  translatableLanguages,
} from "./context.ts";
import { type PdfDocument, pdfOfReport, REPORTS, type ReportModel } from "./document.ts";
import { trytonPermissions } from "./permissions.ts";
import { categoryStream } from "./streams/category.ts";
import { customerStream } from "./streams/customer.ts";
import { inventoryStream } from "./streams/inventory.ts";
import { invoiceStream } from "./streams/invoice.ts";
import { orderStream } from "./streams/order.ts";
import { priceStream } from "./streams/price.ts";
import { productStream } from "./streams/product.ts";
import { refundStream } from "./streams/refund.ts";
import { shipmentStream } from "./streams/shipment.ts";
import { customerWriter } from "./writers/customer.ts";
import { orderWriter } from "./writers/order.ts";
import { productWriter } from "./writers/product.ts";
import { refundWriter } from "./writers/refund.ts";

export type { PdfDocument } from "./document.ts";

export interface TrytonConnector extends Connector {
  /**
   * The PDF of a posted customer invoice from Tryton's report service (`report.account.invoice`). Fails
   * with a config error naming the invoice when Tryton renders anything else (no LibreOffice beside
   * trytond, or the report not set to PDF when the invoice was posted).
   */
  invoiceDocument(invoiceId: string, signal?: AbortSignal): Promise<PdfDocument>;
  /** Per-method call latencies seen so far, ms. */
  latencies(): Map<string, number[]>;
}

/**
 * The PDF Tryton's report service renders for a record: a customer invoice (`account.invoice`) or a
 * customer shipment's delivery note (`stock.shipment.out`), see document.ts.
 */
async function reportDocument(
  ctx: TrytonContext,
  model: ReportModel,
  recordId: string,
  signal?: AbortSignal,
): Promise<PdfDocument> {
  const { client, name } = ctx;
  const id = Number(recordId);
  const { report, what } = REPORTS[model];
  if (!Number.isInteger(id) || id <= 0) {
    throw new SyncError("data", `${what} id must be a positive integer, got ${JSON.stringify(recordId)}`, {
      system: name,
      field: model === "account.invoice" ? "invoiceId" : "shipmentId",
    });
  }
  try {
    const [result, rows] = await Promise.all([
      client.report(report, [id], `the report of ${model} ${id}`, signal),
      client.read(model, [id], ["number"], { signal }),
    ]);
    const number = rows[0]?.number;
    return pdfOfReport(
      result,
      name,
      `${model} ${id}${typeof number === "string" && number ? ` (${number})` : ""}`,
      model,
    );
  } catch (err) {
    throw failure(err, name);
  }
}

export const tryton = defineConnector({
  id: "tryton",
  version: "1.0.0",
  description:
    "Tryton (6.0+) via JSON-RPC: the category tree, products and variants (kits with their components), sale price lists, stock per warehouse (kits' computed from their components, supplier lead times), parties, sales (in, and their withdrawal out), shipments, invoices, refunds out (posted credit notes of synced sales) and in (credit notes on the posted invoices), product descriptions in (two-way product content: products are created in the ERP).",
  config: TrytonConfig,
  client: (name, config): TrytonContext => {
    const client = new TrytonClient(config, name);
    return {
      client,
      name,
      config,
      currency: companyCurrency(client),
      hasModel: modelProbe(client),
      otherLanguages: translatableLanguages(client),
    };
  },
  entities: {
    category: { read: categoryStream },
    // Written back: the description only (a two-way product flow where the shop owns it; writers/product.ts).
    // The product writer sets descriptions only (two-way product content: products are created in the ERP).
    product: { read: productStream, write: productWriter, writesFields: ["description"] },
    price: { read: priceStream },
    inventory: { read: inventoryStream },
    // Removals (two-way delete policies): a party is deactivated (archive) or deleted.
    customer: { read: customerStream, write: customerWriter, removal: ["archive", "delete"] },
    order: { read: orderStream, write: orderWriter },
    shipment: { read: shipmentStream },
    invoice: { read: invoiceStream },
    // Posted credit notes of synced sales out (streams/refund.ts); shop refunds in as credit notes on the
    // sale's posted invoices (writers/refund.ts). Each skips the other's echo.
    refund: { read: refundStream, write: refundWriter },
  },
  capabilities: { rateModel: "none", documents: true },
  connection: (ctx, name) => {
    // trytond's version, read by each health check.
    let server: string | null = null;
    return {
      async check() {
        server = await ctx.client.serverVersion();
        await ctx.client.login();
        // A session alone does not prove the user may read: try the cheapest real call.
        await ctx.client.model("party.party", "search_count", [[["id", "=", 0]]]);
      },
      apiVersion: () => ({
        api: "Tryton JSON-RPC",
        version: server
          ? `trytond ${server}`
          : "server version not read yet (run the health check or passerelle doctor)",
        supportedUntil: null,
        policy:
          "Tryton supports each series for a limited time, LTS series longer (tryton.org's release calendar); no date is read from the server",
      }),
      drainDeprecations: () => ctx.client.drainDeprecations(),
      permissions: (use: ConnectionUse, signal?: AbortSignal) =>
        trytonPermissions(ctx.client, name, use, signal),
      stats: () => ({ calls: ctx.client.calls, throttled: 0 }),
      latencies: () => ctx.client.latencies,
      invoiceDocument: (invoiceId: string, signal?: AbortSignal) =>
        reportDocument(ctx, "account.invoice", invoiceId, signal),
      // A ref is `<connection>:<model>/<id>`, as the invoice and shipment streams name their documents.
      document(ref: string, signal?: AbortSignal) {
        const prefix = `${name}:`;
        const m = ref.startsWith(prefix) ? /^([a-z.]+)\/(\d+)$/.exec(ref.slice(prefix.length)) : null;
        const model = m?.[1];
        if (!m || !model || !Object.hasOwn(REPORTS, model)) {
          const expected = Object.keys(REPORTS)
            .map((k) => `${name}:${k}/<id>`)
            .join(" or ");
          return Promise.reject(
            new SyncError(
              "data",
              `not a document ref of ${name}: ${JSON.stringify(ref)} (expected ${expected})`,
              {
                system: name,
                field: "ref",
              },
            ),
          );
        }
        return reportDocument(ctx, model as ReportModel, m[2] ?? "", signal);
      },
      async close() {},
    };
  },
});

export function createTrytonConnector(name: string, config: TrytonConfig): TrytonConnector {
  return tryton.create(name, config);
}
