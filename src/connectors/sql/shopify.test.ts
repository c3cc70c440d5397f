/**
 * An ERP's own database feeding a shop, on PostgreSQL and on MariaDB: its items (with variants in a child
 * table) and stock levels read incrementally by their updated_at into the Shopify emulator, and the shop's
 * orders written back into its orders and order_lines tables, through the real engine and store. A changed
 * row writes only its product; a second run writes nothing. An item without variants and an order the
 * database refuses (a CHECK constraint) each fail alone, with the reason, into the failed-record inbox.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import { createTestDb, type Kind, type TestDb, types, unavailable } from "../../../test/fixtures/sql-db.ts";
import { SyncEngine } from "../../engine/sync.ts";
import type { Store } from "../../ports/store.ts";
import { openStore } from "../../store/index.ts";
import { ShopifyConfig } from "../shopify/config.ts";
import { shopify } from "../shopify/index.ts";
import { SqlConfig } from "./config.ts";
import { sqlConnector } from "./index.ts";

const DB = "passerelle_sql_shopify";

/** The ERP's tables, in `schema` (PostgreSQL: a schema of the test database; MariaDB: the test database). */
async function createErp(db: TestDb, schema: string): Promise<void> {
  const t = types(db.kind);
  if (db.kind === "postgres") await db.exec(`create schema ${schema}`);
  await db.exec(`create table ${schema}.items (code varchar(40) primary key, title varchar(200) not null, updated_at ${t.stamp});
create table ${schema}.item_variants (id ${t.serial}, item_code varchar(40) not null, sku varchar(40) not null, size varchar(10) not null, price numeric(12,2) not null);
create table ${schema}.stock (sku varchar(40) not null, warehouse varchar(40) not null, qty integer not null, updated_at ${t.stamp}, primary key (sku, warehouse));
create table ${schema}.orders (order_no varchar(40) primary key, email varchar(200) not null, placed_at ${db.kind === "postgres" ? "timestamptz(3)" : "datetime(3)"} not null, currency char(3) not null, total numeric(12,2) not null, status varchar(20) not null);
create table ${schema}.order_lines (id ${t.serial}, order_no varchar(40) not null, sku varchar(40) not null, quantity integer not null check (quantity < 100), unit_price numeric(12,2) not null)`);
  const at = (s: number) => {
    const iso = new Date(Date.UTC(2026, 10, 1) + s * 1000).toISOString();
    return db.kind === "mysql" ? iso.replace("T", " ").replace("Z", "") : iso;
  };
  const items: [string, string, [string, string, string][]][] = [
    [
      "SHIRT",
      "Hemd Oxford",
      [
        ["SHIRT-M", "M", "39.90"],
        ["SHIRT-L", "L", "41.90"],
      ],
    ],
    ["MUG", "Tasse Café", [["MUG-1", "One", "9.50"]]],
    [
      "CAP",
      "Mütze",
      [
        ["CAP-S", "S", "15.00"],
        ["CAP-M", "M", "15.00"],
      ],
    ],
    // No variants: its record is invalid (a product needs one) and fails alone.
    ["BROKEN", "Ohne Varianten", []],
  ];
  let s = 0;
  for (const [code, title, variants] of items) {
    await db.query(`insert into ${schema}.items (code, title, updated_at) values (?, ?, ?)`, [
      code,
      title,
      at(++s),
    ]);
    for (const [sku, size, price] of variants) {
      await db.query(
        `insert into ${schema}.item_variants (item_code, sku, size, price) values (?, ?, ?, ?)`,
        [code, sku, size, price],
      );
    }
  }
  for (const [sku, warehouse, qty] of [
    ["SHIRT-M", "Main Warehouse", 12],
    ["SHIRT-L", "Main Warehouse", 7],
    ["MUG-1", "East Warehouse", 30],
  ] as const) {
    await db.query(`insert into ${schema}.stock (sku, warehouse, qty, updated_at) values (?, ?, ?, ?)`, [
      sku,
      warehouse,
      qty,
      at(++s),
    ]);
  }
}

function erpSettings(url: string, schema: string) {
  return {
    url,
    entities: {
      product: {
        read: {
          table: `${schema}.items`,
          cursor: ["updated_at", "code"],
          children: { variants: { table: `${schema}.item_variants`, parentKey: "item_code", key: "id" } },
        },
        fields: {
          key: "code",
          title: "title",
          currency: { value: "EUR" },
          "variants[].sku": "sku",
          "variants[].price": { from: "price", format: "decimal2" },
          "variants[].options.Size": "size",
        },
      },
      inventory: {
        read: { table: `${schema}.stock`, cursor: ["updated_at"] },
        fields: { sku: "sku", location: "warehouse", onHand: "qty" },
      },
      order: {
        write: {
          table: `${schema}.orders`,
          key: ["order_no"],
          fields: {
            order_no: "number",
            email: "customer.email",
            placed_at: "placedAt",
            currency: "currency",
            total: "total",
            status: "financialStatus",
          },
          children: {
            lines: {
              table: `${schema}.order_lines`,
              parentKey: "order_no",
              fields: { sku: "sku", quantity: "quantity", unit_price: "unitPrice" },
            },
          },
        },
      },
    },
  };
}

