import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import type { Product } from "../../core/model.ts";
import type { WriteContext, WriteItem } from "../../ports/connector.ts";
import { BULK_OPERATION_RUN_MUTATION, runBulkMutation, STAGED_UPLOADS_CREATE } from "./bulk.ts";
import { ShopifyClient } from "./client.ts";
import { ShopifyConfig } from "./config.ts";
import { type ShopifyEmulator, startShopifyEmulator } from "./emulator/server.ts";
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
