#!/usr/bin/env node
/**
 * `npm run demo:real`: a pair of real systems (not the emulators) driven through Passerelle's own CLI, step
 * by step, printing what happened in each system and links to open them. Installs nothing:
 * scripts/real/preflight.mjs says what is missing.
 *
 * --pair odoo-woocommerce (default): starts Odoo 17 (a fresh clone of the kit's template database) and a
 *   WooCommerce 7.9 shop on free loopback ports, seeds Odoo (products with a Size attribute, the shop's
 *   pricelist and two customer-group ones, stock in two warehouses), writes a passerelle.yaml, then: catalog,
 *   prices and stock to the shop; a customer registers and places two orders in the shop → confirmed Odoo
 *   sales; Odoo ships the first in two parts (a backorder) with tracking refs → the shop's order notes, the
 *   order completed after the last; the invoice is posted → the shop order, its PDF fetched from Odoo; the
 *   second order is cancelled in the shop → the Odoo sale cancelled; the customer edits their account →
 *   the Odoo partner changed in place; a last sync of everything writes nothing.
 * --pair tryton-vendure: the same loop on Tryton and Vendure (50 products, three orders through Vendure's
 *   checkout, shipped and invoiced in Tryton).
 * --keep: leaves both systems running (Ctrl-C stops them) so the links stay open.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { deliverSale, invoiceSale, odooSession, seedOdoo, startOdoo } from "./odoo.mjs";
import { pairConfig, pairEnv, placeOrder, registerCustomer, shopTax, wooApi } from "./odoo-woo.mjs";
import { CATALOG_FLOWS, ORDER_FLOWS, pairYaml, trytonConnection, vendureConnection } from "./pair-config.mjs";
import { checkSystems } from "./preflight.mjs";
import { fulfilSale, seedTryton, startTryton, trytonSession } from "./tryton.mjs";
import { startVendure } from "./vendure.mjs";
import { createCoupon, placeShopOrder, variantIds, vendureAdmin } from "./vendure-shop.ts";
import { startWoo } from "./woocommerce.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(ROOT, "bin/passerelle-src.mjs");
const DIR = join(ROOT, ".passerelle", "real");
const PAIRS = { "odoo-woocommerce": ["odoo", "woocommerce"], "tryton-vendure": ["tryton", "vendure"] };
const USAGE = `usage: npm run demo:real [-- [--pair odoo-woocommerce|tryton-vendure] [--keep]]

  --pair odoo-woocommerce   Odoo 17 (ERP) and WooCommerce 7.9 (shop), the default
  --pair tryton-vendure     Tryton (ERP) and Vendure (shop)
  --keep                    leave both systems running (with links to open them) until Ctrl-C
  --help                    this text

Runs the real systems on this machine (scripts/real/preflight.mjs lists what is missing) and the real
passerelle CLI against them with a generated passerelle.yaml under .passerelle/real/.`;

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
const pairAt = args.indexOf("--pair");
const pair = pairAt >= 0 ? args[pairAt + 1] : "odoo-woocommerce";
const unknown = args.filter(
  (a, i) => !["--keep", "--pair"].includes(a) && !(pairAt >= 0 && i === pairAt + 1),
);
if (!pair || !Object.hasOwn(PAIRS, pair) || unknown.length > 0) {
  console.error(
    unknown.length > 0
      ? `demo:real: unknown argument ${JSON.stringify(unknown[0])}`
      : `demo:real: --pair must be one of ${Object.keys(PAIRS).join(", ")}, got ${JSON.stringify(pair ?? "")}`,
  );
  console.error(USAGE);
  process.exit(2);
}
const keep = args.includes("--keep");
const t0 = Date.now();
const say = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${m}`);

const check = checkSystems(PAIRS[pair]);
if (check.problems.length > 0) {
  console.error(`demo:real --pair ${pair} cannot run here:`);
  for (const p of check.problems) console.error(`  - ${p}`);
  process.exit(1);
}

/** Runs the passerelle CLI with its output on this terminal; resolves to the exit code. */
function cli(args, env) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: "inherit" });
    child.on("error", fail);
    child.on("close", (code) => done(code ?? -1));
  });
}

/** Runs the passerelle CLI quietly and returns its output (for `--json` answers the demo reads). */
function cliOut(args, env) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    child.on("error", fail);
    child.on("close", (code) => done({ code: code ?? -1, stdout: out }));
  });
}

/** The step's command, run for the user to see. */
async function step(title, args, env) {
  say(`── ${title}`);
  say(`$ passerelle ${args.join(" ")}`);
  const code = await cli(args, env);
  if (code !== 0) say(`(passerelle exited ${code}: \`passerelle failures list\` says why)`);
  return code;
}

