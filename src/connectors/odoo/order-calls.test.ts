/**
 * What a batch of orders costs in ERP calls (issue 22: at 80 ms a call, calls per order set the order
 * rate), counted by the Odoo emulator, and that a batch written together still fails a bad order alone.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type OdooFixture, sampleOrder, startFixture } from "../../../test/fixtures/odoo.ts";
import type { Order } from "../../core/model.ts";
import type { WriteContext, WriteItem } from "../../ports/connector.ts";

const item = (record: Order): WriteItem<"order"> => ({
  key: record.key,
  record,
  targetId: null,
  externalRef: record.key,
});

describe("odoo order writer: calls per batch", () => {
  let fx: OdooFixture;
  let partnerIds: number[];
  let partnerEmails: { id: number; email: string }[];
  before(async () => {
    fx = await startFixture({ orders: 0 });
    const partners = fx.emu.data.rows("res.partner").filter((p) => !p.parent_id && p.email);
    partnerIds = partners.map((p) => p.id as number);
    partnerEmails = partners.map((p) => ({ id: p.id as number, email: String(p.email) }));
    assert.ok(partnerIds.length >= 3, "the emulator seeds customers");
  });
  after(async () => fx.emu.close());

  const salesOf = (o: Order) => fx.emu.data.search("sale.order", [["client_order_ref", "=", o.key]]);

  test("20 new orders of linked customers: one create, one read, one confirm for the batch", async () => {
    const writer = fx.connect({}, "erp").writers.order;
    assert.ok(writer);
    const orders = Array.from({ length: 20 }, () => sampleOrder(fx.skus));
    const partnerOf = new Map(orders.map((o, i) => [o.customer.key, partnerIds[i % partnerIds.length]]));
    const linked: WriteContext = { resolve: async (_e, key) => String(partnerOf.get(key) ?? "") || null };
    fx.emu.resetStats();
    const results = await writer.upsert(orders.map(item), linked);
    assert.deepEqual(
      results.map((r) => (r.ok ? r.action : r.error.message)),
      Array(20).fill("created"),
    );
    const by = fx.emu.stats.byMethod;
    assert.equal(by["sale.order.create"], 1, JSON.stringify(by));
    assert.equal(by["sale.order.read"], 1, JSON.stringify(by));
    assert.equal(by["sale.order.action_confirm"], 1, JSON.stringify(by));
    assert.equal(by["sale.order.search_read"], 1, JSON.stringify(by));
    // The login, products and taxes (read once per connection) and the four order calls: 7 for 20 orders.
    assert.ok(fx.emu.stats.calls <= 7, `${fx.emu.stats.calls} calls for 20 orders: ${JSON.stringify(by)}`);
    for (const [i, o] of orders.entries()) {
      const ids = salesOf(o);
      assert.equal(ids.length, 1, `${o.key}: ${ids.length} sales`);
      const so = fx.emu.data.row("sale.order", ids[0] as number);
      assert.equal(so?.state, "sale");
      assert.equal(so?.partner_id, partnerIds[i % partnerIds.length]);
      assert.equal(Number(so?.amount_total).toFixed(2), o.total);
    }
  });

  test("customers without a link are found by e-mail in one search for the batch", async () => {
    const writer = fx.connect({}, "erp").writers.order;
    assert.ok(writer);
    const who = partnerEmails.slice(0, 3);
    // The shop's address in another case than Odoo's: the match is case-insensitive.
    const orders = Array.from({ length: 9 }, (_, i) =>
      sampleOrder(fx.skus, { email: (who[i % who.length]?.email ?? "").toUpperCase() }),
    );
    fx.emu.resetStats();
    const results = await writer.upsert(orders.map(item), { resolve: async () => null });
    assert.ok(
      results.every((r) => r.ok),
      JSON.stringify(results.map((r) => (r.ok ? r.action : r.error.message))),
    );
    const by = fx.emu.stats.byMethod;
    assert.equal(by["res.partner.search_read"], 1, JSON.stringify(by));
    assert.equal(by["res.partner.create"], undefined, JSON.stringify(by));
    for (const [i, o] of orders.entries()) {
      const so = fx.emu.data.row("sale.order", salesOf(o)[0] as number);
      assert.equal(so?.partner_id, who[i % who.length]?.id);
    }
  });

  test("an order Odoo refuses fails alone with Odoo's reason; the others of its batch are created once", async () => {
    const writer = fx.connect({}, "erp").writers.order;
    assert.ok(writer);
    const orders = Array.from({ length: 5 }, () => sampleOrder(fx.skus));
    const bad = orders[2] as Order;
    // The bad order's customer is linked to a partner deleted in Odoo since: Odoo refuses its create.
    const gone = 999_999;
    const links: WriteContext = {
      resolve: async (_e, key) => (key === bad.customer.key ? String(gone) : String(partnerIds[0])),
    };
    const results = await writer.upsert(orders.map(item), links);
    const failed = results[2];
    assert.ok(failed && !failed.ok);
    assert.match(failed.error.message, /res\.partner\(999999/);
    assert.equal(failed.error.retryable, false);
    for (const [i, o] of orders.entries()) {
      if (i === 2) {
        assert.equal(salesOf(o).length, 0);
        continue;
      }
      const r = results[i];
      assert.ok(r?.ok, JSON.stringify(r));
      const ids = salesOf(o);
      assert.equal(ids.length, 1, `${o.key}: ${ids.length} sales`);
      assert.equal(fx.emu.data.row("sale.order", ids[0] as number)?.state, "sale");
      assert.equal(r.targetId, String(ids[0]));
    }
  });
});
