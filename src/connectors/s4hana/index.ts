/**
 * The SAP S/4HANA connector (S/4HANA Cloud or on-premise, OData V2 A2X APIs): products read from
 * API_PRODUCT_SRV (descriptions and sales-area data; incremental on LastChangeDateTime); customers written
 * as business partners with a customer role (API_BUSINESS_PARTNER) and shop orders as sales orders with
 * their items in one deep insert (API_SALES_ORDER_SRV), found again by PurchaseOrderByCustomer and held
 * with a delivery block when S/4HANA's net total differs from the shop's. Those orders' outbound deliveries
 * are read as shipments (API_OUTBOUND_DELIVERY_SRV; the bill of lading as the tracking number) and their
 * billing documents as invoices (API_BILLING_DOCUMENT_SRV), with the PDF GetPDF renders. Stock per plant and
 * storage location is read from API_MATERIAL_STOCK_SRV (a snapshot; unrestricted-use stock is what is
 * available) and sales prices valid today, per customer group, from the condition records of
 * API_SLSPRICINGCONDITIONRECORD_SRV (a snapshot). It is held to the first three services' EDMX documents and
 * to SAP's generated VDM packages of the other four through the emulator (packages/emulators/src/s4hana); no
 * S/4HANA runs here (docs/connectors/s4hana.md says what that leaves out).
 */
import { SyncError } from "../../core/errors.ts";
import { defineConnector } from "../../ports/connector.ts";
import { ROOT, S4HanaClient } from "./client.ts";
import { S4HanaConfig } from "./config.ts";
import type { S4HanaContext } from "./context.ts";
import { billingPdf, invoiceStream } from "./streams/invoice.ts";
import { priceStream } from "./streams/price.ts";
import { productStream } from "./streams/product.ts";
import { shipmentStream } from "./streams/shipment.ts";
import { stockStream } from "./streams/stock.ts";
import { customerWriter } from "./writers/customer.ts";
import { orderWriter } from "./writers/order.ts";

export const s4hana = defineConnector({
  id: "s4hana",
  version: "1.3.0",
  description:
    "SAP S/4HANA via its OData V2 APIs: products (API_PRODUCT_SRV), business partners as customers (API_BUSINESS_PARTNER), sales orders (API_SALES_ORDER_SRV), outbound deliveries as shipments (API_OUTBOUND_DELIVERY_SRV), billing documents as invoices with their PDF (API_BILLING_DOCUMENT_SRV), stock per storage location (API_MATERIAL_STOCK_SRV), sales prices per customer group (API_SLSPRICINGCONDITIONRECORD_SRV).",
  config: S4HanaConfig,
  client: (name, config): S4HanaContext => ({ name, config, client: new S4HanaClient(name, config) }),
  entities: {
    product: { read: productStream },
    customer: { write: customerWriter },
    order: { write: orderWriter },
    shipment: { read: shipmentStream },
    invoice: { read: invoiceStream },
    inventory: { read: stockStream },
    price: { read: priceStream },
  },
  // S/4HANA Cloud publishes no call budget for these APIs: bounded concurrency, and a 429 pauses for its Retry-After.
  capabilities: { rateModel: "retry-after", documents: true },
  connection: (ctx, name) => ({
    async check() {
      // Credentials alone do not prove the communication user may read: the cheapest real read.
      const row = await ctx.client.http.request(
        "GET",
        `${ROOT}/API_PRODUCT_SRV/A_Product?$select=Product&$top=1`,
        undefined,
        undefined,
        { what: "check" },
      );
      if (typeof row !== "object" || row === null || !("d" in row)) {
        throw new SyncError("retryable", `${name}: SAP S/4HANA answered the check with no OData V2 JSON`, {
          system: name,
        });
      }
    },
    // A ref is `billing-document:<number>`, as the invoice stream names its documents.
    document: (ref, signal) => billingPdf(ctx, ref, signal),
    stats: () => ({ calls: ctx.client.calls, throttled: ctx.client.http.stats().throttled }),
    apiVersion: () => ({
      api: "SAP S/4HANA OData V2 APIs (API_PRODUCT_SRV, API_BUSINESS_PARTNER, API_SALES_ORDER_SRV, API_OUTBOUND_DELIVERY_SRV, API_BILLING_DOCUMENT_SRV, API_MATERIAL_STOCK_SRV, API_SLSPRICINGCONDITIONRECORD_SRV)",
      version: "2.0",
      supportedUntil: null,
      policy:
        "SAP versions these A2X APIs with the S/4HANA release and announces deprecations in the SAP Business Accelerator Hub; no end date is published for them.",
    }),
    close: async () => undefined,
  }),
});
