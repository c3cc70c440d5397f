import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type OdooFixture, sampleCustomer, sampleOrder, startFixture } from "../../../test/fixtures/odoo.ts";
import type { Order } from "../../core/model.ts";
import type { WriteContext, WriteItem } from "../../ports/connector.ts";

const noLinks: WriteContext = { resolve: async () => null };
const item = (record: Order, targetId: string | null = null): WriteItem<"order"> => ({
  key: record.key,
  record,
  targetId,
  externalRef: record.key,
});

describe("odoo writers", () => {
  let fx: OdooFixture;
  before(async () => {
    fx = await startFixture();
  });
  after(async () => {
    await fx.emu.close();
  });

  test("an order is created confirmed, with the shop's key as client reference and matching totals", async () => {
    const writer = fx.connector.writers.order;
    assert.ok(writer);
    const order = sampleOrder(fx.skus, { lines: 3, discount: "2.50", orderDiscount: "5.00" });
    const [result] = await writer.upsert([item(order)], noLinks);
    assert.ok(result?.ok, result && !result.ok ? result.error.message : "");
    assert.equal(result.action, "created");
    const [so] = fx.emu.data.read(
      "sale.order",
      [Number(result.targetId)],
      ["state", "client_order_ref", "amount_total", "order_line", "picking_ids"],
    );
    assert.equal(so?.state, "sale");
    assert.equal(so?.client_order_ref, order.key);
    assert.equal(Number(so?.amount_total).toFixed(2), order.total);
    assert.equal((so?.picking_ids as number[] | undefined)?.length, 1, "confirming creates the delivery");
    const lines = fx.emu.data.read("sale.order.line", so?.order_line as number[], [
      "is_delivery",
      "price_unit",
      "name",
    ]);
    assert.equal(lines.filter((l) => l.is_delivery === true).length, 1);
    assert.deepEqual(
      lines
        .filter((l) => Number(l.price_unit) < 0)
        .map((l) => Number(l.price_unit))
        .sort((a, b) => a - b),
      [-5, -2.5],
    );
  });

  test("writing the same order twice creates one sale; the second write is found by reference and writes nothing", async () => {
    const writer = fx.connector.writers.order;
    assert.ok(writer);
    const order = sampleOrder(fx.skus);
    const [first] = await writer.upsert([item(order)], noLinks);
    assert.ok(first?.ok);
    assert.equal(await writer.findByExternalRef(order.key, order), first.targetId);
    fx.emu.resetStats();
    // As after a crash between "created in Odoo" and "link recorded": no targetId.
    const [second] = await writer.upsert([item(order)], noLinks);
    assert.ok(second?.ok);
    assert.equal(second.targetId, first.targetId);
    assert.equal(second.action, "unchanged");
    assert.equal(fx.emu.stats.writes, 0);
    assert.equal(fx.emu.data.search("sale.order", [["client_order_ref", "=", order.key]]).length, 1);
  });

  test("an unknown SKU fails that order alone, naming the SKU and the order; its siblings are written", async () => {
    const writer = fx.connector.writers.order;
    assert.ok(writer);
    const good1 = sampleOrder(fx.skus);
    const bad = sampleOrder(fx.skus);
    bad.lines[0] = { ...(bad.lines[0] as Order["lines"][number]), sku: "NO-SUCH-SKU" };
    const good2 = sampleOrder(fx.skus);
    const results = await writer.upsert([item(good1), item(bad), item(good2)], noLinks);
    const byKey = new Map(results.map((r) => [r.key, r]));
    const badResult = byKey.get(bad.key);
    assert.ok(badResult && !badResult.ok);
    assert.equal(badResult.error.kind, "permanent");
    assert.match(badResult.error.message, /NO-SUCH-SKU/);
    assert.ok(badResult.error.message.includes(bad.key));
    assert.ok(byKey.get(good1.key)?.ok);
    assert.ok(byKey.get(good2.key)?.ok);
    assert.equal(fx.emu.data.search("sale.order", [["client_order_ref", "=", bad.key]]).length, 0);
  });

  test("a total Odoo does not agree with is a data error, and the sale stays an unconfirmed quotation", async () => {
    const writer = fx.connector.writers.order;
    assert.ok(writer);
    const original = sampleOrder(fx.skus);
    const order = { ...original, total: "1.00" };
    const [result] = await writer.upsert([item(order)], noLinks);
    assert.ok(result && !result.ok);
    assert.equal(result.error.kind, "data");
    assert.match(result.error.message, /1\.00/);
    const [id] = fx.emu.data.search("sale.order", [["client_order_ref", "=", order.key]]);
    assert.ok(id);
    assert.equal(fx.emu.data.row("sale.order", id)?.state, "draft");
    assert.equal(fx.emu.data.search("stock.picking", [["sale_id", "=", id]]).length, 0, "nothing to ship");
    // Fixed and retried: the same quotation is rewritten and confirmed, not duplicated.
    const [retry] = await writer.upsert([item(original)], noLinks);
    assert.ok(retry?.ok, retry && !retry.ok ? retry.error.message : "");
    assert.equal(retry.targetId, String(id));
    assert.equal(fx.emu.data.row("sale.order", id)?.state, "sale");
  });

  test("the customer is resolved through the link store when it has one", async () => {
    const writer = fx.connector.writers.order;
    assert.ok(writer);
    const [partner] = fx.emu.data.search("res.partner", [["email", "!=", false]], { limit: 1 });
    const order = sampleOrder(fx.skus);
    const [result] = await writer.upsert([item(order)], {
      resolve: async (entity) => (entity === "customer" ? String(partner) : null),
    });
    assert.ok(result?.ok);
    assert.equal(fx.emu.data.row("sale.order", Number(result.targetId))?.partner_id, partner);
  });

  test("customers: created with a child delivery address, found by e-mail, unchanged on a repeat", async () => {
    const writer = fx.connector.writers.customer;
    assert.ok(writer);
    const c = sampleCustomer(2);
    const [created] = await writer.upsert(
      [{ key: c.key, record: c, targetId: null, externalRef: c.key }],
      noLinks,
    );
    assert.ok(created?.ok);
    assert.equal(created.action, "created");
    const id = Number(created.targetId);
    const [row] = fx.emu.data.read("res.partner", [id], ["child_ids", "property_product_pricelist", "city"]);
    assert.equal((row?.child_ids as number[] | undefined)?.length, 1);
    assert.deepEqual(row?.property_product_pricelist, [2, "Wholesale EUR"]);
    assert.equal(await writer.findByExternalRef(c.key, { ...c, email: c.email.toUpperCase() }), String(id));
    fx.emu.resetStats();
    const [again] = await writer.upsert(
      [{ key: c.key, record: c, targetId: String(id), externalRef: c.key }],
      noLinks,
    );
    assert.ok(again?.ok);
    assert.equal(again.action, "unchanged");
    assert.equal(fx.emu.stats.writes, 0);
    const [moved] = await writer.upsert(
      [
        {
          key: c.key,
          record: { ...c, phone: "+33 9 99 99 99 99" },
          targetId: String(id),
          externalRef: c.key,
        },
      ],
      noLinks,
    );
    assert.ok(moved?.ok);
    assert.equal(moved.action, "updated");
    assert.equal(fx.emu.data.row("res.partner", id)?.phone, "+33 9 99 99 99 99");
  });
});

