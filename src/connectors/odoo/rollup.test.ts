import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type OdooFixture, startFixture } from "../../../test/fixtures/odoo.ts";
import { compareCursors } from "../../core/cursor.ts";
import type { Cursor, ListRequest, Stream } from "../../ports/connector.ts";

const FAR = "2999-01-01T00:00:00Z";
const req = (pageSize: number, since: Cursor | null = null): ListRequest => ({
  since,
  signpost: FAR,
  pageSize,
});

async function readAll<N>(stream: Stream<never, N> | Stream, r: ListRequest, max = Number.POSITIVE_INFINITY) {
  const out: unknown[] = [];
  let pages = 0;
  for await (const page of stream.list(r)) {
    out.push(...page);
    if (++pages >= max) break;
  }
  return out;
}

function cursorOf(stream: Stream, native: unknown): Cursor {
  return { updatedAt: stream.updatedAtOf(native), id: stream.idOf(native) };
}

/** The cursor after a full read of the stream. */
async function endCursor(stream: Stream): Promise<Cursor> {
  const all = await readAll(stream, req(100));
  return cursorOf(stream, all[all.length - 1]);
}

function templateOf(fx: OdooFixture, variant: number): number {
  const [row] = fx.emu.data.read("product.product", [variant], ["product_tmpl_id"]);
  const tmpl = row?.product_tmpl_id;
  assert.ok(Array.isArray(tmpl) && typeof tmpl[0] === "number");
  return tmpl[0];
}

/**
 * Resumes `stream` after all but the last two records of `full` (a read from a cursor that cost
 * `fullCalls`): the same last two come back, for fewer than half the calls.
 */
async function resumeBeforeLastTwo(fx: OdooFixture, stream: Stream, full: unknown[], fullCalls: number) {
  const resume = cursorOf(stream, full[full.length - 3]);
  fx.emu.resetStats();
  const rest = await readAll(stream, req(2, resume));
  assert.deepEqual(
    rest.map((n) => stream.idOf(n as never)),
    full.slice(-2).map((n) => stream.idOf(n as never)),
  );
  assert.ok(
    fx.emu.stats.calls * 2 < fullCalls,
    `resumed read made ${fx.emu.stats.calls} calls, the full read ${fullCalls}`,
  );
}

/** Each test writes at its own, later second, so each starts after every earlier write. */
let second = 0;
function at(fx: OdooFixture, write: () => void): string {
  const stamp = `2040-01-01 00:${String(Math.floor(second / 60)).padStart(2, "0")}:${String(second % 60).padStart(2, "0")}`;
  second++;
  fx.emu.data.freeze(stamp);
  try {
    write();
  } finally {
    fx.emu.data.freeze(null);
  }
  return `${stamp.replace(" ", "T")}Z`;
}

