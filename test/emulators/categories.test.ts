/**
 * The category tree through the engine, between the emulators the demo runs: Odoo's product.category read
 * from the Odoo emulator, written to the Shopify emulator as collections (products in them) and the
 * navigation menu `categories` (the tree); every request the connector sends is validated against
 * Shopify's published Admin schema by the emulator. Then a rename, a move, and two kinds of cycle.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import { FileConfig } from "../../src/connectors/file/config.ts";
import { file } from "../../src/connectors/file/index.ts";
import { ShopifyConfig } from "../../src/connectors/shopify/config.ts";
import { shopify } from "../../src/connectors/shopify/index.ts";
import { CATEGORY_MENU_HANDLE } from "../../src/connectors/shopify/writers/category.ts";
import type { Flow } from "../../src/engine/flow.ts";
import { SyncEngine } from "../../src/engine/sync.ts";
import type { Store } from "../../src/ports/store.ts";
import { openContext } from "../../src/runtime/context.ts";
import { openStore } from "../../src/store/index.ts";
import { type OdooFixture, startFixture } from "../fixtures/odoo.ts";

const noSleep = async () => {};

interface Item {
  title: string;
  resourceId: string | null;
  items: Item[];
}

describe("categories: Odoo emulator → Shopify emulator", () => {
  let erp: OdooFixture;
  let shop: ShopifyEmulator;
  let store: Store;
  let dir: string;
  let categories: Flow;
  let products: Flow;
  const engine = () => new SyncEngine(store);

  /** Odoo's categories below its root "All", by id. */
  const odooCategories = () => {
    const ids = erp.emu.data.search("product.category", [], { order: "id asc" });
    return erp.emu.data
      .read("product.category", ids, ["name", "parent_id"])
      .filter((r) => !(r.name === "All" && !r.parent_id));
  };
  const collectionOf = (odooId: number) =>
    [...shop.data.collections.values()].find((c) => {
      const m = c.metafields.get("passerelle.category");
      return m !== undefined && (JSON.parse(m.value) as { key: string }).key === String(odooId);
    });
  const menu = (): Item[] => {
    const m = [...shop.data.menus.values()].find((x) => x.handle === CATEGORY_MENU_HANDLE);
    assert.ok(m, "the categories menu exists");
    const strip = (items: Item[]): Item[] =>
      items.map((i) => ({ title: i.title, resourceId: i.resourceId, items: strip(i.items) }));
    return strip(m.items as Item[]);
  };

  before(async () => {
    erp = await startFixture({ products: 12, orders: 0, seed: 5 });
    shop = await startShopifyEmulator({ seed: 5, customers: 0, rateLimit: { enabled: false } });
    dir = mkdtempSync(join(tmpdir(), "passerelle-categories-"));
    store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
    await store.migrate();
    const target = shopify.create(
      "shop",
      ShopifyConfig.parse({ shop: shop.shop, accessToken: shop.accessToken, endpoint: shop.url }),
    );
    const source = erp.connect({ pageSize: 3 }, "erp");
    categories = { name: "categories", entity: "category", source, target, batchSize: 3 };
    products = { name: "products", entity: "product", source, target, batchSize: 5, linkCategories: true };
  });

  after(async () => {
    await store?.close();
    await shop?.close();
    await erp?.emu.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the tree becomes collections and the categories menu; each product is in its category's collection", async () => {
    const top = erp.emu.data.search("product.category", [["name", "=", "Apparel"]])[0] as number;
    // A sub-category, so the menu nests.
    const tees = erp.emu.data.create("product.category", { name: "Tees", parent_id: top }) as number;
    const c = await engine().run(categories, { sleep: noSleep });
    assert.equal(c.status, "succeeded", JSON.stringify(c.error));
    const expected = odooCategories();
    assert.equal(c.counts.created, expected.length);
    for (const row of expected) assert.equal(collectionOf(row.id as number)?.title, row.name);
    const apparel = menu().find((i) => i.title === "Apparel");
    assert.deepEqual(
      apparel?.items.map((i) => [i.title, i.resourceId]),
      [["Tees", collectionOf(tees)?.id]],
    );
    assert.ok(!menu().some((i) => i.title === "All"), "Odoo's root is no shop category");

    const p = await engine().run(products, { sleep: noSleep });
    assert.equal(p.status, "succeeded", JSON.stringify(p.error));
    assert.ok(p.counts.created > 0);
    const templates = erp.emu.data.read(
      "product.template",
      erp.emu.data.search("product.template", [["default_code", "!=", false]]),
      ["default_code", "categ_id"],
    );
    let checked = 0;
    for (const product of shop.data.products.values()) {
      const t = templates.find((x) => String(x.default_code) === product.handle.toUpperCase());
      if (!t) continue;
      const categ = (t.categ_id as [number, string])[0];
      const holding = [...shop.data.collections.values()].filter((x) => x.productIds.includes(product.id));
      assert.deepEqual(
        holding.map((x) => x.id),
        [collectionOf(categ)?.id],
        `${product.handle} is in its category's collection only`,
      );
      checked++;
    }
    assert.ok(checked > 0, "products were checked");
    // Settled: a second pass writes nothing.
    const again = await engine().run(categories, { sleep: noSleep });
    assert.equal(again.counts.created + again.counts.updated, 0);
  });

  test("a rename retitles the same collection and a move moves it in the menu; products are not written", async () => {
    const [apparel, home] = ["Apparel", "Home"].map(
      (n) => erp.emu.data.search("product.category", [["name", "=", n]])[0] as number,
    );
    assert.ok(apparel && home, "the seed has Apparel and Home");
    const before = collectionOf(apparel);
    erp.emu.touch("product.category", apparel, { name: "Clothing" });
    erp.emu.touch("product.category", home, { parent_id: apparel });
    const c = await engine().run(categories, { sleep: noSleep });
    assert.equal(c.counts.updated, 2);
    assert.equal(c.counts.created, 0);
    assert.equal(collectionOf(apparel)?.id, before?.id);
    assert.equal(collectionOf(apparel)?.title, "Clothing");
    assert.equal(collectionOf(apparel)?.handle, before?.handle, "the published handle is kept");
    const clothing = menu().find((i) => i.title === "Clothing");
    assert.ok(
      clothing?.items.some((i) => i.resourceId === collectionOf(home)?.id),
      "Home moved under Clothing",
    );
    assert.ok(!menu().some((i) => i.title === "Home"), "Home is no longer top-level");
    const p = await engine().run(products, { sleep: noSleep });
    assert.equal(p.counts.created + p.counts.updated, 0, "products keep their links");
  });

  // Odoo refuses recursive categories itself (so does its emulator: it cannot even name one), so the
  // cycles come from a source that does not check: an ERP's export files, read by the file connector.
  const exported = (name: string, lines: Record<string, unknown>[]) =>
    writeFileSync(join(dir, "exports", name), lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
  const fromFiles = (): Flow => ({
    ...categories,
    name: "exported-categories",
    source: file.create(
      "files",
      FileConfig.parse({
        folder: join(dir, "exports"),
        settleMs: 0,
        entities: { category: { pattern: "categories-*.jsonl", format: "jsonl" } },
      }),
    ),
  });

  test("a cycle within one page fails both categories naming it; the rest proceeds", async () => {
    mkdirSync(join(dir, "exports"), { recursive: true });
    exported("categories-001.jsonl", [
      { key: "loop-a", name: "Loop A", parent: "loop-b" },
      { key: "loop-b", name: "Loop B", parent: "loop-a" },
      { key: "top", name: "Top" },
      { key: "leaf", name: "Leaf", parent: "top" },
    ]);
    const c = await engine().run(fromFiles(), { sleep: noSleep });
    assert.equal(c.status, "partial", JSON.stringify(c.error));
    assert.equal(c.counts.failed, 2);
    assert.equal(c.counts.created, 2, "the categories beside the cycle are written");
    const failures = await store.listFailures({ flow: "exported-categories" });
    assert.deepEqual(failures.map((f) => f.key).sort(), ["loop-a", "loop-b"]);
    for (const f of failures) assert.match(f.errorMessage, /^category cycle: (loop-[ab]) → loop-[ab] → \1/);
    assert.ok(menu().some((i) => i.title === "Top" && i.items.some((x) => x.title === "Leaf")));
  });

  test("a move under its own descendant, read alone, is refused from the shop's tree", async () => {
    exported("categories-002.jsonl", [{ key: "top", name: "Top", parent: "leaf" }]);
    const c = await engine().run(fromFiles(), { sleep: noSleep });
    assert.equal(c.counts.failed, 1, JSON.stringify(c));
    const [f] = (await store.listFailures({ flow: "exported-categories" })).filter((x) => x.key === "top");
    assert.match(f?.errorMessage ?? "", /category cycle: top → leaf → top/);
    assert.ok(
      menu().some((i) => i.title === "Top"),
      "Top is still top-level in the menu",
    );
  });
});

