/**
 * Odoo kits (mrp.bom of type phantom) read by the product and inventory streams, against the emulator: its
 * seed has one kit, "GIFT-SET", made of 2 × the next-to-last seeded variant and 1 × the last one.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type OdooFixture, startFixture } from "../../../../test/fixtures/odoo.ts";
import { compareCursors } from "../../../core/cursor.ts";
import { SyncError } from "../../../core/errors.ts";
import { availableToSell, type InventoryLevelInput, type Product } from "../../../core/model.ts";
import type { Cursor, ListRequest, Stream } from "../../../ports/connector.ts";

const FAR = "2999-01-01T00:00:00Z";
const req = (pageSize: number, since: Cursor | null = null): ListRequest => ({
  since,
  signpost: FAR,
  pageSize,
});

async function all<N>(stream: Stream<never, N>, r: ListRequest): Promise<N[]> {
  const out: N[] = [];
  for await (const page of stream.list(r)) out.push(...page);
  return out;
}

const cursorOf = <N>(stream: Stream<never, N>, n: N): Cursor => ({
  updatedAt: stream.updatedAtOf(n),
  id: stream.idOf(n),
});

/** The records after the cursor, as the engine keeps them (a source re-reads the cursor's second). */
async function afterCursor<N>(stream: Stream<never, N>, cursor: Cursor, pageSize = 100): Promise<N[]> {
  return (await all(stream, req(pageSize, cursor))).filter(
    (n) => compareCursors(cursorOf(stream, n), cursor) > 0,
  );
}

