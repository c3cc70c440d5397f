/**
 * The ERP side of the loop replayed against the NetSuite emulator through the connector, every request held
 * to the documented shapes: the catalogue and customers are read out through SuiteQL (paged by offset while
 * hasMore, then incrementally on lastmodifieddate); shop customers and their orders go in and, written a
 * second time, are found again (by e-mail, by otherRefNum) and never doubled; an order whose total NetSuite
 * computes differently is held pending approval; a connection allowed more requests in flight than the
 * account's limit meets 429 CONCURRENCY_LIMIT_EXCEEDED and still finishes. Fulfilments of the written orders
 * come back as shipments with their tracking numbers (a late one read again incrementally), invoices with
 * amounts, currency and tax, stock per location with available to sell. Fails on any violation and
 * reports how many distinct operations it checked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type NetSuiteEmulator, startNetSuiteEmulator } from "@passerelle/emulators";
import { NetSuiteConfig } from "../../src/connectors/netsuite/config.ts";
import { netsuite } from "../../src/connectors/netsuite/index.ts";
import { type CanonicalByEntity, type EntityName, type Order, SCHEMAS } from "../../src/core/model.ts";
import type { Connector, ListRequest, Stream } from "../../src/ports/connector.ts";
import { netsuiteCustomer, netsuiteOrder } from "../fixtures/netsuite-contract.ts";

describe("the ERP side replayed against the NetSuite emulator", () => {
  let emu: NetSuiteEmulator;
  let erp: Connector;
  const noLinks = { resolve: async () => null };
  const settings = (e: NetSuiteEmulator, extra: Record<string, unknown> = {}) =>
    NetSuiteConfig.parse({
      accountId: e.accountId,
      url: e.url,
      consumerKey: e.consumerKey,
      consumerSecret: e.consumerSecret,
      tokenId: e.tokenId,
      tokenSecret: e.tokenSecret,
      pageSize: 7,
      ...extra,
    });

  async function readAll<E extends EntityName>(c: Connector, entity: E, since: ListRequest["since"] = null) {
    const stream = c.streams[entity] as Stream<E> | undefined;
    assert.ok(stream, `netsuite cannot read ${entity}`);
    const out: CanonicalByEntity[E][] = [];
    for await (const page of stream.list({ since, signpost: "2999-01-01T00:00:00Z", pageSize: 7 }))
      for (const n of page)
        out.push(SCHEMAS[entity].parse(await stream.toCanonical(n)) as CanonicalByEntity[E]);
    return out;
  }

  async function write<E extends "customer" | "order">(entity: E, records: CanonicalByEntity[E][]) {
    const writer = erp.writers[entity];
    assert.ok(writer);
    return writer.upsert(
      records.map((r) => ({ key: r.key, record: r, targetId: null, externalRef: r.key })) as never,
      noLinks,
    );
  }

  before(async () => {
    emu = await startNetSuiteEmulator({ items: 30, customers: 10 });
    erp = netsuite.create("erp", settings(emu));
  });
  after(async () => {
    await erp.close();
    await emu.close();
  });

  test("catalogue and customers out, customers and orders in, idempotent, totals compared, shapes kept", async () => {
    const products = await readAll(erp, "product");
    assert.equal(products.length, 30);
    assert.deepEqual(
      products.map((p) => p.key),
      [...products.map((p) => p.key)].sort(),
      "items read in lastmodifieddate order",
    );
    assert.equal((await readAll(erp, "customer")).length, 10);

    // Incremental: only what changed at or after the cursor.
    const last = products.at(-1);
    assert.ok(last);
    const firstId = products[0]?.sourceId as string;
    emu.touch("inventoryItem", firstId, { displayName: "Renamed" });
    const changed = await readAll(erp, "product", { updatedAt: last.updatedAt, id: last.sourceId } as never);
    assert.deepEqual(
      changed.map((p) => p.title),
      [last.title, "Renamed"],
    );

    const customers = Array.from({ length: 4 }, (_, i) => netsuiteCustomer(7000 + i));
    assert.ok((await write("customer", customers)).every((r) => r.ok));
    const writes = emu.stats.writes;
    const again = await write("customer", customers);
    assert.ok(again.every((r) => r.ok && r.action === "unchanged"));
    assert.equal(emu.stats.writes, writes, "customers written again changed NetSuite");

    const orders = customers.map((c) => netsuiteOrder(c.email));
    const created = await write("order", orders);
    assert.deepEqual(
      created.map((r) => (r.ok ? r.action : r.error.message)),
      orders.map(() => "created"),
    );
    const salesOrders = emu.records.get("salesOrder");
    assert.equal(salesOrders?.size, 4);
    for (const so of salesOrders?.values() ?? [])
      assert.equal(so.orderStatus, "B", "approved once totals agree");
    const twice = await write("order", orders);
    assert.ok(twice.every((r) => r.ok && r.action === "unchanged"));
    assert.equal(salesOrders?.size, 4, "an order written again was doubled");

    // A shop total NetSuite does not compute: held pending approval, both totals named.
    const off: Order = { ...netsuiteOrder(customers[0]?.email as string), total: "99.99" };
    const [held] = await write("order", [off]);
    assert.ok(held && !held.ok);
    assert.match(held.error.message, /30\.60.*99\.99/);
    const heldSo = [...(salesOrders?.values() ?? [])].find((s) => s.otherRefNum === off.key);
    assert.equal(heldSo?.orderStatus, "A");

    assert.deepEqual(emu.violations, []);
    console.log(
      `# netsuite replay: ${emu.checked.size} distinct operations checked against the documented shapes: ${[...emu.checked.keys()].sort().join(", ")}`,
    );
  });

  test("fulfilments of the written orders come back with tracking, their invoices with amounts; stock per location", async () => {
    // Runs after the test above: its four approved sales orders carry the shop orders' keys in otherRefNum.
    const salesOrders = emu.records.get("salesOrder") as Map<string, Record<string, unknown>>;
    const ours = [...salesOrders.values()].filter((s) => s.orderStatus === "B");
    assert.equal(ours.length, 4);
    const [a, b, c, d] = ours.map((s) => String(s.id)) as [string, string, string, string];
    const fa = emu.fulfil(a, { tracking: ["1Z-A"] });
    emu.fulfil(b, { tracking: ["1Z-B1", "1Z-B2"] });
    const fc = emu.fulfil(c); // no tracking number yet: nothing to tell the shop
    const soOf = (id: string) => salesOrders.get(id) ?? assert.fail(`no sales order ${id}`);
    const firstLine = (soOf(d).item as { items: { item: { id: string } }[] }).items[0]?.item.id ?? "";
    emu.fulfil(d, { tracking: ["1Z-D"], lines: [{ item: firstLine, quantity: 1 }] }); // a partial delivery
    // A sales order this connector did not write (no otherRefNum): its fulfilment is not the shop's business.
    salesOrders.set("555555", {
      ...(salesOrders.get(a) as Record<string, unknown>),
      id: "555555",
      otherRefNum: null,
    });
    emu.touch("salesOrder", "555555");
    emu.fulfil("555555", { tracking: ["1Z-FOREIGN"] });

    const shipments = await readAll(erp, "shipment");
    const refOf = (id: string) => String(salesOrders.get(id)?.otherRefNum);
    assert.deepEqual(
      shipments.map((s) => [s.orderKey, s.trackingNumbers, s.lines]),
      [
        [
          refOf(a),
          ["1Z-A"],
          [
            { sku: "ITEM-0001", quantity: 2 },
            { sku: "ITEM-0002", quantity: 1 },
          ],
        ],
        [
          refOf(b),
          ["1Z-B1", "1Z-B2"],
          [
            { sku: "ITEM-0001", quantity: 2 },
            { sku: "ITEM-0002", quantity: 1 },
          ],
        ],
        [refOf(d), ["1Z-D"], [{ sku: "ITEM-0001", quantity: 1 }]],
      ],
    );
    const first = shipments[0];
    assert.ok(first);
    assert.equal(first.key, `erp:${String(fa.tranId)}`);
    assert.equal(first.orderNumber, refOf(a).slice("shop:".length));
    assert.match(first.shippedAt, /^\d{4}-\d{2}-\d{2}T/);

    // The tracking number arrives later: the fulfilment is read again, and only it.
    const last = shipments.at(-1);
    assert.ok(last);
    emu.track(String(fc.id), "1Z-C-LATE");
    const later = await readAll(erp, "shipment", { updatedAt: last.updatedAt, id: last.sourceId } as never);
    assert.deepEqual(
      later.filter((s) => s.sourceId !== last.sourceId).map((s) => [s.orderKey, s.trackingNumbers]),
      [[refOf(c), ["1Z-C-LATE"]]],
    );

    emu.invoice(a);
    emu.invoice(b);
    emu.invoice("555555");
    const invoices = await readAll(erp, "invoice");
    assert.deepEqual(
      invoices.map((i) => [i.orderKey, i.currency, i.total, i.totalTax, i.customerKey]),
      [a, b].map((so) => [
        refOf(so),
        "EUR",
        "30.60",
        "5.10",
        String(emu.records.get("customer")?.get((soOf(so).entity as { id: string }).id)?.email),
      ]),
    );
    assert.equal(invoices[0]?.document, undefined, "NetSuite renders no invoice PDF through REST");

    const item = [...(emu.records.get("inventoryItem")?.values() ?? [])][4] as Record<string, unknown>;
    emu.setStock(String(item.id), "2", 12, 5);
    const levels = await readAll(erp, "inventory");
    assert.equal(levels.length, 60, "30 items at 2 locations");
    const level = levels.find((l) => l.key === `${String(item.itemId)}@Paris Store`);
    assert.deepEqual(
      level && { onHand: level.onHand, reserved: level.reserved, available: level.available },
      { onHand: 12, reserved: 5, available: 7 },
    );
    // Quantities in a unit that splits (kilograms, metres): rounded towards selling less, never more.
    const split = [...(emu.records.get("inventoryItem")?.values() ?? [])][5] as Record<string, unknown>;
    emu.setStock(String(split.id), "2", 7.5, 2.5);
    const splitLevel = (await readAll(erp, "inventory")).find(
      (l) => l.key === `${String(split.itemId)}@Paris Store`,
    );
    assert.deepEqual(
      splitLevel && {
        onHand: splitLevel.onHand,
        reserved: splitLevel.reserved,
        available: splitLevel.available,
      },
      { onHand: 7, reserved: 3, available: 4 },
    );
    assert.deepEqual(emu.violations, []);
  });

  test("beyond the account's concurrency limit NetSuite answers 429 and the read still finishes", async () => {
    const tight = await startNetSuiteEmulator({ items: 40, maxConcurrent: 1, delayMs: 30 });
    const greedy = netsuite.create("greedy", settings(tight, { maxConcurrent: 4, pageSize: 5 }));
    try {
      const stream = greedy.streams.product as Stream<"product">;
      const reads = await Promise.all(
        [0, 1, 2, 3].map(async () => {
          let n = 0;
          for await (const page of stream.list({
            since: null,
            signpost: "2999-01-01T00:00:00Z",
            pageSize: 5,
          }))
            n += page.length;
          return n;
        }),
      );
      assert.deepEqual(reads, [40, 40, 40, 40]);
      assert.ok(tight.stats.throttled > 0, "no request was ever throttled");
      assert.deepEqual(tight.violations, []);
    } finally {
      await greedy.close();
      await tight.close();
    }
  });
});
