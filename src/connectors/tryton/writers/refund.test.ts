import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Refund } from "../../../core/model.ts";
import { type CreditFacts, creditPlan } from "./refund.ts";

const refund = (amount: string, currency = "EUR") =>
  Refund.parse({
    source: "shop",
    sourceId: "4/9",
    updatedAt: "2026-12-01T10:00:00Z",
    key: "shop:refund:9",
    orderKey: "shop:AB12",
    orderNumber: "AB12",
    currency,
    amount,
    createdAt: "2026-12-01T10:00:00Z",
  });

/** An order invoiced 28.80 EUR: goods 20.00 and shipping 4.20 net, both at 19 %. */
const facts = (credited: string, invoices = [{ id: 7, total: "28.80", currency: "EUR" }]): CreditFacts => ({
  invoices,
  lines: [
    { id: 70, invoice: 7, account: 3, amount: "20.00", taxes: [5] },
    { id: 71, invoice: 7, account: 3, amount: "4.20", taxes: [5] },
  ],
  rates: new Map([[5, "0.19"]]),
  credited,
});

describe("tryton credit note plan for a refund", () => {
  test("within what is left: one credit line per tax group, on the group's first invoice line", () => {
    const plan = creditPlan(refund("10.00"), facts("0"), "erp");
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.lines.map((l) => [l.line.id, l.net, l.taxed]),
      [[70, "8.40", true]],
    );
  });

  test("an invoice line without taxes is credited as a line, not as a rounding line", () => {
    const f: CreditFacts = {
      invoices: [{ id: 7, total: "10.00", currency: "EUR" }],
      lines: [{ id: 70, invoice: 7, account: 3, amount: "10.00", taxes: [] }],
      rates: new Map(),
      credited: "0",
    };
    const plan = creditPlan(refund("4.00"), f, "erp");
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.lines.map((l) => [l.line.id, l.net, l.taxed]),
      [[70, "4.00", true]],
    );
  });

  test("a refund of exactly what is left is allowed", () => {
    assert.equal(creditPlan(refund("13.80"), facts("15.00"), "erp").ok, true);
  });

  test("above what is left (invoiced − credited): a data failure naming amount and the figures", () => {
    const plan = creditPlan(refund("13.81"), facts("15.00"), "erp");
    assert.equal(plan.ok, false);
    if (plan.ok) return;
    assert.equal(plan.error.kind, "data");
    assert.equal(plan.error.details.field, "amount");
    assert.equal(
      plan.error.message,
      "refund shop:refund:9: amount 13.81 EUR exceeds what is left to credit on order shop:AB12: invoiced 28.8 − already credited 15 = 13.8 EUR",
    );
  });

  test("no posted invoice yet: retryable, saying so", () => {
    const plan = creditPlan(refund("1.00"), facts("0", []), "erp");
    assert.equal(plan.ok, false);
    if (plan.ok) return;
    assert.equal(plan.error.kind, "retryable");
    assert.match(plan.error.message, /has no posted invoice in Tryton yet.*\(retried\)/);
  });

  test("a refund in another currency than the invoices: a data failure naming currency", () => {
    const plan = creditPlan(refund("1.00", "USD"), facts("0"), "erp");
    assert.equal(plan.ok, false);
    if (plan.ok) return;
    assert.equal(plan.error.details.field, "currency");
    assert.match(
      plan.error.message,
      /currency USD is not the currency of order shop:AB12's invoices \(EUR\)/,
    );
  });
});
