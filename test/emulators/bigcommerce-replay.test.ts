/**
 * The demo's world replayed into the BigCommerce emulator through the BigCommerce connector, every request
 * and answer checked against BigCommerce's OpenAPI documents: the demo ERP's catalogue (products with and
 * without options), its price lists (variant prices and customer-group price lists) and its stock in two
 * warehouses (locations) go in; shoppers' customers and orders come out; shipments with tracking go back and
 * ship their orders; one order is cancelled. The test fails on any violation, and reports how many distinct
 * operations it checked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type BigCommerceEmulator,
  bigcommerceSpecSkip,
  startBigCommerceEmulator,
} from "@passerelle/emulators";
import { BigCommerceConfig } from "../../src/connectors/bigcommerce/config.ts";
import { bigcommerce } from "../../src/connectors/bigcommerce/index.ts";
import {
  type CanonicalByEntity,
  type EntityName,
  type Order,
  SCHEMAS,
  type Shipment,
} from "../../src/core/model.ts";
import type { Connector, Stream } from "../../src/ports/connector.ts";
import { type OdooFixture, startFixture } from "../fixtures/odoo.ts";

describe("the demo replayed against the BigCommerce emulator", { skip: bigcommerceSpecSkip() }, () => {
  let odoo: OdooFixture;
  let emu: BigCommerceEmulator;
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
    assert.ok(writer, `bigcommerce cannot write ${entity}`);
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
    emu = await startBigCommerceEmulator({ customers: 10, seed: 5, quota: 40, windowMs: 500 });
    const locations = [
      ...new Set((await readAll(odoo.connector, "inventory")).map((l) => l.location)),
    ].sort();
    shop = bigcommerce.create(
      "bigcommerce",
      BigCommerceConfig.parse({
        apiUrl: emu.apiBase,
        accessToken: emu.token,
        groupMap: { vip: "Retailer" },
        basePriceLists: ["retail-eur"],
        productPrices: "on-create",
        batchThreshold: 5,
        locationMap: Object.fromEntries(locations.map((l, i) => [l, i === 0 ? 1 : 2])),
      }),
    );
  });

  after(async () => {
    await emu?.close();
    await odoo?.emu.close();
  });

  test("the demo replayed through the BigCommerce connector breaks nothing in BigCommerce's OpenAPI documents", async () => {
    await shop.check();
    const products = await readAll(odoo.connector, "product");
    assert.ok(
      products.some((p) => p.variants.length > 1),
      "the demo catalogue has products with variants",
    );
    await writeAll("product", products, 10);
    assert.ok(
      [...emu.data.products.values()].some((p) => p.variants.some((v) => v.option_values.length > 0)),
    );
    const prices = await readAll(odoo.connector, "price");
    await writeAll("price", prices, 50);
    assert.ok(emu.data.assignments.length > 0, "price lists are assigned to customer groups");
    assert.ok(
      [...emu.data.priceRecords.values()].some((r) => r.bulk_pricing_tiers.length > 0),
      "tier breaks are bulk pricing tiers",
    );
    const stock = await readAll(odoo.connector, "inventory");
    await writeAll("inventory", stock, 50);
    // The same again writes nothing.
    const writes = emu.stats.writes;
    await writeAll("product", products, 10);
    await writeAll("price", prices, 50);
    await writeAll("inventory", stock, 50);
    assert.equal(emu.stats.writes - writes, 0, "writing the demo again wrote to BigCommerce");
    // Many renamed products at once go through the batch endpoint.
    await writeAll(
      "product",
      products.map((p) => ({ ...p, title: `${p.title} (2026)` })),
      25,
    );
    assert.ok((emu.checked.get("products_catalog.v3.yml#updateProducts") ?? 0) > 0);

    // Shoppers: customers and orders.
    const sellable = stock.filter((l) => l.available > 0).map((l) => l.sku);
    const customerIds = [...emu.data.customers.keys()];
    for (let i = 0; i < 8; i++)
      emu.data.placeOrder({
        ...(i === 7 ? { email: "guest@example.com" } : { customerId: customerIds[i % customerIds.length] }),
        lines: [
          { sku: sellable[i % sellable.length]!, qty: 1 + (i % 2) },
          { sku: sellable[(i * 5 + 1) % sellable.length]!, qty: 1 },
        ],
        shipping: i % 3 !== 0,
      });
    const customers = await readAll(shop, "customer");
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

    // Shipments back, then one order cancelled.
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
    await writeAll("shipment", shipments);
    assert.equal((await readAll(shop, "order")).filter((o) => o.fulfillmentStatus === "fulfilled").length, 6);
    const last = orders[7]!;
    await writeAll("order", [{ ...last, cancelled: true }]);
    assert.ok((await readAll(shop, "order")).find((o) => o.number === last.number)?.cancelled);

    assert.equal(emu.stats.throttled, 0, "a request met the store's quota");
    assert.deepEqual(emu.violations, [], "requests or answers that break the OpenAPI documents");
    const ops = [...emu.checked.keys()].sort();
    console.log(
      `# bigcommerce replay: ${ops.length} distinct operations checked against the documents: ${ops.join(", ")}`,
    );
    assert.ok(ops.length >= 20, `only ${ops.length} operations exercised`);
  });
});