describe("odoo customer writer: addresses of a known partner", () => {
  let fx: OdooFixture;
  before(async () => {
    fx = await startFixture();
  });
  after(async () => {
    await fx.emu.close();
  });

  const children = (id: number) =>
    fx.emu.data
      .read(
        "res.partner",
        fx.emu.data.search("res.partner", [
          ["parent_id", "=", id],
          ["active", "in", [true, false]],
        ]),
        ["type", "street", "city", "active"],
      )
      .map((r) => [r.type, r.street, r.city, r.active]);

  test("a new address of a known customer is added as a child partner, once; an archived one is not added back", async () => {
    const writer = fx.connector.writers.customer;
    assert.ok(writer);
    const c = sampleCustomer(3);
    const [created] = await writer.upsert(
      [{ key: c.key, record: c, targetId: null, externalRef: c.key }],
      noLinks,
    );
    assert.ok(created?.ok);
    const id = Number(created.targetId);
    const billing = {
      type: "billing" as const,
      line1: "8 rue de la Paix",
      city: "Paris",
      postalCode: "75002",
      country: "FR",
    };
    const edited = { ...c, addresses: [...c.addresses, billing] };
    const write = async () => {
      const [r] = await writer.upsert(
        [{ key: c.key, record: edited, targetId: String(id), externalRef: c.key }],
        noLinks,
      );
      assert.ok(r?.ok, r && !r.ok ? r.error.message : "");
      return r.action;
    };
    assert.equal(await write(), "updated");
    assert.deepEqual(children(id), [
      ["delivery", "5 quai Perrache", "Lyon", true],
      ["invoice", "8 rue de la Paix", "Paris", true],
    ]);
    assert.equal(await write(), "unchanged", "the address is there now: nothing written");
    // The merchant archives the invoice address in Odoo: the shop still sending it does not bring it back.
    const [invoice] = fx.emu.data.search("res.partner", [
      ["parent_id", "=", id],
      ["type", "=", "invoice"],
    ]);
    fx.emu.data.write("res.partner", [invoice as number], { active: false });
    assert.equal(await write(), "unchanged");
    assert.equal(children(id).length, 2);
  });
});