describe("categories: a product flow with no category flow to its target", () => {
  test("drops the products' categories: written without links, nothing fails", async () => {
    const erp = await startFixture({ products: 6, orders: 0, seed: 9 });
    const shop = await startShopifyEmulator({ seed: 9, customers: 0, rateLimit: { enabled: false } });
    const dir = mkdtempSync(join(tmpdir(), "passerelle-categories-drop-"));
    const yaml = (withCategories: boolean) =>
      [
        "version: 1",
        `store: { url: "sqlite:${join(dir, "store.sqlite")}" }`,
        "connections:",
        `  odoo: { type: odoo, url: "${erp.emu.url}", db: ${erp.emu.db}, username: ${erp.emu.login}, password: ${erp.emu.password} }`,
        `  shopify: { type: shopify, shop: ${shop.shop}, accessToken: ${shop.accessToken}, endpoint: "${shop.url}" }`,
        "flows:",
        "  products: { source: { connection: odoo, entity: product }, target: { connection: shopify, entity: product } }",
        ...(withCategories
          ? [
              "  categories: { source: { connection: odoo, entity: category }, target: { connection: shopify, entity: category } }",
            ]
          : []),
        "",
      ].join("\n");
    try {
      writeFileSync(join(dir, "with.yaml"), yaml(true));
      const withFlow = await openContext(join(dir, "with.yaml"));
      assert.equal(withFlow.flow("products").linkCategories, true, "a category flow writes to the shop");
      assert.deepEqual(withFlow.flowNames(), ["categories", "products"], "categories run first");
      await withFlow.close();

      writeFileSync(join(dir, "without.yaml"), yaml(false));
      const ctx = await openContext(join(dir, "without.yaml"));
      const flow = ctx.flow("products");
      assert.equal(flow.linkCategories, undefined);
      const s = await ctx.engine.run(flow, { sleep: noSleep });
      await ctx.close();
      assert.equal(s.status, "succeeded", JSON.stringify(s.error));
      assert.ok(s.counts.created > 0);
      assert.equal(shop.data.collections.size, 0);
    } finally {
      await shop.close();
      await erp.emu.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
