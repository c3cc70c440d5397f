import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Refund } from "../../../core/model.ts";
import { type CreditNoteNative, creditNoteToCanonical } from "./refund.ts";

const note = (
  over: Partial<CreditNoteNative> = {},
  invoice: Record<string, unknown> = {},
): CreditNoteNative => ({
  invoice: {
    id: 41,
    number: "INV-0041",
    reference: null,
    description: "damaged in transit",
    "currency.": { code: "EUR" },
    total_amount: { __class__: "Decimal", decimal: "-11.90" },
    invoice_date: { __class__: "date", year: 2026, month: 12, day: 3 },
    ...invoice,
  },
  lines: [
    { id: 1, invoice: 41, origin: "account.invoice.line,7", product: 5, quantity: -2 },
    { id: 2, invoice: 41, origin: "account.invoice.line,8", product: 6, quantity: -0.5 },
    { id: 3, invoice: 41, origin: "account.invoice.line,9", product: null, quantity: -1 },
  ],
  sales: [{ id: 3, reference: "shop:AB12", number: "SO-3" }],
  skus: new Map([
    [5, "RF-001"],
    [6, "RF-002"],
  ]),
  changedAt: "2026-12-03T10:00:00.000Z",
  ...over,
});

describe("tryton credit notes as refunds", () => {
  test("a credit note of a synced sale is a refund of the shop order, its number in key and reason", () => {
    const r = Refund.parse(creditNoteToCanonical("erp", note()));
    assert.equal(r.key, "erp:refund:INV-0041");
    assert.equal(r.sourceId, "41");
    assert.equal(r.orderKey, "shop:AB12");
    assert.equal(r.orderNumber, "AB12");
    assert.equal(r.amount, "11.90");
    assert.equal(r.currency, "EUR");
    assert.equal(r.reason, "Credit note INV-0041: damaged in transit");
    assert.equal(r.createdAt, "2026-12-03T00:00:00Z");
    // Whole units of a product only: half a unit and a line without product are in the amount alone.
    assert.deepEqual(r.lines, [{ sku: "RF-001", quantity: 2 }]);
  });

  test("a credit note Passerelle wrote from a shop refund keeps that refund's key", () => {
    const r = creditNoteToCanonical("erp", note({}, { reference: "shop:refund:9" }));
    assert.equal(r.key, "shop:refund:9");
  });

  test("a reference that is no refund key of ours does not replace the key", () => {
    const r = creditNoteToCanonical("erp", note({}, { reference: "customer PO 77" }));
    assert.equal(r.key, "erp:refund:INV-0041");
  });

  test("a sale entered in Tryton alone gives the order key of this connection", () => {
    const r = creditNoteToCanonical("erp", note({ sales: [{ id: 3, reference: null, number: "SO-3" }] }));
    assert.equal(r.orderKey, "erp:SO-3");
    assert.equal(r.orderNumber, "SO-3");
  });

  test("a credit note of two sales is refused naming them", () => {
    assert.throws(
      () =>
        creditNoteToCanonical(
          "erp",
          note({
            sales: [
              { id: 3, reference: "shop:A", number: "SO-3" },
              { id: 4, reference: "shop:B", number: "SO-4" },
            ],
          }),
        ),
      /credit note INV-0041 credits lines of 2 sales \(SO-3, SO-4\)/,
    );
  });
});
