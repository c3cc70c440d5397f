/**
 * OData JSON `$batch` in the Business Central connector, against its emulator: the client's `batch`
 * (split at `batchSize`, answers in order, one slot of the concurrency limit and one of the governor per
 * batch, a batch of reads tried again on a 429 and one with writes never), and the order writer's batched
 * path (a page of orders in three requests, each order's result its own, a lost answer to the creates
 * repaired by the next attempt's lookup and never by a second order). Every inner request and answer is
 * checked against the API v2.0 digest, as a single call's is.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type BcEmulator, startBcEmulator } from "@passerelle/emulators";
import { bcOrder, bcSettings } from "../../../test/fixtures/business-central-contract.ts";
import { SyncError } from "../../core/errors.ts";
import type { Order } from "../../core/model.ts";
import type { Connector, WriteContext, WriteItem } from "../../ports/connector.ts";
import { setSharedGovernor } from "../http/governor.ts";
import { type BatchOperation, BusinessCentralClient, BusinessCentralPlatform } from "./client.ts";
import { BusinessCentralConfig } from "./config.ts";
import { businessCentral } from "./index.ts";
import { orderWriter } from "./writers/order.ts";

const noLinks: WriteContext = { resolve: async () => null };
const email = "customer1@example.com";

/** A fetch that answers the first `$batch` itself with `status` (and Retry-After 0), then passes through. */
function failingFirstBatch(status: number) {
  const seen = { batches: 0 };
  const f: typeof fetch = async (input, init) => {
    if (String(input).endsWith("/$batch")) {
      seen.batches++;
      if (seen.batches === 1)
        return new Response(
          JSON.stringify({ error: { code: "Application_TooManyRequests", message: "slow down" } }),
          {
            status,
            headers: { "content-type": "application/json", "retry-after": "0" },
          },
        );
    }
    return fetch(input, init);
  };
  return { f, seen };
}

