import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { compareCursors, compareIds, isBefore } from "./cursor.ts";

test("ids compare in natural order when they share a prefix", () => {
  assert.equal(compareIds("9", "10"), -1);
  assert.equal(compareIds("gid://shopify/Order/10", "gid://shopify/Order/9"), 1);
  assert.equal(compareIds("abc", "abd"), -1);
  assert.equal(compareIds("x", "x"), 0);
});

test("cursors compare instants, not strings", () => {
  const a = { updatedAt: "2026-01-01T10:00:00+01:00", id: "2" };
  const b = { updatedAt: "2026-01-01T09:30:00Z", id: "1" };
  assert.equal(compareCursors(a, b), -1);
  assert.equal(isBefore(a.updatedAt, b.updatedAt), true);
  assert.equal(isBefore(b.updatedAt, b.updatedAt), false);
  assert.throws(
    () => compareCursors({ updatedAt: "yesterday", id: "1" }, b),
    /not an ISO 8601 timestamp: "yesterday"/,
  );
});

test("natural id order is a total order on numeric ids", () => {
  fc.assert(
    fc.property(fc.nat(), fc.nat(), (x, y) => {
      assert.equal(Math.sign(compareIds(String(x), String(y))), Math.sign(x - y));
    }),
  );
});
