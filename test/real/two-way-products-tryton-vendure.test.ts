/**
 * Two-way product content between a real Tryton (`erp`, side a) and a real Vendure (`shop`, side b), through
 * the CLI as a merchant runs it: the ERP owns everything a product is sold by (title, status, currency,
 * categories, variants with their SKUs and prices, kit components), the shop owns the description. Products
 * and prices are edited in each system's own API between two runs; every assertion reads the systems back,
 * and the runs' write counters (created + updated, from `passerelle sync --json`) show that once edits
 * stop, later cycles write nothing.
 *
 *   first run    Tryton's products are created in Vendure; the next runs write nothing
 *   description  edited in Vendure, it reaches every variant of the Tryton template
 *   price        edited in Tryton, it reaches Vendure
 *   shop price   edited in Vendure, it is not carried to Tryton (the ERP owns prices) and Vendure gets the
 *                ERP's price back
 *   merge        Tryton's name and Vendure's description edited between two runs: both sides get both
 *   shop only    a product made in Vendure fails with the reason (products are created in the ERP); the
 *                other products' changes of the same run are written
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  dec,
  type StartedTryton,
  seedTryton,
  startTryton,
  type TrytonSession,
  trytonAvailable,
  trytonSession,
} from "../../scripts/real/tryton.mjs";
import { type RunningVendure, startVendure, vendureVersion } from "../../scripts/real/vendure.mjs";
import { passerelleYaml, runCli } from "../../scripts/real/vendure-passerelle.ts";
import { type VendureAdmin, vendureAdmin } from "../../scripts/real/vendure-shop.ts";

const ready = trytonAvailable();
const skip = !ready.ok ? ready.missing : vendureVersion() === null ? "@vendure/core is not installed" : false;

interface SyncRun {
  flow: string;
  status: string;
  counts: { created: number; updated: number; failed: number };
}

interface ShopVariant {
  id: string;
  sku: string;
  price: number;
  updatedAt: string;
  product: { id: string; name: string; description: string; updatedAt: string };
}

describe("two-way product content between a real Tryton and a real Vendure", {
  skip: skip || false,
  timeout: 15 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedTryton;
  let shop: RunningVendure;
  let session: TrytonSession;
  let admin: VendureAdmin;
  let env: NodeJS.ProcessEnv;
  /** The seeded templates: a single-variant product and one with sizes. */
  let plain: { id: number; code: string };
  let sized: { id: number; code: string };
  /** Writes made by every run so far (created + updated, as the runs report them). */
  let written = 0;

  /** One `passerelle sync products`; its write count is added to `written`. */
  async function sync(expectCode = 0): Promise<SyncRun> {
    const res = await runCli(["sync", "products", "--json"], env).done;
    assert.equal(res.code, expectCode, `sync exit ${res.code}:\n${res.stdout}\n${res.stderr}`);
    const [run] = (JSON.parse(res.stdout) as { runs: SyncRun[] }).runs;
    assert.ok(run);
    written += run.counts.created + run.counts.updated;
    return run;
  }

  /** Runs until a sync writes nothing, then two more that must not write either. */
  async function settle(expectCode = 0): Promise<void> {
    for (let i = 0; ; i++) {
      assert.ok(i < 4, "still writing after 4 runs");
      const r = await sync(expectCode);
      if (r.counts.created + r.counts.updated === 0) break;
    }
    const before = written;
    await sync(expectCode);
    await sync(expectCode);
    assert.equal(written, before, "a settled two-way flow wrote again");
  }

  async function shopVariant(sku: string): Promise<ShopVariant> {
    const data = await admin<{ productVariants: { items: ShopVariant[] } }>(
      `{productVariants(options:{filter:{sku:{eq:"${sku}"}}}){items{id sku price updatedAt product{id name description updatedAt}}}}`,
    );
    assert.equal(
      data.productVariants.items.length,
      1,
      `${sku} is in Vendure ${data.productVariants.items.length} times`,
    );
    return data.productVariants.items[0] as ShopVariant;
  }

  async function shopDescription(sku: string, description: string): Promise<void> {
    const { product } = await shopVariant(sku);
    await admin(`mutation($i:UpdateProductInput!){updateProduct(input:$i){id}}`, {
      i: { id: product.id, translations: [{ languageCode: "en", description }] },
    });
  }

  async function shopPrice(sku: string, price: number): Promise<void> {
    const { id } = await shopVariant(sku);
    await admin(`mutation($i:[UpdateProductVariantInput!]!){updateProductVariants(input:$i){id}}`, {
      i: [{ id, price }],
    });
  }

  /** The descriptions of the template's variants, and its list price and name. */
  async function erpProduct(
    template: number,
  ): Promise<{ name: string; price: string; descriptions: string[] }> {
    const [t] = await session.find("product.template", [["id", "=", template]], ["name", "list_price"]);
    const variants = await session.find("product.product", [["template", "=", template]], ["description"]);
    const price = t?.list_price as { decimal?: string } | string | number;
    return {
      name: String(t?.name),
      price: Number(typeof price === "object" ? price.decimal : price).toFixed(2),
      descriptions: variants.map((v) => String(v.description ?? "")),
    };
  }

  async function erpSkus(template: number): Promise<string[]> {
    return (await session.find("product.product", [["template", "=", template]], ["code"])).map((v) =>
      String(v.code),
    );
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-two-way-products-real-"));
    [erp, shop] = await Promise.all([
      startTryton({ dir: join(dir, "erp") }),
      startVendure({ dir: join(dir, "shop") }),
    ]);
    session = await trytonSession(erp);
    admin = await vendureAdmin(shop);
    const seeded = await seedTryton(erp, { products: 2, variantsEvery: 2, prefix: "PC", stock: 5 });
    const templates = await session.find("product.template", [["id", "in", seeded.templates]], ["code"]);
    const byCode = (code: string) => {
      const t = templates.find((r) => r.code === code);
      assert.ok(t, `template ${code} was not seeded`);
      return { id: t.id as number, code };
    };
    plain = byCode("PC-001");
    sized = byCode("PC-002");
    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      `${passerelleYaml({
        store: join(dir, "passerelle.sqlite"),
        erp,
        shopUrl: shop.url,
        shopUser: shop.adminUser,
        locationMap: { WH: "Main Warehouse" },
        flows: [],
      })}  products:
    direction: two-way
    source: { connection: erp, entity: product }
    target: { connection: shop, entity: product }
    twoWay:
      conflict: merge
      ownership:
        erp: [title, vendor, status, currency, categoryPath, categories, attributes, images, translations, variants, components]
        shop: [description]
`,
    );
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      TRYTON_PASSWORD: erp.password,
      VENDURE_PASSWORD: shop.adminPassword,
      PASSERELLE_LOG_LEVEL: "warn",
    };
  });

  after(async () => {
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("first run: Tryton's products are created in Vendure; later runs write nothing", async () => {
    const first = await sync();
    assert.equal(first.counts.created, 2, JSON.stringify(first));
    const v = await shopVariant(plain.code);
    assert.equal(v.price, Math.round(Number((await erpProduct(plain.id)).price) * 100));
    for (const sku of await erpSkus(sized.id)) assert.ok(await shopVariant(sku));
    await settle();
    assert.equal(written, 2);
  });

  test("description: edited in Vendure, it reaches every variant of the Tryton template", async () => {
    await shopDescription(plain.code, "Hand-made in Lyon.");
    const [sizedSku] = await erpSkus(sized.id);
    await shopDescription(sizedSku as string, "Three sizes, one cloth.");
    const r = await sync();
    assert.equal(r.counts.updated, 2, JSON.stringify(r));
    assert.deepEqual((await erpProduct(plain.id)).descriptions, ["Hand-made in Lyon."]);
    const sizes = (await erpProduct(sized.id)).descriptions;
    assert.ok(sizes.length > 1);
    assert.deepEqual(
      sizes,
      sizes.map(() => "Three sizes, one cloth."),
    );
    const before = written;
    await settle();
    assert.equal(written, before, "no write after the description");
  });

  test("price: edited in Tryton, it reaches Vendure", async () => {
    await session.model("product.template", "write", [plain.id], { list_price: dec("42.50") });
    const r = await sync();
    assert.equal(r.counts.updated, 1, JSON.stringify(r));
    assert.equal((await shopVariant(plain.code)).price, 4250);
    assert.equal((await shopVariant(plain.code)).product.description, "Hand-made in Lyon.");
    const before = written;
    await settle();
    assert.equal(written, before, "no write after the price");
  });

  test("shop price: a price edited in Vendure is not carried to Tryton and is overwritten with the ERP's", async () => {
    const was = await shopVariant(plain.code);
    await new Promise((r) => setTimeout(r, 1100));
    await shopPrice(plain.code, 999);
    const now = await shopVariant(plain.code);
    assert.equal(now.price, 999);
    // What the stream's whole reads rest on: the variant's stamp moves, the product's does not.
    assert.notEqual(now.updatedAt, was.updatedAt, "the variant's updatedAt moved");
    assert.equal(now.product.updatedAt, was.product.updatedAt, "the product's updatedAt did not move");
    const r = await sync();
    assert.equal(r.counts.updated, 1, JSON.stringify(r));
    assert.equal((await erpProduct(plain.id)).price, "42.50", "the ERP keeps its price");
    assert.equal((await shopVariant(plain.code)).price, 4250, "the shop gets the ERP's price back");
    const before = written;
    await settle();
    assert.equal(written, before, "no write after the overwrite");
  });

  test("merge: the name edited in Tryton and the description in Vendure between two runs reach both sides", async () => {
    await session.model("product.template", "write", [plain.id], { name: "Lyon Scarf" });
    await shopDescription(plain.code, "Hand-made in Lyon, from silk.");
    const r = await sync();
    assert.equal(r.counts.updated, 2, JSON.stringify(r));
    const e = await erpProduct(plain.id);
    assert.deepEqual([e.name, e.descriptions], ["Lyon Scarf", ["Hand-made in Lyon, from silk."]]);
    const s = (await shopVariant(plain.code)).product;
    assert.deepEqual([s.name, s.description], ["Lyon Scarf", "Hand-made in Lyon, from silk."]);
    const before = written;
    await settle();
    assert.equal(written, before, "no write after the merge");
  });

  test("shop only: a product made in Vendure fails with the reason, and the rest of the run is written", async () => {
    const made = await admin<{ createProduct: { id: string } }>(
      `mutation($i:CreateProductInput!){createProduct(input:$i){id}}`,
      {
        i: { translations: [{ languageCode: "en", name: "Shop Only", slug: "shop-only", description: "" }] },
      },
    );
    await admin(`mutation($i:[CreateProductVariantInput!]!){createProductVariants(input:$i){__typename}}`, {
      i: [
        {
          productId: made.createProduct.id,
          sku: "SHOP-ONLY-1",
          price: 500,
          translations: [{ languageCode: "en", name: "Shop Only" }],
        },
      ],
    });
    await session.model("product.template", "write", [plain.id], { list_price: dec("44.00") });
    const r = await sync(1);
    assert.equal(r.counts.failed, 1, JSON.stringify(r));
    assert.equal(r.counts.updated, 1, "the Tryton price edit is written in the same run");
    assert.equal((await shopVariant(plain.code)).price, 4400);
    const list = await runCli(["failures", "list", "--json"], env).done;
    const failures = JSON.parse(list.stdout) as { key: string; errorMessage: string }[];
    const only = failures.find((f) => f.key === "shop-only");
    assert.ok(only, list.stdout);
    assert.match(only.errorMessage, /products are created in the ERP/);
    assert.deepEqual(
      await session.find("product.template", [["code", "ilike", "%shop%only%"]], ["id"]),
      [],
      "nothing is created in Tryton",
    );
  });
});
