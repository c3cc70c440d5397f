#!/usr/bin/env node
/**
 * What `npm run test:real` and `npm run demo:real` need, checked before they start: Node 20.11+, Vendure
 * (`@vendure/core`, a development dependency that `npm install` brings) with its SQLite driver, and Tryton
 * (the Debian packages, which nothing here installs). Prints every problem with the way to fix it and
 * exits 1 when one is missing. LibreOffice (soffice) is required too: Tryton converts its invoice report to
 * PDF with it. Odoo 17 needs its kit (../shared/real/odoo17), set up once (`node scripts/real/odoo.mjs
 * --setup-only`), and wkhtmltopdf for its PDFs. WooCommerce 7.9 needs its kit (../shared/real/woocommerce)
 * with PHP and MariaDB, set up once (`node scripts/real/woocommerce.mjs --setup-only`). Medusa 2.21 needs its kit
 * (../shared/real/medusa) and PostgreSQL, set up once (`node scripts/real/medusa.mjs --setup-only`; it installs
 * Medusa in its own work dir, never in this project's node_modules).
 *
 * `npm run demo:real` runs one pair: it calls `checkSystems` for that pair's two systems itself, so under
 * it (npm_lifecycle_event demo:real) this script only checks Node. `node scripts/real/preflight.mjs
 * odoo woocommerce` checks just the systems named (odoo, woocommerce, tryton, vendure, medusa).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MEDUSA_HOME, medusaAvailable } from "./medusa.mjs";
import { ODOO_TEMPLATE_DB, odooAvailable } from "./odoo.mjs";
import { trytonAvailable } from "./tryton.mjs";
import { vendureVersion } from "./vendure.mjs";
import { WOO_HOME, wooAvailable } from "./woocommerce.mjs";

const require = createRequire(import.meta.url);
export const SYSTEMS = ["tryton", "vendure", "odoo", "woocommerce", "medusa"];

/** Problems (each with its fix) and notes for the systems named: Node always, then each system's needs. */
export function checkSystems(systems = SYSTEMS) {
  const problems = [];
  const notes = [];
  const unknown = systems.filter((x) => !SYSTEMS.includes(x));
  if (unknown.length > 0)
    problems.push(`unknown system ${unknown.join(", ")} (known: ${SYSTEMS.join(", ")})`);
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 11))
    problems.push(`Node ${process.versions.node}: 20.11 or later is needed`);
  if (systems.includes("vendure")) checkVendure(problems, notes);
  if (systems.includes("tryton")) checkTryton(problems, notes);
  if (systems.includes("odoo")) checkOdoo(problems, notes);
  if (systems.includes("woocommerce")) checkWoo(problems, notes);
  if (systems.includes("medusa")) checkMedusa(problems, notes);
  return { problems, notes };
}

function checkVendure(problems, notes) {
  const vendure = vendureVersion();
  if (vendure === null) {
    problems.push("@vendure/core is not installed: run `npm install` (it is a development dependency)");
  } else {
    try {
      require("better-sqlite3");
      notes.push(`Vendure ${vendure} (SQLite through better-sqlite3)`);
    } catch (err) {
      problems.push(
        `better-sqlite3 does not load (${err instanceof Error ? err.message.split("\n")[0] : String(err)}): run \`npm rebuild better-sqlite3\``,
      );
    }
  }
}

function checkTryton(problems, notes) {
  const tryton = trytonAvailable();
  if (!tryton.ok) {
    problems.push(
      `Tryton: ${tryton.missing}\n    e.g. sudo apt-get install -y --no-install-recommends tryton-server tryton-modules-sale tryton-modules-sale-price-list tryton-modules-product-price-list tryton-modules-account-invoice-stock tryton-modules-account-product`,
    );
  } else {
    const v = spawnSync("trytond", ["--version"], { encoding: "utf8" });
    notes.push(`Tryton ${(v.stdout || v.stderr || "").trim() || "(version unknown)"}`);
  }

  const office = spawnSync("sh", ["-c", "command -v soffice"], { stdio: "ignore" }).status === 0;
  if (office) notes.push("LibreOffice found: Tryton renders invoices as PDF");
  else
    problems.push(
      "LibreOffice (soffice) not found: Tryton cannot render invoices as PDF\n    e.g. sudo apt-get install -y --no-install-recommends libreoffice-writer-nogui",
    );
}

function checkOdoo(problems, notes) {
  const odoo = odooAvailable();
  if (!odoo.ok) {
    problems.push(`Odoo 17: ${odoo.missing}`);
  } else if (!odoo.setupDone) {
    problems.push(
      `Odoo 17: not set up in ${odoo.home} (no template database ${ODOO_TEMPLATE_DB}): run \`node scripts/real/odoo.mjs --setup-only\` (as root the first time: it installs Debian packages and creates a PostgreSQL role; about 1 min)`,
    );
  } else {
    notes.push(`Odoo 17 from ${odoo.kit}, set up in ${odoo.home}`);
    if (odoo.wkhtmltopdf) notes.push("wkhtmltopdf found: Odoo renders invoices as PDF");
    else
      problems.push(
        "wkhtmltopdf not found: Odoo cannot render invoice PDFs\n    e.g. sudo apt-get install -y --no-install-recommends wkhtmltopdf",
      );
  }
}

function checkWoo(problems, notes) {
  const woo = wooAvailable();
  if (!woo.ok) {
    problems.push(`WooCommerce: ${woo.missing}`);
  } else if (!existsSync(join(WOO_HOME, "template.sql"))) {
    problems.push(
      `WooCommerce: not set up in ${WOO_HOME}: run \`node scripts/real/woocommerce.mjs --setup-only\` (as root the first time: it installs PHP, MariaDB and WordPress from Debian; about a minute)`,
    );
  } else {
    notes.push(`WooCommerce set up in ${WOO_HOME}`);
  }
}

function checkMedusa(problems, notes) {
  const medusa = medusaAvailable();
  if (!medusa.ok) {
    problems.push(`Medusa: ${medusa.missing}`);
  } else if (
    !existsSync(join(MEDUSA_HOME, "seed.json")) ||
    !existsSync(join(MEDUSA_HOME, "app", ".medusa", "server"))
  ) {
    problems.push(
      `Medusa: not set up in ${MEDUSA_HOME}: run \`node scripts/real/medusa.mjs --setup-only\` (npm ci of the Medusa server into that work dir, a build and a template database; about 1-2 minutes)`,
    );
  } else {
    notes.push(`Medusa set up in ${MEDUSA_HOME}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // demo:real checks the pair it runs (demo.mjs); test:real and a plain call check every system, or those named.
  const named = process.argv.slice(2);
  const systems = process.env.npm_lifecycle_event === "demo:real" ? [] : named.length > 0 ? named : SYSTEMS;
  const { problems, notes } = checkSystems(systems);
  for (const n of notes) console.error(`preflight: ${n}`);
  if (problems.length > 0) {
    console.error("preflight: the real systems cannot run here:");
    for (const p of problems) console.error(`  - ${p}`);
    process.exit(1);
  }
  console.error("preflight: ready");
}
