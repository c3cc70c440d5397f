/**
 * The demo's world replayed into the SFCC emulator through the SFCC connector, every request and answer
 * checked against Salesforce's SCAPI documents (Products, Catalogs, Customers, Orders): the demo ERP's
 * catalogue goes in (standard products, and masters with their variation attributes and variants,
 * assigned to categories of the storefront catalog); shoppers' customers (with their address books) and
 * orders come out, incrementally on lastModified; shipments go back as the orders' shipping status with
 * their tracking numbers in an order custom attribute; one order is cancelled. The rate limit is on for
 * the whole run, so the 429 path is exercised. The test fails on any violation of the documents, and
 * reports how many distinct operations it checked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type SfccEmulator, sfccSpecSkip, startSfccEmulator } from "@passerelle/emulators";
import { sfcc } from "../../src/connectors/sfcc/index.ts";
import {
  type CanonicalByEntity,
  type EntityName,
  type Order,
  SCHEMAS,
  type Shipment,
} from "../../src/core/model.ts";
import type { Connector, Cursor, Stream } from "../../src/ports/connector.ts";
import { type OdooFixture, startFixture } from "../fixtures/odoo.ts";
import { sfccConfigFor } from "../fixtures/sfcc-contract.ts";

describe("the demo replayed against the SFCC emulator", { skip: sfccSpecSkip() }, () => {
  let odoo: OdooFixture;
  let emu: SfccEmulator;
  let shop: Connector;
  const noLinks = { resolve: async () => null };

  async function readAll<E extends EntityName>(
    c: Connector,
    entity: E,
    since: Cursor | null = null,
  ): Promise<CanonicalByEntity[E][]> {
    const stream = c.streams[entity] as Stream<E> | undefined;
    assert.ok(stream, `${c.name} cannot read ${entity}`);
    const out: CanonicalByEntity[E][] = [];
    for await (const page of stream.list({ since, signpost: "2999-01-01T00:00:00Z", pageSize: 4 }))
      for (const n of page)
        out.push(SCHEMAS[entity].parse(await stream.toCanonical(n)) as CanonicalByEntity[E]);
    return out;
  }

  async function writeAll<E extends EntityName>(entity: E, records: CanonicalByEntity[E][]) {
    const writer = shop.writers[entity];
    assert.ok(writer, `sfcc cannot write ${entity}`);
    const results = await writer.upsert(
      records.map((r) => ({ key: r.key, record: r, targetId: null, externalRef: r.key })),
      noLinks,
    );
    const failed = results.filter((r) => !r.ok).map((r) => `${r.key}: ${r.ok ? "" : r.error.message}`);
    assert.deepEqual(failed, [], `${entity}: refused records`);
    return results;
  }

  before(async () => {
    odoo = await startFixture({ products: 12, customers: 0, orders: 0, seed: 7 });
    emu = await startSfccEmulator({
      customers: 9,
      seed: 5,
      orderAttributes: ["c_trackingNumbers"],
      rateLimit: { requests: 40, windowMs: 1_000 },
    });
    for (const [id, name] of [
      ["apparel", "Apparel"],
      ["home", "Home"],
      ["outdoor", "Outdoor"],
      ["accessories", "Accessories"],
    ])
      emu.data.addCategory(id!, name!);
    shop = sfcc.create(
      "sfcc",
      sfccConfigFor(emu, {
        attributeMap: { Colour: "color" },
        categoryMap: { "2": "apparel", "3": "home", "4": "outdoor", "5": "accessories" },
        trackingAttribute: "c_trackingNumbers",
        pageSize: 4,
      }),
    );
  });

  after(async () => {
    await emu?.close();
    await odoo?.emu.close();
  });

  test("the demo replayed through the SFCC connector breaks nothing in Salesforce's SCAPI documents", async () => {
    await shop.check();

    // Catalogue from the demo ERP: masters with variants, standard products, category assignments.
    const products = await readAll(odoo.connector, "product");
    assert.ok(
      products.some((p) => p.variants.length > 1),
      "the demo catalogue has products with variants",
    );
    await writeAll("product", products);
    const masters = [...emu.data.products.values()].filter((p) => p.variants.length > 0);
    assert.equal(
      masters.length,
      products.filter((p) => Object.keys(p.variants[0]!.options).length > 0).length,
    );
    for (const m of masters)
      for (const v of m.variants) {
        const values = emu.data.products.get(v)?.variationValues ?? {};
        assert.deepEqual(
          Object.keys(values).sort(),
          m.attrs.map((a) => a.id).sort(),
          `variant ${v} of ${m.id}`,
        );
      }
    assert.ok(
      masters.some((m) => m.attrs.some((a) => a.id === "color")),
      "Colour is written as the color attribute",
    );
    assert.equal(emu.data.assignments.size, products.length, "each product in its category");
    // The same again writes nothing; a rename writes the name only.
    const before = emu.stats.writes;
    await writeAll("product", products);
    assert.equal(emu.stats.writes - before, 0, "writing the demo again wrote to B2C Commerce");
    const renamed = { ...products[1]!, title: `${products[1]!.title} (2026)` };
    await writeAll("product", [renamed]);
    assert.equal(emu.data.products.get(renamed.key)?.name.default, renamed.title);
    assert.equal(emu.stats.writes - before, 1);

    // Shoppers: customers and orders.
    const skus = masters.flatMap((m) => m.variants);
    const customerNos = [...emu.data.customerLists.get(emu.customerListId)!.keys()];
    for (let i = 0; i < 8; i++)
      emu.data.placeOrder({
        customerNo: customerNos[i % customerNos.length]!,
        lines: [
          { productId: skus[i % skus.length]!, quantity: 1 + (i % 2), price: 19.9 },
          { productId: skus[(i * 5 + 1) % skus.length]!, quantity: 1, price: 4.5 },
        ],
        shipping: i % 3 === 0 ? 0 : 5.9,
      });
    const customers = await readAll(shop, "customer");
    assert.equal(customers.length, customerNos.length);
    assert.ok(
      customers.every((c) => c.addresses.length === 1),
      "each customer's address book is read",
    );
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
    const mark: Cursor = { updatedAt: orders[7]!.updatedAt, id: orders[7]!.sourceId };
    assert.deepEqual(
      await readAll(shop, "order", mark).then((x) => x.filter((o) => o.sourceId !== mark.id)),
      [],
      "nothing after the last order",
    );

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
    const changed = await readAll(shop, "order", mark);
    assert.equal(
      changed.filter((o) => o.fulfillmentStatus === "fulfilled").length,
      6,
      "the shipped orders are read again, fulfilled",
    );
    assert.equal(emu.data.orders.get(orders[0]!.number)?.c_trackingNumbers, "1Z1000");
    const last = orders[7]!;
    await writeAll("order", [{ ...last, cancelled: true }]);
    assert.ok((await readAll(shop, "order")).find((o) => o.number === last.number)?.cancelled);

    // The verdict: nothing broke the documents; the rate limit was met; how much was exercised.
    assert.deepEqual(emu.violations, [], "requests or answers that break the SCAPI documents");
    assert.ok(emu.stats.rateLimited > 0, "the run met the rate limit");
    const ops = [...emu.checked.keys()].sort();
    console.log(
      `# sfcc replay: ${ops.length} distinct operations checked against the SCAPI documents (${emu.stats.rateLimited} answers 429): ${ops.join(", ")}`,
    );
    assert.ok(ops.length >= 14, `only ${ops.length} operations exercised`);
  });
});
