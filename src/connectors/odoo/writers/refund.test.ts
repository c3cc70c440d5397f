import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Big from "big.js";
import { Refund } from "../../../core/model.ts";
import { type CreditFacts, creditPlan, excludedTaxes, type InvoicedTax } from "./refund.ts";

const refund = (amount: string, currency = "USD") =>
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

const tax = (percent: number, priceInclude = false, type = "percent"): InvoicedTax => ({
  rate: new Big(percent).div(100).toFixed(),
  priceInclude,
  type,
  name: `${percent}%`,
});

/** An order invoiced 28.80 USD: goods 20.00 and shipping 4.20 net, both at 19 %. */
const facts = (credited: string, invoices = [{ id: 7, total: "28.8", currency: "USD" }]): CreditFacts => ({
  invoices,
  lines: [
    { id: 70, invoice: 7, account: 3, amount: "20", taxes: [5] },
    { id: 71, invoice: 7, account: 3, amount: "4.2", taxes: [5] },
  ],
  taxes: new Map([[5, tax(19)]]),
  credited,
});

/** Odoo's per-line computation of a credit line: net + each tax rounded half-up to the cent. */
const odooTotal = (lines: { net: string; taxes: number[] }[], taxes: Map<number, InvoicedTax>) =>
  lines
    .reduce(
      (s, l) =>
        l.taxes.reduce(
          (t, id) => t.plus(new Big(l.net).times(taxes.get(id)?.rate ?? "0").round(2, Big.roundHalfUp)),
          s.plus(l.net),
        ),
      new Big(0),
    )
    .toFixed(2);

describe("odoo credit note plan for a refund", () => {
  test("within what is left: one credit line per tax group, on the group's first invoice line", () => {
    const plan = creditPlan(refund("10.00"), facts("0"), "erp");
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.lines.map((l) => [l.line.id, l.line.invoice, l.net, l.taxes]),
      [[70, 7, "8.40", [5]]],
    );
    assert.equal(odooTotal(plan.lines, facts("0").taxes), "10.00");
  });

  test("two tax groups: the amount split in proportion, the total Odoo computes is the refund's", () => {
    const f: CreditFacts = {
      invoices: [{ id: 7, total: "139", currency: "USD" }],
      lines: [
        { id: 70, invoice: 7, account: 3, amount: "100", taxes: [5] },
        { id: 71, invoice: 7, account: 4, amount: "20", taxes: [6] },
      ],
      taxes: new Map([
        [5, tax(15)],
        [6, tax(20)],
      ]),
      credited: "0",
    };
    const plan = creditPlan(refund("33.33"), f, "erp");
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.lines.map((l) => l.line.id),
      plan.lines.map((l) => (l.taxes.includes(6) ? 71 : 70)),
    );
    assert.equal(odooTotal(plan.lines, f.taxes), "33.33");
  });

  test("a tax of exactly half a cent is rounded up, as Odoo rounds it: the total is the refund's", () => {
    // 0.10 at 25 % is 0.025 of tax: Odoo books 0.03, so 0.13 is reached by one line. Rounding ties half to
    // even (Tryton's way) would book 0.02, add a rounding cent, and Odoo's total would be 0.14.
    const f: CreditFacts = {
      invoices: [{ id: 7, total: "125", currency: "USD" }],
      lines: [{ id: 70, invoice: 7, account: 3, amount: "100", taxes: [5] }],
      taxes: new Map([[5, tax(25)]]),
      credited: "0",
    };
    const plan = creditPlan(refund("0.13"), f, "erp");
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.lines.map((l) => [l.net, l.taxes]),
      [["0.10", [5]]],
    );
    assert.equal(odooTotal(plan.lines, f.taxes), "0.13");
  });

  test("a share no net amount reaches gets an untaxed rounding line", () => {
    const f: CreditFacts = {
      invoices: [{ id: 7, total: "125", currency: "USD" }],
      lines: [{ id: 70, invoice: 7, account: 3, amount: "100", taxes: [5] }],
      taxes: new Map([[5, tax(25)]]),
      credited: "0",
    };
    const plan = creditPlan(refund("0.07"), f, "erp");
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.lines.map((l) => [l.net, l.taxes]),
      [
        ["0.05", [5]],
        ["0.01", []],
      ],
    );
    assert.equal(odooTotal(plan.lines, f.taxes), "0.07");
  });

  test("a refund of exactly what is left is allowed", () => {
    assert.equal(creditPlan(refund("13.80"), facts("15"), "erp").ok, true);
  });

  test("above what is left (invoiced − credited): a data failure naming amount and the figures", () => {
    const plan = creditPlan(refund("13.81"), facts("15"), "erp");
    assert.equal(plan.ok, false);
    if (plan.ok) return;
    assert.equal(plan.error.kind, "data");
    assert.equal(plan.error.details.field, "amount");
    assert.equal(
      plan.error.message,
      "refund shop:refund:9: amount 13.81 USD exceeds what is left to credit on order shop:AB12: invoiced 28.8 − already credited 15 = 13.8 USD",
    );
  });

  test("no posted invoice yet: retryable, saying so", () => {
    const plan = creditPlan(refund("1.00"), facts("0", []), "erp");
    assert.equal(plan.ok, false);
    if (plan.ok) return;
    assert.equal(plan.error.kind, "retryable");
    assert.match(plan.error.message, /has no posted invoice in Odoo yet.*\(retried\)/);
  });

  test("a refund in another currency than the invoices: a data failure naming currency", () => {
    const plan = creditPlan(refund("1.00", "EUR"), facts("0"), "erp");
    assert.equal(plan.ok, false);
    if (plan.ok) return;
    assert.equal(plan.error.kind, "data");
    assert.equal(plan.error.details.field, "currency");
    assert.match(
      plan.error.message,
      /currency EUR is not the currency of order shop:AB12's invoices \(USD\)/,
    );
  });

  test("a tax that is not a percentage: refused naming the tax", () => {
    const f = facts("0");
    f.taxes.set(5, { ...tax(19), type: "fixed", name: "Eco fee" });
    const plan = creditPlan(refund("1.00"), f, "erp");
    assert.equal(plan.ok, false);
    if (plan.ok) return;
    assert.equal(plan.error.details.field, "taxes");
    assert.match(plan.error.message, /"Eco fee".*"fixed"/);
  });

  test("invoice lines of no positive amount: nothing to credit, naming the order", () => {
    const f = facts("0");
    f.lines = f.lines.map((l) => ({ ...l, amount: "0" }));
    const plan = creditPlan(refund("1.00"), f, "erp");
    assert.equal(plan.ok, false);
    if (plan.ok) return;
    assert.match(plan.error.message, /no line of a positive amount to credit/);
  });
});

describe("odoo credit line taxes", () => {
  const taxes = new Map([
    [5, tax(15)],
    [8, tax(15, true)],
  ]);
  test("taxes excluded from the price are kept; an included one becomes the excluded tax of its rate", () => {
    const sale = [
      { id: 5, percent: 15, priceInclude: false },
      { id: 9, percent: 20, priceInclude: false },
    ];
    assert.deepEqual(excludedTaxes([5], taxes, sale), { ok: true, ids: [5] });
    assert.deepEqual(excludedTaxes([8], taxes, sale), { ok: true, ids: [5] });
  });
  test("an included tax with no excluded twin is refused, naming it", () => {
    const r = excludedTaxes([8], taxes, [{ id: 9, percent: 20, priceInclude: false }]);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.tax.name, "15%");
  });
});
