/**
 * B2B accounts from a real Odoo (a company partner with buyers: its contacts with their own e-mail) to a real
 * Vendure, and a buyer's shop order back onto the company's account in Odoo, through the CLI as a merchant
 * runs it. Every assertion reads the systems back.
 *
 *   buyers        the company's two buyers become two Vendure customers, each in the customer group of the
 *                 company's pricelist, with the company's name on their address; the company itself is one
 *                 customer too; a second sync writes nothing
 *   company edit  the company's pricelist changed in Odoo moves both buyers to the new group
 *   order         a buyer's order placed in Vendure lands in Odoo on that buyer's contact, under the company:
 *                 the company's payment terms, pricelist and account, and no new partner for the buyer
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
import {
  placeShopOrder,
  registerShopCustomer,
  type VendureAdmin,
  variantIds,
  vendureAdmin,
} from "../../scripts/real/vendure-shop.ts";

const odoo = odooAvailable();
const skip = !odoo.ok
  ? `Odoo: ${odoo.missing}`
  : !odoo.setupDone
    ? "Odoo is not set up: run `node scripts/real/odoo.mjs --setup-only`"
    : vendureVersion() === null
      ? "@vendure/core is not installed"
      : false;

const envRef = (name: string) => `\${env:${name}}`;
const ADA = "ada@acme-trading.example";
const PASSWORD = "buyer-password-1";
const BOB = "bob@acme-trading.example";

interface SyncRun {
  flow: string;
  counts: { created: number; updated: number; failed: number };
}
interface ShopCustomer {
  id: string;
  emailAddress: string;
  firstName: string;
  lastName: string;
  groups: { name: string }[];
  addresses: { company: string | null; streetLine1: string }[];
}

describe("B2B: a company's buyers from a real Odoo to a real Vendure, and their orders back", {
  skip,
  timeout: 30 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedOdoo;
  let shop: RunningVendure;
  let session: OdooSession;
  let admin: VendureAdmin;
  let env: NodeJS.ProcessEnv;
  let company = 0;
  let bob = 0;
  let terms = 0;
  let skus: string[] = [];
  let vip = 0;

  async function sync(...flows: string[]): Promise<Record<string, SyncRun>> {
    const res = await runCli(["sync", ...flows, "--json"], env).done;
    if (res.code !== 0) {
      const failures = await runCli(["failures", "list", "--json"], env).done;
      assert.fail(`sync exit ${res.code}:\n${res.stdout}\n${res.stderr}\nfailures: ${failures.stdout}`);
    }
    const runs = (JSON.parse(res.stdout) as { runs: SyncRun[] }).runs;
    return Object.fromEntries(runs.map((r) => [r.flow, r]));
  }

  async function shopCustomer(email: string): Promise<ShopCustomer> {
    const data = await admin<{ customers: { items: ShopCustomer[] } }>(
      `query($e:String!){customers(options:{filter:{emailAddress:{eq:$e}}}){items{id emailAddress firstName lastName groups{name} addresses{company streetLine1}}}}`,
      { e: email },
    );
    assert.equal(
      data.customers.items.length,
      1,
      `${email} is in Vendure ${data.customers.items.length} times`,
    );
    return data.customers.items[0] as ShopCustomer;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-b2b-real-"));
    [erp, shop] = await Promise.all([startOdoo({}), startVendure({ dir: join(dir, "shop") })]);
    session = await odooSession(erp);
    admin = await vendureAdmin(shop);
    const seeded = await seedOdoo(erp, { products: 2, variantsEvery: 0, prefix: "B2B", stock: 5 });
    skus = seeded.skus.map((s: { sku: string }) => s.sku);
    const wholesale = seeded.pricelists.find((p: { name: string }) => p.name === "Wholesale")?.id as number;
    vip = seeded.pricelists.find((p: { name: string }) => p.name === "VIP")?.id as number;
    // The shop sells in dollars, as Odoo's company does.
    const { activeChannel } = await admin<{ activeChannel: { id: string } }>("{activeChannel{id}}");
    await admin(
      `mutation{updateChannel(input:{id:"${activeChannel.id}",defaultCurrencyCode:USD,availableCurrencyCodes:[USD]}){__typename}}`,
    );
    const [term] = await session.find("account.payment.term", [["name", "=", "30 Days"]], ["id"]);
    assert.ok(term, "Odoo has a 30 Days payment term");
    terms = term.id as number;
    const de = await session.one("res.country", [["code", "=", "DE"]]);
    // The test Vendure ships to Germany, Austria and France: the seeded customers move to Germany, and Odoo
    // gets the German VAT the shop charges on their orders.
    const seededIds = seeded.customers.map((c: { id: number }) => c.id);
    const seededChildren = await session.find("res.partner", [["parent_id", "in", seededIds]], ["id"]);
    await session.write("res.partner", [...seededIds, ...seededChildren.map((c: { id: number }) => c.id)], {
      country_id: de.id,
    });
    await session.create("account.tax", {
      name: "VAT 19%",
      amount: 19,
      amount_type: "percent",
      type_tax_use: "sale",
      price_include: false,
    });
    company = await session.create("res.partner", {
      name: "Acme Trading",
      is_company: true,
      email: "accounts@acme-trading.example",
      street: "Handelsweg 10",
      city: "Berlin",
      zip: "10115",
      country_id: de.id,
      property_product_pricelist: wholesale,
      property_payment_term_id: terms,
    });
    await session.create("res.partner", {
      name: "Ada Lovelace",
      email: ADA,
      parent_id: company,
      type: "contact",
    });
    bob = await session.create("res.partner", {
      name: "Bob Builder",
      email: BOB,
      parent_id: company,
      type: "contact",
    });
    // Bob signed up in the storefront before the accounts were synced: his account is the one the company's
    // buyer record reaches.
    await registerShopCustomer(shop, { email: BOB, firstName: "Bob", lastName: "B.", password: PASSWORD });
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
        "flows:",
        "  products:",
        "    source: { connection: erp, entity: product }",
        "    target: { connection: shop, entity: product }",
        "  customers:",
        "    source: { connection: erp, entity: customer }",
        "    target: { connection: shop, entity: customer }",
        "  orders:",
        "    source: { connection: shop, entity: order }",
        "    target: { connection: erp, entity: order }",
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

  test("the company's buyers are customers of their own, in the company's pricelist group", async () => {
    const runs = await sync("products", "customers");
    assert.equal(runs.customers?.counts.failed, 0, JSON.stringify(runs.customers));
    const [ada, bobShop, acme] = await Promise.all([
      shopCustomer(ADA),
      shopCustomer(BOB),
      shopCustomer("accounts@acme-trading.example"),
    ]);
    assert.deepEqual([ada.firstName, ada.lastName], ["Ada", "Lovelace"]);
    assert.deepEqual([bobShop.firstName, bobShop.lastName], ["Bob", "Builder"]);
    for (const c of [ada, bobShop, acme]) {
      assert.deepEqual(
        c.groups.map((g) => g.name),
        ["wholesale"],
        `${c.emailAddress} is in the company's pricelist group`,
      );
      assert.ok(
        c.addresses.some((a) => a.company === "Acme Trading" && a.streetLine1 === "Handelsweg 10"),
        `${c.emailAddress} has the company's address: ${JSON.stringify(c.addresses)}`,
      );
    }
    const again = await sync("customers");
    assert.equal(again.customers?.counts.created, 0);
    assert.equal(again.customers?.counts.updated, 0);
  });

  test("the company's pricelist changed in Odoo moves both buyers to the new group", async () => {
    await session.write("res.partner", [company], { property_product_pricelist: vip });
    const runs = await sync("customers");
    // The company and its two buyers.
    assert.equal(runs.customers?.counts.updated, 3, JSON.stringify(runs.customers));
    for (const email of [ADA, BOB]) {
      const c = await shopCustomer(email);
      assert.ok(
        c.groups.some((g) => g.name === "vip"),
        `${email}: ${JSON.stringify(c.groups)}`,
      );
    }
  });

  test("a buyer's shop order lands on the company's account in Odoo, with its payment terms", async () => {
    const ids = await variantIds(admin, skus);
    // Stock is not what this test is about: the shop sells without tracking it.
    for (const id of ids.values()) {
      await admin(`mutation{updateProductVariants(input:[{id:"${id}",trackInventory:FALSE}]){id}}`);
    }
    const placed = await placeShopOrder(shop, {
      email: BOB,
      firstName: "Bob",
      lastName: "Builder",
      lines: [{ variantId: ids.get(skus[0] as string) as string, quantity: 2 }],
      address: { streetLine1: "Handelsweg 10", city: "Berlin", postalCode: "10115", countryCode: "DE" },
      password: PASSWORD,
    });
    const runs = await sync("orders");
    assert.equal(runs.orders?.counts.created, 1, JSON.stringify(runs.orders));
    const [sale] = await session.find(
      "sale.order",
      [["client_order_ref", "ilike", placed.code]],
      ["partner_id", "partner_invoice_id", "payment_term_id", "pricelist_id"],
    );
    assert.ok(sale, `Odoo has a sale for ${placed.code}`);
    assert.equal((sale.partner_id as [number, string])[0], bob, "the sale is Bob's");
    const [buyer] = await session.find("res.partner", [["id", "=", bob]], ["commercial_partner_id"]);
    assert.ok(buyer);
    assert.equal((buyer.commercial_partner_id as [number, string])[0], company, "on Acme's account");
    assert.equal((sale.payment_term_id as [number, string])[0], terms, "with Acme's payment terms");
    // Odoo addresses the invoice to the person (no invoice contact under Acme) and books it on the commercial
    // partner, Acme; the sale's pricelist is the company's (VIP since the previous test).
    const [invoiceTo] = await session.find(
      "res.partner",
      [["id", "=", (sale.partner_invoice_id as [number, string])[0]]],
      ["commercial_partner_id"],
    );
    assert.ok(invoiceTo);
    assert.equal((invoiceTo.commercial_partner_id as [number, string])[0], company, "invoiced on Acme");
    assert.equal((sale.pricelist_id as [number, string])[0], vip, "at the company's pricelist");
    const partners = await session.find("res.partner", [["email", "=ilike", BOB]], ["id"]);
    assert.deepEqual(
      partners.map((p: { id: number }) => p.id),
      [bob],
      "no second partner for the buyer",
    );
  });
});
