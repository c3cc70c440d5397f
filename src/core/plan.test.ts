import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { contentHash } from "./hash.ts";
import { type Customer, type Order, Product, type Shipment } from "./model.ts";
import { freeItemReason, PLAN_ACTIONS, parentOf, planRecord } from "./plan.ts";

const customer = (email: string, lastName: string): Customer => ({
  source: "shop",
  sourceId: "1",
  updatedAt: "2026-01-01T00:00:00Z",
  key: email,
  email,
  lastName,
  addresses: [],
});

const order = (total: string): Order => ({
  source: "shop",
  sourceId: "7",
  updatedAt: "2026-01-01T00:00:00Z",
  key: "shop:#1001",
  number: "#1001",
  placedAt: "2026-01-01T00:00:00Z",
  currency: "EUR",
  customer: { key: "a@b.c", email: "a@b.c" },
  lines: [{ sku: "A", quantity: 2, unitPrice: "10.00", discount: "0", taxes: [] }],
  discounts: [],
  taxesIncluded: false,
  totalTax: "4.00",
  total,
  financialStatus: "paid",
  fulfillmentStatus: "unfulfilled",
  payments: [],
  cancelled: false,
});

test("create when the target has no link, update when it has one with another hash, skip on the same hash", () => {
  const c = customer("a@b.c", "Martin");
  const hash = contentHash("customer", c);
  const base = { entity: "customer" as const, mapped: c, error: null, filtered: false, hash };
  assert.deepEqual(planRecord({ ...base, target: null }), { action: "create", targetId: null });
  assert.deepEqual(planRecord({ ...base, target: { externalId: "9", lastHash: "old" } }), {
    action: "update",
    targetId: "9",
  });
  assert.deepEqual(planRecord({ ...base, target: { externalId: "9", lastHash: hash } }), {
    action: "skip",
    targetId: "9",
  });
});

test("an order whose total does not add up is held, new or not; a right one is written", () => {
  const wrong = order("25.00");
  const held = planRecord({
    entity: "order",
    mapped: wrong,
    error: null,
    filtered: false,
    hash: contentHash("order", wrong),
    target: { externalId: "5", lastHash: "old" },
  });
  assert.equal(held.action, "hold");
  assert.match(held.reason ?? "", /24\.00/);
  const right = order("24.00");
  assert.equal(
    planRecord({ entity: "order", mapped: right, error: null, filtered: false, hash: "h", target: null })
      .action,
    "create",
  );
});

test("property: the decision follows from the inputs alone, in this order of precedence", () => {
  const c = customer("a@b.c", "Martin");
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.boolean(),
      fc.option(
        fc.record({
          externalId: fc.string({ minLength: 1 }),
          lastHash: fc.option(fc.constantFrom("h1", "h2")),
        }),
      ),
      fc.constantFrom("h1", "h2"),
      (broken, filtered, target, hash) => {
        const d = planRecord({
          entity: "customer",
          mapped: broken ? null : c,
          error: broken ? "cannot map" : null,
          filtered,
          hash,
          target,
        });
        assert.ok(PLAN_ACTIONS.includes(d.action));
        assert.equal(d.targetId, target?.externalId ?? null);
        const expected = broken
          ? "error"
          : filtered
            ? "filtered"
            : target && target.lastHash === hash
              ? "skip"
              : target
                ? "update"
                : "create";
        assert.equal(d.action, expected);
      },
    ),
  );
});

test("a stock level older than the one already applied is discarded as stale; newer or unknown ones go ahead", () => {
  const level = {
    source: "erp",
    sourceId: "9",
    updatedAt: "2026-03-01T10:00:00Z",
    key: "A@WH",
    sku: "A",
    location: "WH",
    onHand: 5,
    reserved: 0,
    safetyStock: 0,
    available: 5,
  };
  const base = {
    entity: "inventory" as const,
    mapped: level,
    error: null,
    filtered: false,
    hash: contentHash("inventory", level),
  };
  const applied = { externalId: "gid://1", lastHash: "other", version: "2026-03-01T10:00:05Z" };
  const older = planRecord({ ...base, target: applied, sourceUpdatedAt: "2026-03-01T10:00:00Z" });
  assert.equal(older.action, "skip");
  assert.match(older.reason ?? "", /^stale: read at 2026-03-01T10:00:00Z, older than .*10:00:05Z/);
  assert.equal(
    planRecord({ ...base, target: applied, sourceUpdatedAt: "2026-03-01T10:00:06Z" }).action,
    "update",
  );
  assert.equal(
    planRecord({ ...base, target: { ...applied, version: null }, sourceUpdatedAt: "2026-03-01T10:00:00Z" })
      .action,
    "update",
  );
  // Only stock is guarded: an older customer still updates (its fields are edits, not measurements).
  const c = customer("a@b.c", "Martin");
  assert.equal(
    planRecord({
      entity: "customer",
      mapped: c,
      error: null,
      filtered: false,
      hash: "h",
      target: applied,
      sourceUpdatedAt: "2026-03-01T10:00:00Z",
    }).action,
    "update",
  );
});

