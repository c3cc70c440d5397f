import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SyncError } from "./errors.ts";
import type { Order } from "./model.ts";
import { add, equalsWithin, minorUnits, mul, orderTotalCheck, round, sub } from "./money.ts";

/** An amount in minor units written as a decimal string with `digits` places, e.g. (1234n, 2) → "12.34". */
function decimal(units: bigint, digits: number): string {
  const negative = units < 0n;
  const abs = (negative ? -units : units).toString().padStart(digits + 1, "0");
  const whole = digits === 0 ? abs : `${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
  return negative ? `-${whole}` : whole;
}

const cents = fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n });

function order(overrides: Partial<Order> = {}): Order {
  return {
    source: "shop",
    sourceId: "1",
    updatedAt: "2025-01-01T00:00:00Z",
    key: "shop:#1001",
    number: "#1001",
    placedAt: "2025-01-01T00:00:00Z",
    currency: "EUR",
    customer: { key: "a@example.com", email: "a@example.com" },
    lines: [
      { sku: "A", quantity: 3, unitPrice: "19.99", discount: "5.00", taxes: [] },
      { sku: "B", quantity: 1, unitPrice: "0.10", discount: "0", taxes: [] },
    ],
    shipping: { title: "Standard", amount: "4.90", taxes: [] },
    discounts: [{ code: "WELCOME", amount: "2.00" }],
    taxesIncluded: false,
    totalTax: "11.59",
    // 59.97 − 5 + 0.10 + 11.59 + 4.90 − 2 = 69.56
    total: "69.56",
    financialStatus: "paid",
    fulfillmentStatus: "unfulfilled",
    payments: [],
    cancelled: false,
    ...overrides,
  };
}

describe("money arithmetic", () => {
  it("is exact where floats are not", () => {
    assert.equal(add("0.1", "0.2"), "0.3");
    assert.equal(sub("1", "0.9"), "0.1");
    assert.equal(mul("19.99", "3"), "59.97");
    assert.equal(mul("0.000001", 3), "0.000003");
  });

  it("adds and subtracts like integer arithmetic on minor units", () => {
    fc.assert(
      fc.property(cents, cents, fc.integer({ min: 0, max: 4 }), (a, b, digits) => {
        const [x, y] = [decimal(a, digits), decimal(b, digits)];
        assert.equal(sub(add(x, y), decimal(a + b, digits)), "0");
        assert.equal(sub(sub(x, y), decimal(a - b, digits)), "0");
      }),
    );
  });

  it("multiplies like integer arithmetic", () => {
    fc.assert(
      fc.property(cents, fc.integer({ min: -1000, max: 1000 }), (a, q) => {
        assert.equal(sub(mul(decimal(a, 3), String(q)), decimal(a * BigInt(q), 3)), "0");
      }),
    );
  });

  it("rejects amounts that are not decimal strings, naming the value", () => {
    assert.throws(
      () => add("1e3", "1"),
      (e: unknown) => e instanceof SyncError && e.kind === "data" && /"1e3"/.test(e.message),
    );
    assert.throws(() => round("12,50", "EUR"), /"12,50"/);
  });
});

describe("round", () => {
  it("uses the currency's minor unit", () => {
    assert.equal(minorUnits("EUR"), 2);
    assert.equal(minorUnits("JPY"), 0);
    assert.equal(minorUnits("KWD"), 3);
    assert.equal(minorUnits("BHD"), 3);
    assert.equal(round("12.5", "JPY"), "13");
    assert.equal(round("1.0005", "KWD"), "1.001");
    assert.equal(round("2.5", "EUR"), "2.50");
  });

  it("rounds half away from zero", () => {
    assert.equal(round("1.005", "EUR"), "1.01");
    assert.equal(round("-1.005", "EUR"), "-1.01");
    assert.equal(round("1.0049", "EUR"), "1.00");
  });

  it("compares amounts exactly after rounding", () => {
    assert.equal(equalsWithin("10.004", "10", "EUR"), true);
    assert.equal(equalsWithin("10.01", "10", "EUR"), false);
    assert.equal(equalsWithin("100.4", "100", "JPY"), true);
  });
});

describe("orderTotalCheck", () => {
  it("accepts an order whose total is lines − line discounts + tax + shipping − discounts", () => {
    assert.deepEqual(orderTotalCheck(order()), { ok: true });
  });

  it("rejects a total one cent off, saying what was expected", () => {
    const check = orderTotalCheck(order({ total: "69.57" }));
    assert.equal(check.ok, false);
    if (check.ok) return;
    assert.equal(check.expected, "69.56");
    assert.equal(check.actual, "69.57");
    assert.match(check.reason, /#1001.*69\.57 EUR.*69\.56 EUR/);
  });

  it("does not add tax again when prices include it", () => {
    assert.deepEqual(orderTotalCheck(order({ taxesIncluded: true, total: "57.97" })), { ok: true });
    assert.equal(orderTotalCheck(order({ taxesIncluded: true })).ok, false);
  });

  it("works without shipping and in a currency without minor units", () => {
    const yen = order({
      currency: "JPY",
      lines: [{ sku: "A", quantity: 2, unitPrice: "1500", discount: "0", taxes: [] }],
      shipping: undefined,
      discounts: [],
      totalTax: "300",
      total: "3300",
    });
    assert.deepEqual(orderTotalCheck(yen), { ok: true });
    assert.equal(orderTotalCheck({ ...yen, total: "3301" }).ok, false);
  });

  it("holds for any order built from its parts, and fails for any other total", () => {
    const line = fc.record({
      unit: fc.bigInt({ min: 0n, max: 10n ** 7n }),
      quantity: fc.integer({ min: 1, max: 50 }),
      discount: fc.bigInt({ min: 0n, max: 10n ** 5n }),
    });
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 8 }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        fc.bigInt({ min: 0n, max: 10n ** 5n }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 4n }), { maxLength: 3 }),
        fc.constantFrom(["EUR", 2] as const, ["JPY", 0] as const, ["KWD", 3] as const),
        fc.bigInt({ min: -1000n, max: 1000n }).filter((d) => d !== 0n),
        (lines, tax, shipping, discounts, [currency, digits], error) => {
          let total = tax + shipping;
          for (const l of lines) total += l.unit * BigInt(l.quantity) - l.discount;
          for (const d of discounts) total -= d;
          const o = order({
            currency,
            lines: lines.map((l, i) => ({
              sku: `S${i}`,
              quantity: l.quantity,
              unitPrice: decimal(l.unit, digits),
              discount: decimal(l.discount, digits),
              taxes: [],
            })),
            shipping: { title: "Ship", amount: decimal(shipping, digits), taxes: [] },
            discounts: discounts.map((d) => ({ amount: decimal(d, digits) })),
            totalTax: decimal(tax, digits),
            total: decimal(total, digits),
          });
          assert.deepEqual(orderTotalCheck(o), { ok: true });
          assert.equal(orderTotalCheck({ ...o, total: decimal(total + error, digits) }).ok, false);
        },
      ),
    );
  });
});
