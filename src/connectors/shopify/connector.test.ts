import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import Big from "big.js";
import { SyncError } from "../../core/errors.ts";
import { Customer, Order, type Product, type Shipment } from "../../core/model.ts";
import type { Connector, ListRequest, Stream, WriteContext } from "../../ports/connector.ts";
import type { Timer } from "./client.ts";
import { ShopifyConfig } from "./config.ts";
import { createShopifyConnector } from "./index.ts";

const noLinks: WriteContext = { resolve: async () => null };
const FAR = "2999-01-01T00:00:00Z";

function connect(emu: ShopifyEmulator, extra: Partial<ShopifyConfig> = {}, timer?: Timer): Connector {
  const config = ShopifyConfig.parse({
    shop: emu.shop,
    accessToken: emu.accessToken,
    endpoint: emu.url,
    ...extra,
  });
  return createShopifyConnector("shopify", config, { timer });
}

async function readPages<N>(
  stream: Stream<never, N> | Stream,
  req: Partial<ListRequest> = {},
): Promise<unknown[][]> {
  const pages: unknown[][] = [];
  for await (const p of stream.list({ since: null, signpost: FAR, pageSize: 100, ...req })) pages.push(p);
  return pages;
}

function product(key: string, skus: string[], price = "19.90"): Product {
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
    variants: skus.map((sku, i) => {
      const options: Record<string, string> =
        skus.length > 1 ? { Size: ["S", "M", "L", "XL"][i] ?? sku } : {};
      return { sku, price, options };
    }),
  };
}

