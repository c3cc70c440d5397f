/**
 * An ERP that only exports files, feeding a shop: its Windows-1252 article and stock exports (semicolons,
 * decimal commas) read by the file connector and written to the Shopify emulator by the Shopify connector,
 * through the real engine and store. The article file's flat rows become products with a JSONata rule.
 * The second run writes nothing; the same export dropped again is not read.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import iconv from "iconv-lite";
import { SyncEngine } from "../../engine/sync.ts";
import type { Store } from "../../ports/store.ts";
import { openStore } from "../../store/index.ts";
import { ShopifyConfig } from "../shopify/config.ts";
import { shopify } from "../shopify/index.ts";
import { FileConfig } from "./config.ts";
import { file } from "./index.ts";

let emu: ShopifyEmulator;
let dir: string;
let store: Store;
before(async () => {
  emu = await startShopifyEmulator({ seed: 3, customers: 0, rateLimit: { enabled: false } });
  dir = mkdtempSync(join(tmpdir(), "passerelle-file-shop-"));
  mkdirSync(join(dir, "exports"));
  store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
  await store.migrate();
});
after(async () => {
  await store.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const cp1252 = (lines: string[]) => iconv.encode(`${lines.join("\r\n")}\r\n`, "windows-1252");

test("an ERP's article and stock exports become the shop's products and stock; a rerun writes nothing", async () => {
  const erp = file.create(
    "erp-files",
    FileConfig.parse({
      folder: join(dir, "exports"),
      settleMs: 0,
      entities: {
        product: {
          pattern: "artikel-*.csv",
          format: "csv",
          encoding: "windows-1252",
          delimiter: ";",
          decimalComma: true,
          numbers: ["Preis"],
          fields: {
            key: "Artikelnummer",
            title: "Bezeichnung",
            currency: { value: "EUR" },
            variants: { expr: "[{ 'sku': Artikelnummer, 'price': Preis }]" },
          },
        },
        inventory: {
          pattern: "bestand-*.csv",
          format: "csv",
          encoding: "windows-1252",
          delimiter: ";",
          numbers: ["Menge"],
          fields: {
            sku: "Artikelnummer",
            location: { from: "Lager", map: { HL: "Main Warehouse", OST: "East Warehouse" }, strict: true },
            onHand: { from: "Menge", format: "int" },
          },
        },
      },
    }),
  );
  const shop = shopify.create(
    "shop",
    ShopifyConfig.parse({ shop: emu.shop, accessToken: emu.accessToken, endpoint: emu.url }),
  );
  const engine = new SyncEngine(store);
  const products = { name: "products", entity: "product" as const, source: erp, target: shop, batchSize: 50 };
  const stock = { name: "stock", entity: "inventory" as const, source: erp, target: shop, batchSize: 50 };
  const articles = cp1252([
    "Artikelnummer;Bezeichnung;Preis",
    "KAFFEE-500;Café Crème 500 g;12,90",
    "MUESLI-1;Müsli Früchte;1.004,50",
  ]);
  writeFileSync(join(dir, "exports", "artikel-2026-12-01.csv"), articles);
  writeFileSync(
    join(dir, "exports", "bestand-2026-12-01.csv"),
    cp1252(["Artikelnummer;Lager;Menge", "KAFFEE-500;HL;40", "MUESLI-1;OST;7", "MUESLI-1;NORD;3"]),
  );

  const p = await engine.run(products);
  assert.equal(p.counts.created, 2, p.error?.message);
  const s = await engine.run(stock);
  assert.equal(s.counts.updated + s.counts.created, 2, s.error?.message);
  assert.equal(s.counts.failed, 1, "the unknown warehouse NORD");

  const titles = [...emu.data.products.values()].map((x) => x.title).sort();
  assert.deepEqual(titles, ["Café Crème 500 g", "Müsli Früchte"]);
  assert.equal(
    Number(emu.data.variantBySku("MUESLI-1")?.price),
    1004.5,
    "1.004,50 read with its decimal comma",
  );
  const level = (sku: string, location: string) => {
    const v = emu.data.variantBySku(sku);
    const item = v ? emu.data.inventoryItems.get(v.inventoryItemId) : undefined;
    const loc = [...emu.data.locations.values()].find((l) => l.name === location);
    return loc ? item?.levels.get(loc.id)?.available : undefined;
  };
  assert.equal(level("KAFFEE-500", "Main Warehouse"), 40);
  assert.equal(level("MUESLI-1", "East Warehouse"), 7);
  const [failure] = await store.listFailures({ flow: "stock" });
  assert.match(failure?.errorMessage ?? "", /^bestand-2026-12-01\.csv line 4: .*"NORD"/);

  // Nothing new: nothing written. The same export dropped again: not even read.
  const writes = emu.stats.writes;
  writeFileSync(join(dir, "exports", "artikel-2026-12-01-again.csv"), articles);
  const again = await engine.run(products);
  assert.equal(again.counts.read, 0);
  assert.equal(emu.stats.writes, writes);
  assert.ok(readFileSync(join(dir, "exports", "processed", "artikel-2026-12-01-again.csv")).equals(articles));
});