async function odooWoocommerce() {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  say("starting Odoo 17 and WooCommerce 7.9 (the first run sets the shop up: about 10 s)");
  const [erp, shop] = await Promise.all([startOdoo(), startWoo({ instance: "demo" })]);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.all([erp.stop(), shop.stop()]);
  };
  process.on("SIGINT", () => stop().then(() => process.exit(130)));
  try {
    const creds = JSON.parse(readFileSync(join(shop.home, "credentials.json"), "utf8"));
    const odooLink = (model, id) => `${erp.url}/web#model=${model}&id=${id}&view_type=form`;
    const wooOrderLink = (id) => `${shop.url}/wp-admin/post.php?post=${id}&action=edit`;
    say(
      `Odoo 17      ${erp.url}/web (login ${erp.user} / ${erp.password}, database ${erp.db}; ready in ${erp.timings.startMs} ms)`,
    );
    say(
      `WooCommerce  ${shop.url}/wp-admin/ (login ${creds.admin_user} / ${creds.admin_password}; ready in ${shop.timings.startMs} ms)`,
    );

    const seed = await seedOdoo(erp, {
      products: 9,
      variantsEvery: 3,
      prefix: "DEMO",
      stock: 20,
      basePricelist: "Shop",
    });
    const s = await odooSession(erp);
    say(
      `seeded Odoo: ${seed.templates.length} products (every third a shirt in S/M/L), ${seed.skus.length} SKUs; pricelists ${seed.pricelists.map((l) => l.name).join(", ")}; stock in warehouses ${seed.warehouses.map((w) => w.code).join(" and ")}`,
    );
    const api = wooApi(shop);
    await shopTax(api);
    say("WooCommerce: taxes on, 15 % for every country (the sales tax Odoo charges)");
    const config = join(DIR, "passerelle.yaml");
    writeFileSync(config, pairConfig(DIR, erp, shop));
    const env = pairEnv(config, erp, shop);
    say(`configuration: ${config} (secrets come from ODOO_PASSWORD and WOO_APPLICATION_PASSWORD)`);

    await step(
      "1. catalog, prices and stock: Odoo → WooCommerce",
      ["sync", "products", "prices", "stock"],
      env,
    );
    const products = await api("GET", "/products?per_page=100&status=any");
    for (const p of products)
      say(
        `  shop product ${p.name} (${p.type}${p.variations?.length ? `, ${p.variations.length} variations` : `, ${p.regular_price} USD, stock ${p.stock_quantity}`})`,
      );
    say(`  open: ${shop.url}/wp-admin/edit.php?post_type=product`);
    say(
      "  Wholesale and VIP prices are customer-group prices WooCommerce core cannot hold: skipped with that reason:",
    );
    await cli(["trace", "price", `vip:${seed.skus[0].sku}`], env);

    await step("1b. the same again: nothing to write", ["sync", "products", "prices", "stock"], env);

    const email = `grace-${Date.now().toString(36)}@example.com`;
    const customer = await registerCustomer(api, email);
    const shirt = seed.skus.find((x) => x.sku.endsWith("-M"))?.sku ?? seed.skus[0].sku;
    const [first, second] = [
      await placeOrder(api, customer, [
        [shirt, 2],
        [seed.skus[0].sku, 1],
      ]),
      await placeOrder(api, customer, [[seed.skus[1].sku, 1]]),
    ];
    say(
      `── 2. ${email} registered in the shop and placed orders #${first.number} (${first.total} USD) and #${second.number} (${second.total} USD)`,
    );
    say(`  open: ${wooOrderLink(first.id)}`);
    await step("2. customers and orders: WooCommerce → Odoo", ["sync", "customers", "orders"], env);
    const saleOf = async (o) =>
      (
        await s.find(
          "sale.order",
          [["client_order_ref", "=", `shop:${o.number}`]],
          ["name", "state", "amount_total", "partner_id"],
        )
      )[0];
    for (const o of [first, second]) {
      const sale = await saleOf(o);
      say(
        sale
          ? `  shop order #${o.number} → Odoo ${sale.name} (${sale.state}, ${sale.amount_total.toFixed(2)} USD, customer ${sale.partner_id[1]}): ${odooLink("sale.order", sale.id)}`
          : `  shop order #${o.number}: no Odoo sale (passerelle failures list says why)`,
      );
    }
    const sale = await saleOf(first);
    if (!sale) throw new Error(`order #${first.number} did not reach Odoo`);

    say(
      `── 3. the warehouse ships 1 of the 2 ${shirt} of ${sale.name} (tracking TRACK-1; the rest stays as a backorder)`,
    );
    await deliverSale(erp, sale.id, "TRACK-1", { [shirt]: 1 });
    await step("3. shipments: Odoo → WooCommerce", ["sync", "shipments"], env);
    const status = async (o) => (await api("GET", `/orders/${o.id}`)).status;
    const notes = async (o) =>
      (await api("GET", `/orders/${o.id}/notes`))
        .filter((n) => n.note.includes("[passerelle"))
        .map((n) => n.note.replace(/<[^>]*>/g, "").split("\n")[0])
        .reverse();
    say(
      `  shop order #${first.number}: ${await status(first)}; Passerelle's notes: ${(await notes(first)).join(" | ")}`,
    );
    say(`── 3b. the rest ships (tracking TRACK-2)`);
    await deliverSale(erp, sale.id, "TRACK-2");
    await step("3b. shipments: Odoo → WooCommerce", ["sync", "shipments", "stock"], env);
    say(
      `  shop order #${first.number}: ${await status(first)}; Passerelle's notes: ${(await notes(first)).join(" | ")}`,
    );

    const moveId = await invoiceSale(erp, sale.id);
    const [move] = await s.find("account.move", [["id", "=", moveId]], ["name", "amount_total"]);
    say(
      `── 4. the accountant posts invoice ${move.name} (${move.amount_total.toFixed(2)} USD): ${odooLink("account.move", moveId)}`,
    );
    await step("4. invoices: Odoo → WooCommerce", ["sync", "invoices"], env);
    const meta = (await api("GET", `/orders/${first.id}`)).meta_data.find(
      (m) => m.key === `passerelle_invoice_${move.name}`,
    );
    say(`  shop order #${first.number} meta ${meta?.key}: ${JSON.stringify(meta?.value)}`);
    if (meta?.value?.document) {
      const file = join(DIR, `${move.name.replaceAll("/", "-")}.pdf`);
      const got = await cliOut(["document", "erp", meta.value.document, "--out", file], env);
      say(`  $ passerelle document erp ${meta.value.document} --out ${file}`);
      say(
        got.code === 0
          ? `  PDF from Odoo: ${file} (${statSync(file).size} bytes)`
          : `  no PDF (exit ${got.code})`,
      );
    }

    say(`── 5. the customer cancels order #${second.number} in the shop`);
    await api("PUT", `/orders/${second.id}`, { status: "cancelled" });
    await step("5. orders: WooCommerce → Odoo", ["sync", "orders", "stock"], env);
    const cancelled = await saleOf(second);
    say(`  Odoo ${cancelled?.name}: ${cancelled?.state}`);

    say(`── 6. the customer edits their account in the shop (new street and phone)`);
    await api("PUT", `/customers/${customer.id}`, {
      billing: { address_1: "200 Market St", phone: "+1 415 555 0199" },
    });
    await step("6. customers: WooCommerce → Odoo", ["sync", "customers"], env);
    const partners = await s.find(
      "res.partner",
      [
        ["email", "=ilike", email],
        ["parent_id", "=", false],
      ],
      ["name", "street", "phone"],
    );
    for (const p of partners)
      say(
        `  Odoo partner ${p.name}: ${p.street}, ${p.phone} (${partners.length} partner): ${odooLink("res.partner", p.id)}`,
      );

    const again = await cliOut(["sync", "--json"], env);
    say("── 7. every flow again: nothing to write");
    try {
      for (const r of JSON.parse(again.stdout).runs)
        say(
          `  ${r.flow}: ${r.counts.created} created, ${r.counts.updated} updated, ${r.counts.failed} failed, ${r.counts.calls} API calls`,
        );
    } catch {
      say(`  passerelle sync exited ${again.code}`);
    }
    await step("status", ["status"], env);
    if (keep) {
      say(`both systems keep running (Ctrl-C stops them); PASSERELLE_CONFIG=${config}`);
      say(
        `Odoo ${erp.url}/web (${erp.user} / ${erp.password}) · WooCommerce ${shop.url}/wp-admin/ (${creds.admin_user} / ${creds.admin_password})`,
      );
      await new Promise(() => {});
    }
  } finally {
    if (!keep) await stop();
  }
  say("done");
}

