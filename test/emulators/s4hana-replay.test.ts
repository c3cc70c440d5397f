/**
 * The ERP side of the demo's loop replayed against the S/4HANA emulator through the connector, every request
 * and answer checked against the three services' EDMX documents: the catalogue is read out (then only what
 * changed); shop customers become business partners with the customer role (found again by e-mail, never
 * doubled; a moved customer's address is patched); their orders become sales orders with items, line and
 * order discounts and freight as pricing elements, released from the hold when S/4HANA's net agrees and
 * found again by PurchaseOrderByCustomer when written a second time; the CSRF token expires mid-run and is
 * fetched again; one order is cancelled (its items rejected). Then S/4HANA ships and bills those orders:
 * their outbound deliveries come back as shipments once the goods issue is posted and a bill of lading
 * entered (then only what changed), their billing documents as invoices with the PDF GetPDF renders, and
 * documents of orders no shop placed stay out — held to SAP's VDM packages of API_OUTBOUND_DELIVERY_SRV and
 * API_BILLING_DOCUMENT_SRV. The test fails on any violation of the documents and reports how many distinct
 * operations it checked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { navOf, type S4Emulator, s4SpecSkip, startS4Emulator } from "@passerelle/emulators";
import Big from "big.js";
import { s4VdmSkip } from "../../packages/emulators/src/s4hana/vdm.ts";
import { S4HanaConfig } from "../../src/connectors/s4hana/config.ts";
import { s4hana } from "../../src/connectors/s4hana/index.ts";
import {
  type CanonicalByEntity,
  type Customer,
  type Invoice,
  type Order,
  type Product,
  SCHEMAS,
  type Shipment,
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

  async function read<E extends "shipment" | "invoice">(
    entity: E,
    since: { updatedAt: string; id: string } | null = null,
    signpost = "2999-01-01T00:00:00Z",
  ) {
    const stream = erp.streams[entity] as Stream<E> | undefined;
    assert.ok(stream);
    const out: { record: CanonicalByEntity[E]; cursor: { updatedAt: string; id: string } }[] = [];
    for await (const page of stream.list({ since, signpost, pageSize: 2 }))
      for (const n of page) {
        const cursor = { updatedAt: stream.updatedAtOf(n), id: stream.idOf(n) };
        // As the engine does: what is at or before the cursor was read already.
        if (
          since &&
          (cursor.updatedAt < since.updatedAt ||
            (cursor.updatedAt === since.updatedAt && cursor.id <= since.id))
        )
          continue;
        out.push({
          record: SCHEMAS[entity].parse(await stream.toCanonical(n)) as CanonicalByEntity[E],
          cursor,
        });
      }
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

  test("deliveries come back as shipments and billing documents as invoices with their PDF", {
    skip: s4VdmSkip(),
  }, async () => {
    const docs = emu.documents;
    const shopOrders = [...emu.data.orders.values()].filter(
      (o) => String(o.PurchaseOrderByCustomer).startsWith("shop:") && o.OverallSDDocumentRejectionSts !== "C",
    );
    assert.ok(shopOrders.length >= 4, "the first test placed the shop's orders");
    // An order no shop placed, shipped and billed as well: it must stay out.
    const [first] = navOf(shopOrders[0] as never, "to_Item");
    const own = emu.data.addOrder({
      SoldToParty: shopOrders[0]?.SoldToParty,
      PurchaseOrderByCustomer: "PO-4711",
      TransactionCurrency: "EUR",
      to_Item: [{ Material: first?.Material, RequestedQuantity: "1" }],
    });
    const shipOf = new Map<string, string>();
    for (const o of [...shopOrders, own]) {
      const d = docs.deliver(String(o.SalesOrder));
      shipOf.set(String(o.PurchaseOrderByCustomer), String(d.DeliveryDocument));
      docs.pick(String(d.DeliveryDocument));
    }
    assert.deepEqual(await read("shipment"), [], "nothing has left the warehouse yet");
    const [a, b, c] = shopOrders.map((o) => shipOf.get(String(o.PurchaseOrderByCustomer)) as string);
    for (const id of [a, b, c, shipOf.get("PO-4711") as string]) {
      docs.change(id as string, { BillOfLading: `1Z999AA1${id}` });
      docs.postGoodsIssue(id as string);
    }
    docs.postGoodsIssue(
      shopOrders[3] ? (shipOf.get(String(shopOrders[3].PurchaseOrderByCustomer)) as string) : "",
    );

    const signpost = new Date().toISOString();
    const shipments = await read("shipment", null, signpost);
    assert.deepEqual(
      shipments.map((s) => s.record.sourceId).sort(),
      [a, b, c].sort(),
      "shipped with a bill of lading, of shop orders only",
    );
    const sa = shipments.find((s) => s.record.sourceId === a)?.record as Shipment;
    const orderA = shopOrders[0] as (typeof shopOrders)[number];
    assert.equal(sa.orderKey, orderA.PurchaseOrderByCustomer);
    assert.equal(sa.orderNumber, String(orderA.PurchaseOrderByCustomer).slice("shop:".length));
    assert.deepEqual(sa.trackingNumbers, [`1Z999AA1${a}`]);
    assert.deepEqual(
      sa.lines,
      navOf(orderA, "to_Item").map((it) => ({ sku: it.Material, quantity: Number(it.RequestedQuantity) })),
    );
    assert.equal(emu.data.order(String(orderA.SalesOrder)).OverallTotalDeliveryStatus, "C");

    // Incremental. A delivery's day is open until it ends everywhere, so the engine keeps its cursor at the
    // signpost, and a same-day change of a delivery numbered below the last one read is read again.
    const lastCursor = shipments[shipments.length - 1]?.cursor;
    assert.ok(lastCursor && lastCursor.updatedAt > signpost, "a day's deliveries stay open until it ends");
    const cursor = { updatedAt: signpost, id: "" };
    const d = shopOrders[3] ? (shipOf.get(String(shopOrders[3].PurchaseOrderByCustomer)) as string) : "";
    docs.change(d, { BillOfLading: "JJD0099887766" });
    docs.change(a as string, { BillOfLading: "JJD0011223344" });
    const later = await read("shipment", cursor, new Date().toISOString());
    const tracking = new Map(later.map((s) => [s.record.sourceId, s.record.trackingNumbers[0]]));
    assert.equal(tracking.get(d), "JJD0099887766", "a bill of lading entered after the first read");
    assert.equal(tracking.get(a as string), "JJD0011223344", "a same-day change below the last id read");
    // A day that is over everywhere is not read again.
    const past = { updatedAt: new Date(Date.parse(lastCursor.updatedAt) + 86_400_000).toISOString(), id: "" };
    assert.deepEqual(await read("shipment", past), []);

    // Billing: an invoice per shipped shop order; one cancelled; one of the order no shop placed.
    const billed = [a, b, c].map((id) => docs.bill(id as string, 0.19));
    docs.bill(shipOf.get("PO-4711") as string);
    const invoices = await read("invoice");
    assert.deepEqual(
      invoices.map((i) => i.record.number).sort(),
      billed.map((x) => String(x.BillingDocument)).sort(),
    );
    const ia = invoices.find((i) => i.record.number === billed[0]?.BillingDocument)?.record as Invoice;
    assert.equal(ia.orderKey, orderA.PurchaseOrderByCustomer);
    assert.equal(ia.kind, "invoice");
    assert.equal(ia.currency, "EUR");
    const net = new Big(String(orderA.TotalNetAmount));
    assert.equal(ia.totalTax, String(billed[0]?.TaxAmount));
    assert.equal(ia.total, net.plus(String(billed[0]?.TaxAmount)).toFixed(2));
    assert.ok(ia.document);
    const pdf = await erp.document?.(ia.document.ref);
    assert.equal(pdf?.mimeType, "application/pdf");
    assert.equal(
      Buffer.from(pdf?.bytes ?? [])
        .subarray(0, 5)
        .toString("latin1"),
      "%PDF-",
    );
    assert.match(Buffer.from(pdf?.bytes ?? []).toString("latin1"), new RegExp(`Invoice ${ia.number} `));
    await assert.rejects(erp.document?.("billing-document:99999999") as Promise<unknown>, /404|not found/i);

    const lastInvoice = invoices.reduce((m, i) => (i.cursor.updatedAt > m.updatedAt ? i.cursor : m), {
      updatedAt: "",
      id: "",
    });
    docs.cancelBilling(String(billed[1]?.BillingDocument));
    assert.deepEqual(
      await read("invoice", lastInvoice),
      [],
      "a cancelled document and its cancellation stay out",
    );

    assert.deepEqual(emu.violations, []);
    const vdmOps = [...emu.checked.keys()].filter((k) => /OUTBOUND_DELIVERY|BILLING_DOCUMENT/.test(k));
    console.log(
      `# s4hana replay: ${vdmOps.length} delivery / billing operations checked: ${vdmOps.sort().join(", ")}`,
    );
  });
});