describe("odoo kits (mrp.bom of type phantom)", () => {
  let fx: OdooFixture;
  let products: Stream<never, unknown>;
  let inventory: Stream<never, unknown>;
  /** The kit's components: variant id and SKU, in the BoM's order (2 ×, then 1 ×). */
  let parts: { id: number; sku: string; quantity: number }[];
  let kitTemplate: number;
  let kitVariant: number;

  before(async () => {
    fx = await startFixture();
    products = fx.connector.streams.product as unknown as Stream<never, unknown>;
    inventory = fx.connector.streams.inventory as unknown as Stream<never, unknown>;
    const [bom] = fx.emu.data.read("mrp.bom", fx.emu.data.search("mrp.bom", [["type", "=", "phantom"]]), [
      "product_tmpl_id",
      "bom_line_ids",
    ]);
    assert.ok(bom, "the seed has a kit");
    kitTemplate = (bom.product_tmpl_id as [number, string])[0];
    kitVariant = fx.emu.data.search("product.product", [["product_tmpl_id", "=", kitTemplate]])[0] as number;
    parts = fx.emu.data
      .read("mrp.bom.line", bom.bom_line_ids as number[], ["product_id", "product_qty"])
      .map((l) => {
        const id = (l.product_id as [number, string])[0];
        const sku = String(fx.emu.data.read("product.product", [id], ["default_code"])[0]?.default_code);
        return { id, sku, quantity: Number(l.product_qty) };
      });
  });
  after(async () => {
    await fx.emu.close();
  });

  const canonicalProducts = async (r: ListRequest) => {
    const out: Product[] = [];
    for (const n of r.since ? await afterCursor(products, r.since, r.pageSize) : await all(products, r))
      out.push((await products.toCanonical(n)) as Product);
    return out;
  };
  const levels = async (r: ListRequest) => {
    const natives = r.since ? await afterCursor(inventory, r.since, r.pageSize) : await all(inventory, r);
    return Promise.all(natives.map(async (n) => (await inventory.toCanonical(n)) as InventoryLevelInput));
  };
  /** What a component may sell in a warehouse, from the emulator's quants (as the stream sums them). */
  const availableIn = (variant: number, warehouse: string) => {
    const stock = fx.emu.data.search("stock.location", [["complete_name", "=like", `${warehouse}/Stock%`]]);
    const quants = fx.emu.data.read(
      "stock.quant",
      fx.emu.data.search("stock.quant", [
        ["product_id", "=", variant],
        ["location_id", "in", stock],
      ]),
      ["quantity", "reserved_quantity"],
    );
    const onHand = Math.floor(quants.reduce((s, q) => s + Number(q.quantity), 0));
    const reserved = Math.max(0, Math.ceil(quants.reduce((s, q) => s + Number(q.reserved_quantity), 0)));
    return availableToSell({ onHand, reserved, safetyStock: 0 });
  };
  const expectedKits = (warehouse: string) =>
    Math.min(...parts.map((p) => Math.floor(availableIn(p.id, warehouse) / p.quantity)));

  test("the kit product carries its BoM's components, SKU and units per kit", async () => {
    const kit = (await canonicalProducts(req(50))).find((p) => p.key === "GIFT-SET");
    assert.ok(kit);
    const bySku = (a: { sku: string }, b: { sku: string }) => (a.sku < b.sku ? -1 : 1);
    assert.deepEqual(
      [...kit.components].sort(bySku),
      parts.map((p) => ({ sku: p.sku, quantity: p.quantity })).sort(bySku),
    );
    assert.deepEqual(
      parts.map((p) => p.quantity),
      [2, 1],
    );
  });

  test("the kit's level per warehouse is the minimum over its components, and it has no other level", async () => {
    // A quant of the kit itself (stock counted before it became a kit) is not read as a level of its own.
    const wh = fx.emu.data.search("stock.location", [["complete_name", "=", "WH/Stock"]])[0] as number;
    fx.emu.data.create("stock.quant", { product_id: kitVariant, location_id: wh, quantity: 500 });
    const read = await levels(req(100));
    const kit = read.filter((l) => l.sku === "GIFT-SET");
    assert.deepEqual(kit.map((l) => l.location).sort(), ["WH", "WH2"]);
    for (const l of kit) {
      assert.equal(l.onHand, expectedKits(l.location), l.key);
      assert.equal(l.reserved, 0);
    }
    assert.equal(new Set(read.map((l) => l.key)).size, read.length, "one level per SKU and location");
  });

  test("whatever the page size, each level comes once, in strictly ascending cursor order", async () => {
    const whole = (await all(inventory, req(500))).map((n) => inventory.idOf(n)).sort();
    for (const size of [3, 7, 40]) {
      const natives = await all(inventory, req(size));
      const ids = natives.map((n) => inventory.idOf(n));
      assert.deepEqual([...ids].sort(), whole, `page size ${size}`);
      for (let i = 1; i < natives.length; i++) {
        const [a, b] = [natives[i - 1], natives[i]];
        assert.ok(
          compareCursors(cursorOf(inventory, a), cursorOf(inventory, b)) < 0,
          `page size ${size} at ${i}`,
        );
      }
    }
  });

  test("a component's stock move re-emits the kit's level in the next incremental run", async () => {
    const natives = await all(inventory, req(100));
    const cursor = cursorOf(inventory, natives[natives.length - 1]);
    const [a] = parts;
    assert.ok(a);
    const wh2 = fx.emu.data.search("stock.location", [["complete_name", "=", "WH2/Stock"]]);
    const [quant] = fx.emu.data.search("stock.quant", [
      ["product_id", "=", a.id],
      ["location_id", "in", wh2],
    ]);
    assert.ok(quant);
    fx.emu.data.freeze("2040-01-01 00:00:00");
    fx.emu.touch("stock.quant", quant, { quantity: 1000, reserved_quantity: 0 });
    fx.emu.data.freeze(null);
    const changed = await levels(req(100, cursor));
    assert.deepEqual(changed.map((l) => l.key).sort(), [`${a.sku}@WH2`, "GIFT-SET@WH2"]);
    const kit = changed.find((l) => l.sku === "GIFT-SET");
    assert.equal(kit?.onHand, expectedKits("WH2"));
    // Read again from a cursor between the component's level and the kit's: only the kit's comes.
    const first = (await afterCursor(inventory, cursor))[0];
    const rest = await levels(req(100, cursorOf(inventory, first)));
    assert.deepEqual(
      rest.map((l) => l.key),
      ["GIFT-SET@WH2"],
    );
    // The kit's level can be fetched by its id.
    const again = await inventory.get(String(kit?.sourceId));
    assert.ok(again);
    assert.equal(((await inventory.toCanonical(again)) as InventoryLevelInput).onHand, kit?.onHand);
  });

  test("a BoM edited (the BoM or one of its lines) makes the kit product read again", async () => {
    const before = await all(products, req(50));
    const cursor = cursorOf(products, before[before.length - 1]);
    const bom = fx.emu.data.search("mrp.bom", [["product_tmpl_id", "=", kitTemplate]])[0] as number;
    const [line] = fx.emu.data.search("mrp.bom.line", [["bom_id", "=", bom]], { order: "id asc" });
    assert.ok(line);
    fx.emu.data.freeze("2041-01-01 00:00:00");
    fx.emu.touch("mrp.bom.line", line, { product_qty: 3 });
    fx.emu.data.freeze(null);
    const afterLine = await canonicalProducts(req(50, cursor));
    assert.deepEqual(
      afterLine.map((p) => p.key),
      ["GIFT-SET"],
    );
    const first = parts[0] as { sku: string };
    assert.equal(afterLine[0]?.components.find((c) => c.sku === first.sku)?.quantity, 3);
    const next = cursorOf(products, (await afterCursor(products, cursor))[0]);
    fx.emu.data.freeze("2041-01-02 00:00:00");
    fx.emu.touch("mrp.bom", bom, { active: false });
    fx.emu.data.freeze(null);
    const afterBom = await canonicalProducts(req(50, next));
    assert.deepEqual(
      afterBom.map((p) => [p.key, p.components]),
      [["GIFT-SET", []]],
      "an archived BoM makes no kit",
    );
    fx.emu.touch("mrp.bom", bom, { active: true });
    fx.emu.touch("mrp.bom.line", line, { product_qty: 2 });
  });

  test("a kit whose units per kit are not whole fails alone, naming the component and the quantity", async () => {
    const [a] = parts;
    assert.ok(a);
    const odd = fx.emu.data.create("product.template", {
      name: "Odd kit",
      default_code: "ODD-KIT",
      list_price: 9,
    });
    fx.emu.data.create("product.product", { product_tmpl_id: odd, default_code: "ODD-KIT" });
    fx.emu.data.create("mrp.bom", {
      product_tmpl_id: odd,
      type: "phantom",
      product_qty: 2,
      bom_line_ids: [[0, 0, { product_id: a.id, product_qty: 3 }]],
    });
    const natives = await all(products, req(50));
    let failed = 0;
    for (const n of natives) {
      try {
        await products.toCanonical(n);
      } catch (e) {
        failed++;
        assert.ok(e instanceof SyncError);
        assert.equal(e.kind, "data");
        assert.match(e.message, new RegExp(`kit ODD-KIT: component ${a.sku} is 1\\.5 per kit`));
      }
    }
    assert.equal(failed, 1, "only the odd kit fails");
    // Its level fails the same way, alone.
    let levelFailures = 0;
    for (const n of await all(inventory, req(200))) {
      try {
        await inventory.toCanonical(n);
      } catch (e) {
        levelFailures++;
        assert.match(String((e as Error).message), /kit ODD-KIT: component .* is 1\.5 per kit/);
      }
    }
    assert.equal(levelFailures, 2, "its level in each warehouse");
  });

  test("a variant's own BoM comes before its template's at the same sequence", async () => {
    const [a, b] = parts;
    assert.ok(a && b);
    const t = fx.emu.data.create("product.template", { name: "Duo", default_code: "DUO", list_price: 9 });
    const v = fx.emu.data.create("product.product", { product_tmpl_id: t, default_code: "DUO" });
    fx.emu.data.create("mrp.bom", {
      product_tmpl_id: t,
      type: "phantom",
      bom_line_ids: [[0, 0, { product_id: a.id, product_qty: 1 }]],
    });
    fx.emu.data.create("mrp.bom", {
      product_tmpl_id: t,
      product_id: v,
      type: "phantom",
      bom_line_ids: [[0, 0, { product_id: b.id, product_qty: 4 }]],
    });
    // A manufacturing BoM (type normal) is no kit, whatever its sequence.
    fx.emu.data.create("mrp.bom", {
      product_tmpl_id: t,
      type: "normal",
      sequence: -1,
      bom_line_ids: [[0, 0, { product_id: a.id, product_qty: 9 }]],
    });
    const native = await products.get(String(t));
    assert.ok(native);
    const duo = (await products.toCanonical(native)) as Product;
    assert.deepEqual(duo?.components, [{ sku: b.sku, quantity: 4 }]);
  });
});