describe("shopify connector against the emulator", () => {
  let emu: ShopifyEmulator;
  let shop: Connector;
  before(async () => {
    emu = await startShopifyEmulator({ seed: 3, customers: 260, rateLimit: { enabled: false } });
    shop = connect(emu);
  });
  after(() => emu.close());

  test("260 customers at page size 100: three pages, each read once, every record valid", async () => {
    emu.resetStats();
    const pages = await readPages(shop.streams.customer!);
    assert.deepEqual(
      pages.map((p) => p.length),
      [100, 100, 60],
    );
    assert.equal(emu.stats.calls, 3);
    const stream = shop.streams.customer!;
    const ids = pages.flat().map((c) => stream.idOf(c as never));
    assert.equal(new Set(ids).size, 260);
    for (const c of pages.flat()) Customer.parse(await stream.toCanonical(c as never));
  });

  test("a customer tagged group:wholesale maps to group wholesale", async () => {
    const tagged = [...emu.data.customers.values()].find((c) => c.tags.includes("group:wholesale"));
    assert.ok(tagged);
    const stream = shop.streams.customer!;
    const native = await stream.get(tagged.id);
    assert.ok(native);
    const c = Customer.parse(await stream.toCanonical(native));
    assert.equal(c.group, "wholesale");
    assert.equal(c.key, tagged.email);
  });

  test("a read resumed from a cursor returns exactly the records after it", async () => {
    const stream = shop.streams.customer!;
    const all = (await readPages(stream, { pageSize: 250 })).flat();
    const mid = all[129] as never;
    const cursor = { updatedAt: stream.updatedAtOf(mid), id: stream.idOf(mid) };
    const rest = (await readPages(stream, { since: cursor, pageSize: 50 }))
      .flat()
      .map((c) => stream.idOf(c as never));
    const expected = all.slice(130).map((c) => stream.idOf(c as never));
    // The filter is inclusive (>=), so the tie group at the cursor's instant comes back; nothing is missed.
    for (const id of expected) assert.ok(rest.includes(id), `${id} missed after resume`);
    assert.ok(rest.length >= expected.length);
  });

  test("product write: created, then unchanged with no write; found again by the first SKU", async () => {
    const writer = shop.writers.product!;
    const p = product("TSHIRT-1", ["TS-S", "TS-M", "TS-L"]);
    emu.resetStats();
    const [first] = await writer.upsert(
      [{ key: p.key, record: p, targetId: null, externalRef: p.key }],
      noLinks,
    );
    assert.ok(first?.ok, first?.ok === false ? first.error.message : "");
    assert.equal(first.action, "created");
    assert.equal(emu.stats.writes, 1);
    const [second] = await writer.upsert(
      [{ key: p.key, record: p, targetId: null, externalRef: p.key }],
      noLinks,
    );
    assert.ok(second?.ok);
    assert.equal(second.action, "unchanged");
    assert.equal(second.targetId, first.targetId);
    assert.equal(emu.stats.writes, 1);
    assert.equal(emu.data.products.size, 1);
    assert.equal(await writer.findByExternalRef(p.key, p), first.targetId);
    const changed = product("TSHIRT-1", ["TS-S", "TS-M", "TS-L"], "21.00");
    const [third] = await writer.upsert(
      [{ key: p.key, record: changed, targetId: first.targetId, externalRef: p.key }],
      noLinks,
    );
    assert.ok(third?.ok);
    assert.equal(third.action, "updated");
    assert.equal(emu.data.variantBySku("TS-M")?.price, "21");
    assert.equal(emu.data.variants.size, 3);
    // Read back through the product stream.
    const back = await shop.streams.product!.get(first.targetId);
    assert.ok(back);
    const canon = await shop.streams.product!.toCanonical(back);
    assert.deepEqual(
      canon.variants.map((v) => [v.sku, v.price, v.options.Size]),
      [
        ["TS-S", "21", "S"],
        ["TS-M", "21", "M"],
        ["TS-L", "21", "L"],
      ],
    );
  });

  test("inventory: available set per location by name; unknown SKU and location fail alone", async () => {
    const writer = shop.writers.inventory!;
    const level = (sku: string, location: string, available: number) => ({
      key: `${sku}@${location}`,
      targetId: null,
      externalRef: `${sku}@${location}`,
      record: {
        source: "erp",
        sourceId: sku,
        updatedAt: "2026-06-01T00:00:00Z",
        key: `${sku}@${location}`,
        sku,
        location,
        onHand: available,
        reserved: 0,
        safetyStock: 0,
        available,
      },
    });
    const results = await writer.upsert(
      [
        level("TS-S", "Main Warehouse", 7),
        level("NOPE", "Main Warehouse", 1),
        level("TS-M", "Nowhere", 1),
        level("TS-M", "East Warehouse", 3),
      ],
      noLinks,
    );
    const by = new Map(results.map((r) => [r.key, r]));
    assert.equal(by.get("TS-S@Main Warehouse")?.ok, true);
    assert.equal(by.get("TS-M@East Warehouse")?.ok, true);
    const unknown = by.get("NOPE@Main Warehouse");
    assert.ok(
      unknown && !unknown.ok && unknown.error.kind === "permanent" && unknown.error.details.field === "sku",
    );
    const nowhere = by.get("TS-M@Nowhere");
    assert.ok(nowhere && !nowhere.ok && nowhere.error.details.field === "location");
    const item = emu.data.inventoryItems.get(emu.data.variantBySku("TS-S")!.inventoryItemId)!;
    assert.equal(item.levels.get("gid://shopify/Location/1")?.available, 7);
  });

  test("price: a price list per code, fixed prices and tier breaks; unknown SKU fails alone", async () => {
    const writer = shop.writers.price!;
    const price = (sku: string, amount: string, tiers: { minQuantity: number; price: string }[] = []) => ({
      key: `WHOLESALE:${sku}`,
      targetId: null,
      externalRef: `WHOLESALE:${sku}`,
      record: {
        source: "erp",
        sourceId: sku,
        updatedAt: "2026-06-01T00:00:00Z",
        key: `WHOLESALE:${sku}`,
        priceList: { code: "WHOLESALE", name: "Wholesale", customerGroup: "wholesale", currency: "EUR" },
        sku,
        price: amount,
        tiers,
      },
    });
    const results = await writer.upsert(
      [
        price("TS-S", "15.00", [{ minQuantity: 10, price: "13.50" }]),
        price("GHOST", "1"),
        price("TS-M", "15.50"),
      ],
      noLinks,
    );
    const by = new Map(results.map((r) => [r.key, r]));
    assert.equal(by.get("WHOLESALE:TS-S")?.ok, true);
    assert.equal(by.get("WHOLESALE:TS-M")?.ok, true);
    assert.equal(by.get("WHOLESALE:GHOST")?.ok, false);
    const lists = [...emu.data.priceLists.values()];
    assert.deepEqual(
      lists.map((l) => [l.name, l.currency, l.adjustment.value]),
      [["WHOLESALE", "EUR", 0]],
    );
    const list = lists[0]!;
    const s = emu.data.variantBySku("TS-S")!;
    assert.equal(list.prices.get(s.id)?.price, "15");
    assert.deepEqual(
      list.breaks.get(s.id)?.map((b) => [b.minimumQuantity, b.price]),
      [[10, "13.5"]],
    );
    // Writing again replaces the tiers instead of piling them up, and reuses the list.
    await writer.upsert([price("TS-S", "15.00", [{ minQuantity: 10, price: "13.00" }])], noLinks);
    assert.equal(emu.data.priceLists.size, 1);
    assert.deepEqual(
      list.breaks.get(s.id)?.map((b) => [b.minimumQuantity, b.price]),
      [[10, "13"]],
    );
  });

  test("a storefront order is read with totals that add up to the cent", async () => {
    const email = [...emu.data.customers.values()][0]!.email!;
    const placed = emu.placeOrder({
      email,
      lines: [
        { sku: "TS-S", quantity: 3 },
        { sku: "TS-M", quantity: 1 },
      ],
      discountCode: "WELCOME",
      discountAmount: "5.00",
      shipping: true,
    });
    const stream = shop.streams.order!;
    const pages = await readPages(stream);
    const native = pages.flat().find((o) => stream.idOf(o as never) === placed.id);
    assert.ok(native);
    const o = Order.parse(await stream.toCanonical(native as never));
    assert.equal(o.key, `shopify:${placed.name}`);
    assert.equal(o.number, "#1001");
    assert.equal(o.financialStatus, "paid");
    const lines = o.lines.reduce(
      (s, l) => s.plus(new Big(l.unitPrice).times(l.quantity)).minus(l.discount),
      new Big(0),
    );
    const discounts = o.discounts.reduce((s, d) => s.plus(d.amount), new Big(0));
    const expected = lines
      .minus(discounts)
      .plus(o.totalTax)
      .plus(o.shipping?.amount ?? "0");
    assert.equal(new Big(o.total).toString(), expected.toString());
    // 4 × 21 = 84, − 5 discount = 79, + 4.90 shipping, + 20 % tax on 79 (15.80) and on the shipping (0.98).
    assert.equal(o.total, "100.68");
    assert.equal(o.totalTax, "16.78");
    // Stock was committed at the location that had it.
    const level = emu.data.inventoryItems
      .get(emu.data.variantBySku("TS-S")!.inventoryItemId)!
      .levels.get("gid://shopify/Location/1");
    assert.equal(level?.available, 4);
  });

  test("shipment writer creates one fulfillment with tracking; a retry is unchanged", async () => {
    const email = [...emu.data.customers.values()][1]!.email!;
    const placed = emu.placeOrder({ email, lines: [{ sku: "TS-L", quantity: 2 }] });
    const shipment: Shipment = {
      source: "erp",
      sourceId: "WH/OUT/0001",
      updatedAt: "2026-06-02T00:00:00Z",
      key: "erp:WH/OUT/0001",
      orderKey: `shopify:${placed.name}`,
      orderNumber: placed.name,
      carrier: "DHL",
      trackingNumbers: ["TRK123"],
      trackingUrls: ["https://track.example.com/TRK123"],
      lines: [],
      shippedAt: "2026-06-02T00:00:00Z",
    };
    const writer = shop.writers.shipment!;
    const item = { key: shipment.key, record: shipment, targetId: null, externalRef: shipment.key };
    const [r] = await writer.upsert([item], noLinks);
    assert.ok(r?.ok, r?.ok === false ? r.error.message : "");
    assert.equal(r.action, "created");
    const order = emu.data.orders.get(placed.id)!;
    assert.deepEqual(
      order.fulfillments.map((f) => f.tracking),
      [[{ number: "TRK123", url: "https://track.example.com/TRK123", company: "DHL" }]],
    );
    assert.equal(order.fulfillmentOrders[0]?.status, "CLOSED");
    const [again] = await writer.upsert([item], noLinks);
    assert.ok(again?.ok);
    assert.equal(again.action, "unchanged");
    assert.equal(again.targetId, r.targetId);
    assert.equal(await writer.findByExternalRef(shipment.key, shipment), r.targetId);
    assert.equal(order.fulfillments.length, 1);
  });
});