test("an order cancelled before it reached the target is skipped with the reason; once there, it is written", () => {
  const cancelled = {
    ...order("0"),
    lines: [{ sku: "A", quantity: 0, unitPrice: "10.00", discount: "0", taxes: [] }],
    totalTax: "0",
    cancelled: true,
  };
  const base = { entity: "order" as const, mapped: cancelled, error: null, filtered: false, hash: "h" };
  const fresh = planRecord({ ...base, target: null });
  assert.equal(fresh.action, "skip");
  assert.match(fresh.reason ?? "", /cancelled before it was ever written/);
  // A create that was interrupted may have reached the target: written (the writer looks it up first).
  assert.equal(planRecord({ ...base, target: null, pendingIntent: true }).action, "create");
  // Known to the target: the cancellation is written, and its zeroed total is not held.
  assert.deepEqual(planRecord({ ...base, target: { externalId: "9", lastHash: "old" } }), {
    action: "update",
    targetId: "9",
  });
});

test("a writer that only updates skips records its system does not hold, with the reason", () => {
  const o = order("24.00");
  const base = {
    entity: "order" as const,
    mapped: o,
    error: null,
    filtered: false,
    hash: "h",
    updateOnly: true,
  };
  const skipped = planRecord({ ...base, target: null });
  assert.equal(skipped.action, "skip");
  assert.match(skipped.reason ?? "", /only updates what it holds/);
  assert.equal(planRecord({ ...base, target: { externalId: "9", lastHash: "x" } }).action, "update");
});

test("a record the target cannot hold at all is skipped with the writer's reason, linked or not", () => {
  const base = {
    entity: "order" as const,
    mapped: order("24.00"),
    error: null,
    filtered: false,
    hash: "h",
    unsupported: "not supported by the shop",
  };
  assert.deepEqual(planRecord({ ...base, target: null }), {
    action: "skip",
    targetId: null,
    reason: "not supported by the shop",
  });
  assert.equal(planRecord({ ...base, target: { externalId: "9", lastHash: "x" } }).action, "skip");
  assert.equal(planRecord({ ...base, unsupported: null, target: null }).action, "create");
});

test("a price of zero is an error with the reason unless the flow allows free items", () => {
  const product = Product.parse({
    source: "erp",
    sourceId: "1",
    updatedAt: "2026-01-01T00:00:00Z",
    key: "P1",
    title: "Gift",
    currency: "EUR",
    variants: [
      { sku: "P1-A", price: "0.00" },
      { sku: "P1-B", price: "5" },
    ],
  });
  const base = {
    entity: "product" as const,
    mapped: product,
    error: null,
    filtered: false,
    hash: "h",
    target: null,
  };
  const refused = planRecord(base);
  assert.equal(refused.action, "error");
  assert.match(
    refused.reason ?? "",
    /price 0 EUR for P1-A; free items are refused unless the flow sets allowFreeItems: true/,
  );
  assert.equal(planRecord({ ...base, allowFreeItems: true }).action, "create");
  assert.equal(
    freeItemReason("product", { ...product, variants: [{ sku: "P1-B", price: "5", options: {} }] }),
    null,
  );
});

test("a shipment whose order is not in the target is skipped with the reason; one whose order is, is written", () => {
  const shipment: Shipment = {
    source: "erp",
    sourceId: "3",
    updatedAt: "2026-03-01T10:00:00Z",
    key: "erp:WH/OUT/00003",
    orderKey: "erp:S00003",
    orderNumber: "S00003",
    trackingNumbers: ["1Z0001"],
    trackingUrls: [],
    lines: [],
    shippedAt: "2026-03-01T10:00:00Z",
  };
  const ref = parentOf("shipment", shipment);
  assert.deepEqual(ref, { entity: "order", key: "erp:S00003" });
  const base = {
    entity: "shipment" as const,
    mapped: shipment,
    error: null,
    filtered: false,
    hash: contentHash("shipment", shipment),
    target: null,
  };
  const orphan = planRecord({
    ...base,
    parent: { ...(ref as NonNullable<typeof ref>), system: "shop", inTarget: false },
  });
  assert.equal(orphan.action, "skip");
  assert.equal(
    orphan.reason,
    "order erp:S00003 is not in shop (it did not come from there and was never written there); not sent",
  );
  const shopOrder = { entity: "order" as const, key: "shop:#1001", system: "shop", inTarget: true };
  assert.deepEqual(planRecord({ ...base, parent: shopOrder }), { action: "create", targetId: null });
  // Written before and unchanged: skipped as unchanged, whatever became of its order.
  const written = { externalId: "gid://9", lastHash: base.hash };
  assert.deepEqual(planRecord({ ...base, target: written, parent: { ...shopOrder, inTarget: false } }), {
    action: "skip",
    targetId: "gid://9",
  });
  // Other entities have no parent; an invoice without an order key has none either.
  assert.equal(parentOf("customer", customer("a@b.c", "Martin")), null);
});
