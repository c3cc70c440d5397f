/**
 * The demo's world replayed into the PrestaShop emulator through the PrestaShop connector, every request
 * body and answer checked against PrestaShop's documented resource schemas (specs/prestashop/): the demo
 * ERP's catalogue (products with and without combinations), its price lists (own prices and customer-group
 * specific prices with quantity breaks) and its stock go in; shoppers' customers and orders come out;
 * shipments with tracking go back and ship their orders; one order is cancelled. The test fails on any
 * violation and reports how many distinct operations it checked. The emulator's own rules (auth, filters,
 * required and read-only fields, language-keyed fields, entity escaping) are checked after it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type PrestaShopEmulator, startPrestaShopEmulator } from "@passerelle/emulators";
import { PrestaShopConfig } from "../../src/connectors/prestashop/config.ts";
import { prestashop } from "../../src/connectors/prestashop/index.ts";
import {
  type CanonicalByEntity,
  type EntityName,
  type Order,
  SCHEMAS,
  type Shipment,
} from "../../src/core/model.ts";
import type { Connector, Stream } from "../../src/ports/connector.ts";
import { type OdooFixture, startFixture } from "../fixtures/odoo.ts";

describe("the demo replayed against the PrestaShop emulator", () => {
  let odoo: OdooFixture;
  let emu: PrestaShopEmulator;
  let shop: Connector;
  const noLinks = { resolve: async () => null };

  async function readAll<E extends EntityName>(c: Connector, entity: E): Promise<CanonicalByEntity[E][]> {
    const stream = c.streams[entity] as Stream<E> | undefined;
    assert.ok(stream, `${c.name} cannot read ${entity}`);
    const out: CanonicalByEntity[E][] = [];
    for await (const page of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 25 }))
      for (const n of page)
        out.push(SCHEMAS[entity].parse(await stream.toCanonical(n)) as CanonicalByEntity[E]);
    return out;
  }

  async function writeAll<E extends EntityName>(entity: E, records: CanonicalByEntity[E][], size = 25) {
    const writer = shop.writers[entity];
    assert.ok(writer, `prestashop cannot write ${entity}`);
    const results = [];
    for (let i = 0; i < records.length; i += size)
      results.push(
        ...(await writer.upsert(
          records
            .slice(i, i + size)
            .map((r) => ({ key: r.key, record: r, targetId: null, externalRef: r.key })),
          noLinks,
        )),
      );
    const failed = results.filter((r) => !r.ok).map((r) => `${r.key}: ${r.ok ? "" : r.error.message}`);
    assert.deepEqual(failed, [], `${entity}: refused records`);
    return results;
  }

  before(async () => {
    odoo = await startFixture({ products: 12, customers: 0, orders: 0, seed: 7 });
    emu = await startPrestaShopEmulator({ customers: 10, seed: 5 });
    shop = prestashop.create(
      "prestashop",
      PrestaShopConfig.parse({
        url: emu.shopUrl,
        key: emu.key,
        groupMap: { vip: "Retailer" },
        basePriceLists: ["retail-eur"],
        productPrices: "on-create",
      }),
    );
  });

  after(async () => {
    await emu?.close();
    await odoo?.emu.close();
  });

  test("the demo replayed through the PrestaShop connector breaks nothing in PrestaShop's resource schemas", async () => {
    await shop.check();
    const products = await readAll(odoo.connector, "product");
    assert.ok(
      products.some((p) => p.variants.length > 1),
      "the demo catalogue has products with variants",
    );
    await writeAll("product", products, 10);
    assert.ok(emu.data.table("combinations").size > 0, "products with variants have combinations");
    assert.ok(emu.data.table("product_option_values").size > 0, "option values were made");
    // Read back from the shop: the same SKUs, prices and option values.
    const back = new Map((await readAll(shop, "product")).map((p) => [p.key, p]));
    for (const p of products) {
      const got = back.get(
        p.variants.length > 1 || Object.keys(p.variants[0]?.options ?? {}).length > 0
          ? p.key
          : p.variants[0]!.sku,
      );
      assert.ok(got, `product ${p.key} not read back`);
      assert.deepEqual(
        got.variants.map((v) => [v.sku, Number(v.price), v.options]).sort(),
        p.variants.map((v) => [v.sku, Number(v.price), v.options]).sort(),
        `product ${p.key} read back differs`,
      );
    }
    const prices = await readAll(odoo.connector, "price");
    await writeAll("price", prices, 50);
    const specific = [...emu.data.table("specific_prices").values()];
    assert.ok(specific.length > 0, "group prices are specific prices");
    assert.ok(
      specific.some((r) => r.from_quantity !== "1"),
      "tier breaks are specific prices from a quantity",
    );
    // PrestaShop keeps one stock per shop: the demo's first warehouse is the shop's stock.
    const stock = await readAll(odoo.connector, "inventory");
    const first = [...new Set(stock.map((l) => l.location))].sort()[0];
    const shopStock = stock.filter((l) => l.location === first);
    await writeAll("inventory", shopStock, 50);
    // The same again writes nothing.
    const writes = emu.stats.writes;
    await writeAll("product", products, 10);
    await writeAll("price", prices, 50);
    await writeAll("inventory", shopStock, 50);
    assert.equal(emu.stats.writes - writes, 0, "writing the demo again wrote to PrestaShop");
    await writeAll(
      "product",
      products.map((p) => ({ ...p, title: `${p.title} & Co. "2026"` })),
      25,
    );
    const names = [...emu.data.table("products").values()].map(
      (p) => (p.name as { id: string; value: string }[])[0]?.value ?? "",
    );
    assert.ok(
      names.every((n) => n.endsWith(' & Co. "2026"')),
      "names with & and quotes arrive as written",
    );

    // Shoppers: customers and orders.
    const sellable = shopStock.filter((l) => l.available > 0).map((l) => l.sku);
    const customerIds = [...emu.data.table("customers").keys()];
    for (let i = 0; i < 8; i++)
      emu.data.placeOrder({
        customerId: customerIds[i % customerIds.length] as number,
        lines: [
          { sku: sellable[i % sellable.length]!, qty: 1 + (i % 2) },
          { sku: sellable[(i * 5 + 1) % sellable.length]!, qty: 1 },
        ],
      });
    const customers = await readAll(shop, "customer");
    assert.equal(customers.length, customerIds.length);
    assert.ok(customers.every((c) => c.group !== undefined && c.addresses.length === 1));
    const orders: Order[] = await readAll(shop, "order");
    assert.equal(orders.length, 8);
    for (const o of orders) {
      const lines = o.lines.reduce((s, l) => s + Number(l.unitPrice) * l.quantity - Number(l.discount), 0);
      const total = lines + Number(o.totalTax) + Number(o.shipping?.amount ?? 0);
      assert.equal(
        total.toFixed(2),
        Number(o.total).toFixed(2),
        `order ${o.number}: lines + tax + shipping ≠ total`,
      );
    }

    // Shipments back, then one order cancelled.
    const shipments: Shipment[] = orders.slice(0, 6).map((o, i) => ({
      source: "odoo",
      sourceId: `WH/OUT/${i}`,
      updatedAt: "2026-06-01T00:00:00Z",
      key: `odoo:WH/OUT/${i}`,
      orderKey: o.key,
      orderNumber: o.number,
      carrier: "Colissimo",
      trackingNumbers: [`6A${1000 + i}`],
      trackingUrls: [],
      lines: [],
      shippedAt: "2026-06-01T00:00:00Z",
    }));
    await writeAll("shipment", shipments);
    const again = emu.stats.writes;
    await writeAll("shipment", shipments);
    assert.equal(emu.stats.writes - again, 0, "shipping again wrote to PrestaShop");
    assert.equal((await readAll(shop, "order")).filter((o) => o.fulfillmentStatus === "fulfilled").length, 6);
    const last = orders[7]!;
    await writeAll("order", [{ ...last, cancelled: true }]);
    assert.ok((await readAll(shop, "order")).find((o) => o.number === last.number)?.cancelled);

    assert.deepEqual(emu.violations, [], "requests or answers that break the resource schemas");
    const ops = [...emu.checked.keys()].sort();
    console.log(
      `# prestashop replay: ${ops.length} distinct operations checked against the schemas: ${ops.join(", ")}`,
    );
    assert.ok(ops.length >= 20, `only ${ops.length} operations exercised`);
  });
});

describe("the PrestaShop emulator holds requests to the documented rules", () => {
  let emu: PrestaShopEmulator;
  before(async () => {
    emu = await startPrestaShopEmulator({
      customers: 3,
      permissions: { customers: ["GET"], products: ["GET", "POST"] },
    });
  });
  after(() => emu.close());
  const auth = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString("base64")}` });
  const get = (path: string, key = emu.key) => fetch(`${emu.url}/api/${path}`, { headers: auth(key) });
  const post = (path: string, body: string) =>
    fetch(`${emu.url}/api/${path}`, {
      method: "POST",
      headers: { ...auth(emu.key), "content-type": "text/xml" },
      body,
    });

  test("the key is the Basic user: none is a 401 asking for it, a wrong one a 401", async () => {
    const none = await fetch(`${emu.url}/api/customers`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /Basic/);
    assert.match(await none.text(), /Authentication key is empty/);
    assert.equal((await get("customers", "NOTTHEKEY")).status, 401);
    assert.equal((await get("customers")).status, 200);
  });

  test("a key without a resource's permission is refused", async () => {
    assert.equal((await get("orders")).status, 401);
    assert.equal((await post("customers", "<prestashop><customer/></prestashop>")).status, 401);
  });

  test("JSON lists: an empty list is [], date filters need date=1, malformed filters and sorts are 400s", async () => {
    const empty = await get("customers?output_format=JSON&filter[email]=[nobody@example.com]");
    assert.equal(await empty.text(), "[]");
    const noDate = await get(
      `customers?output_format=JSON&filter[date_upd]=${encodeURIComponent("[2020-01-01 00:00:00,2999-01-01 00:00:00]")}`,
    );
    assert.equal(noDate.status, 400);
    assert.match(await noDate.text(), /date=1/);
    const dated = await get(
      `customers?output_format=JSON&display=full&date=1&filter[date_upd]=${encodeURIComponent("[2020-01-01 00:00:00,2999-01-01 00:00:00]")}&sort=[date_upd_ASC,id_ASC]&limit=1,2`,
    );
    const body = (await dated.json()) as { customers: { id: number }[] };
    assert.deepEqual(
      body.customers.map((c) => c.id),
      [2, 3],
    );
    assert.equal((await get("customers?filter[nosuchfield]=[1]")).status, 400);
    assert.equal((await get("customers?filter[id]=1")).status, 400);
    assert.equal((await get("customers?sort=[id_UP]")).status, 400);
    assert.equal((await get("customers?limit=a,b")).status, 400);
  });

  test("writes: required fields, read-only fields and language-keyed fields are enforced, entities unescaped", async () => {
    const before = emu.violations.length;
    const missing = await post(
      "products",
      "<prestashop><product><reference>X</reference></product></prestashop>",
    );
    assert.equal(missing.status, 400);
    assert.match(await missing.text(), /price is required/);
    const readOnly = await post(
      "products",
      "<prestashop><product><price>1</price><quantity>5</quantity></product></prestashop>",
    );
    assert.equal(readOnly.status, 400);
    assert.match(await readOnly.text(), /quantity.*not writable/);
    const plainName = await post(
      "products",
      "<prestashop><product><price>1</price><name>Plain</name></product></prestashop>",
    );
    assert.equal(plainName.status, 400);
    const badName = await post(
      "products",
      '<prestashop><product><price>1</price><name><language id="1">Bolts &lt;XL&gt;</language></name></product></prestashop>',
    );
    assert.equal(badName.status, 400, "isCatalogName refuses < and >");
    assert.equal(emu.violations.length - before, 4, "each refused body is recorded as a violation");
    emu.violations.length = before;
    const ok = await post(
      "products",
      '<prestashop><product><price>1.5</price><reference>R-1</reference><name><language id="1">Nuts &amp; Bolts "Pro"</language></name></product></prestashop>',
    );
    assert.equal(ok.status, 201);
    const made = [...emu.data.table("products").values()].at(-1);
    assert.ok(made, "a product was created");
    assert.equal((made.name as { value: string }[])[0]?.value, 'Nuts & Bolts "Pro"');
    assert.ok(
      [...emu.data.table("stock_availables").values()].some((s) => s.id_product === made?.id),
      "a product gets its stock row",
    );
    const synopsis = await get("products?schema=synopsis");
    assert.match(await synopsis.text(), /isCatalogName/);
  });
});