async function trytonVendure() {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  say("starting Tryton and Vendure (the first run also builds their databases: about a minute)");
  const [erp, shop] = await Promise.all([
    startTryton({ dir: join(DIR, "erp") }),
    startVendure({ dir: join(DIR, "shop") }),
  ]);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.all([erp.stop(), shop.stop()]);
  };
  process.on("SIGINT", () => stop().then(() => process.exit(130)));
  try {
    say(
      `Tryton ${erp.url}/${erp.db} (${erp.timings.startMs} ms), Vendure ${shop.url}/admin-api (${shop.timings.startMs} ms)`,
    );
    const seed = await seedTryton(erp, { products: 50 });
    const session = await trytonSession(erp);
    await session.model("account.configuration", "write", [1], { tax_rounding: "line" });
    say(
      `seeded Tryton: ${seed.templates.length} products, ${seed.skus.length} variants, price lists ${seed.priceLists.map((l) => l.name).join(", ")}, warehouses ${seed.warehouses.map((w) => w.code).join(", ")}`,
    );

    const config = join(DIR, "passerelle.yaml");
    writeFileSync(
      config,
      pairYaml({
        dir: DIR,
        erp: trytonConnection(erp),
        shop: vendureConnection(shop, { WH: "Main Warehouse", WH2: "East Warehouse" }),
        flows: [...CATALOG_FLOWS, ...ORDER_FLOWS, ["invoices", "erp", "invoice"]],
      }),
    );
    const env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      TRYTON_PASSWORD: erp.password,
      VENDURE_PASSWORD: shop.adminPassword,
    };
    say(`configuration: ${config}`);

    say("passerelle sync products prices stock");
    await cli(["sync", "products", "prices", "stock"], env);

    const admin = await vendureAdmin(shop);
    await createCoupon(admin, "WELCOME10", 10);
    const ids = await variantIds(admin, seed.skus);
    const id = (i) => ids.get(seed.skus[i]);
    const orders = [
      await placeShopOrder(shop, {
        email: "ada@example.com",
        firstName: "Ada",
        lastName: "Lovelace",
        lines: [{ variantId: id(0), quantity: 1 }],
        couponCode: "WELCOME10",
      }),
      await placeShopOrder(shop, {
        email: "bob@example.com",
        firstName: "Bob",
        lastName: "Builder",
        lines: [
          { variantId: id(1), quantity: 2 },
          { variantId: id(2), quantity: 1 },
          { variantId: id(4), quantity: 3 },
        ],
        shippingMethodCode: "express-shipping",
      }),
      await placeShopOrder(shop, {
        email: "cleo@example.com",
        firstName: "Cleo",
        lastName: "Patra",
        lines: [{ variantId: id(3), quantity: 2 }],
      }),
    ];
    say(
      `placed ${orders.length} orders through Vendure's checkout: ${orders.map((o) => `${o.code} (${(o.totalWithTax / 100).toFixed(2)} EUR)`).join(", ")}`,
    );

    say("passerelle sync customers orders");
    await cli(["sync", "customers", "orders"], env);
    for (const o of orders) {
      const [sale] = await session.find(
        "sale.sale",
        [["reference", "=", `shop:${o.code}`]],
        ["number", "state", "total_amount"],
      );
      if (!sale) {
        say(`order ${o.code}: no Tryton sale (see passerelle failures list)`);
        continue;
      }
      say(
        `order ${o.code} → Tryton sale ${sale.number} (${sale.state}, ${sale.total_amount?.decimal ?? sale.total_amount} EUR); shipping it as TRACK-${o.code}`,
      );
      await fulfilSale(erp, sale.id, `TRACK-${o.code}`);
    }

    say("passerelle sync shipments invoices stock");
    await cli(["sync", "shipments", "invoices", "stock"], env);
    for (const o of orders) {
      const data = await admin(
        "query($id:ID!){order(id:$id){code state fulfillments{trackingCode state} customFields{invoiceNumber invoiceDocument}}}",
        { id: o.id },
      );
      const v = data.order;
      say(
        `Vendure order ${v.code}: ${v.state}, fulfilments ${v.fulfillments.map((f) => `${f.trackingCode} (${f.state})`).join(", ") || "none"}, invoice ${v.customFields.invoiceNumber ?? "none"} (${v.customFields.invoiceDocument ?? "-"})`,
      );
    }

    say("passerelle sync (everything again: nothing should change)");
    await cli(["sync"], env);
    say("passerelle status");
    await cli(["status"], env);
    if (keep) {
      say(`both systems keep running (Ctrl-C stops them); PASSERELLE_CONFIG=${config}`);
      await new Promise(() => {});
    }
  } finally {
    if (!keep) await stop();
  }
  say("done");
}

if (pair === "odoo-woocommerce") await odooWoocommerce();
else await trytonVendure();
