/** The throttle bucket as Shopify describes it: a capacity that a restore rate refills every second. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LeakyBucket } from "./bucket.ts";

test("a request is taken while the points are there, refused (nothing taken) when they are not", () => {
  let now = 0;
  const b = new LeakyBucket({ enabled: true, maximumAvailable: 1000, restoreRate: 50 }, () => now);
  assert.equal(b.take(900), true);
  assert.equal(b.status().currentlyAvailable, 100);
  assert.equal(b.take(101), false);
  assert.equal(b.status().currentlyAvailable, 100);
  now += 1000; // one second restores 50 points
  assert.equal(b.status().currentlyAvailable, 150);
  assert.equal(b.take(101), true);
  now += 60_000; // never above the capacity
  assert.deepEqual(b.status(), { maximumAvailable: 1000, currentlyAvailable: 1000, restoreRate: 50 });
});

test("what was requested but not used goes back, up to the capacity", () => {
  let now = 0;
  const b = new LeakyBucket({ enabled: true, maximumAvailable: 100, restoreRate: 10 }, () => now);
  assert.equal(b.take(80), true);
  b.refund(30);
  assert.equal(b.status().currentlyAvailable, 50);
  b.refund(500);
  assert.equal(b.status().currentlyAvailable, 100);
  now += 1;
  assert.equal(b.take(100), true);
});

test("a disabled bucket never throttles", () => {
  const b = new LeakyBucket({ enabled: false, maximumAvailable: 10, restoreRate: 1 }, () => 0);
  assert.equal(b.take(1_000_000), true);
});
