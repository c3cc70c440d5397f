/**
 * The stale-stock guard in a real sync: Odoo stock levels written to the Shopify emulator, then an older
 * reading of one level (with a different quantity) arrives late. It is discarded, the shop keeps the newer
 * level, and the record's lineage says why; a newer reading still goes through.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startDemoSystems } from "@passerelle/emulators";
import { OdooConfig } from "../connectors/odoo/config.ts";
import { createOdooConnector } from "../connectors/odoo/index.ts";
import { ShopifyConfig } from "../connectors/shopify/config.ts";
import { createShopifyConnector } from "../connectors/shopify/index.ts";
import { compileMapping } from "../core/mapping.ts";
import type { InventoryLevel } from "../core/model.ts";
import { requireStream } from "../ports/connector.ts";
import { openStore } from "../store/index.ts";
import type { Flow } from "./flow.ts";
import { emptySummary, prepare, SyncEngine } from "./sync.ts";

test("an older stock reading is discarded and recorded; a newer one is applied", async () => {
  const systems = await startDemoSystems({ products: 3 });
  const dir = mkdtempSync(join(tmpdir(), "passerelle-stale-"));
  const store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
  const odoo = createOdooConnector(
    "odoo",
    OdooConfig.parse({
      url: systems.odoo.url,
      db: systems.odoo.db,
      username: systems.odoo.login,
      password: systems.odoo.password,
    }),
  );
  const shop = createShopifyConnector(
    "shopify",
    ShopifyConfig.parse({
      shop: systems.shopify.shop,
      accessToken: systems.shopify.accessToken,
      endpoint: systems.shopify.url,
    }),
  );
  try {
    await store.migrate();
    const engine = new SyncEngine(store);
    const products: Flow = { name: "products", entity: "product", source: odoo, target: shop, batchSize: 50 };
    const stock: Flow = {
      name: "stock",
      entity: "inventory",
      source: odoo,
      target: shop,
      batchSize: 250,
      mapping: compileMapping(
        {
          location: { from: "location", map: { WH: "Main Warehouse", WH2: "East Warehouse" }, strict: true },
        },
        { path: "flows.stock.mapping" },
      ),
    };
    assert.equal((await engine.run(products)).status, "succeeded");
    assert.equal((await engine.run(stock)).status, "succeeded");

    const stream = requireStream(odoo, "inventory");
    let native: unknown;
    for await (const page of stream.list({ since: null, signpost: new Date().toISOString(), pageSize: 1 })) {
      native = page[0];
      break;
    }
    const fresh = await prepare(stock, stream, native);
    const [link] = (await store.linksForKey("inventory", fresh.key)).filter((l) => l.system === "shopify");
    assert.ok(link?.version, "the applied level's source stamp is kept on its link");
    const shopLevel = () => {
      const m = fresh.mapped as InventoryLevel;
      const variant = systems.shopify.data.variantBySku(m.sku);
      const item = variant && systems.shopify.data.inventoryItems.get(variant.inventoryItemId);
      const location = [...systems.shopify.data.locations.values()].find((l) => l.name === m.location);
      return location ? item?.levels.get(location.id)?.available : undefined;
    };
    const before = shopLevel();
    assert.equal(typeof before, "number");

    const reading = (stampMs: number, available: number) => {
      const mapped = { ...(fresh.mapped as InventoryLevel), onHand: available, available };
      return {
        ...fresh,
        updatedAt: new Date(Date.parse(link.version as string) + stampMs).toISOString(),
        mapped,
      };
    };
    const apply = async (p: ReturnType<typeof reading>) => {
      const run = await store.startRun("stock", "sync");
      const out = await engine.apply(stock, [p], {
        runId: run.id,
        summary: emptySummary(run.id, "stock", "sync"),
      });
      await store.commitPage({ flow: "stock", runId: run.id, ...out });
      return out;
    };

    const late = await apply(reading(-60_000, (before as number) + 7));
    assert.equal(late.counts.skipped, 1);
    assert.equal(shopLevel(), before, "the shop keeps the newer level");
    const events = await store.trace("inventory", fresh.key);
    const discarded = events.find((e) => e.kind === "skipped" && /^stale: /.test(e.message ?? ""));
    assert.ok(discarded, JSON.stringify(events.map((e) => [e.kind, e.message])));

    const newer = await apply(reading(60_000, (before as number) + 7));
    assert.equal(newer.counts.updated, 1);
    assert.equal(shopLevel(), (before as number) + 7);
  } finally {
    await odoo.close();
    await shop.close();
    await store.close();
    await systems.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
