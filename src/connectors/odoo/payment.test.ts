import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type OdooFixture, startFixture } from "../../../test/fixtures/odoo.ts";
import type { OdooRow } from "./client.ts";
import { financialStatus, fulfillmentStatus } from "./payment.ts";
import { trackingUrls } from "./streams/shipment.ts";

let nextId = 1;
const move = (move_type: string, state: string, payment_state: string, amount_total: number): OdooRow => ({
  id: nextId++,
  move_type,
  state,
  payment_state,
  amount_total,
});

describe("odoo order status", () => {
  test("financial status from posted invoices and credit notes", () => {
    assert.equal(financialStatus([], false), "pending");
    assert.equal(financialStatus([], true), "voided");
    assert.equal(financialStatus([move("out_invoice", "draft", "not_paid", 10)], false), "pending");
    assert.equal(financialStatus([move("out_invoice", "posted", "not_paid", 10)], false), "pending");
    assert.equal(financialStatus([move("out_invoice", "posted", "partial", 10)], false), "pending");
    assert.equal(financialStatus([move("out_invoice", "posted", "paid", 10)], false), "paid");
    assert.equal(financialStatus([move("out_invoice", "posted", "in_payment", 10)], false), "paid");
    assert.equal(
      financialStatus(
        [move("out_invoice", "posted", "paid", 10), move("out_invoice", "posted", "not_paid", 5)],
        false,
      ),
      "pending",
    );
    const paid = move("out_invoice", "posted", "paid", 10);
    assert.equal(
      financialStatus([paid, move("out_refund", "posted", "not_paid", 4)], false),
      "partially_refunded",
    );
    assert.equal(financialStatus([paid, move("out_refund", "posted", "paid", 10)], false), "refunded");
    assert.equal(financialStatus([paid, move("out_refund", "draft", "not_paid", 10)], false), "paid");
  });

  test("fulfilment status from the outgoing pickings; cancelled ones do not count", () => {
    assert.equal(fulfillmentStatus([]), "unfulfilled");
    assert.equal(fulfillmentStatus(["assigned"]), "unfulfilled");
    assert.equal(fulfillmentStatus(["done", "assigned"]), "partial");
    assert.equal(fulfillmentStatus(["done", "cancel"]), "fulfilled");
  });

  test("tracking URLs: one URL, Odoo's JSON list of [ref, url] pairs, and garbage left out", () => {
    assert.deepEqual(trackingUrls(undefined), []);
    assert.deepEqual(trackingUrls("https://t.example/1Z9"), ["https://t.example/1Z9"]);
    assert.deepEqual(
      trackingUrls(
        JSON.stringify([
          ["A1", "https://t.example/A1"],
          ["B2", "https://t.example/B2"],
        ]),
      ),
      ["https://t.example/A1", "https://t.example/B2"],
    );
    assert.deepEqual(trackingUrls("not a url"), []);
    assert.deepEqual(trackingUrls("javascript:alert(1)"), []);
    assert.deepEqual(trackingUrls("[broken json"), []);
  });
});

describe("odoo shipments and orders against the emulator", () => {
  let fx: OdooFixture;
  before(async () => {
    fx = await startFixture();
  });
  after(async () => {
    await fx.emu.close();
  });

  test("a shipped picking names its carrier and links to its tracking page", async () => {
    const stream = fx.connector.streams.shipment;
    assert.ok(stream);
    const shipments = [];
    for await (const page of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 50 })) {
      for (const n of page) shipments.push(await stream.toCanonical(n));
    }
    assert.ok(shipments.length >= 2);
    assert.deepEqual([...new Set(shipments.map((s) => s.carrier))].sort(), ["Colissimo", "DHL Express"]);
    for (const s of shipments) {
      assert.equal(s.trackingUrls.length, 1);
      assert.ok(s.trackingUrls[0]?.endsWith(`=${s.trackingNumbers[0]}`), s.trackingUrls[0]);
      const host = s.carrier === "Colissimo" ? "www.laposte.fr" : "www.dhl.com";
      assert.equal(new URL(s.trackingUrls[0] as string).host, host);
    }
  });

  test("several parcels: one tracking URL per tracking number", async () => {
    const stream = fx.connector.streams.shipment;
    assert.ok(stream);
    const [picking] = fx.emu.data.search("stock.picking", [["state", "=", "done"]], { limit: 1 });
    assert.ok(picking);
    fx.emu.data.write("stock.picking", [picking], {
      carrier_tracking_ref: "6A111,6A222",
      carrier_id: fx.emu.refs.carriers[0],
    });
    const native = await stream.get(String(picking));
    assert.ok(native);
    const shipment = await stream.toCanonical(native);
    assert.deepEqual(shipment.trackingNumbers, ["6A111", "6A222"]);
    assert.deepEqual(shipment.trackingUrls, [
      "https://www.laposte.fr/outils/suivre-vos-envois?code=6A111",
      "https://www.laposte.fr/outils/suivre-vos-envois?code=6A222",
    ]);
    assert.equal(shipment.carrier, "Colissimo");
  });

  test("an order read from Odoo: pending, paid once its invoice is paid, refunded by a full credit note", async () => {
    const stream = fx.connector.streams.order;
    assert.ok(stream);
    const status = async (id: number) => {
      const native = await stream.get(String(id));
      assert.ok(native);
      return stream.toCanonical(native);
    };
    const invoiced = new Set(
      fx.emu.data
        .read("account.move", fx.emu.data.search("account.move", []), ["invoice_origin"])
        .map((m) => m.invoice_origin),
    );
    const uninvoiced = fx.emu.data
      .read("sale.order", fx.emu.data.search("sale.order", [["state", "=", "sale"]], { order: "id asc" }), [
        "name",
      ])
      .filter((o) => !invoiced.has(o.name))
      .map((o) => o.id as number);
    const so = uninvoiced[0];
    assert.ok(so, "the seed leaves some sales uninvoiced");
    assert.equal((await status(so)).financialStatus, "pending");
    const invoice = fx.emu.invoiceOrder(so);
    assert.equal((await status(so)).financialStatus, "pending");
    fx.emu.payInvoice(invoice);
    const paid = await status(so);
    assert.equal(paid.financialStatus, "paid");
    fx.emu.refundOrder(so, Number(paid.total) / 2);
    assert.equal((await status(so)).financialStatus, "partially_refunded");
    fx.emu.refundOrder(so, Number(paid.total) / 2);
    assert.equal((await status(so)).financialStatus, "refunded");
  });

  test("fulfilment follows the deliveries: unfulfilled until the picking is done", async () => {
    const stream = fx.connector.streams.order;
    assert.ok(stream);
    const open = fx.emu.data.search("stock.picking", [["state", "=", "assigned"]], { limit: 1 });
    const [picking] = fx.emu.data.read("stock.picking", open, ["sale_id"]);
    assert.ok(picking, "the seed leaves some deliveries open");
    const so = (picking.sale_id as [number])[0];
    const before = await stream.get(String(so));
    assert.ok(before);
    assert.equal((await stream.toCanonical(before)).fulfillmentStatus, "unfulfilled");
    fx.emu.data.methods.get("stock.picking")?.get("button_validate")?.(
      fx.emu.data,
      [picking.id as number],
      {},
    );
    const afterValidate = await stream.get(String(so));
    assert.ok(afterValidate);
    assert.equal((await stream.toCanonical(afterValidate)).fulfillmentStatus, "fulfilled");
  });
});
