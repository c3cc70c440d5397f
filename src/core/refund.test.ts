import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Big from "big.js";
import fc from "fast-check";
import { Refund } from "./model.ts";
import { holdReason } from "./plan.ts";
import {
  creditableCheck,
  creditLines,
  refundEchoReason,
  refundKeyOfReason,
  refundMark,
  refundTotalCheck,
} from "./refund.ts";

const base = {
  source: "shop",
  sourceId: "1/7",
  updatedAt: "2026-12-01T10:00:00Z",
  key: "shop:refund:7",
  orderKey: "shop:AB12",
  orderNumber: "AB12",
  currency: "EUR",
  amount: "10.00",
  createdAt: "2026-12-01T10:00:00Z",
};

describe("canonical refund", () => {
  test("a refund of an amount alone is valid; lines default to none", () => {
    const r = Refund.parse(base);
    assert.deepEqual(r.lines, []);
    assert.equal(refundTotalCheck(r).ok, true);
  });

  test("an amount of zero or below is refused, naming the field and the value", () => {
    for (const amount of ["0", "0.00", "-5.00"]) {
      const res = Refund.safeParse({ ...base, amount });
      assert.equal(res.success, false, amount);
      const issue = res.error?.issues[0];
      assert.deepEqual(issue?.path, ["amount"]);
      assert.match(issue?.message ?? "", new RegExp(`above zero, got "${amount.replace(".", "\\.")}"`));
    }
    assert.equal(Refund.safeParse({ ...base, currency: "euro" }).success, false);
  });

  test("a breakdown that does not add up to the amount is held with the figures named", () => {
    const bad = Refund.parse({ ...base, breakdown: { items: "8.00", shipping: "1.00", adjustment: "0" } });
    const reason = holdReason("refund", bad);
    assert.equal(
      reason,
      "refund shop:refund:7: amount 10.00 EUR differs from items 8.00 + shipping 1.00 + adjustment 0 = 9 EUR",
    );
    const good = Refund.parse({ ...base, breakdown: { items: "9.00", shipping: "1.00", adjustment: "0" } });
    assert.equal(holdReason("refund", good), null);
  });
});

describe("what is left to credit", () => {
  const r = Refund.parse(base);
  test("within what was invoiced minus what was credited: allowed, to the cent", () => {
    assert.deepEqual(creditableCheck(r, { currency: "EUR", total: "28.80", credited: "18.80" }), {
      ok: true,
    });
  });
  test("above it: refused, naming amount and the figures", () => {
    const check = creditableCheck(r, { currency: "EUR", total: "28.80", credited: "18.81" });
    assert.equal(check.ok, false);
    assert.equal(check.ok === false && check.field, "amount");
    assert.match(
      check.ok === false ? check.reason : "",
      /amount 10\.00 EUR exceeds what is left to credit on order shop:AB12: invoiced 28\.8 − already credited 18\.81 = 9\.99 EUR/,
    );
  });
  test("another currency: refused, naming currency", () => {
    const check = creditableCheck(r, { currency: "USD", total: "100", credited: "0" });
    assert.equal(check.ok === false && check.field, "currency");
  });
});

describe("credit lines", () => {
  test("one tax group: net plus the tax rounded half to even is the refund", () => {
    // 10.00 at 19 %: 8.40 + 1.60.
    assert.deepEqual(creditLines("10.00", [{ rates: ["0.19"], gross: "28.80" }], "EUR"), [
      { group: 0, net: "8.40", taxes: ["1.60"] },
    ]);
    // 5.00 at 20 %: 4.17 + 0.83 = 5.00.
    assert.deepEqual(creditLines("5.00", [{ rates: ["0.2"], gross: "50" }], "EUR"), [
      { group: 0, net: "4.17", taxes: ["0.83"] },
    ]);
  });

  test("two groups share the refund in proportion, the last one taking the remainder", () => {
    const lines = creditLines(
      "30.00",
      [
        { rates: ["0.19"], gross: "119.00" },
        { rates: ["0.07"], gross: "107.00" },
      ],
      "EUR",
    );
    assert.ok(lines);
    const sum = lines.reduce((s, l) => l.taxes.reduce((t, x) => t.plus(x), s.plus(l.net)), new Big(0));
    assert.equal(sum.toFixed(2), "30.00");
    assert.equal(lines.length, 2);
  });

  test("a share no net amount reaches: the largest net below it and an untaxed rounding cent", () => {
    // At 25 %: 0.05 → 0.06, 0.06 → 0.08; 0.07 is 0.05 + 0.01 tax + 0.01 rounding.
    assert.deepEqual(creditLines("0.07", [{ rates: ["0.25"], gross: "10" }], "EUR"), [
      { group: 0, net: "0.05", taxes: ["0.01"] },
      { group: 0, net: "0.01", taxes: [], untaxed: true },
    ]);
  });

  test("any refund of at least a cent at usual rates adds up exactly, rounding at most a cent (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom("0", "0.05", "0.07", "0.1", "0.19", "0.2", "0.21", "0.25"),
        (cents, rate) => {
          const amount = new Big(cents).div(100).toFixed(2);
          const lines = creditLines(amount, [{ rates: [rate], gross: "1000000" }], "EUR");
          if (!lines) return false;
          const rounding = lines.filter((l) => l.untaxed);
          if (rounding.length > 1 || rounding.some((l) => new Big(l.net).gt("0.01"))) return false;
          const total = lines.reduce(
            (s, l) => l.taxes.reduce((t, x) => t.plus(x), s.plus(l.net)),
            new Big(0),
          );
          return total.eq(amount);
        },
      ),
    );
  });

  test("nothing invoiced to split over: null", () => {
    assert.equal(creditLines("1.00", [], "EUR"), null);
    assert.equal(creditLines("1.00", [{ rates: [], gross: "0" }], "EUR"), null);
  });
});

describe("refund echoes", () => {
  test("a refund whose key names the target came from there and is not written back", () => {
    const echo = Refund.parse({ ...base, source: "erp", key: "shop:refund:7" });
    assert.match(
      refundEchoReason(echo, "shop") ?? "",
      /refund shop:refund:7 came from shop .*not written back/,
    );
    assert.equal(refundEchoReason(echo, "erp"), null);
    // A connection whose name starts like another's is not the other.
    assert.equal(refundEchoReason(echo, "sho"), null);
  });

  test("the key ending a reason is read back; anything else is no key", () => {
    assert.equal(
      refundKeyOfReason(`Credit note CN-4: broken${refundMark("erp:refund:CN-4")}`),
      "erp:refund:CN-4",
    );
    assert.equal(refundKeyOfReason("scratched"), null);
    assert.equal(refundKeyOfReason("see [ticket 12]"), null);
    assert.equal(refundKeyOfReason("[erp:refund:CN-4] then more"), null);
    assert.equal(refundKeyOfReason(null), null);
  });
});
