import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type OdooFixture, startFixture } from "../../../test/fixtures/odoo.ts";
import { InventoryLevel, SCHEMAS } from "../../core/model.ts";
import type { Cursor, ListRequest, Stream } from "../../ports/connector.ts";
import { isoToOdoo, odooToIso } from "./time.ts";

const FAR = "2999-01-01T00:00:00Z";
const req = (pageSize: number, since: Cursor | null = null): ListRequest => ({
  since,
  signpost: FAR,
  pageSize,
});

async function pages<N>(stream: Stream<never, N> | Stream, r: ListRequest, max = Number.POSITIVE_INFINITY) {
  const out: unknown[][] = [];
  for await (const page of stream.list(r)) {
    out.push(page);
    if (out.length >= max) break;
  }
  return out;
}

describe("odoo streams", () => {
  let fx: OdooFixture;
  const sameSecond = "2030-06-01 12:00:00";
  let crowd: number[] = [];
  before(async () => {
    fx = await startFixture();
    // 450 customers written within one second: Odoo's write_date cannot tell them apart.
    fx.emu.data.freeze(sameSecond);
    crowd = Array.from({ length: 450 }, (_, i) =>
      fx.emu.data.create("res.partner", { name: `Crowd ${i}`, email: `crowd${i}@example.com` }),
    );
    fx.emu.data.freeze(null);
  });
  after(async () => {
    await fx.emu.close();
  });

  test("Odoo datetimes convert to ISO 8601 UTC and back", () => {
    assert.equal(odooToIso("2024-01-15 08:00:00"), "2024-01-15T08:00:00Z");
    assert.equal(isoToOdoo("2024-01-15T10:00:00+02:00"), "2024-01-15 08:00:00");
    assert.throws(() => odooToIso("15/01/2024"), /not an Odoo datetime/);
  });

  test("keyset paging reads 450 records sharing one write_date exactly once, 100 per page", async () => {
    const stream = fx.connector.streams.customer;
    assert.ok(stream);
    fx.emu.resetStats();
    const all = await pages(stream, req(100));
    const ids = all.flat().map((n) => stream.idOf(n as never));
    assert.equal(new Set(ids).size, ids.length, "a record was read twice");
    for (const id of crowd) assert.ok(ids.includes(String(id)), `customer ${id} was skipped`);
    const expected = fx.emu.data.search("res.partner", [
      ["email", "!=", false],
      ["parent_id", "=", false],
    ]).length;
    assert.equal(ids.length, expected);
    for (const p of all) assert.ok(p.length <= 100);
    assert.ok(all.length >= 5);
  });

  test("a read stopped after two pages resumes from the last cursor with nothing missed or repeated", async () => {
    const stream = fx.connector.streams.customer;
    assert.ok(stream);
    const everything = (await pages(stream, req(100))).flat().map((n) => stream.idOf(n as never));
    const firstTwo = (await pages(stream, req(100), 2)).flat();
    const last = firstTwo[firstTwo.length - 1] as never;
    const cursor = { updatedAt: stream.updatedAtOf(last), id: stream.idOf(last) };
    // The resume point lies inside the crowd that shares one second.
    assert.equal(cursor.updatedAt, odooToIso(sameSecond));
    const rest = (await pages(stream, req(100, cursor))).flat();
    const ids = [...firstTwo, ...rest].map((n) => stream.idOf(n as never));
    assert.equal(new Set(ids).size, ids.length, "resumed read repeats records");
    assert.deepEqual([...ids].sort(), [...everything].sort());
  });

  test("a record changed after the cursor is read again, and only it", async () => {
    const stream = fx.connector.streams.customer;
    assert.ok(stream);
    const all = (await pages(stream, req(500))).flat();
    const last = all[all.length - 1] as never;
    const cursor = { updatedAt: stream.updatedAtOf(last), id: stream.idOf(last) };
    fx.emu.data.freeze("2031-01-01 00:00:00");
    fx.emu.touch("res.partner", crowd[7] as number, { phone: "+33 6 00 00 00 07" });
    fx.emu.data.freeze(null);
    const after = (await pages(stream, req(100, cursor))).flat().map((n) => stream.idOf(n as never));
    assert.deepEqual(after, [String(crowd[7])]);
  });

  test("every stream maps its records to valid canonical records", async () => {
    for (const [entity, stream] of Object.entries(fx.connector.streams)) {
      const records = (await pages(stream, req(50))).flat();
      assert.ok(records.length > 0, `${entity}: no records`);
      for (const native of records) {
        const canonical = await stream.toCanonical(native as never);
        const parsed = SCHEMAS[stream.entity].safeParse(canonical);
        assert.ok(parsed.success, `${entity} ${stream.idOf(native as never)}: ${parsed.error?.message}`);
      }
    }
  });

  test("products carry their variants, options and SKUs", async () => {
    const stream = fx.connector.streams.product;
    assert.ok(stream);
    const products = await Promise.all(
      (await pages(stream, req(50))).flat().map((n) => stream.toCanonical(n as never)),
    );
    // 20 seeded templates and the seed's kit (GIFT-SET, an mrp.bom of type phantom).
    assert.equal(products.length, 21, "services (SHIP, DISCOUNT) are not catalogue products");
    const multi = products.find((p) => p.variants.length > 1);
    assert.ok(multi, "the seed has multi-variant products");
    for (const v of multi.variants) {
      assert.ok(v.sku.startsWith(`${multi.key}-`), `${v.sku} extends ${multi.key}`);
      assert.ok(Object.keys(v.options).length > 0);
    }
  });

  test("prices: key <list code>:<sku>, group from the list name, tier breaks folded in", async () => {
    const stream = fx.connector.streams.price;
    assert.ok(stream);
    const prices = await Promise.all(
      (await pages(stream, req(200))).flat().map((n) => stream.toCanonical(n as never)),
    );
    const groups = new Set(prices.map((p) => p.priceList.customerGroup));
    assert.deepEqual([...groups].sort(), ["retail", "vip", "wholesale"]);
    const tiered = prices.find((p) => p.tiers.length > 0);
    assert.ok(tiered);
    assert.equal(tiered.key, `${tiered.priceList.code}:${tiered.sku}`);
    assert.equal(tiered.tiers[0]?.minQuantity, 10);
    assert.ok(Number(tiered.tiers[0]?.price) < Number(tiered.price));
    assert.equal(tiered.priceList.currency, "EUR");
  });

  test("inventory: one level per variant and warehouse, available = on hand − reserved", async () => {
    const stream = fx.connector.streams.inventory;
    assert.ok(stream);
    const levels = await Promise.all(
      (await pages(stream, req(100)))
        .flat()
        .map(async (n) => InventoryLevel.parse(await stream.toCanonical(n as never))),
    );
    assert.equal(levels.length, fx.skus.length * 2);
    assert.deepEqual([...new Set(levels.map((l) => l.location))].sort(), ["WH", "WH2"]);
    for (const l of levels) {
      assert.equal(l.key, `${l.sku}@${l.location}`);
      assert.equal(l.available, Math.max(0, l.onHand - l.reserved));
    }
  });

  test("a sub-location's stock is summed into its warehouse", async () => {
    const stream = fx.connector.streams.inventory;
    assert.ok(stream);
    const whStock = fx.emu.data.search("stock.location", [["complete_name", "=", "WH/Stock"]])[0] as number;
    const shelf = fx.emu.data.create("stock.location", {
      name: "Shelf 1",
      location_id: whStock,
      usage: "internal",
    });
    const [variant] = fx.emu.data.search("product.product", [["default_code", "=", fx.skus[0]?.sku]]);
    const before = fx.emu.data
      .read(
        "stock.quant",
        fx.emu.data.search("stock.quant", [
          ["product_id", "=", variant],
          ["location_id", "=", whStock],
        ]),
        ["quantity"],
      )
      .reduce((s, q) => s + Number(q.quantity), 0);
    fx.emu.data.freeze("2032-01-01 00:00:00");
    fx.emu.data.create("stock.quant", {
      product_id: variant,
      location_id: shelf,
      quantity: 7,
      reserved_quantity: 0,
    });
    fx.emu.data.freeze(null);
    const changed = (await pages(stream, req(100, { updatedAt: "2031-12-31T00:00:00Z", id: "0" }))).flat();
    const levels = await Promise.all(changed.map((n) => stream.toCanonical(n as never)));
    assert.equal(levels.length, 1);
    assert.equal(levels[0]?.key, `${fx.skus[0]?.sku}@WH`);
    assert.equal(levels[0]?.onHand, before + 7);
  });

  test("inventory: the lead time of the vendor Odoo would pick (sequence, variant rows, validity)", async () => {
    const stream = fx.connector.streams.inventory;
    assert.ok(stream);
    const [a, b] = [fx.skus[1]?.sku, fx.skus[2]?.sku];
    const variantOf = (sku: string | undefined) =>
      fx.emu.data.search("product.product", [["default_code", "=", sku]])[0] as number;
    const templateOf = (v: number) =>
      fx.emu.data.read("product.product", [v], ["product_tmpl_id"])[0]?.product_tmpl_id as [number, string];
    const [va, vb] = [variantOf(a), variantOf(b)];
    const vendor = fx.emu.data.create("res.partner", { name: "Vendor Ltd" });
    fx.emu.data.freeze("2033-01-01 00:00:00");
    // a: an expired row first by sequence, then the template's row for every variant.
    fx.emu.data.create("product.supplierinfo", {
      partner_id: vendor,
      product_tmpl_id: templateOf(va)[0],
      sequence: 1,
      delay: 2,
      date_end: "2001-01-01",
    });
    fx.emu.data.create("product.supplierinfo", {
      partner_id: vendor,
      product_tmpl_id: templateOf(va)[0],
      sequence: 5,
      delay: 9,
    });
    // b: a row for another variant of its template comes first and does not apply to b.
    const other = fx.emu.data
      .search("product.product", [["product_tmpl_id", "=", templateOf(vb)[0]]])
      .find((v) => v !== vb);
    if (other !== undefined)
      fx.emu.data.create("product.supplierinfo", {
        partner_id: vendor,
        product_tmpl_id: templateOf(vb)[0],
        product_id: other,
        sequence: 1,
        delay: 30,
      });
    fx.emu.data.create("product.supplierinfo", {
      partner_id: vendor,
      product_tmpl_id: templateOf(vb)[0],
      product_id: vb,
      sequence: 2,
      delay: 4,
    });
    for (const v of [va, vb]) {
      const quants = fx.emu.data.search("stock.quant", [["product_id", "=", v]]);
      fx.emu.data.write("stock.quant", quants, { quantity: 0, reserved_quantity: 0 });
    }
    fx.emu.data.freeze(null);
    const changed = (await pages(stream, req(100, { updatedAt: "2032-12-31T00:00:00Z", id: "0" }))).flat();
    const levels = await Promise.all(changed.map((n) => stream.toCanonical(n as never)));
    const lead = (sku: string | undefined) => levels.filter((l) => l.sku === sku).map((l) => l.leadTimeDays);
    assert.deepEqual(lead(a), [9, 9], "the template's valid row, the expired one passed over");
    assert.deepEqual(lead(b), [4, 4], "b's own row; the other variant's row does not apply");
    const untouched = levels.filter((l) => l.sku !== a && l.sku !== b);
    assert.ok(untouched.every((l) => l.leadTimeDays === undefined));
  });

  test("shipments name the shop's order through the sale's client reference", async () => {
    const stream = fx.connector.streams.shipment;
    assert.ok(stream);
    const [so] = fx.emu.data.search("sale.order", [["state", "=", "sale"]], { limit: 1, order: "id asc" });
    assert.ok(so);
    fx.emu.data.write("sale.order", [so], { client_order_ref: "shopify:#1042" });
    const picking = fx.emu.data.search("stock.picking", [["sale_id", "=", so]])[0] as number;
    if (fx.emu.data.row("stock.picking", picking)?.state !== "done") {
      fx.emu.data.write("stock.picking", [picking], { carrier_tracking_ref: "TRACK-1042" });
      fx.emu.data.methods.get("stock.picking")?.get("button_validate")?.(fx.emu.data, [picking], {});
    }
    const native = await stream.get(String(picking));
    assert.ok(native);
    const shipment = await stream.toCanonical(native);
    assert.equal(shipment.orderKey, "shopify:#1042");
    assert.equal(shipment.orderNumber, "#1042");
    assert.ok(shipment.trackingNumbers.length > 0);
    assert.ok(shipment.lines.length > 0);
  });

  test("invoices point at their PDF and their order", async () => {
    const stream = fx.connector.streams.invoice;
    assert.ok(stream);
    const [first] = (await pages(stream, req(5))).flat();
    assert.ok(first);
    const invoice = await stream.toCanonical(first as never);
    assert.match(invoice.document?.ref ?? "", /\/report\/pdf\/account\.report_invoice\/\d+$/);
    assert.ok(invoice.orderKey);
    assert.ok(invoice.customerKey?.includes("@"));
  });

  test("get() returns null for an unknown id", async () => {
    for (const stream of Object.values(fx.connector.streams)) {
      assert.equal(await stream.get("999999"), null, stream.entity);
    }
  });
});
