import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import { z } from "zod";
import type { Product } from "../../core/model.ts";
import type { WriteContext, WriteItem } from "../../ports/connector.ts";
import {
  BULK_OPERATION_RUN_MUTATION,
  nextPollDelay,
  runBulkMutation,
  STAGED_UPLOADS_CREATE,
} from "./bulk.ts";
import { ShopifyClient } from "./client.ts";
import { ShopifyConfig } from "./config.ts";
import { createShopifyConnector } from "./index.ts";
import { validateOperation } from "./schema.ts";
import { BULK_PRODUCT_SET } from "./writers/product.ts";

const noLinks: WriteContext = { resolve: async () => null };

function product(key: string, skus: string[], price: string): Product {
  return {
    source: "erp",
    sourceId: key,
    updatedAt: "2026-06-01T00:00:00Z",
    key,
    title: `Product ${key}`,
    status: "active",
    currency: "EUR",
    categoryPath: [],
    attributes: {},
    images: [],
    components: [],
    variants: skus.map((sku, i) => ({
      sku,
      price,
      options: (skus.length > 1 ? { Size: ["S", "M", "L"][i] ?? sku } : {}) as Record<string, string>,
    })),
  };
}

describe("shopify bulk mutations against the emulator", () => {
  let emu: ShopifyEmulator;
  let config: ShopifyConfig;
  before(async () => {
    emu = await startShopifyEmulator({ seed: 5, customers: 0, rateLimit: { enabled: false } });
    config = ShopifyConfig.parse({
      shop: emu.shop,
      accessToken: emu.accessToken,
      endpoint: emu.url,
      bulkThreshold: 2,
    });
  });
  after(() => emu.close());

  test("the bulk documents are valid against Shopify's schema", () => {
    for (const doc of [STAGED_UPLOADS_CREATE, BULK_OPERATION_RUN_MUTATION, BULK_PRODUCT_SET]) {
      assert.deepEqual(validateOperation(doc), []);
    }
  });

  test("a batch at the threshold goes through one bulk operation; updates keep variant ids", async () => {
    const writer = createShopifyConnector("shopify", config).writers.product;
    assert.ok(writer);
    const items: WriteItem<"product">[] = [
      {
        key: "BULK-1",
        record: product("BULK-1", ["BULK-1-S", "BULK-1-M"], "10.00"),
        targetId: null,
        externalRef: "BULK-1",
      },
      {
        key: "BULK-2",
        record: product("BULK-2", ["BULK-2"], "20.00"),
        targetId: null,
        externalRef: "BULK-2",
      },
    ];
    const before = emu.bulk.stats.operations;
    const created = await writer.upsert(items, noLinks);
    assert.equal(emu.bulk.stats.operations, before + 1);
    assert.deepEqual(
      created.map((r) => (r.ok ? r.action : r.error.message)),
      ["created", "created"],
    );
    const firstId = created[0]?.ok ? created[0].targetId : "";
    const product1 = emu.data.products.get(firstId);
    assert.ok(product1);
    const variantIds = [...product1.variantIds];
    assert.deepEqual(
      variantIds.map((id) => emu.data.variants.get(id)?.sku),
      ["BULK-1-S", "BULK-1-M"],
    );

    const updates: WriteItem<"product">[] = items.map((i, n) => ({
      ...i,
      record: { ...i.record, variants: i.record.variants.map((v) => ({ ...v, price: "12.50" })) },
      targetId: created[n]?.ok ? (created[n]?.targetId ?? null) : null,
    }));
    const updated = await writer.upsert(updates, noLinks);
    assert.deepEqual(
      updated.map((r) => (r.ok ? r.action : r.error.message)),
      ["updated", "updated"],
    );
    assert.deepEqual(emu.data.products.get(firstId)?.variantIds, variantIds);
    assert.equal(emu.data.variants.get(variantIds[0] as string)?.price, "12.5");
    assert.equal(emu.data.products.size, 2);
  });

  test("a line's userErrors fail that record only", async () => {
    const client = new ShopifyClient("shopify", config);
    const answers = await runBulkMutation(client, "shopify", BULK_PRODUCT_SET, [
      { input: { title: "" }, identifier: null },
      { input: { title: "Fine", productOptions: [{ name: "Title", values: [{ name: "Default Title" }] }] } },
    ]);
    assert.equal(answers.length, 2);
    const first = answers[0]?.data as { productSet: { userErrors: { message: string }[] } };
    assert.match(first.productSet.userErrors[0]?.message ?? "", /Title can't be blank/);
    const second = answers[1]?.data as { productSet: { product: { id: string } | null } };
    assert.ok(second.productSet.product?.id.startsWith("gid://shopify/Product/"));
  });

  test("the emulator refuses a second bulk mutation while one runs, and a missing upload", async () => {
    const client = new ShopifyClient("shopify", config);
    const run = (path: string) =>
      client.request(
        BULK_OPERATION_RUN_MUTATION,
        { mutation: BULK_PRODUCT_SET, stagedUploadPath: path },
        z.object({
          bulkOperationRunMutation: z.object({
            bulkOperation: z.object({ id: z.string() }).nullable(),
            userErrors: z.array(z.object({ code: z.string() })),
          }),
        }),
      );
    const missing = await run("tmp/emulator/bulk/none/file.jsonl");
    assert.equal(missing.bulkOperationRunMutation.userErrors[0]?.code, "NO_SUCH_FILE");

    const lines = Array.from({ length: 400 }, (_, i) => ({
      input: { title: `Many ${i}`, productOptions: [{ name: "Title", values: [{ name: "Default Title" }] }] },
    }));
    const first = runBulkMutation(client, "shopify", BULK_PRODUCT_SET, lines, { pollMs: 5 });
    const second = runBulkMutation(client, "shopify", BULK_PRODUCT_SET, lines.slice(0, 3), { pollMs: 5 });
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.length, 400);
    assert.equal(b.length, 3);
    assert.ok(a.every((l) => l.errors === undefined));
  });
});