describe("odoo incremental reads see changes made only to children", () => {
  let fx: OdooFixture;
  before(async () => {
    fx = await startFixture();
  });
  after(async () => {
    await fx.emu.close();
  });

  test("emulator: writing a variant leaves its template's write_date alone, as Odoo does", () => {
    const [variant] = fx.emu.data.search("product.product", [["default_code", "=", fx.skus[0]?.sku]]);
    assert.ok(variant);
    const tmpl = fx.emu.data.read("product.product", [variant], ["product_tmpl_id"])[0]?.product_tmpl_id;
    assert.ok(Array.isArray(tmpl));
    const before = fx.emu.data.row("product.template", tmpl[0] as number)?.write_date;
    at(fx, () => fx.emu.data.write("product.product", [variant], { barcode: "4006381333931" }));
    assert.equal(fx.emu.data.row("product.template", tmpl[0] as number)?.write_date, before);
  });

  test("product: a variant's new barcode brings its template back once, with the barcode", async () => {
    const stream = fx.connector.streams.product;
    assert.ok(stream);
    const cursor = await endCursor(stream);
    const [variant] = fx.emu.data.search("product.product", [["default_code", "=", fx.skus[3]?.sku]]);
    assert.ok(variant);
    const tmpl = templateOf(fx, variant);
    const when = at(fx, () => fx.emu.data.write("product.product", [variant], { barcode: "5901234123457" }));
    const changed = (await readAll(stream, req(100, cursor))).filter(
      (n) => compareCursors(cursorOf(stream, n), cursor) > 0,
    );
    assert.deepEqual(
      changed.map((n) => stream.idOf(n as never)),
      [String(tmpl)],
    );
    const product = await stream.toCanonical(changed[0] as never);
    assert.equal(product.updatedAt, when);
    assert.equal(product.variants.find((v) => v.sku === fx.skus[3]?.sku)?.barcode, "5901234123457");
  });

  test("product: a new price extra on an attribute value (Odoo 16+) brings the template back", async () => {
    const stream = fx.connector.streams.product;
    assert.ok(stream);
    const cursor = await endCursor(stream);
    const sized = fx.emu.data.search("product.product", [
      ["product_template_attribute_value_ids", "!=", false],
    ]);
    const [variant] = fx.emu.data.read("product.product", sized.slice(0, 1), [
      "product_template_attribute_value_ids",
      "product_tmpl_id",
      "default_code",
      "lst_price",
    ]);
    assert.ok(variant);
    const value = (variant.product_template_attribute_value_ids as number[])[0] as number;
    const extra = Number(fx.emu.data.row("product.template.attribute.value", value)?.price_extra);
    at(fx, () => fx.emu.data.write("product.template.attribute.value", [value], { price_extra: extra + 5 }));
    const changed = (await readAll(stream, req(100, cursor))).filter(
      (n) => compareCursors(cursorOf(stream, n), cursor) > 0,
    );
    assert.deepEqual(
      changed.map((n) => stream.idOf(n as never)),
      [String((variant.product_tmpl_id as [number])[0])],
    );
    const product = await stream.toCanonical(changed[0] as never);
    const v = product.variants.find((x) => x.sku === variant.default_code);
    assert.equal(v?.price, (Number(variant.lst_price) + 5).toFixed(2));
  });

  test("price: a changed tier brings its base item back once, with the new tier price", async () => {
    const stream = fx.connector.streams.price;
    assert.ok(stream);
    const cursor = await endCursor(stream);
    const [tier] = fx.emu.data.read(
      "product.pricelist.item",
      fx.emu.data.search("product.pricelist.item", [["min_quantity", ">", 1]], { limit: 1, order: "id asc" }),
      ["pricelist_id", "product_id"],
    );
    assert.ok(tier);
    const [base] = fx.emu.data.search("product.pricelist.item", [
      ["min_quantity", "<=", 1],
      ["pricelist_id", "=", (tier.pricelist_id as [number])[0]],
      ["product_id", "=", (tier.product_id as [number])[0]],
    ]);
    at(fx, () => fx.emu.data.write("product.pricelist.item", [tier.id as number], { fixed_price: 1.23 }));
    const changed = (await readAll(stream, req(100, cursor))).filter(
      (n) => compareCursors(cursorOf(stream, n), cursor) > 0,
    );
    assert.deepEqual(
      changed.map((n) => stream.idOf(n as never)),
      [String(base)],
    );
    const price = await stream.toCanonical(changed[0] as never);
    assert.deepEqual(price.tiers, [{ minQuantity: 10, price: "1.23" }]);
  });

  test("customer: a changed child address brings the customer back once, with the address", async () => {
    const stream = fx.connector.streams.customer;
    assert.ok(stream);
    const cursor = await endCursor(stream);
    const [child] = fx.emu.data.read(
      "res.partner",
      fx.emu.data.search("res.partner", [["type", "=", "delivery"]], { limit: 1, order: "id asc" }),
      ["parent_id"],
    );
    assert.ok(child);
    at(fx, () => fx.emu.data.write("res.partner", [child.id as number], { street: "9 quai des Chartrons" }));
    const changed = (await readAll(stream, req(100, cursor))).filter(
      (n) => compareCursors(cursorOf(stream, n), cursor) > 0,
    );
    assert.deepEqual(
      changed.map((n) => stream.idOf(n as never)),
      [String((child.parent_id as [number])[0])],
    );
    const customer = await stream.toCanonical(changed[0] as never);
    assert.ok(customer.addresses.some((a) => a.line1 === "9 quai des Chartrons" && a.type === "shipping"));
  });

  test("customer: archiving a child address drops it from the customer, read incrementally", async () => {
    const stream = fx.connector.streams.customer;
    assert.ok(stream);
    const cursor = await endCursor(stream);
    const [child] = fx.emu.data.read(
      "res.partner",
      fx.emu.data.search("res.partner", [["type", "=", "invoice"]], { limit: 1, order: "id asc" }),
      ["parent_id", "street"],
    );
    assert.ok(child);
    at(fx, () => fx.emu.data.write("res.partner", [child.id as number], { active: false }));
    const changed = (await readAll(stream, req(100, cursor))).filter(
      (n) => compareCursors(cursorOf(stream, n), cursor) > 0,
    );
    assert.deepEqual(
      changed.map((n) => stream.idOf(n as never)),
      [String((child.parent_id as [number])[0])],
    );
    const customer = await stream.toCanonical(changed[0] as never);
    assert.ok(!customer.addresses.some((a) => a.type === "billing"));
  });

  test("order: a payment on its invoice brings the sale back, now paid", async () => {
    const stream = fx.connector.streams.order;
    assert.ok(stream);
    const unpaid = fx.emu.data.search("account.move", [
      ["move_type", "=", "out_invoice"],
      ["payment_state", "=", "not_paid"],
    ]);
    const [invoice] = fx.emu.data.read("account.move", unpaid.slice(0, 1), ["invoice_origin"]);
    assert.ok(invoice);
    const [so] = fx.emu.data.search("sale.order", [["name", "=", invoice.invoice_origin]]);
    const before = await stream.get(String(so));
    assert.ok(before);
    assert.equal((await stream.toCanonical(before)).financialStatus, "pending");
    const cursor = await endCursor(stream);
    at(fx, () => fx.emu.payInvoice(invoice.id as number));
    const changed = (await readAll(stream, req(100, cursor))).filter(
      (n) => compareCursors(cursorOf(stream, n), cursor) > 0,
    );
    assert.deepEqual(
      changed.map((n) => stream.idOf(n as never)),
      [String(so)],
    );
    assert.equal((await stream.toCanonical(changed[0] as never)).financialStatus, "paid");
  });

  test("a template changed, then its variant later: read once, at the variant's time", async () => {
    const stream = fx.connector.streams.product;
    assert.ok(stream);
    const cursor = await endCursor(stream);
    const [variant] = fx.emu.data.read(
      "product.product",
      fx.emu.data.search("product.product", [["default_code", "=", fx.skus[5]?.sku]]),
      ["product_tmpl_id"],
    );
    assert.ok(variant);
    const tmpl = (variant.product_tmpl_id as [number])[0];
    at(fx, () => fx.emu.data.write("product.template", [tmpl], { description_sale: "Now in stock" }));
    const later = at(fx, () =>
      fx.emu.data.write("product.product", [variant.id as number], { barcode: "96385074" }),
    );
    const changed = await readAll(stream, req(1, cursor));
    assert.deepEqual(
      changed.map((n) => cursorOf(stream, n)),
      [{ updatedAt: later, id: String(tmpl) }],
    );
  });

  test("templates and variants changed in one second: (updatedAt, id) order, resumable mid-second", async () => {
    const stream = fx.connector.streams.product;
    assert.ok(stream);
    const cursor = await endCursor(stream);
    const templates = fx.emu.data.search("product.template", [["type", "!=", "service"]], {
      order: "id asc",
    });
    const variantOf = (t: number) =>
      fx.emu.data.search("product.product", [["product_tmpl_id", "=", t]])[0] as number;
    // Variant ids do not follow template ids: change the variants of the last templates and the
    // first templates themselves, all within one second.
    const picked = [...templates.slice(0, 3), ...templates.slice(-3)];
    const when = at(fx, () => {
      for (const t of templates.slice(-3))
        fx.emu.data.write("product.product", [variantOf(t)], { barcode: `7${t}` });
      for (const t of templates.slice(0, 3)) fx.emu.data.write("product.template", [t], { weight: 1.5 });
    });
    const full = await readAll(stream, req(2, cursor));
    assert.deepEqual(
      full.map((n) => cursorOf(stream, n)),
      [...picked].sort((a, b) => a - b).map((id) => ({ updatedAt: when, id: String(id) })),
    );
    // Stop after the first page of two, resume from its last record: the rest, nothing repeated.
    const firstPage = await readAll(stream, req(2, cursor), 1);
    const resume = cursorOf(stream, firstPage[firstPage.length - 1]);
    const rest = (await readAll(stream, req(2, resume))).filter(
      (n) => compareCursors(cursorOf(stream, n), resume) > 0,
    );
    assert.deepEqual(
      [...firstPage, ...rest].map((n) => stream.idOf(n as never)),
      full.map((n) => stream.idOf(n as never)),
    );
  });
  test("resuming inside a second many parents share reads that second from the cursor on, not again", async () => {
    const stream = fx.connector.streams.product;
    assert.ok(stream);
    const cursor = await endCursor(stream);
    const templates = fx.emu.data.search("product.template", [["type", "!=", "service"]], {
      order: "id asc",
    });
    // An import: every variant of every template rewritten within one second.
    const when = at(fx, () => {
      for (const t of templates) {
        const variants = fx.emu.data.search("product.product", [["product_tmpl_id", "=", t]]);
        fx.emu.data.write("product.product", variants, { barcode: `8${t}` });
      }
    });
    fx.emu.resetStats();
    const full = await readAll(stream, req(2, cursor));
    const fullCalls = fx.emu.stats.calls;
    assert.deepEqual(
      full.map((n) => cursorOf(stream, n)),
      templates.map((id) => ({ updatedAt: when, id: String(id) })),
    );
    // Resume after all but the last two: the same last two come back, and the second is not re-read.
    await resumeBeforeLastTwo(fx, stream, full, fullCalls);
  });

  test("resuming inside a second of changed tiers loads only the base items after the cursor", async () => {
    const stream = fx.connector.streams.price;
    assert.ok(stream);
    const cursor = await endCursor(stream);
    const tiers = fx.emu.data.search("product.pricelist.item", [["min_quantity", ">", 1]], {
      order: "id asc",
    });
    // An import: every tier item rewritten within one second. Tier items name no parent field, so a resumed
    // read scans that second's tiers again; the base items at or before the cursor must not be loaded again.
    at(fx, () => fx.emu.data.write("product.pricelist.item", tiers, { fixed_price: 2.5 }));
    fx.emu.resetStats();
    const full = await readAll(stream, req(2, cursor));
    const fullCalls = fx.emu.stats.calls;
    assert.ok(full.length >= 6, `expected several base items with tiers, got ${full.length}`);
    await resumeBeforeLastTwo(fx, stream, full, fullCalls);
  });
});
