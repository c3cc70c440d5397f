/** Retry timing: backoff, Retry-After and the elapsed cap, on a fake clock (nothing sleeps). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startShopifyEmulator } from "@passerelle/emulators";
import { z } from "zod";
import { ShopifyClient } from "../connectors/shopify/client.ts";
import { ShopifyConfig } from "../connectors/shopify/config.ts";
import { SyncError } from "../core/errors.ts";
import { backoffDelay, DEFAULT_RETRY, retryEach, retryPolicyFor, withRetry } from "./retry.ts";

function fakeClock() {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
  };
}

test("a vendor's Retry-After longer than the backoff is waited for exactly", async () => {
  const clock = fakeClock();
  let calls = 0;
  const value = await withRetry(
    async () => {
      calls++;
      if (calls === 1) throw new SyncError("rate_limited", "slow down", { retryAfterMs: 7_000 });
      if (calls === 2) throw new SyncError("retryable", "HTTP 503");
      return "ok";
    },
    {
      policy: { attempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 },
      sleep: clock.sleep,
      now: clock.now,
      random: () => 1,
    },
  );
  assert.equal(value, "ok");
  // First the vendor's 7 s; then the policy's second step (200 ms: equal jitter at its top with random=1).
  assert.deepEqual(clock.slept, [7_000, 200]);
});

test("a retry that would pass maxElapsedMs is not attempted; permanent errors are not retried", async () => {
  const clock = fakeClock();
  await assert.rejects(
    withRetry(
      async () => {
        throw new SyncError("rate_limited", "Odoo answered HTTP 429", { retryAfterMs: 50_000 });
      },
      {
        policy: { attempts: 10, baseDelayMs: 100, maxDelayMs: 1_000, maxElapsedMs: 30_000 },
        sleep: clock.sleep,
        now: clock.now,
      },
    ),
    (err: SyncError) => err.kind === "rate_limited" && /would pass the 30000 ms cap/.test(err.message),
  );
  assert.deepEqual(clock.slept, []);
  let calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw new SyncError("permanent", "no such product");
      },
      { sleep: clock.sleep, now: clock.now },
    ),
    /no such product/,
  );
  assert.equal(calls, 1);
});

test("backoff doubles per attempt, is capped, and is jittered within the upper half", () => {
  const err = new SyncError("retryable", "x");
  const policy = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((a) => backoffDelay(policy, a, err, () => 1)),
    [100, 200, 400, 800, 1_000, 1_000],
  );
  assert.deepEqual(
    [1, 2, 3].map((a) => backoffDelay(policy, a, err, () => 0)),
    [50, 100, 200],
  );
});

test("a flow's retry settings override the top-level ones, field by field", () => {
  const config = {
    retry: { attempts: 6, baseDelayMs: 500, maxDelayMs: 10_000, maxElapsedMs: 60_000 },
    flows: { orders: { retry: { attempts: 9 } }, stock: {} },
  };
  assert.deepEqual(retryPolicyFor(config, "orders"), {
    attempts: 9,
    baseDelayMs: 500,
    maxDelayMs: 10_000,
    maxElapsedMs: 60_000,
  });
  assert.deepEqual(retryPolicyFor(config, "stock"), config.retry);
  assert.deepEqual(retryPolicyFor({}, "x"), DEFAULT_RETRY);
});

test("Shopify's HTTP 429 Retry-After header reaches the retry loop as the wait", async () => {
  const shop = await startShopifyEmulator({ faults: { rates: { "429": 1 }, retryAfterS: 3 } });
  try {
    const clock = fakeClock();
    const client = new ShopifyClient(
      "shopify",
      ShopifyConfig.parse({ shop: shop.shop, accessToken: shop.accessToken, endpoint: shop.url }),
      { timer: { now: clock.now, sleep: clock.sleep } },
    );
    const data = await withRetry(() => client.request("{ shop { name } }", {}, z.unknown()), {
      system: "shopify",
      now: clock.now,
      sleep: async (ms) => {
        // After the first wait the shop is healthy again.
        shop.faults.configure({});
        await clock.sleep(ms);
      },
    });
    assert.ok(data !== null && typeof data === "object" && "shop" in data);
    assert.deepEqual(clock.slept, [3_000]);
    assert.equal(shop.faults.stats.injected["429"], 1);
  } finally {
    await shop.close();
  }
});

test("retryEach: each item waits its own delay, and the items due sooner are tried meanwhile", async () => {
  const clock = fakeClock();
  const tries: string[] = [];
  const failed = await retryEach(
    ["A", "B", "C"],
    async (due) => {
      tries.push(due.map((d) => `${d.item}${d.attempt}`).join(","));
      return due.map(({ item, attempt }) => {
        if (item === "A" && attempt === 1) return new SyncError("retryable", "busy", { retryAfterMs: 7_000 });
        if (item === "B" && attempt < 3) return new SyncError("retryable", "timed out");
        if (item === "C") return new SyncError("permanent", "no such product");
        return null;
      });
    },
    {
      policy: { attempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 },
      sleep: clock.sleep,
      now: clock.now,
      random: () => 1,
    },
  );
  // B is tried twice more (after 100 and 200 ms) while A waits out its 7 s; C fails for good at once.
  assert.deepEqual(tries, ["A1,B1,C1", "B2", "B3", "A2"]);
  assert.deepEqual(clock.slept, [100, 200, 6_700]);
  assert.deepEqual(
    [...failed].map(([item, err]) => `${item}: ${err.message}`),
    ["C: no such product"],
  );
});

test("retryEach: a try that throws retries its items together, and is thrown once out of tries", async () => {
  const clock = fakeClock();
  const tries: string[] = [];
  await assert.rejects(
    retryEach(
      ["A", "B"],
      async (due) => {
        tries.push(due.map((d) => d.item).join(","));
        throw new SyncError("retryable", "Odoo answered HTTP 503 to product.product.search_read");
      },
      { policy: { attempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 }, sleep: clock.sleep, now: clock.now },
    ),
    /HTTP 503/,
  );
  assert.deepEqual(tries, ["A,B", "A,B", "A,B"]);
  assert.equal(clock.slept.length, 2);
});

test("retryEach: a retry that would pass maxElapsedMs is not attempted; the item fails saying so", async () => {
  const clock = fakeClock();
  const failed = await retryEach(
    ["A"],
    async () => [new SyncError("rate_limited", "Odoo answered HTTP 429", { retryAfterMs: 50_000 })],
    {
      policy: { attempts: 10, baseDelayMs: 100, maxDelayMs: 1_000, maxElapsedMs: 30_000 },
      sleep: clock.sleep,
      now: clock.now,
    },
  );
  assert.match(failed.get("A")?.message ?? "", /would pass the 30000 ms cap/);
  assert.deepEqual(clock.slept, []);
});
