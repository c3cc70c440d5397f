/**
 * The shipment and invoice mappings on their own: the shop reference read back from PurchaseOrderByCustomer,
 * a delivery day's updatedAt and the `$filter` that finds it again, the refusals that name the field, and an
 * invoice's amounts in its document currency.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SyncError } from "../../../core/errors.ts";
import { SCHEMAS } from "../../../core/model.ts";
import { S4HanaClient } from "../client.ts";
import { S4HanaConfig } from "../config.ts";
import type { S4HanaContext } from "../context.ts";
import { refFor } from "../writers/order.ts";
import { billingFilter, billingPdf, invoiceOf } from "./invoice.ts";
import { type DeliveryRow, deliveryFilter, deliveryUpdatedAt, shipmentOf } from "./shipment.ts";
import { shopRefOf } from "./shop-ref.ts";

const config = S4HanaConfig.parse({
  url: "http://127.0.0.1:9",
  username: "U",
  password: "secret-pw",
  holdDeliveryBlock: "ZH",
});
const ctx: S4HanaContext = { name: "erp", config, client: new S4HanaClient("erp", config) };
const day = (iso: string) => `/Date(${Date.parse(`${iso}T00:00:00Z`)})/`;

function delivery(over: Partial<DeliveryRow> = {}): DeliveryRow {
  return {
    DeliveryDocument: "80000001",
    BillOfLading: "1Z999AA10123456784",
    OverallGoodsMovementStatus: "C",
    ActualGoodsMovementDate: day("2026-06-02"),
    ActualGoodsMovementTime: "PT14H05M30S",
    LastChangeDate: day("2026-06-02"),
    to_DeliveryDocumentItem: {
      results: [
        {
          Material: "TG0001",
          ActualDeliveryQuantity: "2.000",
          ReferenceSDDocument: "5000001",
          ReferenceSDDocumentCategory: "C",
        },
        {
          Material: "TG0002",
          ActualDeliveryQuantity: "1.000",
          ReferenceSDDocument: "5000001",
          ReferenceSDDocumentCategory: "C",
        },
      ],
    },
    shopRefs: { "5000001": "shopify:1001" },
    ...over,
  };
}

const failsOn = (fn: () => unknown, field: string, text: RegExp) =>
  assert.throws(
    fn,
    (e: unknown) =>
      e instanceof SyncError && e.kind === "data" && e.details.field === field && text.test(e.message),
  );

describe("S/4HANA shipments and invoices", () => {
  test("the shop reference: a key, a shortened key, or none", () => {
    assert.deepEqual(shopRefOf("shopify:1001"), { kind: "key", key: "shopify:1001" });
    const long = refFor(`shopify:${"9".repeat(60)}`);
    assert.deepEqual(shopRefOf(long), { kind: "shortened", value: long });
    assert.equal(shopRefOf("PO-4711"), null);
    assert.equal(shopRefOf(""), null);
    assert.equal(shopRefOf(null), null);
  });

  test("a delivery's day stays open until it ends in every time zone, and is read again until then", () => {
    const at = deliveryUpdatedAt(delivery());
    assert.equal(at, "2026-06-03T12:00:00.000Z");
    // The cursor at that instant reads from that same day on; one a day later, from the next day.
    assert.match(deliveryFilter(ctx, at), /LastChangeDate ge datetime'2026-06-02T00:00:00'$/);
    assert.match(
      deliveryFilter(ctx, "2026-06-04T12:00:00.000Z"),
      /LastChangeDate ge datetime'2026-06-03T00:00:00'$/,
    );
    // A signpost inside the day (the engine's cursor while the day is open) reads that day on, not the one before.
    assert.match(deliveryFilter(ctx, "2026-06-02T15:00:00.000Z"), /ge datetime'2026-06-02T00:00:00'$/);
    assert.equal(
      deliveryFilter(ctx, null),
      "SalesOrganization eq '1010' and OverallGoodsMovementStatus eq 'C' and BillOfLading ne '' and LastChangeDate ne null",
    );
  });

  test("a shipped delivery with a bill of lading is the shop order's shipment", () => {
    const s = SCHEMAS.shipment.parse(shipmentOf(ctx, delivery()));
    assert.equal(s.key, "erp:80000001");
    assert.equal(s.orderKey, "shopify:1001");
    assert.equal(s.orderNumber, "1001");
    assert.deepEqual(s.trackingNumbers, ["1Z999AA10123456784"]);
    assert.equal(s.shippedAt, "2026-06-02T14:05:30.000Z");
    assert.deepEqual(s.lines, [
      { sku: "TG0001", quantity: 2 },
      { sku: "TG0002", quantity: 1 },
    ]);
  });

  test("a delivery that cannot be a shipment is refused naming the field", () => {
    failsOn(() => shipmentOf(ctx, delivery({ BillOfLading: "" })), "BillOfLading", /no bill of lading/);
    failsOn(
      () => shipmentOf(ctx, delivery({ OverallGoodsMovementStatus: "A" })),
      "OverallGoodsMovementStatus",
      /goods issue is not posted/,
    );
    const long = refFor(`shopify:${"9".repeat(60)}`);
    failsOn(
      () => shipmentOf(ctx, delivery({ shopRefs: { "5000001": long } })),
      "PurchaseOrderByCustomer",
      /shortened shop reference/,
    );
    const two = delivery();
    (two.to_DeliveryDocumentItem as { results: Record<string, unknown>[] }).results[1]!.ReferenceSDDocument =
      "5000002";
    two.shopRefs = { "5000001": "shopify:1001", "5000002": "shopify:1002" };
    failsOn(
      () => shipmentOf(ctx, two),
      "ReferenceSDDocument",
      /several shop orders \(shopify:1001, shopify:1002\)/,
    );
    const half = delivery();
    (half.to_DeliveryDocumentItem as { results: Record<string, unknown>[] })
      .results[0]!.ActualDeliveryQuantity = "1.500";
    failsOn(
      () => shipmentOf(ctx, half),
      "ActualDeliveryQuantity",
      /TG0001 is delivered in a fraction \(1\.5\)/,
    );
  });

  const billing = (over: Record<string, unknown> = {}) => ({
    BillingDocument: "90000001",
    SDDocumentCategory: "M",
    BillingDocumentDate: day("2026-06-03"),
    TotalNetAmount: "100.005",
    TaxAmount: "19.001",
    TransactionCurrency: "EUR",
    PurchaseOrderByCustomer: "shopify:1001",
    LastChangeDateTime: "/Date(1780500000000+0000)/",
    ...over,
  });

  test("a billing document is an invoice in its document currency, with the PDF named", () => {
    const i = SCHEMAS.invoice.parse(invoiceOf(ctx, billing()));
    assert.equal(i.key, "erp:90000001");
    assert.equal(i.orderKey, "shopify:1001");
    assert.equal(i.kind, "invoice");
    assert.equal(i.totalTax, "19.00");
    assert.equal(i.total, "119.01");
    assert.equal(i.issuedAt, "2026-06-03T00:00:00.000Z");
    assert.deepEqual(i.document, { ref: "billing-document:90000001", mimeType: "application/pdf" });
    const jpy = SCHEMAS.invoice.parse(
      invoiceOf(ctx, billing({ TransactionCurrency: "JPY", TotalNetAmount: "1000", TaxAmount: "100" })),
    );
    assert.equal(jpy.total, "1100");
    assert.equal(
      SCHEMAS.invoice.parse(invoiceOf(ctx, billing({ SDDocumentCategory: "O" }))).kind,
      "credit_memo",
    );
    failsOn(
      () => invoiceOf(ctx, billing({ TaxAmount: null })),
      "TaxAmount",
      /TaxAmount null is not a decimal/,
    );
    failsOn(
      () => invoiceOf(ctx, billing({ TransactionCurrency: "" })),
      "TransactionCurrency",
      /not an ISO 4217 code/,
    );
    assert.match(
      billingFilter(ctx, "2026-06-01T10:00:00Z"),
      /BillingDocumentIsCancelled eq false and LastChangeDateTime ge datetimeoffset'2026-06-01T10:00:00Z'$/,
    );
  });

  test("a document ref that is not a billing document's is refused before any call", async () => {
    await assert.rejects(
      billingPdf(ctx, "billing-document:../../x"),
      (e: unknown) => e instanceof SyncError && e.details.field === "ref",
    );
    await assert.rejects(billingPdf(ctx, "invoice:1"), /not a document ref of SAP S\/4HANA: "invoice:1"/);
    assert.equal(ctx.client.calls, 0);
  });
});