describe("odoo without Manufacturing (no mrp module)", () => {
  let fx: OdooFixture;
  before(async () => {
    fx = await startFixture({ fresh: true });
  });
  after(async () => {
    await fx.emu.close();
  });

  test("no kits are read and nothing fails", async () => {
    assert.equal(fx.emu.data.models.has("mrp.bom"), false, "the fresh database has no Manufacturing");
    const t = fx.emu.data.create("product.template", { name: "Mug", default_code: "MUG", list_price: 8 });
    const v = fx.emu.data.create("product.product", { product_tmpl_id: t, default_code: "MUG" });
    const stock = fx.emu.data.search("stock.location", [["complete_name", "=", "WH/Stock"]])[0] as number;
    fx.emu.data.create("stock.quant", { product_id: v, location_id: stock, quantity: 4 });
    const products = fx.connector.streams.product as unknown as Stream<never, unknown>;
    const inventory = fx.connector.streams.inventory as unknown as Stream<never, unknown>;
    fx.emu.resetStats();
    const read = await Promise.all((await all(products, req(50))).map((n) => products.toCanonical(n)));
    assert.deepEqual(
      (read as Product[]).map((p) => [p.key, p.components]),
      [["MUG", []]],
    );
    const levels = await Promise.all((await all(inventory, req(50))).map((n) => inventory.toCanonical(n)));
    assert.deepEqual(
      (levels as InventoryLevelInput[]).map((l) => [l.key, l.onHand]),
      [["MUG@WH", 4]],
    );
    const asked = Object.keys(fx.emu.stats.byMethod).filter((m) => m.startsWith("mrp."));
    assert.deepEqual(asked, ["mrp.bom.check_access_rights"], "no BoM read");
    assert.equal(fx.emu.stats.byMethod["mrp.bom.check_access_rights"], 1, "asked once per connection");
  });
});

describe("odoo whose user may not read bills of materials", () => {
  let fx: OdooFixture;
  before(async () => {
    fx = await startFixture({ denied: { "mrp.bom": ["read"] } });
  });
  after(async () => {
    await fx.emu.close();
  });

  test("reads no kits and fails nothing (doctor names the missing right)", async () => {
    const products = fx.connector.streams.product as unknown as Stream<never, unknown>;
    const read = (await Promise.all(
      (await all(products, req(50))).map((n) => products.toCanonical(n)),
    )) as Product[];
    const kit = read.find((p) => p.key === "GIFT-SET");
    assert.deepEqual(kit?.components, []);
    assert.ok(read.every((p) => p.components.length === 0));
    const asked = Object.keys(fx.emu.stats.byMethod).filter((m) => m.startsWith("mrp."));
    assert.deepEqual(asked, ["mrp.bom.check_access_rights"]);
  });
});
