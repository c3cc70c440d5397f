/**
 * The PrestaShop connector's own behaviour against the emulator, beyond the contract suite: cancellations
 * (and the refusal of a shipped order's), XML escaping of names, SKUs a filter cannot hold, stock under
 * advanced stock management, own prices through base price lists, combination price impacts, the key kept
 * out of errors, and no request breaking the documented schemas.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type PrestaShopEmulator, startPrestaShopEmulator } from "@passerelle/emulators";
import { prestashopLevel, prestashopProduct } from "../../../test/fixtures/prestashop-contract.ts";
import { SyncError } from "../../core/errors.ts";
import type { Order, Price } from "../../core/model.ts";
import { fromXml, prestashopMessage, toXml } from "./client.ts";
import { PrestaShopConfig } from "./config.ts";
import { type PrestaShopConnector, prestashop } from "./index.ts";

const noLinks = { resolve: async () => null };
const item = <T extends { key: string }>(record: T, targetId: string | null = null) => ({
  key: record.key,
  record,
  targetId,
  externalRef: record.key,
});

describe("the PrestaShop connector", () => {
  let emu: PrestaShopEmulator;
  let shop: PrestaShopConnector;
  before(async () => {
    emu = await startPrestaShopEmulator({ customers: 4, seed: 2 });
    shop = prestashop.create("ps", PrestaShopConfig.parse({ url: emu.shopUrl, key: emu.key }));
    const r = await shop.writers.product!.upsert(
      [item(prestashopProduct("TEE", 3, "10.00")), item(prestashopProduct("MUG", 1, "7.00"))],
      noLinks,
    );
    assert.ok(
      r.every((x) => x.ok),
      JSON.stringify(r),
    );
  });
  after(() => emu.close());

  test("XML writes escape & < > and quotes; reading the answer gives the text back", () => {
    const xml = toXml("product", { fields: { name: { lang: { 1: `A & B <C> "D" 'E'` } }, price: "1" } });
    assert.ok(!xml.includes("A & B <C>"), xml);
    assert.match(xml, /A &amp; B &lt;C&gt;/);
    assert.equal(
      fromXml(
        `<prestashop><product><id><![CDATA[7]]></id><reference>A &amp; B</reference></product></prestashop>`,
        "product",
      ).reference,
      "A & B",
    );
    assert.equal(
      prestashopMessage(
        "<prestashop><errors><error><code><![CDATA[41]]></code><message><![CDATA[price is required]]></message></error></errors></prestashop>",
      ),
      "price is required",
    );
  });

  test("a combination's price is an impact on its product's lowest price", () => {
    const product = [...emu.data.table("products").values()].find((p) => p.reference === "TEE");
    assert.equal(Number(product?.price), 10);
    const impacts = [...emu.data.table("combinations").values()]
      .filter((c) => c.id_product === product?.id)
      .map((c) => Number(c.price))
      .sort();
    assert.deepEqual(impacts, [0, 1, 2]);
  });

  test("a product name PrestaShop refuses fails its record, named, and nothing is sent", async () => {
    const writes = emu.stats.writes;
    const [r] = await shop.writers.product!.upsert(
      [item(prestashopProduct("BAD", 1, "1.00", "Bolts {XL}"))],
      noLinks,
    );
    assert.ok(r && !r.ok);
    assert.equal(r.error.kind, "data");
    assert.match(r.error.message, /Bolts \{XL\}/);
    assert.equal(emu.stats.writes, writes);
  });

  test("a SKU holding | or , cannot be filtered on: a data error naming it", async () => {
    await assert.rejects(
      shop.writers.inventory!.upsert([item(prestashopLevel("A|B", "default", 1))], noLinks),
      (e: unknown) => e instanceof SyncError && e.kind === "data" && e.message.includes('"A|B"'),
    );
  });

  test("stock under advanced stock management (depends_on_stock) is refused, not silently ignored", async () => {
    const product = [...emu.data.table("products").values()].find((p) => p.reference === "MUG");
    const row = [...emu.data.table("stock_availables").values()].find((s) => s.id_product === product?.id);
    assert.ok(row);
    row.depends_on_stock = "1";
    const [r] = await shop.writers.inventory!.upsert([item(prestashopLevel("MUG", "default", 4))], noLinks);
    row.depends_on_stock = "0";
    assert.ok(r && !r.ok && r.error.message.includes("advanced stock management"), JSON.stringify(r));
    const [ok] = await shop.writers.inventory!.upsert([item(prestashopLevel("MUG", "default", 4))], noLinks);
    assert.ok(ok?.ok && ok.action === "created");
    assert.equal(emu.data.get("stock_availables", Number(row.id))?.quantity, "4");
  });

  test("a combination's stock is summed on its product's row", async () => {
    await shop.writers.inventory!.upsert(
      [item(prestashopLevel("TEE-S", "default", 3)), item(prestashopLevel("TEE-M", "default", 5))],
      noLinks,
    );
    const product = [...emu.data.table("products").values()].find((p) => p.reference === "TEE");
    const own = [...emu.data.table("stock_availables").values()].find(
      (s) => s.id_product === product?.id && s.id_product_attribute === "0",
    );
    assert.equal(own?.quantity, "8");
  });

  test("a base price list sets the product's price and the combination's impact; a group list makes specific prices", async () => {
    const price = (code: string, group: string, sku: string, amount: string): Price => ({
      source: "erp",
      sourceId: sku,
      updatedAt: "2026-06-01T00:00:00Z",
      key: `${code}:${sku}`,
      priceList: { code, name: code, customerGroup: group, currency: "EUR" },
      sku,
      price: amount,
      tiers: [],
    });
    const r = await shop.writers.price!.upsert(
      [
        item(price("default", "all", "MUG", "8.00")),
        item(price("default", "all", "TEE-L", "14.00")),
        item(price("wholesale", "Wholesale", "TEE-S", "6.00")),
        item(price("nogroup", "Nobody", "TEE-S", "6.00")),
      ],
      noLinks,
    );
    assert.deepEqual(
      r.map((x) => x.ok),
      [true, true, true, false],
    );
    assert.match(r[3]?.ok === false ? r[3].error.message : "", /no customer group "Nobody"/);
    const mug = [...emu.data.table("products").values()].find((p) => p.reference === "MUG");
    assert.equal(Number(mug?.price), 8);
    const teeL = [...emu.data.table("combinations").values()].find((c) => c.reference === "TEE-L");
    assert.equal(Number(teeL?.price), 4);
    const sp = [...emu.data.table("specific_prices").values()].find((s) => s.id_product_attribute !== "0");
    assert.equal(sp?.id_group, "4");
    assert.equal(Number(sp?.price), 6);
    assert.equal(sp?.reduction_type, "amount");
  });

  test("a cancelled order moves to Canceled; a shipped one is refused; an order without change is unchanged", async () => {
    const customer = [...emu.data.table("customers").keys()][0] as number;
    const open = emu.data.placeOrder({ customerId: customer, lines: [{ sku: "MUG", qty: 1 }] });
    const shipped = emu.data.placeOrder({ customerId: customer, lines: [{ sku: "MUG", qty: 1 }], state: 4 });
    const stream = shop.streams.order!;
    const canonical = async (id: string) => (await stream.toCanonical((await stream.get(id))!)) as Order;
    const o1 = await canonical(String(open.id));
    const o2 = await canonical(String(shipped.id));
    assert.equal(o2.fulfillmentStatus, "fulfilled");
    const r = await shop.writers.order!.upsert(
      [item(o1), item({ ...o1, cancelled: true }), item({ ...o2, cancelled: true })].map((x, i) => ({
        ...x,
        key: `${x.key}#${i}`,
      })),
      noLinks,
    );
    assert.equal(r[0]?.ok && r[0].action, "unchanged");
    assert.equal(r[1]?.ok && r[1].action, "updated");
    assert.equal(open.current_state, "6");
    assert.ok(r[2] && !r[2].ok && /Shipped: it cannot be cancelled/.test(r[2].error.message));
    assert.equal((await canonical(String(open.id))).cancelled, true);
  });

  test("the key never shows in an error", async () => {
    const bad = prestashop.create(
      "ps-bad",
      PrestaShopConfig.parse({ url: emu.shopUrl, key: "SECRETKEY-NOT-VALID-0123456789AB" }),
    );
    await assert.rejects(bad.check(), (e: unknown) => {
      assert.ok(e instanceof SyncError);
      assert.equal(e.kind, "config");
      assert.ok(!JSON.stringify(e).includes("SECRETKEY"), JSON.stringify(e));
      return true;
    });
  });

  test("nothing sent broke the documented schemas", () => {
    assert.deepEqual(emu.violations, []);
  });
});
