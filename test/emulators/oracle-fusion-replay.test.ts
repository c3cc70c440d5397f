/**
 * The ERP side of the demo's loop replayed against the Oracle Fusion emulator through the connector, every
 * request checked against Oracle's SCM Postman collections: the item catalogue is read out page by page
 * (then only what changed, on LastUpdateDate), each variant priced from the base price list; the retail and
 * wholesale price lists are read out as customer-group prices (then only the list item that changed); shop orders become sales orders with their lines, priced by
 * Fusion and compared with the shop's total; an order whose total differs is put on hold and reported; an
 * order written again is found by its SourceTransactionNumber (no second order, no write); an order whose
 * first attempt stopped after the header is completed with its lines. The test fails on any request the
 * collections do not define and reports how many distinct operations it checked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type FusionEmulator, fusionSpecSkip, startFusionEmulator } from "@passerelle/emulators";
import { FusionConfig } from "../../src/connectors/oracle-fusion/config.ts";
import { oracleFusion } from "../../src/connectors/oracle-fusion/index.ts";
import { type Order, type Price, type Product, SCHEMAS } from "../../src/core/model.ts";
import type { Connector, Stream, WriteResult } from "../../src/ports/connector.ts";
import { fusionOrder } from "../fixtures/oracle-fusion-contract.ts";

describe("the demo's ERP side replayed against the Oracle Fusion emulator", {
  skip: fusionSpecSkip(),
}, () => {
  let emu: FusionEmulator;
  let erp: Connector;
  const noLinks = { resolve: async () => null };

  async function readProducts(since: { updatedAt: string; id: string } | null = null) {
    const stream = erp.streams.product as Stream<"product"> | undefined;
    assert.ok(stream);
    const out: { product: Product; cursor: { updatedAt: string; id: string } }[] = [];
    for await (const page of stream.list({ since, signpost: "2999-01-01T00:00:00Z", pageSize: 25 }))
      for (const n of page)
        out.push({
          product: SCHEMAS.product.parse(await stream.toCanonical(n)),
          cursor: { updatedAt: stream.updatedAtOf(n), id: stream.idOf(n) },
        });
    return out;
  }

  async function readPrices(since: { updatedAt: string; id: string } | null = null) {
    const stream = erp.streams.price as Stream<"price"> | undefined;
    assert.ok(stream);
    const out: { price: Price; cursor: { updatedAt: string; id: string } }[] = [];
    for await (const page of stream.list({ since, signpost: "2999-01-01T00:00:00Z", pageSize: 25 }))
      for (const n of page)
        out.push({
          price: SCHEMAS.price.parse(await stream.toCanonical(n)),
          cursor: { updatedAt: stream.updatedAtOf(n), id: stream.idOf(n) },
        });
    return out;
  }

  async function writeOrders(orders: Order[]): Promise<Map<string, WriteResult>> {
    const writer = erp.writers.order;
    assert.ok(writer);
    const results = await writer.upsert(
      orders.map((r) => ({ key: r.key, record: r, targetId: null, externalRef: r.key })),
      noLinks,
    );
    return new Map(results.map((r) => [r.key, r]));
  }

  before(async () => {
    emu = await startFusionEmulator({ items: 40, seed: 11 });
    erp = oracleFusion.create(
      "erp",
      FusionConfig.parse({
        baseUrl: emu.url,
        username: emu.username,
        password: emu.password,
        businessUnitId: 300_000_046,
        currency: emu.currency,
        pageSize: 7,
        basePriceList: `Retail ${emu.currency}`,
        priceLists: [
          { name: `Retail ${emu.currency}` },
          { name: `Wholesale ${emu.currency}`, customerGroup: "b2b" },
        ],
      }),
    );
  });
  after(async () => {
    await erp?.close();
    await emu?.close();
  });

  test("the catalogue is read out, then only what changed", async () => {
    const all = await readProducts();
    assert.equal(all.length, 40);
    assert.equal(new Set(all.map((p) => p.product.key)).size, 40);
    for (const { product } of all) {
      const item = emu.data.items.find((i) => i.ItemNumber === product.key);
      assert.equal(product.variants[0]?.price, emu.data.prices.get(item?.ItemId as number), product.key);
    }
    const last = all.at(-1)?.cursor;
    assert.ok(last);
    const changed = emu.data.items[4];
    assert.ok(changed);
    emu.data.touchItem(changed.ItemId as number);
    const again = (await readProducts(last)).filter(
      (p) => !(p.cursor.updatedAt === last.updatedAt && p.cursor.id === last.id),
    );
    assert.deepEqual(
      again.map((p) => p.product.key),
      [changed.ItemNumber],
    );
  });

  test("the price lists are read out as group prices, then only the list item that changed", async () => {
    const all = await readPrices();
    assert.equal(all.length, 40 + 20);
    const keys = all.map((p) => p.price.key);
    assert.equal(new Set(keys).size, keys.length);
    const retail = all.filter((p) => p.price.priceList.customerGroup === "retail");
    assert.equal(retail.length, 40);
    for (const { price } of retail) {
      const item = emu.data.items.find((i) => i.ItemNumber === price.sku);
      assert.equal(price.price, emu.data.prices.get(item?.ItemId as number));
    }
    assert.equal(all.filter((p) => p.price.priceList.customerGroup === "b2b").length, 20);
    const last = all.at(-1)?.cursor;
    assert.ok(last);
    const pl = emu.data.priceLists;
    const changed = pl.items.filter((r) => r.PriceListId === pl.group)[3];
    assert.ok(changed);
    pl.touchItem(changed.PriceListItemId as number);
    const again = (await readPrices(last)).filter(
      (p) => !(p.cursor.updatedAt === last.updatedAt && p.cursor.id === last.id),
    );
    assert.deepEqual(
      again.map((p) => p.price.key),
      [`wholesale-usd:${String(changed.Item)}`],
    );
  });

  test("orders become sales orders; a differing total is held; a second write finds them", async () => {
    const good = [fusionOrder(emu), fusionOrder(emu, { skus: ["FG0010", "FG0020"] })];
    const off = { ...fusionOrder(emu, { skus: ["FG0030", "FG0031"] }), discounts: [{ amount: "1.00" }] };
    const first = await writeOrders([...good, off]);
    for (const o of good) {
      const r = first.get(o.key);
      assert.ok(r?.ok, r && !r.ok ? r.error.message : "no result");
      assert.equal(r.action, "created");
      const stored = emu.data.orders.get(r.targetId);
      assert.equal(stored?.lines.length, 2);
      assert.equal(stored?.header.BuyingPartyContactEmail, o.customer.email);
    }
    const held = first.get(off.key);
    assert.ok(held && !held.ok);
    assert.match(held.error.message, /shop's goods net/);
    const heldOrder = [...emu.data.orders.values()].find((o) => o.header.SourceTransactionNumber === off.key);
    assert.equal(heldOrder?.header.OnHoldFlag, true);
    assert.equal(heldOrder?.holds.length, 1);

    const writes = emu.stats.writes;
    const orders = emu.data.orders.size;
    const second = await writeOrders(good);
    for (const o of good) {
      const r = second.get(o.key);
      assert.ok(r?.ok);
      assert.equal(r.action, "unchanged");
      assert.equal(
        r.targetId,
        first.get(o.key)?.ok ? (first.get(o.key) as { targetId: string }).targetId : "",
      );
    }
    assert.equal(emu.stats.writes, writes, "writing the same orders again wrote something");
    assert.equal(emu.data.orders.size, orders);
  });

  test("an order whose first attempt stopped after its header is completed, not doubled", async () => {
    const o = fusionOrder(emu, { skus: ["FG0011", "FG0012"] });
    const key = `PASSERELLE:${o.key}`;
    emu.data.orders.set(key, {
      header: {
        HeaderId: 1,
        OrderKey: key,
        SourceTransactionSystem: "PASSERELLE",
        SourceTransactionId: o.key,
        SourceTransactionNumber: o.key,
        BusinessUnitId: 300_000_046,
        OnHoldFlag: false,
        LastUpdateDate: "2026-01-05T09:00:00.000Z",
      },
      lines: [],
      holds: [],
    });
    const r = (await writeOrders([o])).get(o.key);
    assert.ok(r?.ok, r && !r.ok ? r.error.message : "no result");
    assert.equal(r.targetId, key);
    assert.equal(emu.data.orders.get(key)?.lines.length, 2);
  });

  test("no request broke the SCM collections", () => {
    assert.deepEqual(emu.violations, []);
    assert.ok(emu.checked.size >= 10, `only ${emu.checked.size} operations exercised`);
    console.log(
      `# oracle-fusion replay: ${emu.checked.size} distinct operations checked against the SCM collections: ${[...emu.checked.keys()].sort().join(", ")}`,
    );
  });
});
