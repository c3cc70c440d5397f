import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { kitAvailable, kitCycleReason, kitCycles, restockOf } from "./kit.ts";
import { Product } from "./model.ts";

const component = fc.record({
  sku: fc.constantFrom("A", "B", "C", "D"),
  quantity: fc.integer({ min: 1, max: 12 }),
});
const stock = fc.dictionary(fc.constantFrom("A", "B", "C", "D"), fc.integer({ min: -5, max: 500 }));

describe("kit available-to-sell", () => {
  test("two components: the scarcer one, in whole kits", () => {
    const kits = kitAvailable(
      [
        { sku: "A", quantity: 2 },
        { sku: "B", quantity: 1 },
      ],
      new Map([
        ["A", 7],
        ["B", 10],
      ]),
    );
    assert.equal(kits, 3);
    assert.equal(kitAvailable([{ sku: "A", quantity: 1 }], new Map()), 0, "unknown stock counts as none");
    assert.equal(kitAvailable([], new Map([["A", 3]])), 0, "no components, nothing to assemble");
    assert.throws(() => kitAvailable([{ sku: "A", quantity: 1.5 }], new Map()), /A: quantity/);
  });

  test("property: the kits can be assembled, and one more cannot", () => {
    fc.assert(
      fc.property(fc.array(component, { minLength: 1, maxLength: 4 }), stock, (components, levels) => {
        const available = new Map(Object.entries(levels));
        const kits = kitAvailable(components, available);
        assert.ok(Number.isInteger(kits) && kits >= 0);
        // Components listed twice draw on the same stock once each (as Tryton reads them): per line.
        for (const c of components) assert.ok(kits * c.quantity <= Math.max(0, available.get(c.sku) ?? 0));
        assert.ok(
          components.some((c) => (kits + 1) * c.quantity > Math.max(0, available.get(c.sku) ?? 0)),
          "one kit more would need more than some component has",
        );
      }),
    );
  });

  test("property: more stock of a component never sells fewer kits", () => {
    fc.assert(
      fc.property(
        fc.array(component, { minLength: 1, maxLength: 4 }),
        stock,
        fc.constantFrom("A", "B", "C", "D"),
        fc.integer({ min: 0, max: 50 }),
        (components, levels, sku, more) => {
          const before = new Map(Object.entries(levels));
          const after = new Map(before).set(sku, (before.get(sku) ?? 0) + more);
          assert.ok(kitAvailable(components, after) >= kitAvailable(components, before));
        },
      ),
    );
  });
});

describe("kit cycles", () => {
  test("a kit containing itself, directly or through another kit of the page, is named", () => {
    const cycles = kitCycles([
      { key: "SELF", skus: ["SELF-1"], components: [{ sku: "SELF-1", quantity: 1 }] },
      { key: "A", skus: ["A-1"], components: [{ sku: "B-1", quantity: 1 }] },
      { key: "B", skus: ["B-1"], components: [{ sku: "A-1", quantity: 2 }] },
      { key: "OK", skus: ["OK-1"], components: [{ sku: "A-1", quantity: 1 }] },
    ]);
    assert.deepEqual([...cycles.keys()].sort(), ["A", "B", "SELF"]);
    assert.equal(kitCycleReason(cycles.get("SELF") ?? []), "kit cycle: SELF contains itself");
    assert.match(kitCycleReason(cycles.get("A") ?? []), /^kit cycle: A → B → A/);
  });

  test("the canonical product refuses a kit listing one of its own SKUs, naming it", () => {
    const parsed = Product.safeParse({
      source: "erp",
      sourceId: "1",
      updatedAt: "2026-01-01T00:00:00Z",
      key: "BOX",
      title: "Box",
      currency: "EUR",
      variants: [{ sku: "BOX", price: "10" }],
      components: [{ sku: "BOX", quantity: 1 }],
    });
    assert.equal(parsed.success, false);
    assert.match(parsed.error?.issues[0]?.message ?? "", /kit cycle: BOX contains itself/);
  });
});

describe("restock date and backorders", () => {
  const today = new Date("2026-12-03T22:30:00Z");
  test("out of stock with a lead time: today + lead time; backordered only where the policy allows", () => {
    assert.deepEqual(restockOf({ available: 0, leadTimeDays: 7 }, today, "allow"), {
      expectedOn: "2026-12-10",
      backorder: true,
    });
    assert.deepEqual(restockOf({ available: 0, leadTimeDays: 7 }, today, "deny"), {
      expectedOn: "2026-12-10",
      backorder: false,
    });
  });
  test("in stock, or no lead time: no date, no backorder", () => {
    assert.equal(restockOf({ available: 1, leadTimeDays: 7 }, today, "allow"), null);
    assert.equal(restockOf({ available: 0 }, today, "allow"), null);
  });
});
