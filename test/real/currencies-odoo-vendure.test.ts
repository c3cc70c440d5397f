/**
 * Prices per currency, from a real Odoo's pricelists (each has its own currency) to a real Vendure channel
 * that sells in two currencies, through the CLI as a merchant runs it. Every assertion reads Vendure back,
 * the storefront's view included (the Shop API asked for a currency with `?currencyCode=`).
 *
 *   two currencies  "Wholesale" (USD) and "Wholesale EUR" (EUR, mapped onto the same channel by
 *                   priceListChannels): the channel sells in USD and EUR, each variant has both prices, and
 *                   a storefront asking for EUR sees the EUR price; a second sync writes nothing
 *   edited          an EUR price edited in Odoo changes that price only; the USD one stays
 *   rounding        an EUR price with more decimals than euros have is rounded by Odoo, and Vendure gets
 *                   cents
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type OdooSession,
  odooAvailable,
  odooSession,
  type StartedOdoo,
  seedOdoo,
  startOdoo,
} from "../../scripts/real/odoo.mjs";
import { type RunningVendure, startVendure, vendureVersion } from "../../scripts/real/vendure.mjs";
import { runCli } from "../../scripts/real/vendure-passerelle.ts";
import { type VendureAdmin, vendureAdmin } from "../../scripts/real/vendure-shop.ts";

const odoo = odooAvailable();
const skip = !odoo.ok
  ? `Odoo: ${odoo.missing}`
  : !odoo.setupDone
    ? "Odoo is not set up: run `node scripts/real/odoo.mjs --setup-only`"
    : vendureVersion() === null
      ? "@vendure/core is not installed"
      : false;

const envRef = (name: string) => `\${env:${name}}`;
const CHANNEL_TOKEN = "price-list-wholesale";

interface SyncRun {
  flow: string;
  counts: { created: number; updated: number; failed: number };
}
interface ShopVariant {
  sku: string;
  price: number;
  currencyCode: string;
  prices: { currencyCode: string; price: number }[];
}

describe("prices in two currencies from a real Odoo to a real Vendure", {
  skip,
  timeout: 30 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedOdoo;
  let shop: RunningVendure;
  let session: OdooSession;
  let admin: VendureAdmin;
  let env: NodeJS.ProcessEnv;
  let skus: { sku: string; price: string; id: number }[] = [];
  let eurList = 0;
  /** The EUR prices written into Odoo's "Wholesale EUR" list, by variant id. */
  const eurPrices = new Map<number, number>();

  async function sync(): Promise<Record<string, SyncRun>> {
    const res = await runCli(["sync", "--json"], env).done;
    if (res.code !== 0) {
      const failures = await runCli(["failures", "list", "--json"], env).done;
      assert.fail(`sync exit ${res.code}:\n${res.stdout}\n${res.stderr}\nfailures: ${failures.stdout}`);
    }
    const runs = (JSON.parse(res.stdout) as { runs: SyncRun[] }).runs;
    return Object.fromEntries(runs.map((r) => [r.flow, r]));
  }

  async function variants(): Promise<Map<string, ShopVariant>> {
    const data = await admin<{ productVariants: { items: ShopVariant[] } }>(
      `{productVariants(options:{take:100}){items{sku price currencyCode prices{currencyCode price}}}}`,
      {},
      CHANNEL_TOKEN,
    );
    return new Map(data.productVariants.items.map((v) => [v.sku, v]));
  }

  /** What a storefront of the channel sees when it asks for prices in `currency`. */
  async function storefront(currency: string): Promise<Map<string, { price: number; currencyCode: string }>> {
    const res = await fetch(`${shop.url}/shop-api?currencyCode=${currency}`, {
      method: "POST",
      headers: { "content-type": "application/json", "vendure-token": CHANNEL_TOKEN },
      body: JSON.stringify({
        query: `{products(options:{take:100}){items{variants{sku price currencyCode}}}}`,
      }),
    });
    const body = (await res.json()) as {
      data?: { products: { items: { variants: { sku: string; price: number; currencyCode: string }[] }[] } };
      errors?: unknown;
    };
    assert.ok(body.data, JSON.stringify(body.errors));
    return new Map(body.data.products.items.flatMap((p) => p.variants.map((v) => [v.sku, v])));
  }

  const cents = (amount: string | number) => Math.round(Number(amount) * 100);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-currencies-real-"));
    [erp, shop] = await Promise.all([startOdoo({}), startVendure({ dir: join(dir, "shop") })]);
    session = await odooSession(erp);
    admin = await vendureAdmin(shop);
    const seeded = await seedOdoo(erp, { products: 2, variantsEvery: 0, prefix: "CUR", stock: 5 });
    skus = seeded.skus;
    // The merchant's shop sells in dollars, as Odoo's company does; the wholesale channel adds euros.
    const { activeChannel } = await admin<{ activeChannel: { id: string } }>("{activeChannel{id}}");
    await admin(
      `mutation{updateChannel(input:{id:"${activeChannel.id}",defaultCurrencyCode:USD,availableCurrencyCodes:[USD]}){__typename}}`,
    );
    const [eur] = await session.find(
      "res.currency",
      [
        ["name", "=", "EUR"],
        ["active", "in", [true, false]],
      ],
      ["id"],
    );
    assert.ok(eur, "Odoo has the euro");
    await session.write("res.currency", [eur.id], { active: true });
    for (const [i, v] of skus.entries()) eurPrices.set(v.id, i === 0 ? 12.35 : 19.99);
    eurList = await session.create("product.pricelist", {
      name: "Wholesale EUR",
      currency_id: eur.id,
      item_ids: skus.map((v) => [
        0,
        0,
        {
          applied_on: "0_product_variant",
          product_id: v.id,
          compute_price: "fixed",
          fixed_price: eurPrices.get(v.id),
        },
      ]),
    });
    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      [
        "version: 1",
        "store:",
        `  url: sqlite:${join(dir, "passerelle.sqlite")}`,
        "connections:",
        "  erp:",
        "    type: odoo",
        `    url: ${erp.url}`,
        `    db: ${erp.db}`,
        `    username: ${erp.user}`,
        `    password: ${envRef("ODOO_PASSWORD")}`,
        "    currency: USD",
        "  shop:",
        "    type: vendure",
        `    url: ${shop.url}`,
        `    username: ${shop.adminUser}`,
        `    password: ${envRef("VENDURE_PASSWORD")}`,
        "    priceListChannels: { wholesale-eur: wholesale }",
        "flows:",
        "  products:",
        "    source: { connection: erp, entity: product }",
        "    target: { connection: shop, entity: product }",
        "  prices:",
        "    source: { connection: erp, entity: price }",
        "    target: { connection: shop, entity: price }",
        "",
      ].join("\n"),
    );
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      ODOO_PASSWORD: erp.password,
      VENDURE_PASSWORD: shop.adminPassword,
      PASSERELLE_LOG_LEVEL: "warn",
    };
  });

  after(async () => {
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("two lists, two currencies, one channel: both prices on each variant, the storefront sees each", async () => {
    const runs = await sync();
    assert.equal(runs.products?.counts.failed, 0);
    assert.equal(runs.prices?.counts.failed, 0);
    const { channels } = await admin<{
      channels: { items: { code: string; defaultCurrencyCode: string; availableCurrencyCodes: string[] }[] };
    }>("{channels{items{code defaultCurrencyCode availableCurrencyCodes}}}");
    const wholesale = channels.items.find((c) => c.code === "wholesale");
    assert.ok(wholesale, JSON.stringify(channels.items));
    assert.equal(wholesale.defaultCurrencyCode, "USD");
    assert.deepEqual([...wholesale.availableCurrencyCodes].sort(), ["EUR", "USD"]);
    assert.ok(
      !channels.items.some((c) => c.code === "wholesale-eur"),
      "no channel of its own for the EUR list",
    );

    const usdRows = (await session.find(
      "product.pricelist.item",
      [["pricelist_id.name", "=", "Wholesale"]],
      ["product_id", "fixed_price"],
    )) as unknown as { product_id: [number, string]; fixed_price: number }[];
    const shopVariants = await variants();
    const [usdFront, eurFront] = await Promise.all([storefront("USD"), storefront("EUR")]);
    for (const v of skus) {
      const sv = shopVariants.get(v.sku);
      assert.ok(sv, `${v.sku} is in the wholesale channel`);
      const usd = usdRows.find((r) => r.product_id[0] === v.id)?.fixed_price as number;
      const eur = eurPrices.get(v.id) as number;
      const byCurrency = Object.fromEntries(sv.prices.map((p) => [p.currencyCode, p.price]));
      assert.deepEqual(byCurrency, { USD: cents(usd), EUR: cents(eur) }, v.sku);
      assert.deepEqual(usdFront.get(v.sku), {
        sku: v.sku,
        price: cents(usd),
        currencyCode: "USD",
      });
      assert.deepEqual(eurFront.get(v.sku), { sku: v.sku, price: cents(eur), currencyCode: "EUR" });
    }
    const again = await sync();
    for (const r of Object.values(again)) {
      assert.equal(
        r.counts.created + r.counts.updated + r.counts.failed,
        0,
        `${r.flow}: ${JSON.stringify(r)}`,
      );
    }
  });

  test("an EUR price edited in Odoo changes that price only; one with too many decimals is rounded", async () => {
    const [first] = skus;
    assert.ok(first);
    const before = (await variants()).get(first.sku);
    assert.ok(before);
    const [item] = await session.find(
      "product.pricelist.item",
      [
        ["pricelist_id", "=", eurList],
        ["product_id", "=", first.id],
      ],
      ["id"],
    );
    assert.ok(item);
    // Odoo keeps a fixed price to the currency's rounding (0.01 for EUR): 14.505 is stored as 14.51 or
    // 14.5 depending on its float, and the price Passerelle reads is whatever Odoo computes.
    await session.write("product.pricelist.item", [item.id], { fixed_price: 14.505 });
    const [stored] = await session.find("product.pricelist.item", [["id", "=", item.id]], ["fixed_price"]);
    const runs = await sync();
    assert.equal(runs.prices?.counts.updated, 1, JSON.stringify(runs.prices));
    const after = (await variants()).get(first.sku);
    assert.ok(after);
    const byCurrency = (v: ShopVariant) => Object.fromEntries(v.prices.map((p) => [p.currencyCode, p.price]));
    assert.equal(byCurrency(after).USD, byCurrency(before).USD, "the USD price stays");
    const eur = byCurrency(after).EUR as number;
    assert.ok(Number.isInteger(eur), `EUR ${eur} is whole cents`);
    assert.ok(
      eur === 1450 || eur === 1451,
      `EUR price ${eur} is 14.505 rounded to cents (Odoo holds ${stored?.fixed_price})`,
    );
  });
});