describe("bulk polling paced by progress", () => {
  test("nextPollDelay: time left at the rate so far, within [min, max]; back-off without progress", () => {
    const base = { minMs: 100, maxMs: 5_000, previousMs: 100 };
    // 800 of 1,000 lines in 700 ms: the last 200 need 175 ms more.
    assert.equal(nextPollDelay({ ...base, elapsedMs: 700, done: 800, total: 1_000 }), 175);
    assert.equal(nextPollDelay({ ...base, elapsedMs: 10, done: 999, total: 1_000 }), 100);
    assert.equal(nextPollDelay({ ...base, elapsedMs: 60_000, done: 1, total: 1_000 }), 5_000);
    // Queued: doubling from the shortest delay.
    assert.equal(nextPollDelay({ ...base, previousMs: 0, elapsedMs: 0, done: 0, total: 1_000 }), 100);
    assert.equal(nextPollDelay({ ...base, previousMs: 400, elapsedMs: 700, done: 0, total: 1_000 }), 800);
    assert.equal(nextPollDelay({ ...base, previousMs: 4_000, elapsedMs: 9_000, done: 0, total: 9 }), 5_000);
    // Every line done, the file being written: at most an eighth of the run so far.
    assert.equal(nextPollDelay({ ...base, previousMs: 2_000, elapsedMs: 2_400, done: 10, total: 10 }), 300);
  });

  test("runBulkMutation polls on a fake clock: back-off while queued, then once at the expected end", async () => {
    // A scripted shop: the operation is queued for 300 ms, then does 2 lines per ms, and its result file
    // is out 50 ms after the last line. Time moves only when the poller sleeps.
    let now = 0;
    const sleeps: number[] = [];
    const timer = {
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
    };
    const total = 1_000;
    let startedAt = -1;
    let polls = 0;
    const state = () => {
      const t = now - startedAt;
      const done = Math.max(0, Math.min(total, (t - 300) * 2));
      return { done, status: t >= 300 + total / 2 + 50 ? "COMPLETED" : t >= 300 ? "RUNNING" : "CREATED" };
    };
    const json = (body: unknown) =>
      new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
    const fakeFetch: typeof fetch = async (input, init) => {
      const url = String(input);
      if (url === "https://files.example/upload") return new Response("", { status: 201 });
      if (url === "https://files.example/result.jsonl") {
        const lines = Array.from({ length: total }, (_, i) =>
          JSON.stringify({ data: { n: i }, __lineNumber: i }),
        );
        return new Response(`${lines.join("\n")}\n`, { status: 200 });
      }
      const { query } = JSON.parse(String(init?.body)) as { query: string };
      if (query.includes("stagedUploadsCreate"))
        return json({
          data: {
            stagedUploadsCreate: {
              stagedTargets: [
                {
                  url: "https://files.example/upload",
                  resourceUrl: null,
                  parameters: [{ name: "key", value: "tmp/k/file.jsonl" }],
                },
              ],
              userErrors: [],
            },
          },
        });
      if (query.includes("bulkOperationRunMutation")) {
        startedAt = now;
        return json({
          data: {
            bulkOperationRunMutation: {
              bulkOperation: { id: "gid://shopify/BulkOperation/1", status: "CREATED" },
              userErrors: [],
            },
          },
        });
      }
      polls++;
      const s = state();
      return json({
        data: {
          node: {
            id: "gid://shopify/BulkOperation/1",
            status: s.status,
            errorCode: null,
            objectCount: String(s.done),
            url: s.status === "COMPLETED" ? "https://files.example/result.jsonl" : null,
            partialDataUrl: null,
          },
        },
      });
    };
    const client = new ShopifyClient(
      "shopify",
      ShopifyConfig.parse({
        shop: "fake.myshopify.com",
        accessToken: "t",
        endpoint: "https://fake.example/gql",
      }),
      { fetchApi: fakeFetch },
    );
    const lines = Array.from({ length: total }, (_, i) => ({ i }));
    const answers = await runBulkMutation(client, "shopify", BULK_PRODUCT_SET, lines, {
      timer,
      fetchApi: fakeFetch,
      pollMs: 100,
      maxPollMs: 5_000,
    });
    assert.equal(answers.length, total);
    assert.deepEqual(answers[999]?.data, { n: 999 });
    // 100 and 200 ms while queued (nothing done at 100 or 300), 400 ms (800 lines done at 700 ms), then
    // the 200 lines left at 800 lines per 700 ms: 175 ms, which finds it complete at 875 ms (ended at 850).
    assert.deepEqual(sleeps, [100, 200, 400, 175]);
    assert.equal(polls, 4);
  });
});