describe("shopify client errors and pacing", () => {
  test("a wrong token is a config SyncError naming the connection, without the token", async () => {
    const emu = await startShopifyEmulator({ seed: 1 });
    try {
      const bad = connect(emu, { accessToken: "shpat_wrong_secret" });
      const err = await bad.check().then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof SyncError);
      assert.equal(err.kind, "config");
      assert.equal(err.details.system, "shopify");
      assert.ok(!JSON.stringify(err.toJSON()).includes("shpat_wrong_secret"));
    } finally {
      await emu.close();
    }
  });

  test("an unreachable shop is a retryable SyncError; a 503 too", async () => {
    const emu = await startShopifyEmulator({ seed: 1 });
    const url = emu.url;
    emu.failNext(503);
    const err503 = await connect(emu)
      .check()
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(err503 instanceof SyncError);
    assert.equal(err503.kind, "retryable");
    await emu.close();
    const gone = createShopifyConnector(
      "shopify",
      ShopifyConfig.parse({ shop: emu.shop, accessToken: "x", endpoint: url }),
    );
    const err = await gone.check().then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof SyncError);
    assert.equal(err.kind, "retryable");
  });

  test("pacing: a run needing several buckets gets zero Throttled answers", async () => {
    let now = Date.parse("2026-06-01T00:00:00Z");
    const timer: Timer = {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    };
    const emu = await startShopifyEmulator({
      seed: 2,
      customers: 120,
      clock: () => now,
      rateLimit: { maximumAvailable: 200, restoreRate: 10 },
    });
    try {
      const shop = connect(emu, { pageSize: 20 }, timer);
      const pages = await readPages(shop.streams.customer!, { pageSize: 20 });
      assert.equal(pages.flat().length, 120);
      // Each page costs 2 + 20 × 8 = 162 points: six pages need about five buckets of 200.
      assert.ok(emu.stats.costSpent > 2 * 200, `spent only ${emu.stats.costSpent}`);
      assert.equal(emu.stats.throttled, 0);
      assert.equal(shop.stats().throttled, 0);
    } finally {
      await emu.close();
    }
  });

  test("a Throttled answer (bucket drained by someone else) is waited out and retried", async () => {
    let now = Date.parse("2026-06-01T00:00:00Z");
    const timer: Timer = {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    };
    const emu = await startShopifyEmulator({
      seed: 2,
      clock: () => now,
      rateLimit: { maximumAvailable: 100, restoreRate: 10 },
    });
    try {
      const shop = connect(emu, {}, timer);
      await shop.check();
      // Another app instance drains the bucket behind this client's back.
      for (let i = 0; i < 5; i++) {
        await fetch(emu.url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-shopify-access-token": emu.accessToken },
          body: JSON.stringify({ query: "{ customers(first: 18) { nodes { id } } }" }),
        });
      }
      const pages = await readPages(shop.streams.customer!, { pageSize: 5 });
      assert.equal(pages.flat().length, 50);
      assert.ok(shop.stats().throttled >= 1);
    } finally {
      await emu.close();
    }
  });

  test("the API version can be overridden; the URL follows it", async () => {
    const config = ShopifyConfig.parse({
      shop: "demo.myshopify.com",
      accessToken: "x",
      apiVersion: "2027-01",
    });
    assert.equal(config.apiVersion, "2027-01");
    assert.equal(ShopifyConfig.parse({ shop: "demo.myshopify.com", accessToken: "x" }).apiVersion, "2026-10");
    assert.throws(() => ShopifyConfig.parse({ shop: "demo.myshopify.com", accessToken: "x", pageSize: 251 }));
  });
});
