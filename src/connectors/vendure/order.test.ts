/**
 * Vendure order → canonical order, on an order shaped as the Admin API returns it (values as Vendure
 * computes them for a 10 % coupon, 19 % VAT and taxed shipping). The connector itself runs against a real
 * Vendure in test/real/vendure.test.ts; this pins the money mapping in the default test run.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SyncError } from "../../core/errors.ts";
import { Order } from "../../core/model.ts";
import { orderTotalCheck } from "../../core/money.ts";
import { fromMinor, toMinor } from "./client.ts";
import type { VendureOrder } from "./native.ts";
import { orderToCanonical } from "./streams/order.ts";

const address = {
  fullName: "Ada Coupon",
  company: null,
  streetLine1: "Hauptstraße 1",
  streetLine2: null,
  city: "Berlin",
  province: null,
  postalCode: "10115",
  countryCode: "de",
  phoneNumber: null,
};

function couponOrder(): VendureOrder {
  return {
    id: "7",
    code: "ABC123",
    state: "PaymentSettled",
    active: false,
    updatedAt: "2026-11-27T10:00:01.000Z",
    orderPlacedAt: "2026-11-27T10:00:01.000Z",
    currencyCode: "EUR",
    customer: { id: "3", firstName: "Ada", lastName: "Coupon", emailAddress: "Ada@Example.com" },
    shippingAddress: address,
    billingAddress: address,
    lines: [
      {
        id: "1",
        quantity: 2,
        unitPrice: 1500,
        linePrice: 3000,
        proratedLinePrice: 2700,
        proratedLinePriceWithTax: 3213,
        productVariant: { id: "11", sku: "TT-001", name: "Product TT-001" },
        taxLines: [{ description: "Standard Tax Europe", taxRate: 19 }],
      },
      {
        id: "2",
        quantity: 1,
        unitPrice: 1750,
        linePrice: 1750,
        proratedLinePrice: 1575,
        proratedLinePriceWithTax: 1874,
        productVariant: { id: "12", sku: "TT-002", name: "Product TT-002" },
        taxLines: [{ description: "Standard Tax Europe", taxRate: 19 }],
      },
    ],
    shippingLines: [
      {
        shippingMethod: { code: "express-shipping", name: "Express Shipping" },
        discountedPrice: 1000,
        discountedPriceWithTax: 1190,
      },
    ],
    surcharges: [],
    couponCodes: ["SAVE10"],
    payments: [
      { method: "standard-payment", amount: 6277, state: "Settled", transactionId: "T-1", refunds: [] },
    ],
    fulfillments: [],
    taxSummary: [{ taxRate: 19 }],
    subTotal: 4275,
    subTotalWithTax: 5087,
    shipping: 1000,
    shippingWithTax: 1190,
    total: 5275,
    totalWithTax: 6277,
  };
}

test("a coupon order maps to lines with their prorated discount and tax, adding up to totalWithTax", () => {
  const order = Order.parse(orderToCanonical("shop", couponOrder()));
  assert.equal(order.key, "shop:ABC123");
  assert.equal(order.customer.key, "ada@example.com");
  assert.equal(order.shippingAddress?.country, "DE");
  assert.deepEqual(
    order.lines.map((l) => [
      l.sku,
      l.quantity,
      l.unitPrice,
      l.discount,
      l.taxes.map((t) => [t.rate, t.amount]),
    ]),
    [
      ["TT-001", 2, "15.00", "3.00", [["0.19", "5.13"]]],
      ["TT-002", 1, "17.50", "1.75", [["0.19", "2.99"]]],
    ],
  );
  assert.deepEqual(order.shipping, {
    title: "Express Shipping",
    amount: "10.00",
    taxes: [{ title: "Shipping tax", rate: "0.19", amount: "1.90" }],
  });
  assert.deepEqual(order.discounts, []);
  assert.equal(order.total, "62.77");
  assert.equal(order.totalTax, "10.02");
  assert.equal(order.financialStatus, "paid");
  assert.deepEqual(orderTotalCheck(order), { ok: true });
});

test("an order Vendure has not placed, or one with surcharges, is a data error naming the order", () => {
  const cart = { ...couponOrder(), orderPlacedAt: null, state: "AddingItems" };
  const surcharged = {
    ...couponOrder(),
    surcharges: [{ id: "1", description: "Card fee", price: 100, priceWithTax: 119 }],
  };
  for (const [o, field] of [
    [cart, "orderPlacedAt"],
    [surcharged, "surcharges"],
  ] as const) {
    assert.throws(
      () => orderToCanonical("shop", o),
      (e: unknown) =>
        e instanceof SyncError &&
        e.kind === "data" &&
        e.message.includes("ABC123") &&
        e.details.field === field,
    );
  }
});

test("money moves between decimals and Vendure's minor units without floats", () => {
  assert.equal(fromMinor(6277, "EUR"), "62.77");
  assert.equal(fromMinor(1500, "JPY"), "1500");
  assert.equal(toMinor("19.99", "EUR", "price"), 1999);
  assert.equal(toMinor("0.29", "EUR", "price"), 29);
  assert.throws(
    () => toMinor("1.005", "EUR", "variants[A].price"),
    (e: unknown) => e instanceof SyncError && e.kind === "data" && e.message.includes("1.005"),
  );
});
