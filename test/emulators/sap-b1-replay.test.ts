/**
 * The ERP side of the demo's loop replayed against the SAP Business One emulator through the connector, every
 * request and answer checked against Service Layer's $metadata: the catalogue, the customer-group prices and
 * the stock per warehouse are read out; shop customers and their orders go in (found again, never doubled,
 * when written a second time); the warehouse delivers them with tracking and invoices them; the shipments and
 * invoices come back tied to the shop orders, and the stock read again is lower by what was delivered; one
 * order is cancelled before delivery and releases what it had committed. The test fails on any violation of
 * the document and reports how many distinct operations it checked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type SapB1Emulator, sapB1SpecSkip, startSapB1Emulator } from "@passerelle/emulators";
import Big from "big.js";
import { SapB1Config } from "../../src/connectors/sap-b1/config.ts";
import { sapB1 } from "../../src/connectors/sap-b1/index.ts";
import {
  type CanonicalByEntity,
  type EntityName,
  type InventoryLevel,
  type Order,
  SCHEMAS,
} from "../../src/core/model.ts";
import type { Connector, Stream } from "../../src/ports/connector.ts";
import { sapB1Customer } from "../fixtures/sap-b1-contract.ts";

describe("the demo's ERP side replayed against the SAP Business One emulator", {
  skip: sapB1SpecSkip(),
}, () => {
  let emu: SapB1Emulator;
  let erp: Connector;
  const noLinks = { resolve: async () => null };

  async function readAll<E extends EntityName>(entity: E): Promise<CanonicalByEntity[E][]> {
    const stream = erp.streams[entity] as Stream<E> | undefined;
    assert.ok(stream, `sap-b1 cannot read ${entity}`);
    const out: CanonicalByEntity[E][] = [];
    for await (const page of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 25 }))
      for (const n of page)
        out.push(SCHEMAS[entity].parse(await stream.toCanonical(n)) as CanonicalByEntity[E]);
    return out;
  }

  async function write<E extends "customer" | "order">(entity: E, records: CanonicalByEntity[E][]) {
    const writer = erp.writers[entity];
    assert.ok(writer);
    const results = await writer.upsert(
      records.map((r) => ({ key: r.key, record: r, targetId: null, externalRef: r.key })) as never,
      noLinks,
    );
    const failed = results.filter((r) => !r.ok).map((r) => `${r.key}: ${r.ok ? "" : r.error.message}`);
    assert.deepEqual(failed, [], `${entity}: refused records`);
    return results;
  }

  before(async () => {
    emu = await startSapB1Emulator({ items: 40, customers: 10, seed: 11 });
    for (const row of emu.data.items.values()) {
      for (const w of row.ItemWarehouseInfoCollection as { InStock: number }[]) w.InStock += 20;
    }
    erp = sapB1.create(
      "erp",
      SapB1Config.parse({
        url: emu.url,
        companyDB: emu.companyDB,
        username: emu.username,
        password: emu.password,
        priceLists: [
          { priceList: 2, customerGroup: "Wholesale" },
          { priceList: 3, customerGroup: "Retail" },
        ],
        customerGroups: { General: 100, Wholesale: 101 },
        vatGroup: "S1",
        orderWarehouse: "01",
        pageSize: 25,
      }),
    );
  });
  after(async () => {
    await erp.close();
    await emu.close();
  });

  test("catalogue, prices, stock, customers and orders go round, and the document is never broken", async () => {
    const products = await readAll("product");
    assert.equal(products.length, 40);
    const prices = await readAll("price");
    assert.equal(prices.length, 80);
    assert.deepEqual([...new Set(prices.map((p) => p.priceList.customerGroup))].sort(), [
      "Retail",
      "Wholesale",
    ]);
    const stockBefore = new Map((await readAll("inventory")).map((l) => [l.key, l]));
    assert.equal(stockBefore.size, 80);
    assert.equal((await readAll("customer")).length, 10);

    const customers = Array.from({ length: 6 }, (_, i) => sapB1Customer(5000 + i));
    await write("customer", customers);
    const writes = emu.stats.writes;
    await write("customer", customers); // written again: found by e-mail, nothing sent
    assert.equal(emu.stats.writes, writes, "customers written again changed B1");
    const orders: Order[] = customers.map((c, i) => {
      const lines = [products[i], products[i + 10]].map((p, j) => ({
        sku: p?.variants[0]?.sku as string,
        quantity: 1 + j,
        unitPrice: p?.variants[0]?.price as string,
        discount: "0",
        taxes: [],
      }));
      const net = lines.reduce((s, l) => s.plus(new Big(l.unitPrice).times(l.quantity)), new Big(0));
      const tax = lines
        .reduce((s, l) => s.plus(new Big(l.unitPrice).times(l.quantity).round(2).times("0.2")), new Big(0))
        .round(2);
      return {
        source: "shop",
        sourceId: `100${i}`,
        updatedAt: "2026-06-01T10:00:00Z",
        key: `shop:100${i}`,
        number: `100${i}`,
        placedAt: "2026-06-01T10:00:00Z",
        currency: "EUR",
        customer: { key: c.key, email: c.email },
        lines,
        discounts: [],
        taxesIncluded: false,
        totalTax: tax.toFixed(2),
        total: net.plus(tax).toFixed(2),
        financialStatus: "paid",
        fulfillmentStatus: "unfulfilled",
        payments: [],
        cancelled: false,
      };
    });
    const placed = await write("order", orders);
    const again = await write("order", orders);
    assert.ok(
      again.every((r) => r.ok && r.action !== "created"),
      "written twice: an order was created again",
    );
    assert.equal(emu.data.documents.Orders.size, 6);

    // The last order is cancelled by the shop before the warehouse gets to it.
    const cancelled = orders[5] as Order;
    const [c] = await erp.writers.order!.upsert(
      [
        {
          key: cancelled.key,
          record: { ...cancelled, cancelled: true },
          targetId: null,
          externalRef: cancelled.key,
        },
      ],
      noLinks,
    );
    assert.ok(c?.ok && c.action === "updated", JSON.stringify(c));

    // The warehouse delivers and invoices the others.
    for (const r of placed.slice(0, 5)) {
      assert.ok(r.ok);
      const d = emu.data.deliver(Number(r.targetId), `TRK-${r.key}`);
      emu.data.invoice(d.DocEntry as number);
    }
    const shipments = await readAll("shipment");
    assert.deepEqual(
      shipments.map((s) => s.orderKey).sort(),
      orders
        .slice(0, 5)
        .map((o) => o.key)
        .sort(),
    );
    assert.ok(shipments.every((s) => s.trackingNumbers[0] === `TRK-${s.orderKey}`));
    // Invoices carry B1's totals (the order writer accepted them within a cent of the shop's).
    const invoices = await readAll("invoice");
    const b1Total = (key: string) =>
      [...emu.data.documents.Orders.values()].find((d) => d.NumAtCard === key)?.DocTotal as number;
    assert.deepEqual(
      invoices.map((i) => [i.orderKey, i.total]).sort(),
      orders
        .slice(0, 5)
        .map((o) => [o.key, b1Total(o.key).toFixed(2)])
        .sort(),
    );
    for (const o of orders.slice(0, 5)) {
      assert.ok(
        new Big(b1Total(o.key)).minus(o.total).abs().lte("0.01"),
        `${o.key}: ${b1Total(o.key)} vs ${o.total}`,
      );
    }

    // Stock: what was delivered left InStock; the cancelled order's commitment was released.
    const after = new Map((await readAll("inventory")).map((l) => [l.key, l]));
    for (const o of orders) {
      for (const l of o.lines) {
        const key = `${l.sku}@01`;
        const delivered = o === cancelled ? 0 : l.quantity;
        const was = stockBefore.get(key) as InventoryLevel;
        const now = after.get(key) as InventoryLevel;
        assert.equal(now.onHand, was.onHand - delivered, `${key}: on hand`);
        assert.equal(now.reserved, 0, `${key}: nothing is left committed`);
      }
    }

    assert.deepEqual(emu.violations, []);
    console.log(
      `# sap-b1 replay: ${emu.checked.size} distinct operations checked against $metadata, ${emu.stats.requests} requests`,
    );
  });
});