for (const kind of ["postgres", "mysql"] as Kind[]) {
  const label = kind === "postgres" ? "PostgreSQL" : "MariaDB";
  const why = await unavailable(kind);
  describe(`an ERP on ${label} and a Shopify shop`, { skip: why ?? false }, () => {
    let emu: ShopifyEmulator;
    let dir: string;
    let store: Store;
    let db: TestDb;
    let schema: string;
    before(async () => {
      emu = await startShopifyEmulator({ seed: 3, customers: 0, rateLimit: { enabled: false } });
      dir = mkdtempSync(join(tmpdir(), "passerelle-sql-shop-"));
      store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
      await store.migrate();
      db = await createTestDb(kind, DB);
      schema = kind === "postgres" ? "erp" : DB;
      await createErp(db, schema);
    });
    after(async () => {
      await store?.close();
      await emu?.close();
      await db?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("items and stock go to the shop incrementally, orders come back into the ERP's tables; second runs write nothing", async () => {
      const erp = sqlConnector.create("erp-db", SqlConfig.parse(erpSettings(db.url, schema)));
      const shop = shopify.create(
        "shop",
        ShopifyConfig.parse({ shop: emu.shop, accessToken: emu.accessToken, endpoint: emu.url }),
      );
      try {
        await erp.check();
        const engine = new SyncEngine(store);
        const products = {
          name: "products",
          entity: "product" as const,
          source: erp,
          target: shop,
          batchSize: 2,
        };
        const stock = {
          name: "stock",
          entity: "inventory" as const,
          source: erp,
          target: shop,
          batchSize: 50,
        };
        const orders = { name: "orders", entity: "order" as const, source: shop, target: erp, batchSize: 50 };

        const p = await engine.run(products);
        assert.equal(p.counts.created, 3, p.error?.message);
        assert.equal(p.counts.failed, 1, "the item without variants");
        const [broken] = await store.listFailures({ flow: "products" });
        assert.match(broken?.errorMessage ?? "", /variants/);
        assert.deepEqual([...emu.data.products.values()].map((x) => x.title).sort(), [
          "Hemd Oxford",
          "Mütze",
          "Tasse Café",
        ]);
        assert.equal(Number(emu.data.variantBySku("SHIRT-L")?.price), 41.9);
        const s = await engine.run(stock);
        assert.equal(s.counts.created + s.counts.updated, 3, s.error?.message);
        const level = (sku: string, location: string) => {
          const v = emu.data.variantBySku(sku);
          const item = v ? emu.data.inventoryItems.get(v.inventoryItemId) : undefined;
          const loc = [...emu.data.locations.values()].find((l) => l.name === location);
          return loc ? item?.levels.get(loc.id)?.available : undefined;
        };
        assert.equal(level("MUG-1", "East Warehouse"), 30);

        // Nothing changed: nothing written.
        let writes = emu.stats.writes;
        const again = await engine.run(products);
        assert.equal(again.counts.created + again.counts.updated, 0, again.error?.message);
        assert.equal(emu.stats.writes, writes, "the second products run wrote to the shop");

        // One variant's price changes (its item's updated_at with it): only that product is written.
        await db.query(`update ${schema}.item_variants set price = ? where sku = ?`, ["11.00", "MUG-1"]);
        await db.query(`update ${schema}.items set updated_at = ${types(kind).now} where code = ?`, ["MUG"]);
        const changed = await engine.run(products);
        assert.equal(changed.counts.updated, 1, changed.error?.message);
        assert.equal(changed.counts.created, 0);
        assert.equal(Number(emu.data.variantBySku("MUG-1")?.price), 11);
        writes = emu.stats.writes;
        const third = await engine.run(products);
        assert.equal(third.counts.created + third.counts.updated, 0);
        assert.equal(emu.stats.writes, writes, "the run after the change wrote again");

        // Orders: two good ones and one whose line the ERP's CHECK constraint refuses.
        emu.placeOrder({
          email: "ada@example.org",
          lines: [{ sku: "SHIRT-M", quantity: 2 }],
          shipping: true,
        });
        emu.placeOrder({ email: "bob@example.org", lines: [{ sku: "CAP-S", quantity: 500 }] });
        emu.placeOrder({
          email: "eve@example.org",
          lines: [
            { sku: "MUG-1", quantity: 1 },
            { sku: "SHIRT-L", quantity: 1 },
          ],
        });
        const o = await engine.run(orders);
        assert.equal(o.counts.created, 2, o.error?.message);
        assert.equal(o.counts.failed, 1, "the order the CHECK constraint refuses");
        const [refused] = await store.listFailures({ flow: "orders" });
        // The database's own words: PostgreSQL names the constraint, MariaDB the column it checks.
        assert.match(
          refused?.errorMessage ?? "",
          /^erp-db: shop:#1002 → \S+\.orders #1002: .*(order_lines_quantity_check|CONSTRAINT `order_lines\.quantity` failed)/,
        );
        assert.equal(refused?.errorKind, "permanent");
        const rows = await db.query(
          `select order_no, email, currency, total, status from ${schema}.orders order by email`,
        );
        assert.deepEqual(
          rows.map((r) => [r.email, r.currency, r.status]),
          [
            ["ada@example.org", "EUR", "paid"],
            ["eve@example.org", "EUR", "paid"],
          ],
        );
        const lines = await db.query(
          `select l.sku, l.quantity from ${schema}.order_lines l join ${schema}.orders o on o.order_no = l.order_no where o.email = ? order by l.sku`,
          ["eve@example.org"],
        );
        assert.deepEqual(
          lines.map((l) => [l.sku, Number(l.quantity)]),
          [
            ["MUG-1", 1],
            ["SHIRT-L", 1],
          ],
        );
        const erpWrites = erp.writes();
        const o2 = await engine.run(orders);
        assert.equal(o2.counts.created + o2.counts.updated, 0, o2.error?.message);
        assert.equal(erp.writes(), erpWrites, "the second orders run wrote to the ERP");
      } finally {
        await erp.close();
        await shop.close();
      }
    });
  });
}
