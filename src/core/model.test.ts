import assert from "node:assert/strict";
import { test } from "node:test";
import { availableToSell, InventoryLevel, Order, Price, Product } from "./model.ts";

const source = { source: "erp", sourceId: "1", updatedAt: "2026-01-01T00:00:00Z" };
const priceIn = (currency: string, price: string) =>
  Price.parse({
    ...source,
    key: `vip:A`,
    priceList: { code: "vip", name: "VIP", customerGroup: "vip", currency },
    sku: "A",
    price,
    tiers: [{ minQuantity: 10, price }],
  });

test("prices are rounded to the currency's minor unit, half away from zero; exact ones are kept as written", () => {
  assert.equal(priceIn("EUR", "20.8125").price, "20.81");
  assert.equal(priceIn("EUR", "20.815").price, "20.82");
  assert.equal(priceIn("EUR", "20.8125").tiers[0]?.price, "20.81");
  assert.equal(priceIn("JPY", "1234.5").price, "1235");
  assert.equal(priceIn("KWD", "1.23456").price, "1.235");
  assert.equal(
    priceIn("EUR", "12.5").price,
    "12.5",
    "already within the minor unit: unchanged, so its hash is too",
  );
  const p = Product.parse({
    ...source,
    key: "P",
    title: "P",
    currency: "EUR",
    variants: [{ sku: "A", price: "9.995", compareAtPrice: "12.3456" }],
  });
  assert.deepEqual([p.variants[0]?.price, p.variants[0]?.compareAtPrice], ["10.00", "12.35"]);
});

test("a negative price is refused, naming the field and the value", () => {
  const r = Price.safeParse({
    ...source,
    key: "vip:A",
    priceList: { code: "vip", name: "VIP", customerGroup: "vip", currency: "EUR" },
    sku: "A",
    price: "-2.50",
  });
  assert.equal(r.success, false);
  assert.deepEqual(
    r.error?.issues.map((i) => [i.path.join("."), i.message]),
    [["price", 'a price must not be negative, got "-2.50"']],
  );
});

test("available to sell is derived once: on hand − reserved − safety stock, never below zero", () => {
  const level = (onHand: number, reserved: number, safetyStock: number, claimed?: number) =>
    InventoryLevel.parse({
      ...source,
      key: "A@WH",
      sku: "A",
      location: "WH",
      onHand,
      reserved,
      safetyStock,
      ...(claimed === undefined ? {} : { available: claimed }),
    }).available;
  assert.equal(level(10, 3, 2), 5);
  assert.equal(level(10, 3, 2, 99), 5, "a source's own figure is replaced");
  assert.equal(level(2, 3, 0), 0);
  assert.equal(availableToSell({ onHand: -4, reserved: 0, safetyStock: 0 }), 0);
});

test("a cancelled order may have emptied lines; an open one needs a line with a quantity", () => {
  const base = {
    ...source,
    key: "shop:1",
    number: "1",
    placedAt: "2026-01-01T00:00:00Z",
    currency: "EUR",
    customer: { key: "ann@example.com", email: "ann@example.com" },
    lines: [{ sku: "A", quantity: 0, unitPrice: "10.00" }],
    totalTax: "0",
    total: "0",
    financialStatus: "paid",
  };
  assert.equal(Order.safeParse({ ...base, cancelled: true }).success, true);
  const open = Order.safeParse(base);
  assert.equal(open.success, false);
  assert.match(open.error?.issues[0]?.message ?? "", /needs at least one line with a quantity above 0/);
});
