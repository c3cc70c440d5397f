import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Refund } from "../../../core/model.ts";
import type { VendureClient } from "../client.ts";
import { ownRefund, type RefundableOrder, reasonOf, refundTarget, refundWriter } from "./refund.ts";

const refund = (amount: string, over: Partial<Refund> = {}) =>
  Refund.parse({
    source: "erp",
    sourceId: "41",
    updatedAt: "2026-12-03T10:00:00Z",
    key: "erp:refund:INV-0041",
    orderKey: "shop:AB12",
    orderNumber: "AB12",
    currency: "EUR",
    amount,
    reason: "Credit note INV-0041: damaged",
    createdAt: "2026-12-03T00:00:00Z",
    ...over,
  });

/** Paid 50.00 EUR in one settled payment, 10.00 of it refunded (and a failed refund of 5.00, not counted). */
const order = (payments?: RefundableOrder["payments"]): RefundableOrder => ({
  id: "8",
  code: "AB12",
  state: "PaymentSettled",
  currencyCode: "EUR",
  totalWithTax: 5000,
  payments: payments ?? [
    {
      id: "3",
      state: "Settled",
      amount: 5000,
      method: "standard-payment",
      refunds: [
        { id: "1", total: 1000, state: "Settled", reason: "scratched" },
        { id: "2", total: 500, state: "Failed", reason: "goodwill" },
      ],
    },
  ],
});

describe("vendure refund of an ERP credit note", () => {
  test("refunds the settled payment the amount in minor units", () => {
    assert.deepEqual(refundTarget(refund("40.00"), order()), { ok: true, paymentId: "3", minor: 4000 });
  });

  test("more than the settled payments have left is refused with the figures", () => {
    const t = refundTarget(refund("40.01"), order());
    assert.equal(t.ok, false);
    assert.equal(t.ok ? "" : t.field, "amount");
    assert.equal(
      t.ok ? "" : t.reason,
      "refund erp:refund:INV-0041: amount 40.01 EUR exceeds what is left to refund on Vendure order AB12: settled payments 50.00 EUR − already refunded 10.00 EUR = 40.00 EUR",
    );
  });

  test("a payment not settled gives nothing to refund", () => {
    const t = refundTarget(
      refund("1.00"),
      order([{ id: "3", state: "Authorized", amount: 5000, method: "m", refunds: [] }]),
    );
    assert.match(t.ok ? "" : t.reason, /= 0\.00 EUR$/);
  });

  test("an amount no one payment has left is refused: Vendure refunds one payment at a time", () => {
    const two = order([
      { id: "3", state: "Settled", amount: 3000, method: "m", refunds: [] },
      { id: "4", state: "Settled", amount: 2000, method: "m", refunds: [] },
    ]);
    assert.deepEqual(refundTarget(refund("25.00"), two), { ok: true, paymentId: "3", minor: 2500 });
    assert.match(
      (() => {
        const t = refundTarget(refund("35.00"), two);
        return t.ok ? "" : t.reason;
      })(),
      /more than any one payment of Vendure order AB12 has left to refund \(at most 30\.00 EUR\)/,
    );
  });

  test("another currency is refused naming both", () => {
    const t = refundTarget(refund("1.00", { currency: "USD" }), order());
    assert.equal(t.ok ? "" : t.field, "currency");
    assert.match(t.ok ? "" : t.reason, /currency USD is not the currency of Vendure order AB12 \(EUR\)/);
  });

  test("the reason carries the key at its end and finds the refund again", () => {
    const r = refund("5.00");
    const reason = reasonOf(r);
    assert.equal(reason, "Credit note INV-0041: damaged [erp:refund:INV-0041]");
    const o = order();
    o.payments?.[0]?.refunds.push({ id: "9", total: 500, state: "Pending", reason });
    assert.equal(ownRefund(o, r.key)?.refund.id, "9");
    assert.equal(ownRefund(order(), r.key), null);
    // A long reason is cut before the mark, never the mark.
    const long = reasonOf(refund("5.00", { reason: "x".repeat(400) }));
    assert.equal(long.length, 255);
    assert.ok(long.endsWith(" [erp:refund:INV-0041]"));
  });

  test("skips the shop's own refunds coming back and orders of another connection, with the reason", () => {
    const writer = refundWriter("shop", {} as VendureClient);
    assert.equal(writer.unsupported?.(refund("5.00")), null);
    assert.match(
      writer.unsupported?.(refund("5.00", { key: "shop:refund:12" })) ?? "",
      /came from shop .*not written back/,
    );
    assert.match(
      writer.unsupported?.(refund("5.00", { orderKey: "erp:SO-3", orderNumber: "SO-3" })) ?? "",
      /order erp:SO-3 did not come from shop/,
    );
  });
});
