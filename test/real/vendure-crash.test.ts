/**
 * `passerelle sync` SIGKILLed while it creates in a real Vendure, then run again: nothing is created twice
 * and nothing is left half-made. A proxy between the CLI and Vendure (scripts/real/vendure-proxy.ts) kills
 * the CLI at the Nth answer to a chosen mutation and never delivers it, so each kill lands exactly between
 * two steps of one record's write: Vendure holds what the step did, Passerelle never recorded it.
 * Everything is checked on Vendure's Admin API, never in Passerelle's store.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Big from "big.js";
import {
  type SeedResult,
  type StartedTryton,
  seedTryton,
  startTryton,
  type TrytonSession,
  trytonAvailable,
  trytonSession,
} from "../../scripts/real/tryton.mjs";
import { type RunningVendure, startVendure, vendureVersion } from "../../scripts/real/vendure.mjs";
import { passerelleYaml, runCli, syncOk } from "../../scripts/real/vendure-passerelle.ts";
import { startVendureProxy, type VendureProxy } from "../../scripts/real/vendure-proxy.ts";
import { type VendureAdmin, vendureAdmin } from "../../scripts/real/vendure-shop.ts";

/** What Vendure shows for a Tryton code or list name here: "KX-003" → "kx-003", "VIP" → "vip". */
const lower = (s: string) => s.toLowerCase();

const LOCATIONS = { WH: "Main Warehouse", WH2: "East Warehouse" };
const nested = (row: Record<string, unknown>, field: string): Record<string, unknown> =>
  (row[`${field}.`] as Record<string, unknown> | undefined) ?? {};
const minor = (d: unknown): number => {
  const v = d && typeof d === "object" && "decimal" in d ? (d as { decimal: unknown }).decimal : d;
  return Number(new Big(String(v)).times(100).round(0, Big.roundHalfEven).toFixed(0));
};

const ready = trytonAvailable();
const skip = !ready.ok ? ready.missing : vendureVersion() === null ? "@vendure/core is not installed" : false;

