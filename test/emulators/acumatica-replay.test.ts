/**
 * The ERP side of the demo's loop replayed against the Acumatica emulator through the connector, every
 * request and answer checked against the Default/24.200.001 OpenAPI document: the catalogue, the customer-price-class
 * prices (with their quantity breaks) and the stock per warehouse are read out; shop customers and their orders go in (found again, never doubled, when written a
 * second time); one order is cancelled before it ships; the warehouse ships and invoices the others; the
 * shipments (with tracking) and invoices (with Acumatica's totals) come back tied to the shop orders, and the stock read again is lower by what was shipped. The
 * test fails on any violation of the document and reports how many distinct operations it checked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type AcumaticaEmulator, acumaticaSpecSkip, startAcumaticaEmulator } from "@passerelle/emulators";
import Big from "big.js";
import { AcumaticaConfig } from "../../src/connectors/acumatica/config.ts";
import { acumatica } from "../../src/connectors/acumatica/index.ts";
import {
  type CanonicalByEntity,
  type EntityName,
  type InventoryLevel,
  type Order,
  SCHEMAS,
} from "../../src/core/model.ts";
import type { Connector, Stream } from "../../src/ports/connector.ts";
import { acumaticaCustomer } from "../fixtures/acumatica-contract.ts";

describe("the demo's ERP side replayed against the Acumatica emulator", { skip: acumaticaSpecSkip() }, () => {
  let emu: AcumaticaEmulator;
  let erp: Connector;
  const noLinks = { resolve: async () => null };

  async function readAll<E extends EntityName>(entity: E): Promise<CanonicalByEntity[E][]> {
    const stream = erp.streams[entity] as Stream<E> | undefined;
    assert.ok(stream, `acumatica cannot read ${entity}`);
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
    emu = await startAcumaticaEmulator({ items: 40, customers: 10, seed: 11 });
    for (const row of emu.data.tables.StockItem.values()) {
      for (const w of row.WarehouseDetails as { QtyOnHand: { value: number } }[]) w.QtyOnHand.value += 20;
    }
    erp = acumatica.create(
      "erp",
      AcumaticaConfig.parse({
        baseUrl: emu.url,
        tenant: emu.tenant,
        username: emu.username,
        password: emu.password,
        customerClasses: { General: "DEFAULT", Wholesale: "WHOLESALE" },
        orderWarehouse: "MAIN",
        priceClasses: [
          { priceClass: "WHOLESALE", customerGroup: "Wholesale" },
          { priceClass: "RETAIL", customerGroup: "Retail" },
        ],
        pageSize: 25,
      }),
    );
  });
  after(async () => {
    await erp.close();
    await emu.close();
  });

  test("catalogue, prices, stock, customers, orders, shipments and invoices go round, and the document is never broken", async () => {
    const products = await readAll("product");
    assert.equal(products.length, 40);
    const prices = await readAll("price");
    assert.equal(prices.length, 80);
    assert.deepEqual([...new Set(prices.map((p) => p.priceList.customerGroup))].sort(), [
      "Retail",
      "Wholesale",
    ]);
    assert.ok(
      prices.some((p) => p.tiers.some((t) => t.minQuantity === 10)),
      "no quantity break read",
    );
    const stockBefore = new Map((await readAll("inventory")).map((l) => [l.key, l]));
    assert.equal(stockBefore.size, 80);
    assert.equal((await readAll("customer")).length, 10);

    const customers = Array.from({ length: 6 }, (_, i) => acumaticaCustomer(5000 + i));
    await write("customer", customers);
    const writes = emu.stats.writes;
    await write("customer", customers); // written again: found by e-mail, nothing sent
    assert.equal(emu.stats.writes, writes, "customers written again changed Acumatica");
    assert.equal((await readAll("customer")).length, 16);

    const orders: Order[] = customers.map((c, i) => {
      const lines = [products[i], products[i + 10]].map((p, j) => ({
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
      again.every((r) => r.ok && r.action === "unchanged"),
      "written twice: an order was created again",
    );
    assert.equal(emu.data.tables.SalesOrder.size, 6);
    for (const o of emu.data.tables.SalesOrder.values()) {
      assert.equal(
        (o.Status as { value: string }).value,
        "Open",
        "an order whose totals agree is left on hold",
      );
    }

    // A shop total Acumatica does not agree with: created, left on hold, reported.
    const [wrong] = await erp.writers.order!.upsert(
      [
        {
          key: "shop:bad",
          record: { ...(orders[0] as Order), key: "shop:bad", total: "1.00" },
          targetId: null,
          externalRef: "shop:bad",
        },
      ],
      noLinks,
    );
    assert.ok(wrong && !wrong.ok && wrong.error.kind === "data", JSON.stringify(wrong));
    const held = [...emu.data.tables.SalesOrder.values()].find(
      (o) => (o.CustomerOrder as { value: string }).value === "shop:bad",
    );
    assert.equal((held?.Status as { value: string } | undefined)?.value, "On Hold");

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

    // The warehouse ships the others, one package each with its tracking number.
    for (const r of placed.slice(0, 5)) {
      assert.ok(r.ok);
      emu.data.ship(r.targetId, `TRK-${r.key}`);
      emu.data.invoice(r.targetId);
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
    // Invoices carry Acumatica's totals, which the order writer accepted within a cent of the shop's.
    const invoices = await readAll("invoice");
    assert.deepEqual(
      invoices.map((i) => [i.orderKey, i.total]).sort(),
      orders
        .slice(0, 5)
        .map((o) => [o.key, o.total])
        .sort(),
    );

    // Stock: what was shipped left QtyOnHand in the order lines' warehouse; the cancelled order took nothing.
    const after = new Map((await readAll("inventory")).map((l) => [l.key, l]));
    for (const o of orders) {
      for (const l of o.lines) {
        const key = `${l.sku}@MAIN`;
        const shipped = o === cancelled ? 0 : l.quantity;
        const was = stockBefore.get(key) as InventoryLevel;
        const now = after.get(key) as InventoryLevel;
        assert.equal(now.onHand, was.onHand - shipped, `${key}: on hand`);
      }
    }

    assert.deepEqual(emu.violations, []);
    console.log(
      `# acumatica replay: ${emu.checked.size} distinct operations checked against the OpenAPI document, ${emu.stats.requests} requests: ${[...emu.checked.keys()].sort().join(", ")}`,
    );
  });
});
