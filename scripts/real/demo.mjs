#!/usr/bin/env node
/**
 * `npm run demo:real`: the whole loop against the real systems, not the emulators. Starts Tryton and
 * Vendure on free loopback ports (copies of their golden databases under .passerelle/real/), seeds the ERP
 * with 50 products, two price lists and stock in two warehouses, writes a passerelle.yaml for both, and runs
 * the real CLI: catalog, prices and stock to the shop; three orders placed through Vendure's checkout into
 * the ERP; the ERP ships them and posts the invoices; tracking codes and invoices back to the shop. Prints
 * what happened at each step, then stops both systems (`--keep` leaves them running until Ctrl-C).
 * Installs nothing: scripts/real/preflight.mjs says what is missing.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fulfilSale, seedTryton, startTryton, trytonAvailable, trytonSession } from "./tryton.mjs";
import { startVendure, vendureVersion } from "./vendure.mjs";
import { createCoupon, placeShopOrder, variantIds, vendureAdmin } from "./vendure-shop.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(ROOT, "bin/passerelle-src.mjs");
const DIR = join(ROOT, ".passerelle", "real");
const keep = process.argv.includes("--keep");
const t0 = Date.now();
const say = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${m}`);

const tryton = trytonAvailable();
if (!tryton.ok || vendureVersion() === null) {
  console.error(
    `demo:real cannot run: ${!tryton.ok ? tryton.missing : "@vendure/core is not installed (npm install)"}`,
  );
  console.error("node scripts/real/preflight.mjs lists everything that is missing.");
  process.exit(1);
}

function cli(args, env) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: "inherit" });
    child.on("error", fail);
    child.on("close", (code) => done(code ?? -1));
  });
}

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
  const flow = (name, from, to, entity) =>
    `  ${name}:\n    source: { connection: ${from}, entity: ${entity} }\n    target: { connection: ${to}, entity: ${entity} }\n`;
  writeFileSync(
    config,
    [
      "version: 1",
      `store:\n  url: sqlite:${join(DIR, "passerelle.sqlite")}`,
      "connections:",
      `  erp:\n    type: tryton\n    url: ${erp.url}\n    db: ${erp.db}\n    username: ${erp.user}\n    password: \${env:TRYTON_PASSWORD}`,
      `  shop:\n    type: vendure\n    url: ${shop.url}\n    username: ${shop.adminUser}\n    password: \${env:VENDURE_PASSWORD}\n    locationMap:\n      WH: Main Warehouse\n      WH2: East Warehouse`,
      "flows:",
      flow("products", "erp", "shop", "product") +
        flow("prices", "erp", "shop", "price") +
        flow("stock", "erp", "shop", "inventory") +
        flow("customers", "shop", "erp", "customer") +
        flow("orders", "shop", "erp", "order") +
        flow("shipments", "erp", "shop", "shipment") +
        flow("invoices", "erp", "shop", "invoice"),
    ].join("\n"),
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
