import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type RefundNative, refundToCanonical } from "./refund.ts";

const native = (reason: string | null): RefundNative => ({
  order: {
    id: "8",
    code: "AB12",
    updatedAt: "2026-12-03T10:00:00Z",
    orderPlacedAt: "2026-12-01T10:00:00Z",
    currencyCode: "EUR",
    lines: [],
    payments: [],
  },
  refund: {
    id: "9",
    createdAt: "2026-12-03T10:00:00Z",
    updatedAt: "2026-12-03T10:00:00Z",
    total: 1190,
    items: 0,
    shipping: 0,
    adjustment: 0,
    state: "Settled",
    reason,
    transactionId: null,
    lines: [],
  },
});

describe("vendure refunds read", () => {
  test("a refund made in Vendure is keyed by its id", () => {
    const r = refundToCanonical("shop", native("scratched"));
    assert.equal(r.key, "shop:refund:9");
    assert.equal(r.reason, "scratched");
  });

  test("a refund Passerelle made from an ERP credit note keeps that credit note's key, the mark left out", () => {
    const r = refundToCanonical("shop", native("Credit note INV-0041: damaged [erp:refund:INV-0041]"));
    assert.equal(r.key, "erp:refund:INV-0041");
    assert.equal(r.reason, "Credit note INV-0041: damaged");
    assert.equal(r.amount, "11.90");
  });
});
