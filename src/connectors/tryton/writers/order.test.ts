import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Big from "big.js";
import { matchShopRounding, type RunningTax } from "./order.ts";

const vat = (amount: string) => [{ title: "VAT", rate: "0.19", amount }];

describe("tryton sale lines follow the shop's tax rounding", () => {
  test("a half-cent tie the shop rounds up: the price moves by 0.0001 so Tryton's half-even rounding agrees", () => {
    // 3 × 22.50 × 0.19 = 12.825: the shop says 12.83, Tryton's half-even gives 12.82.
    assert.equal(matchShopRounding("22.5000", 3, vat("12.83")), "22.5001");
    // 17.50 × 0.19 = 3.325 → 3.33 in the shop, 3.32 in Tryton.
    assert.equal(matchShopRounding("17.5000", 1, vat("3.33")), "17.5001");
  });

  test("Tryton rounds its running tax after each line: a tie follows the amount before it, and is matched", () => {
    // A Vendure order seen held on a real Tryton: 25.00 (tax 4.75), 47.50 (9.025, Vendure 9.02), 30.00 (5.70).
    // Alone, 9.025 rounds half-even to 9.02; after 4.75, Tryton rounds 13.775 to 13.78, a cent above the shop.
    const running: RunningTax = new Map();
    assert.equal(matchShopRounding("25.0000", 1, vat("4.75"), running), "25.0000");
    assert.equal(matchShopRounding("47.5000", 1, vat("9.02"), running), "47.4999");
    assert.equal(matchShopRounding("30.0000", 1, vat("5.70"), running), "30.0000");
    assert.equal(running.get("0.19")?.toFixed(2), "19.47");
    // The same 47.50 line first: 9.025 → 9.02 already, nothing moves.
    assert.equal(matchShopRounding("47.5000", 1, vat("9.02")), "47.5000");
    // A shop that rounded that tie up (9.03) after 4.75: Tryton's 13.78 agrees, nothing moves.
    const up: RunningTax = new Map([["0.19", new Big("4.75")]]);
    assert.equal(matchShopRounding("47.5000", 1, vat("9.03"), up), "47.5000");
  });

  test("no change when Tryton already agrees, or without taxes", () => {
    assert.equal(matchShopRounding("15.0000", 2, vat("5.70")), "15.0000");
    assert.equal(matchShopRounding("17.5000", 1, vat("3.32")), "17.5000");
    assert.equal(matchShopRounding("17.5000", 1, []), "17.5000");
  });

  test("never when the nudge would change the line amount or cannot reach the shop's tax", () => {
    // 70 × 0.25 × 0.19 = 3.325 is a tie, but 70 × 0.0001 = 0.007 would move the line amount by a cent.
    assert.equal(matchShopRounding("0.2500", 70, vat("3.33")), "0.2500");
    // A shop tax two cents away is a real difference, left to the totals check.
    assert.equal(matchShopRounding("17.5000", 1, vat("3.35")), "17.5000");
  });
});