describe("OData $batch in the Business Central connector", () => {
  let emu: BcEmulator;
  before(async () => {
    emu = await startBcEmulator({ items: 12, customers: 4 });
  });
  after(async () => {
    assert.deepEqual(emu.violations, [], "a request or answer broke the API v2.0 digest");
    await emu.close();
  });

  const config = (extra: Record<string, unknown> = {}) => BusinessCentralConfig.parse(bcSettings(emu, extra));
  const items = (orders: Order[]): WriteItem<"order">[] =>
    orders.map((o) => ({ key: o.key, record: o, targetId: null, externalRef: o.key }));
  const ordersOf = (ref: string) =>
    [...emu.data.salesOrders.values()].filter((o) => o.externalDocumentNumber === ref);
  const reads = (n: number): BatchOperation[] =>
    Array.from({ length: n }, (_, i) => ({
      id: `r${i}`,
      method: "GET",
      path: `items?$filter=number eq 'ITEM-000${(i % 9) + 1}'&$top=1&$select=id,number`,
    }));

  describe("the client's batch", () => {
    test("splits at batchSize and answers every operation in the order given", async () => {
      const client = new BusinessCentralClient("bc-split", config({ batchSize: 2 }));
      const batches = emu.stats.batches;
      const answers = await client.batch(reads(5));
      assert.equal(emu.stats.batches - batches, 3, "5 operations at 2 a batch take 3 batches");
      assert.deepEqual(
        answers.map((a) => a.id),
        ["r0", "r1", "r2", "r3", "r4"],
      );
      assert.ok(answers.every((a) => a.status === 200));
      assert.equal(
        (answers[2]?.body as { value: { number: string }[] } | undefined)?.value[0]?.number,
        "ITEM-0003",
      );
    });

    test("batchSize cannot pass Business Central's 100 operations", () => {
      const r = BusinessCentralConfig.safeParse(bcSettings(emu, { batchSize: 101 }));
      assert.ok(!r.success);
      assert.deepEqual(r.error.issues[0]?.path, ["batchSize"]);
    });

    test("a batch of reads is tried again after a 429; one with a write is not", async () => {
      const reading = failingFirstBatch(429);
      const c1 = new BusinessCentralClient("bc-429-read", config(), reading.f);
      const answers = await c1.batch(reads(2));
      assert.equal(reading.seen.batches, 2);
      assert.equal(answers.length, 2);

      const writing = failingFirstBatch(429);
      const c2 = new BusinessCentralClient("bc-429-write", config(), writing.f);
      const customers = emu.data.customers.size;
      const err = await c2
        .batch([
          ...reads(1),
          {
            id: "w",
            method: "POST",
            path: "customers",
            body: { displayName: "Never Twice", email: "nt@example.com" },
          },
        ])
        .catch((e: unknown) => e);
      assert.ok(err instanceof SyncError && err.retryable, String(err));
      assert.equal(writing.seen.batches, 1, "a batch carrying a write is never sent again blindly");
      assert.equal(emu.data.customers.size, customers);
    });

    test("a batch takes one slot of the concurrency limit and one of the governor, as a call does", async () => {
      const slow = await startBcEmulator({ items: 3, customers: 1, delayMs: 40, maxConcurrent: 1 });
      let acquired = 0;
      setSharedGovernor("bc-governed", {
        acquire: async () => {
          acquired++;
        },
      });
      try {
        const client = new BusinessCentralClient(
          "bc-governed",
          BusinessCentralConfig.parse(bcSettings(slow, { maxConcurrent: 1 })),
        );
        await client.get(`items(${[...slow.data.items.keys()][0]})`);
        const before = acquired;
        await Promise.all([
          client.batch(reads(3)),
          client.batch(reads(3)),
          client.get(`items(${[...slow.data.items.keys()][1]})`),
        ]);
        assert.equal(acquired - before, 3, "two batches and a call: three slots");
        assert.equal(slow.stats.throttled, 0, "never more than the one request Business Central would serve");
        assert.equal(slow.stats.peakInFlight, 1);
        assert.deepEqual(slow.violations, []);
      } finally {
        setSharedGovernor("bc-governed", null);
        await slow.close();
      }
    });
  });

  describe("the order writer", () => {
    let conn: Connector;
    before(async () => {
      conn = businessCentral.create("bc-batch", config({ batchThreshold: 2 }));
      await conn.check(); // the token, so the counts below are the writer's alone
    });

    test("a page of 8 new orders costs 3 requests (lookups, creates, read-backs), as estimated", async () => {
      const orders = Array.from({ length: 8 }, (_, i) =>
        bcOrder(email, i % 2 ? { skus: ["ITEM-0003", "ITEM-0005"] } : {}),
      );
      const page = { create: items(orders), update: [], lookups: [], first: false };
      const estimate = await conn.writers.order?.estimateCalls(page, noLinks);
      const requests = emu.stats.requests;
      const results = (await conn.writers.order?.upsert(items(orders), noLinks)) ?? [];
      assert.deepEqual(
        results.filter((r) => !r.ok),
        [],
      );
      assert.ok(results.every((r) => r.ok && r.action === "created"));
      assert.equal(emu.stats.requests - requests, 3);
      assert.equal(estimate, 3);
      for (const o of orders) assert.equal(ordersOf(o.key).length, 1);
      const single = businessCentral.create("bc-single", config({ batchThreshold: 0 }));
      assert.ok(
        ((await single.writers.order?.estimateCalls(page, noLinks)) ?? 0) > 60,
        "single calls cost far more",
      );

      // A SKU that is an item's number and a variant's code takes one more round, for the item's variants.
      const variant = [bcOrder(email, { skus: ["ITEM-0001", "ITEM-0004-M"] }), bcOrder(email)];
      const before = emu.stats.requests;
      const withVariant = (await conn.writers.order?.upsert(items(variant), noLinks)) ?? [];
      assert.ok(
        withVariant.every((r) => r.ok),
        JSON.stringify(withVariant),
      );
      assert.equal(emu.stats.requests - before, 4);
      const id = withVariant[0]?.ok ? withVariant[0].targetId : "";
      const m = [...emu.data.itemVariants.values()].find(
        (v) => v.itemNumber === "ITEM-0004" && v.code === "M",
      );
      assert.equal(emu.data.linesOf(id)[1]?.itemVariantId, m?.id);

      // Written again, each is found by externalDocumentNumber and read back: unchanged, the same order.
      const again = (await conn.writers.order?.upsert(items(orders), noLinks)) ?? [];
      assert.ok(
        again.every((r) => r.ok && r.action === "unchanged"),
        JSON.stringify(again),
      );
      assert.deepEqual(
        again.map((r) => r.ok && r.targetId),
        results.map((r) => r.ok && r.targetId),
      );
    });

    test("a refused order fails alone, classified as its single call would be", async () => {
      const good = bcOrder(email);
      const noSku = bcOrder(email, { skus: ["ITEM-0001", "NO-SUCH-SKU"] });
      const ghost = bcOrder("ghost@example.com");
      // Linked to a customer BC does not have: the create itself is refused (400) inside the batch.
      const links: WriteContext = {
        resolve: async (_e, key) =>
          key === ghost.customer.key ? "00000000-0000-4000-8000-00000000dead" : null,
      };
      const results = (await conn.writers.order?.upsert(items([good, noSku, ghost]), links)) ?? [];
      const by = new Map(results.map((r) => [r.key, r]));
      assert.ok(by.get(good.key)?.ok, JSON.stringify(by.get(good.key)));
      const sku = by.get(noSku.key);
      assert.ok(sku && !sku.ok && sku.error.kind === "data" && /NO-SUCH-SKU/.test(sku.error.message));
      const refused = by.get(ghost.key);
      assert.ok(refused && !refused.ok, JSON.stringify(refused));
      assert.match(refused.error.message, /HTTP 400.*customer of the order does not exist/);
      assert.equal(ordersOf(ghost.key).length, 0);

      const alone = businessCentral.create("bc-alone", config({ batchThreshold: 0 }));
      const [single] =
        (await alone.writers.order?.upsert(items([bcOrder("ghost@example.com")]), {
          resolve: async () => "00000000-0000-4000-8000-00000000dead",
        })) ?? [];
      assert.ok(single && !single.ok);
      assert.equal(refused.error.kind, single.error.kind, "the same kind as the single call's");
    });

    test("an operation answered 5xx fails its own order as retryable; the others are written", async () => {
      // Business Central's answer to the creates comes back with the first operation's replaced by a 503.
      const f: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (!String(input).endsWith("/$batch") || !String(init?.body).includes('"POST"')) return res;
        const body = (await res.json()) as { responses: { status: number; body?: unknown }[] };
        body.responses[0] = {
          ...body.responses[0],
          status: 503,
          body: { error: { code: "ServiceUnavailable", message: "busy" } },
        } as never;
        return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
      };
      const orders = [bcOrder(email), bcOrder(email), bcOrder(email)];
      const client = new BusinessCentralClient("bc-flaky", config(), f);
      const writer = orderWriter({ name: "bc-flaky", config: config(), client });
      const results = await writer.upsert(items(orders), noLinks);
      const [first, ...rest] = results;
      assert.ok(first && !first.ok && first.error.retryable, JSON.stringify(first));
      assert.ok(
        rest.every((r) => r.ok && r.action === "created"),
        JSON.stringify(rest),
      );
      // The next attempt finds what BC did create behind the 503: no second order.
      const again = await writer.upsert(items(orders), noLinks);
      assert.ok(
        again.every((r) => r.ok),
        JSON.stringify(again),
      );
      for (const o of orders) assert.equal(ordersOf(o.key).length, 1);
    });

    test("EXACTLY-ONCE: the creates' answer lost after BC applied them fails each order retryable, and the next attempt creates none twice", async () => {
      const orders = [bcOrder(email), bcOrder(email), bcOrder(email)];
      // The lookups' batch only reads: the drop it rolls is owed to the next batch that writes, the creates.
      emu.faults.configure({ rates: { drop: 1 } });
      let lost: Awaited<ReturnType<NonNullable<Connector["writers"]["order"]>["upsert"]>>;
      try {
        lost = (await conn.writers.order?.upsert(items(orders), noLinks)) ?? [];
      } finally {
        emu.faults.configure({});
      }
      assert.equal(lost.length, 3);
      for (const r of lost) assert.ok(!r.ok && r.error.retryable, JSON.stringify(r));
      for (const o of orders) assert.equal(ordersOf(o.key).length, 1, "BC applied the batch");
      const creates = emu.checked.get("POST salesOrders") ?? 0;
      const again = (await conn.writers.order?.upsert(items(orders), noLinks)) ?? [];
      assert.ok(
        again.every((r) => r.ok && r.action === "unchanged"),
        JSON.stringify(again),
      );
      assert.equal(emu.checked.get("POST salesOrders") ?? 0, creates, "no create on the second attempt");
      for (const o of orders) {
        assert.equal(ordersOf(o.key).length, 1, `order ${o.key} exists once`);
        const r = again.find((x) => x.key === o.key);
        assert.equal(r?.ok && r.targetId, ordersOf(o.key)[0]?.id);
      }
    });

    test("below batchThreshold, and for cancellations, the single calls stay", async () => {
      const batches = emu.stats.batches;
      const one = bcOrder(email);
      const [r] = (await conn.writers.order?.upsert(items([one]), noLinks)) ?? [];
      assert.ok(r?.ok && r.action === "created", JSON.stringify(r));
      assert.equal(emu.stats.batches, batches, "one order is below the threshold of 2");

      const off = businessCentral.create("bc-off", config({ batchThreshold: 0 }));
      const two = [bcOrder(email), bcOrder(email)];
      const rs = (await off.writers.order?.upsert(items(two), noLinks)) ?? [];
      assert.ok(rs.every((x) => x.ok));
      assert.equal(emu.stats.batches, batches, "batchThreshold 0 never batches");

      // A batched page with a cancellation: the existing order is deleted by its own calls.
      const fresh = bcOrder(email);
      const cancel = { ...one, cancelled: true };
      const mixed =
        (await conn.writers.order?.upsert(
          [
            ...items([fresh]),
            { key: cancel.key, record: cancel, targetId: r.ok ? r.targetId : null, externalRef: cancel.key },
          ],
          noLinks,
        )) ?? [];
      assert.ok(
        mixed.every((x) => x.ok),
        JSON.stringify(mixed),
      );
      assert.equal(ordersOf(one.key).length, 0, "the cancelled order was deleted");
      assert.equal(ordersOf(fresh.key).length, 1);
    });
  });

  test("a media link outside the environment is refused as permanent: following it again cannot help", async () => {
    const platform = new BusinessCentralPlatform(new BusinessCentralClient("bc-media", config()));
    const err = await platform
      .media("https://elsewhere.example.com/pdf", "invoice PDF")
      .catch((e: unknown) => e);
    assert.ok(err instanceof SyncError, String(err));
    assert.equal(err.kind, "permanent");
    assert.match(err.message, /leaves the environment/);
  });
});
