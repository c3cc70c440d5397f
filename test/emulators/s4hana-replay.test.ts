/**
 * The ERP side of the demo's loop replayed against the S/4HANA emulator through the connector, every request
 * and answer checked against the three services' EDMX documents: the catalogue is read out (then only what
 * changed); shop customers become business partners with the customer role (found again by e-mail, never
 * doubled; a moved customer's address is patched); their orders become sales orders with items, line and
 * order discounts and freight as pricing elements, released from the hold when S/4HANA's net agrees and
 * found again by PurchaseOrderByCustomer when written a second time; the CSRF token expires mid-run and is
 * fetched again; one order is cancelled (its items rejected). The test fails on any violation of the
 * documents and reports how many distinct operations it checked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { navOf, type S4Emulator, s4SpecSkip, startS4Emulator } from "@passerelle/emulators";
import Big from "big.js";
import { S4HanaConfig } from "../../src/connectors/s4hana/config.ts";
import { s4hana } from "../../src/connectors/s4hana/index.ts";
import {
  type CanonicalByEntity,
  type Customer,
  type Order,
  type Product,
  SCHEMAS,
} from "../../src/core/model.ts";
import type { Connector, Stream } from "../../src/ports/connector.ts";
import { s4Customer } from "../fixtures/s4hana-contract.ts";

describe("the demo's ERP side replayed against the S/4HANA emulator", { skip: s4SpecSkip() }, () => {
  let emu: S4Emulator;
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

  async function write<E extends "customer" | "order">(entity: E, records: CanonicalByEntity[E][]) {
    const writer = erp.writers[entity];
    assert.ok(writer);
    const results = await writer.upsert(
      records.map((r) => ({ key: r.key, record: r, targetId: null, externalRef: r.key })) as never,
      noLinks,
    );
    const failed = results.filter((r) => !r.ok).map((r) => `${r.key}: ${r.ok ? "" : r.error.message}`);
    assert.deepEqual(failed, [], `${entity}: refused records`);
    return new Map(results.map((r) => [r.key, r.ok ? r : null]));
  }

  before(async () => {
    emu = await startS4Emulator({ products: 40, partners: 5, seed: 11, maxPageSize: 20 });
    erp = s4hana.create(
      "erp",
      S4HanaConfig.parse({
        url: emu.url,
        username: emu.username,
        password: emu.password,
        holdDeliveryBlock: "ZH",
        rejectionReason: "ZC",
        pageSize: 25,
      }),
    );
  });
  after(async () => {
    await erp.close();
    await emu.close();
  });

  test("catalogue, customers and orders go round, and the documents are never broken", async () => {
    const products = await readProducts();
    assert.equal(products.length, 40);
    assert.ok(products.every((p) => p.product.title.startsWith("Trading good")));
    assert.ok(
      products.some((p) => p.product.status === "archived"),
      "a product marked for deletion is archived",
    );
    const last = products[products.length - 1]?.cursor ?? null;
    emu.data.touchProduct("TG0007");
    assert.deepEqual(
      (await readProducts(last)).map((p) => p.product.key),
      [last?.id, "TG0007"],
      "an incremental read takes what changed from the cursor on",
    );

    const customers = Array.from({ length: 6 }, (_, i) => s4Customer(5000 + i));
    const created = await write("customer", customers);
    const writes = emu.stats.writes;
    await write("customer", customers); // written again: found by e-mail, nothing sent
    assert.equal(emu.stats.writes, writes, "customers written again changed S/4HANA");
    const moved: Customer = {
      ...(customers[0] as Customer),
      addresses: [
        { type: "both", line1: "1 Neue Strasse", city: "Heidelberg", postalCode: "69117", country: "DE" },
      ],
    };
    const [movedResult] = (await write("customer", [moved])).values();
    assert.equal(movedResult?.action, "updated");
    const partner = emu.data.partner(created.get(moved.key)?.targetId as string);
    assert.equal(navOf(partner, "to_BusinessPartnerAddress")[0]?.CityName, "Heidelberg");
    assert.equal(partner.Customer, partner.BusinessPartner, "the customer role made it a customer");

    emu.expireCsrfTokens(); // the Gateway forgets the token between the two halves of the run
    const orders: Order[] = customers.map((c, i) => {
      const lines = [products[i], products[i + 10]].map((p, j) => ({
        sku: p?.product.key as string,
        quantity: 1 + j,
        unitPrice: `${12 + i}.${j}0`,
        discount: j === 1 && i % 2 === 0 ? "1.00" : "0",
        taxes: [],
      }));
      const shipping = i % 3 === 0 ? "4.90" : undefined;
      const orderDiscount = i === 1 ? "2.00" : undefined;
      const net = lines
        .reduce((s, l) => s.plus(new Big(l.unitPrice).times(l.quantity)).minus(l.discount), new Big(0))
        .minus(orderDiscount ?? "0")
        .plus(shipping ?? "0");
      const tax = net.times("0.19").round(2);
      return {
        source: "shop",
        sourceId: `100${i}`,
        updatedAt: "2026-06-01T10:00:00Z",
        key: `shop:100${i}`,
        number: `100${i}`,
        placedAt: "2026-06-01T10:00:00Z",
        currency: "EUR",
        customer: { key: c.email, email: c.email },
        lines,
        ...(shipping ? { shipping: { title: "DHL", amount: shipping, taxes: [] } } : {}),
        discounts: orderDiscount ? [{ amount: orderDiscount }] : [],
        taxesIncluded: false,
        totalTax: tax.toFixed(2),
        total: net.plus(tax).toFixed(2),
        financialStatus: "paid",
        fulfillmentStatus: "unfulfilled",
        payments: [],
        cancelled: false,
      };
    });
    const fetches = emu.stats.csrfFetches;
    const placed = await write("order", orders);
    assert.ok(emu.stats.csrfRefusals >= 1, "the expired token was refused");
    assert.equal(emu.stats.csrfFetches - fetches, 1, "calls refused together fetched one new token");
    for (const o of orders) {
      const so = emu.data.order(placed.get(o.key)?.targetId as string);
      assert.equal(so.PurchaseOrderByCustomer, o.key);
      assert.equal(so.DeliveryBlockReason, "", `${o.key}: released from the hold`);
      assert.equal(so.TotalNetAmount, new Big(o.total).minus(o.totalTax).toFixed(2));
    }
    const count = emu.data.orders.size;
    const again = await write("order", orders);
    assert.equal(emu.data.orders.size, count, "orders written again were doubled");
    assert.ok([...again.values()].every((r) => r?.action === "unchanged"));

    const cancelled = { ...(orders[2] as Order), cancelled: true };
    await write("order", [cancelled]);
    const so = emu.data.order(placed.get(cancelled.key)?.targetId as string);
    assert.equal(so.OverallSDDocumentRejectionSts, "C");

    assert.deepEqual(emu.violations, []);
    console.log(
      `# s4hana replay: ${emu.checked.size} distinct operations checked against the EDMX documents, ${emu.stats.requests} requests`,
    );
  });
});
