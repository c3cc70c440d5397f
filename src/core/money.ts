/**
 * Money arithmetic on decimal strings (big.js), never floats: 0.1 + 0.2 must be "0.3", and an order
 * total that is off by a cent must be caught, not rounded away.
 */
import Big from "big.js";
import { SyncError } from "./errors.ts";
import type { Order } from "./model.ts";

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** ISO 4217 currencies whose minor unit is not 2 digits (the exponent column of the standard's table). */
const MINOR_UNITS = new Map<string, number>([
  ..."BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
    .split(" ")
    .map((c) => [c, 0] as const),
  ..."BHD IQD JOD KWD LYD OMR TND".split(" ").map((c) => [c, 3] as const),
  ..."CLF UYW".split(" ").map((c) => [c, 4] as const),
]);

/** Digits after the decimal point in the currency's minor unit: JPY 0, EUR 2, KWD 3. */
export function minorUnits(currency: string): number {
  return MINOR_UNITS.get(currency) ?? 2;
}

function big(amount: string, what = "amount"): Big {
  if (!DECIMAL.test(amount)) {
    throw new SyncError(
      "data",
      `${what} must be a decimal number written as a string, got ${JSON.stringify(amount)}`,
    );
  }
  return new Big(amount);
}

/** Plain notation: big.js's toString switches to exponents for very small or large values. */
function text(value: Big): string {
  return value.toFixed();
}

export function add(a: string, b: string): string {
  return text(big(a).plus(big(b)));
}

export function sub(a: string, b: string): string {
  return text(big(a).minus(big(b)));
}

export function mul(a: string, b: string | number): string {
  return text(big(a).times(typeof b === "number" ? new Big(b) : big(b)));
}

/** Rounds half away from zero (commercial rounding) to `digits` places, always writing them all: "2.50". */
export function roundTo(amount: string, digits: number): string {
  return big(amount).round(digits, Big.roundHalfUp).toFixed(digits);
}

/** Rounds to the currency's minor unit: round("1.005", "EUR") is "1.01", round("12.5", "JPY") is "13". */
export function round(amount: string, currency: string): string {
  return roundTo(amount, minorUnits(currency));
}

/** Whether two amounts are the same amount of money once each is rounded to the currency. */
export function equalsWithin(a: string, b: string, currency: string): boolean {
  return round(a, currency) === round(b, currency);
}

export type TotalCheck = { ok: true } | { ok: false; expected: string; actual: string; reason: string };

/**
 * Verifies that an order's total is what its parts add up to:
 * Σ(unitPrice × quantity − line discount) + tax (unless prices include it) + shipping − order discounts.
 * Both sides are rounded to the currency, then must be equal: no tolerance, because a total that is off
 * by one cent means the ERP would book a different amount than the customer paid.
 */
export function orderTotalCheck(order: Order): TotalCheck {
  let lines = new Big(0);
  for (const [i, line] of order.lines.entries()) {
    const gross = big(line.unitPrice, `lines[${i}].unitPrice`).times(line.quantity);
    lines = lines.plus(gross.minus(big(line.discount, `lines[${i}].discount`)));
  }
  const tax = order.taxesIncluded ? new Big(0) : big(order.totalTax, "totalTax");
  const shipping = order.shipping ? big(order.shipping.amount, "shipping.amount") : new Big(0);
  let discounts = new Big(0);
  for (const [i, d] of order.discounts.entries())
    discounts = discounts.plus(big(d.amount, `discounts[${i}].amount`));

  const expected = round(text(lines.plus(tax).plus(shipping).minus(discounts)), order.currency);
  const actual = round(big(order.total, "total").toFixed(), order.currency);
  if (expected === actual) return { ok: true };
  const parts = [`lines ${text(lines)}`];
  parts.push(order.taxesIncluded ? "tax included" : `+ tax ${text(tax)}`);
  parts.push(`+ shipping ${text(shipping)}`, `− discounts ${text(discounts)}`);
  return {
    ok: false,
    expected,
    actual,
    reason: `order ${order.number}: total ${actual} ${order.currency} differs from ${parts.join(" ")} = ${expected} ${order.currency}`,
  };
}
