/**
 * The ERP side of the demo's loop replayed against the Business Central emulator through the connector, every
 * request and answer checked against the digest of the API v2.0 pages: the catalogue (with variants) and the
 * stock are read out; shop customers and their orders go in (found again, never doubled, when written a
 * second time); one order is cancelled before it ships; the warehouse ships and invoices the others; the
 * invoices come back tied to the shop orders with BC's totals, and the stock read incrementally from the
 * ledger is lower by what was shipped. The test fails on any violation of the digest and reports how many
 * distinct operations it checked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type BcEmulator, startBcEmulator } from "@passerelle/emulators";
import Big from "big.js";
import { BusinessCentralConfig } from "../../src/connectors/business-central/config.ts";
import { businessCentral } from "../../src/connectors/business-central/index.ts";
import { type CanonicalByEntity, type EntityName, type Order, SCHEMAS } from "../../src/core/model.ts";
import type { Connector, Stream } from "../../src/ports/connector.ts";
import { bcCustomer, bcSettings } from "../fixtures/business-central-contract.ts";

describe("the demo's ERP side replayed against the Business Central emulator", () => {
  let emu: BcEmulator;
  let erp: Connector;
  const noLinks = { resolve: async () => null };

  async function readAll<E extends EntityName>(
    entity: E,
    since: string | null = null,
  ): Promise<CanonicalByEntity[E][]> {
    const stream = erp.streams[entity] as Stream<E> | undefined;
    assert.ok(stream, `business-central cannot read ${entity}`);
    const out: CanonicalByEntity[E][] = [];
    for await (const page of stream.list({
      since: since ? { updatedAt: since, id: "" } : null,
      signpost: "2999-01-01T00:00:00Z",
      pageSize: 25,
    }))
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
    emu = await startBcEmulator({ items: 40, customers: 10, seed: 11 });
    for (const item of emu.data.items.values()) emu.data.post(item.id as string, 20, "Positive Adjmt.");
    erp = businessCentral.create("erp", BusinessCentralConfig.parse(bcSettings(emu, { pageSize: 25 })));
  });
  after(async () => {
    await erp.close();
    await emu.close();
  });

  test("catalogue, stock, customers, orders and invoices go round, and the digest is never broken", async () => {
    const products = await readAll("product");
    assert.equal(products.length, 40);
    assert.equal(
      products.filter((p) => p.variants.length === 3).length,
      10,
      "every fourth item has 3 variants",
    );
    const stockBefore = new Map((await readAll("inventory")).map((l) => [l.sku, l.onHand]));
    assert.equal(stockBefore.size, 40);
    assert.equal((await readAll("customer")).length, 10);

    const customers = Array.from({ length: 6 }, (_, i) => bcCustomer(5000 + i));
    await write("customer", customers);
    const writes = emu.stats.writes;
    await write("customer", customers); // written again: found by e-mail, nothing sent
    assert.equal(emu.stats.writes, writes, "customers written again changed BC");

    const simple = products.filter((p) => p.variants.length === 1);
    const orders: Order[] = customers.map((c, i) => {
      const lines = [simple[i], simple[i + 10]].map((p, j) => ({
        sku: p?.variants[0]?.sku as string,
        quantity: 1 + j,
        unitPrice: p?.variants[0]?.price as string,
        discount: "0",
        taxes: [],
      }));
      const net = lines.reduce((s, l) => s.plus(new Big(l.unitPrice).times(l.quantity)), new Big(0));
      const tax = net.times("0.2").round(2);
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
    assert.equal(emu.data.salesOrders.size, 6);

    // The last order is cancelled by the shop before the warehouse gets to it: BC's order is deleted.
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
    assert.equal(emu.data.salesOrders.size, 5);

    // The warehouse ships and invoices the others.
    const cursor = new Date().toISOString();
    for (const r of placed.slice(0, 5)) {
      assert.ok(r.ok);
      emu.data.ship(r.targetId);
      emu.data.invoice(r.targetId);
    }
    const invoices = await readAll("invoice");
    const bcTotal = (key: string) =>
      [...emu.data.salesOrders.values()].find((d) => d.externalDocumentNumber === key)
        ?.totalAmountIncludingTax as number;
    assert.deepEqual(
      invoices.map((i) => [i.orderKey, i.total]).sort(),
      orders
        .slice(0, 5)
        .map((o) => [o.key, new Big(bcTotal(o.key)).toFixed(2)])
        .sort(),
    );
    for (const o of orders.slice(0, 5)) assert.ok(new Big(bcTotal(o.key)).minus(o.total).abs().lte("0.01"));

    // Stock, read incrementally from the ledger: what was shipped left the item's inventory.
    const moved = new Map((await readAll("inventory", cursor)).map((l) => [l.sku, l.onHand]));
    for (const o of orders) {
      for (const l of o.lines) {
        const shipped = o === cancelled ? 0 : l.quantity;
        if (shipped === 0) {
          assert.equal(moved.has(l.sku), false, `${l.sku}: the cancelled order moved no stock`);
          continue;
        }
        assert.equal(moved.get(l.sku), (stockBefore.get(l.sku) as number) - shipped, `${l.sku}: on hand`);
      }
    }

    assert.deepEqual(emu.violations, []);
    assert.ok(emu.checked.size >= 10, `only ${emu.checked.size} operations`);
    console.log(
      `# business-central replay: ${emu.checked.size} distinct operations checked against the API v2.0 digest: ${[...emu.checked.keys()].sort().join(", ")}`,
    );
  });
});
