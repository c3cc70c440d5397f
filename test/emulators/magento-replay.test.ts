/**
 * The demo's world replayed into the Magento emulator through the Magento connector, every request and
 * answer checked against Adobe's OpenAPI document for 2.4.9: the demo ERP's catalogue (configurable and
 * simple products), its price lists (base prices and customer-group tier prices) and its stock in two
 * warehouses (MSI sources) go in; shoppers' customers and orders (configurable lines included) come out;
 * shipments with tracking go back and complete their orders; one order is cancelled. The test fails on any
 * violation of the document, and reports how many distinct operations it checked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type MagentoEmulator, magentoSpecSkip, startMagentoEmulator } from "@passerelle/emulators";
import { MagentoConfig } from "../../src/connectors/magento/config.ts";
import { magento } from "../../src/connectors/magento/index.ts";
import {
  type CanonicalByEntity,
  type EntityName,
  type Order,
  SCHEMAS,
  type Shipment,
} from "../../src/core/model.ts";
import type { Connector, Stream } from "../../src/ports/connector.ts";
import { type OdooFixture, startFixture } from "../fixtures/odoo.ts";

describe("the demo replayed against the Magento emulator", { skip: magentoSpecSkip() }, () => {
  let odoo: OdooFixture;
  let emu: MagentoEmulator;
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
    assert.ok(writer, `magento cannot write ${entity}`);
    const results = [];
    for (let i = 0; i < records.length; i += size) {
      results.push(
        ...(await writer.upsert(
          records
            .slice(i, i + size)
            .map((r) => ({ key: r.key, record: r, targetId: null, externalRef: r.key })),
          noLinks,
        )),
      );
    }
    const failed = results.filter((r) => !r.ok).map((r) => `${r.key}: ${r.ok ? "" : r.error.message}`);
    assert.deepEqual(failed, [], `${entity}: refused records`);
    return results;
  }

  before(async () => {
    odoo = await startFixture({ products: 12, customers: 0, orders: 0, seed: 7 });
    emu = await startMagentoEmulator({ customers: 10, seed: 5 });
    const locations = [
      ...new Set((await readAll(odoo.connector, "inventory")).map((l) => l.location)),
    ].sort();
    shop = magento.create(
      "magento",
      MagentoConfig.parse({
        url: emu.url,
        accessToken: emu.token,
        attributeMap: { Colour: "color" },
        groupMap: { vip: "Retailer" },
        basePriceLists: ["retail-eur"],
        productPrices: "on-create",
        bulkThreshold: 30, // the first stock load goes through the async bulk API
        sourceMap: Object.fromEntries(locations.map((l, i) => [l, i === 0 ? "default" : "eu-warehouse"])),
      }),
    );
  });

  after(async () => {
    await emu?.close();
    await odoo?.emu.close();
  });

  test("the demo replayed through the Magento connector breaks nothing in Adobe's OpenAPI document", async () => {
    await shop.check();

    // Catalogue, prices and stock from the demo ERP.
    const products = await readAll(odoo.connector, "product");
    assert.ok(
      products.some((p) => p.variants.length > 1),
      "the demo catalogue has products with variants",
    );
    await writeAll("product", products, 10);
    const configurable = [...emu.data.products.values()].filter((p) => p.type_id === "configurable");
    assert.ok(configurable.length > 0 && configurable.every((p) => p.children.length > 0));
    const prices = await readAll(odoo.connector, "price");
    await writeAll("price", prices, 50);
    assert.ok(emu.data.tierPrices.some((t) => t.customer_group === "Wholesale"));
    assert.ok(
      emu.data.tierPrices.some((t) => t.quantity > 1),
      "tier breaks are written as tier prices",
    );
    const stock = await readAll(odoo.connector, "inventory");
    await writeAll("inventory", stock, 50);
    assert.equal(emu.data.sourceItems.size, stock.length);
    // The same again writes nothing.
    const before = emu.stats.writes;
    await writeAll("product", products, 10);
    await writeAll("price", prices, 50);
    await writeAll("inventory", stock, 50);
    assert.equal(emu.stats.writes - before, 0, "writing the demo again wrote to Magento");
    assert.ok(emu.data.bulks.size > 0, "the large stock load went through the async bulk API");
    // Changes: a product renamed, a base price moved, a customer group's tier break withdrawn.
    const renamed = { ...products[0]!, title: `${products[0]!.title} (2026)` };
    await writeAll("product", [renamed]);
    assert.equal(
      emu.data.products.get(renamed.variants.length > 1 ? renamed.key : renamed.variants[0]!.sku)?.name,
      renamed.title,
    );
    const base = prices.find((p) => p.priceList.code === "retail-eur")!;
    await writeAll("price", [{ ...base, price: "99.90" }]);
    assert.equal(emu.data.products.get(base.sku)?.price, 99.9);
    const tiered = prices.find((p) => p.tiers.length > 0)!;
    const rows = () => emu.data.tierPrices.filter((t) => t.sku === tiered.sku).length;
    const had = rows();
    await writeAll("price", [{ ...tiered, tiers: [] }]);
    assert.equal(rows(), had - tiered.tiers.length);

    // Shoppers: customers and orders, simple and configurable lines.
    const sellable = stock.filter((l) => l.available > 0).map((l) => l.sku);
    const customerIds = [...emu.data.customers.keys()];
    for (let i = 0; i < 8; i++) {
      emu.data.placeOrder({
        ...(i === 7 ? { email: "guest@example.com" } : { customerId: customerIds[i % customerIds.length] }),
        lines: [
          { sku: sellable[i % sellable.length]!, qty: 1 + (i % 2) },
          { sku: sellable[(i * 5 + 1) % sellable.length]!, qty: 1 },
        ],
        shipping: i % 3 !== 0,
      });
    }
    const customers = await readAll(shop, "customer");
    const one = await shop.streams.customer!.get(customers[0]!.sourceId);
    assert.equal(one === null ? null : shop.streams.customer!.idOf(one), customers[0]!.sourceId);
    assert.equal(customers.length, customerIds.length);
    assert.ok(customers.every((c) => c.group !== undefined));
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

    // Shipments back: the first with its lines, the others whole; then one order cancelled.
    const shipments: Shipment[] = orders.slice(0, 6).map((o, i) => ({
      source: "odoo",
      sourceId: `WH/OUT/${i}`,
      updatedAt: "2026-06-01T00:00:00Z",
      key: `odoo:WH/OUT/${i}`,
      orderKey: o.key,
      orderNumber: o.number,
      carrier: i % 2 ? "DHL" : "UPS",
      trackingNumbers: [`1Z${1000 + i}`],
      trackingUrls: [],
      lines: i === 0 ? o.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })) : [],
      shippedAt: "2026-06-01T00:00:00Z",
    }));
    await writeAll("shipment", shipments);
    const shipped = (await readAll(shop, "order")).filter((o) => o.fulfillmentStatus === "fulfilled");
    assert.equal(shipped.length, 6);
    assert.ok([...emu.data.orders.values()].filter((o) => o.state === "complete").length === 6);
    const last = orders[7]!;
    assert.ok(await shop.streams.order!.get(last.sourceId));
    await writeAll("order", [{ ...last, cancelled: true }]);
    assert.ok((await readAll(shop, "order")).find((o) => o.number === last.number)?.cancelled);

    // The verdict: nothing broke the document; how much of it was exercised.
    assert.deepEqual(emu.violations, [], "requests or answers that break the OpenAPI document");
    const ops = [...emu.checked.keys()].sort();
    console.log(
      `# magento replay: ${ops.length} distinct operations checked against admin-schema-2.4.9: ${ops.join(", ")}`,
    );
    assert.ok(ops.length >= 24, `only ${ops.length} operations exercised`);
  });
});