describe("a passerelle sync killed in the middle of creating in Vendure", {
  skip: skip || false,
  timeout: 15 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedTryton;
  let shop: RunningVendure;
  let proxy: VendureProxy;
  let seed: SeedResult;
  let session: TrytonSession;
  let admin: VendureAdmin;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-vendure-crash-"));
    [erp, shop] = await Promise.all([
      startTryton({ dir: join(dir, "erp") }),
      startVendure({ dir: join(dir, "shop") }),
    ]);
    // Every third product has S/M/L variants, so option groups are made too.
    seed = await seedTryton(erp, { products: 9, variantsEvery: 3, prefix: "KX" });
    session = await trytonSession(erp);
    admin = await vendureAdmin(shop);
    proxy = await startVendureProxy(shop.url);
    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      passerelleYaml({
        store: join(dir, "passerelle.sqlite"),
        erp,
        shopUrl: proxy.url,
        shopUser: shop.adminUser,
        locationMap: LOCATIONS,
        flows: [
          { name: "products", entity: "product" },
          { name: "customers", entity: "customer" },
          { name: "prices", entity: "price" },
        ],
      }),
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
    await proxy?.close();
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `passerelle sync <flow>` and SIGKILLs it at Vendure's `nth` answer to `field`. */
  async function killedAt(flow: string, field: string, nth: number): Promise<void> {
    const run = runCli(["sync", flow, "--json"], env);
    proxy.arm({ field, nth, action: () => run.child.kill("SIGKILL") });
    const res = await run.done;
    const fired = proxy.fired();
    const answered = [...proxy.answered];
    proxy.arm(null);
    assert.ok(
      fired,
      `the kill did not land: Vendure never answered ${field} #${nth} (answered: ${answered.join(", ")}); exit ${res.code}\n${res.stdout}\n${res.stderr}`,
    );
    assert.equal(res.signal, "SIGKILL");
  }

  test("products: killed after createProduct, after its option group, after its variants; each product once, whole", async () => {
    // KX-003 is the third product and the first with sizes: killed after Vendure created it, then after
    // its option group, then after its variants, each time before Passerelle learnt of it.
    await killedAt("products", "createProduct", 3);
    await killedAt("products", "createProductOptionGroup", 1);
    await killedAt("products", "createProductVariants", 1);
    await syncOk(env, ["products"]);

    const data = await admin<{
      products: {
        totalItems: number;
        items: { slug: string; variants: { sku: string }[]; optionGroups: { code: string }[] }[];
      };
      productOptionGroups: { items: { code: string; productCount: number }[] };
    }>(
      "{products(options:{take:1000}){totalItems items{slug variants{sku} optionGroups{code}}} productOptionGroups(options:{take:1000}){items{code productCount}}}",
    );
    const variants = await session.find(
      "product.product",
      [["template", "in", seed.templates]],
      ["code", "template.code"],
    );
    const skusOf = new Map<string, string[]>();
    for (const v of variants) {
      const key = String(nested(v, "template").code);
      skusOf.set(key, [...(skusOf.get(key) ?? []), String(v.code)].sort());
    }
    assert.equal(skusOf.size, 9);
    const slugs = data.products.items.map((p) => p.slug).sort();
    assert.deepEqual(
      slugs,
      [...skusOf.keys()].map(lower).sort(),
      "one Vendure product per Tryton product, none at <slug>-2",
    );
    for (const [key, skus] of skusOf) {
      const p = data.products.items.find((x) => x.slug === lower(key));
      assert.deepEqual(p?.variants.map((v) => v.sku).sort(), skus, `variants of ${key}`);
    }
    assert.ok(
      data.products.items.every((p) => p.variants.length > 0),
      "a product without variants",
    );
    const groupCodes = data.productOptionGroups.items.map((g) => g.code);
    assert.equal(
      new Set(groupCodes).size,
      groupCodes.length,
      `an option group made twice: ${groupCodes.join(", ")}`,
    );
    assert.deepEqual(
      data.productOptionGroups.items.filter((g) => g.productCount === 0),
      [],
      "an option group left on no product",
    );
  });

  test("customers: killed after createCustomer and after createCustomerGroup; each customer once with address and group", async () => {
    // Vendure keeps e-mail addresses lower-cased; an ERP need not.
    const wholesale = seed.priceLists.find((l) => l.name === "Wholesale");
    const [country] = await session.find("country.country", [["code", "=", "DE"]], ["id"]);
    const [mixedId] = await session.create("party.party", [
      {
        name: "Mixed Case",
        sale_price_list: wholesale?.id,
        contact_mechanisms: [["create", [{ type: "email", value: "Mixed.Case-KX@Example.com" }]]],
        addresses: [
          [
            "create",
            [{ street: "Hauptstraße 1", postal_code: "10115", city: "Berlin", country: country?.id }],
          ],
        ],
      },
    ]);
    const customers = [
      ...seed.customers,
      { id: mixedId, email: "Mixed.Case-KX@Example.com", priceList: "Wholesale" },
    ];

    await killedAt("customers", "createCustomer", 1);
    await killedAt("customers", "createCustomerGroup", 1);
    // The third run creates the second customer, then the mixed-case one, and dies with its answer.
    await killedAt("customers", "createCustomer", 2);
    await syncOk(env, ["customers"]);

    const data = await admin<{
      customers: {
        items: { emailAddress: string; addresses: { streetLine1: string }[]; groups: { name: string }[] }[];
      };
      customerGroups: { items: { name: string }[] };
    }>(
      "{customers(options:{take:1000}){items{emailAddress addresses{streetLine1} groups{name}}} customerGroups(options:{take:100}){items{name}}}",
    );
    for (const c of customers) {
      const found = data.customers.items.filter(
        (x) => x.emailAddress.toLowerCase() === c.email.toLowerCase(),
      );
      assert.equal(found.length, 1, `${c.email} is in Vendure ${found.length} times`);
      assert.deepEqual(
        found[0]?.addresses.map((a) => a.streetLine1),
        ["Hauptstraße 1"],
        `${c.email}'s addresses`,
      );
      assert.deepEqual(
        found[0]?.groups.map((g) => g.name),
        [lower(c.priceList)],
        `${c.email}'s group`,
      );
    }
    const names = data.customerGroups.items.map((g) => g.name).sort();
    assert.deepEqual(names, seed.priceLists.map((l) => lower(l.name)).sort(), "customer groups");
  });

  test("price lists: killed after createChannel, while equipping it, after assigning products; one usable channel per list", async () => {
    await killedAt("prices", "createChannel", 1);
    await killedAt("prices", "assignShippingMethodsToChannel", 1);
    await killedAt("prices", "assignProductsToChannel", 1);
    await syncOk(env, ["prices"]);

    const channels = await admin<{ channels: { items: { code: string; token: string }[] } }>(
      "{channels(options:{take:100}){items{code token}}}",
    );
    const codes = channels.channels.items.map((c) => c.code).filter((c) => c !== "__default_channel__");
    assert.deepEqual(
      codes.sort(),
      seed.priceLists.map((l) => lower(l.name)).sort(),
      "one channel per price list",
    );

    const selling = "{stockLocations{items{name}} shippingMethods{items{code}} paymentMethods{items{code}}}";
    type Selling = {
      stockLocations: { items: { name: string }[] };
      shippingMethods: { items: { code: string }[] };
      paymentMethods: { items: { code: string }[] };
    };
    const names = (s: Selling) => ({
      stockLocations: s.stockLocations.items.map((x) => x.name).sort(),
      shippingMethods: s.shippingMethods.items.map((x) => x.code).sort(),
      paymentMethods: s.paymentMethods.items.map((x) => x.code).sort(),
    });
    const base = names(await admin<Selling>(selling));
    const listPrices = await session.find(
      "product.product",
      [["template", "in", seed.templates]],
      ["code", "template.list_price"],
    );
    for (const list of seed.priceLists) {
      const ch = channels.channels.items.find((c) => c.code === lower(list.name));
      assert.ok(ch);
      assert.deepEqual(
        names(await admin<Selling>(selling, {}, ch.token)),
        base,
        `what channel ${ch.code} sells with`,
      );
      const inList = await admin<{ productVariants: { items: { sku: string; price: number }[] } }>(
        "{productVariants(options:{take:1000}){items{sku price}}}",
        {},
        ch.token,
      );
      const price = new Map(inList.productVariants.items.map((v) => [v.sku, v.price]));
      for (const v of listPrices) {
        const expected = minor(
          new Big(minor(nested(v, "template").list_price)).div(100).times(list.factor).toFixed(2),
        );
        assert.equal(price.get(String(v.code)), expected, `${list.name} price of ${String(v.code)}`);
      }
    }
  });
});
