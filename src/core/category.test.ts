import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { categoryCycles, cycleReason, inRunOrder, parentsFirst } from "./category.ts";
import { Category } from "./model.ts";

const base = { source: "erp", sourceId: "1", updatedAt: "2026-01-01T00:00:00Z" };

describe("category tree rules", () => {
  test("a cycle within a page names each of its members; the rest has none", () => {
    const cycles = categoryCycles([
      { key: "a", parent: "b" },
      { key: "b", parent: "a" },
      { key: "c", parent: "a" },
      { key: "d" },
    ]);
    assert.deepEqual([...cycles.keys()].sort(), ["a", "b"]);
    assert.deepEqual(cycles.get("a"), ["a", "b", "a"]);
    assert.match(cycleReason(cycles.get("b") ?? []), /^category cycle: b → a → b/);
  });

  test("a move under a descendant written earlier is a cycle through the known tree", () => {
    const known = new Map<string, string | undefined>([
      ["root", undefined],
      ["child", "root"],
      ["grandchild", "child"],
    ]);
    const cycles = categoryCycles([{ key: "root", parent: "grandchild" }], known);
    assert.deepEqual(cycles.get("root"), ["root", "grandchild", "child", "root"]);
    // The same move of a leaf is no cycle, and a record's own parent overrides the known one.
    assert.equal(categoryCycles([{ key: "grandchild", parent: "root" }], known).size, 0);
  });

  test("parents are written before their children in a batch", () => {
    const order = parentsFirst([
      { key: "leaf", parent: "mid" },
      { key: "mid", parent: "top" },
      { key: "other" },
      { key: "top" },
    ]).map((c) => c.key);
    assert.deepEqual(order, ["top", "mid", "leaf", "other"]);
  });

  test("category flows run before the others, which keep their order", () => {
    assert.deepEqual(
      inRunOrder([
        { name: "products", entity: "product" },
        { name: "stock", entity: "inventory" },
        { name: "categories", entity: "category" },
      ]),
      ["categories", "products", "stock"],
    );
  });

  test("the schema refuses a category that is its own parent, naming it", () => {
    const r = Category.safeParse({ ...base, key: "x", name: "X", parent: "x" });
    assert.equal(r.success, false);
    assert.match(r.error?.issues[0]?.message ?? "", /category cycle: x is its own parent/);
  });
});
