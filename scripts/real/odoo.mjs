#!/usr/bin/env node
/**
 * A real Odoo 17 server for tests and the real demo, from the Odoo kit in `../shared/real/odoo17/` (next to
 * the repository; the first `shared/real/odoo17` found in the repository's parent folders, or the folder
 * named by PASSERELLE_ODOO_KIT). The kit's setup.sh installs Odoo's Python dependencies (Debian packages),
 * extracts the source under ODOO_HOME (default /tmp/odoo17) and builds a template database with sales,
 * stock, accounting, delivery and contacts; every start clones that template (`createdb -T`, about a
 * second) into a fresh database and boots Odoo on a free loopback port (2–4 s). Invoice PDFs need Debian's
 * `wkhtmltopdf` on PATH.
 *
 *   import { setupOdoo, startOdoo, seedOdoo } from "./scripts/real/odoo.mjs";
 *   await setupOdoo();                       // once per machine: ~1 min from clean, < 1 s when done
 *   const erp = await startOdoo();           // { url, db, user, password, stop }
 *   await seedOdoo(erp, { products: 6 });
 *   await erp.stop();                        // stops the server and drops its database
 *
 * CLI: `node scripts/real/odoo.mjs [--setup-only] [--seed <n>] [--once]` sets up, starts one, prints its
 * connection as `export` lines and keeps it running until Ctrl-C.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./tryton.mjs";

export const ODOO_USER = "admin";
export const ODOO_PASSWORD = "admin";
export const ODOO_TEMPLATE_DB = process.env.ODOO_TEMPLATE_DB ?? "odoo17_template";
/** The company currency of the kit's template database. */
export const ODOO_CURRENCY = "USD";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ODOO_HOME = process.env.ODOO_HOME ?? join(process.env.TMPDIR ?? tmpdir(), "odoo17");

/** The kit folder, or null: PASSERELLE_ODOO_KIT, else `shared/real/odoo17` in the repository's parent folders. */
export function odooKit() {
  if (process.env.PASSERELLE_ODOO_KIT) return resolve(process.env.PASSERELLE_ODOO_KIT);
  for (let dir = dirname(ROOT); ; dir = dirname(dir)) {
    const kit = join(dir, "shared", "real", "odoo17");
    if (existsSync(join(kit, "setup.sh"))) return kit;
    if (dirname(dir) === dir) return null;
  }
}

const onPath = (bin) => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;

/**
 * Whether Odoo can run here: the kit, python3, bash; `setupDone` says whether setup.sh has finished
 * (template database built). `missing` says what to do when not.
 */
export function odooAvailable() {
  const kit = odooKit();
  const missing = [];
  if (!kit)
    missing.push(
      "the Odoo kit (shared/real/odoo17 beside the repository) was not found: set PASSERELLE_ODOO_KIT to its folder",
    );
  if (!existsSync("/usr/bin/python3")) missing.push("/usr/bin/python3 not found (Debian's python3)");
  if (!onPath("bash")) missing.push("bash not found");
  const setupDone = existsSync(join(ODOO_HOME, "odoo-17.0", "odoo-bin")) && templateExists() === true;
  return {
    ok: missing.length === 0,
    missing: missing.length === 0 ? null : missing.join("; "),
    kit,
    home: ODOO_HOME,
    setupDone,
    wkhtmltopdf: onPath("wkhtmltopdf"),
  };
}

/** The database settings setup.sh wrote into ODOO_HOME/odoo.conf, as libpq environment variables. */
function pgEnv() {
  const conf = join(ODOO_HOME, "odoo.conf");
  const get = (key, fallback) => {
    if (!existsSync(conf)) return fallback;
    const m = new RegExp(`^${key} = (.*)$`, "m").exec(readFileSync(conf, "utf8"));
    return m ? m[1].trim() : fallback;
  };
  return {
    ...process.env,
    PGHOST: get("db_host", "127.0.0.1"),
    PGPORT: get("db_port", "5432"),
    PGUSER: get("db_user", "odoo"),
    PGPASSWORD: get("db_password", "odoo"),
  };
}

function templateExists() {
  if (!onPath("psql")) return null;
  const r = spawnSync(
    "psql",
    ["-d", "postgres", "-Atqc", `select 1 from pg_database where datname='${ODOO_TEMPLATE_DB}'`],
    { env: pgEnv(), encoding: "utf8" },
  );
  return r.status === 0 ? r.stdout.trim() === "1" : null;
}

function runKit(script, args, env = {}) {
  const kit = odooKit();
  if (!kit) throw new Error(odooAvailable().missing ?? "no Odoo kit");
  return new Promise((done, fail) => {
    const proc = spawn("bash", [join(kit, script), ...args], {
      env: { ...process.env, ODOO_HOME, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (c) => {
      out += c;
    });
    proc.stderr.on("data", (c) => {
      err = (err + c).slice(-8000);
    });
    proc.on("error", fail);
    proc.on("exit", (code) =>
      code === 0
        ? done({ stdout: out.trim(), stderr: err })
        : fail(new Error(`${script} ${args.join(" ")} failed (exit ${code}): ${err.slice(-3000)}`)),
    );
  });
}

/**
 * Runs the kit's setup.sh (idempotent: under a second when everything is there; about a minute from clean,
 * plus the apt install of missing Python packages, which needs root). Returns how long it took.
 */
export async function setupOdoo({ log = () => {} } = {}) {
  const t0 = Date.now();
  const { stderr } = await runKit("setup.sh", [ODOO_HOME]);
  for (const line of stderr.split("\n")) if (line.trim()) log(line);
  return { ms: Date.now() - t0 };
}

let started = 0;

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err?.code === "EPERM";
  }
};

/**
 * Drops the databases of earlier starts whose process died before `stop()` (named
 * passerelle_odoo_<pid>_…, the pid no longer running), so a machine that keeps PostgreSQL does not collect
 * them. A database some server still uses is left alone (dropdb refuses it).
 */
function dropStaleDatabases(log) {
  const env = pgEnv();
  const r = spawnSync(
    "psql",
    ["-d", "postgres", "-Atqc", "select datname from pg_database where datname like 'passerelle_odoo_%'"],
    { env, encoding: "utf8" },
  );
  if (r.status !== 0) return;
  for (const name of r.stdout.split("\n").map((l) => l.trim())) {
    const pid = Number(/^passerelle_odoo_(\d+)_/.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    const drop = spawnSync("dropdb", ["--if-exists", name], { env, encoding: "utf8" });
    if (drop.status === 0) log(`dropped the database ${name} left by process ${pid}`);
  }
}

/**
 * Clones the template into a fresh database (`db`, default a unique name) and starts Odoo on a free
 * loopback port. `stop()` stops the server and drops the database.
 */
export async function startOdoo({ db, log = () => {} } = {}) {
  const available = odooAvailable();
  if (!available.ok) throw new Error(available.missing ?? "Odoo unavailable");
  if (!available.setupDone) await setupOdoo({ log });
  if (started === 0) dropStaleDatabases(log);
  const name = db ?? `passerelle_odoo_${process.pid}_${Date.now().toString(36)}_${++started}`;
  if (!/^[a-z0-9_]+$/.test(name))
    throw new Error(`startOdoo: db must be [a-z0-9_]+, got ${JSON.stringify(name)}`);
  const t0 = Date.now();
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      const { stdout } = await runKit("start.sh", [name, String(port)], { ODOO_FRESH: "1" });
      const url = stdout.split("\n").pop()?.trim() || `http://127.0.0.1:${port}`;
      const pidFile = join(ODOO_HOME, "run", `odoo-${port}.pid`);
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      // A test runner that dies must not leave Odoo behind (its database stays; the next start uses a new name).
      const reap = () => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      };
      process.once("exit", reap);
      let stopped = null;
      const stop = () => {
        stopped ??= (async () => {
          process.removeListener("exit", reap);
          // A second SIGTERM makes Odoo's threaded server exit at once instead of draining for seconds.
          for (const signal of ["SIGTERM", "SIGTERM"]) {
            try {
              process.kill(pid, signal);
            } catch {}
            await new Promise((r) => setTimeout(r, 200));
          }
          await runKit("stop.sh", [String(port), "--drop", name]);
        })();
        return stopped;
      };
      const startMs = Date.now() - t0;
      log(`Odoo 17 on ${url}, database ${name}, ready in ${startMs} ms`);
      return {
        url,
        db: name,
        user: ODOO_USER,
        password: ODOO_PASSWORD,
        port,
        pid,
        log: join(ODOO_HOME, "run", `odoo-${port}.log`),
        timings: { startMs },
        stop,
      };
    } catch (err) {
      if (attempt < 2 && /already running|Address already in use/.test(String(err))) continue;
      throw err;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// JSON-RPC (a minimal client for seeding and merchant actions; the connector has its own)

/**
 * Logs in and returns `call(model, method, args, kwargs)`. A method that returns None answers with no
 * `result` key: `call` gives undefined then.
 */
export async function odooSession(conn) {
  let id = 0;
  let calls = 0;
  const rpc = async (service, method, args) => {
    calls++;
    const res = await fetch(`${conn.url}/jsonrpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "call", id: ++id, params: { service, method, args } }),
    });
    if (res.status !== 200) throw new Error(`Odoo answered HTTP ${res.status} to ${service}.${method}`);
    const body = await res.json();
    if (body.error) {
      const message = body.error.data?.message ?? body.error.message;
      throw new Error(`Odoo ${service}.${method}: ${String(message).slice(0, 800)}`);
    }
    return body.result;
  };
  const uid = await rpc("common", "authenticate", [conn.db, conn.user, conn.password, {}]);
  if (typeof uid !== "number") throw new Error(`Odoo refused the login of ${conn.user} on ${conn.db}`);
  const call = (model, method, args = [], kwargs = {}) =>
    rpc("object", "execute_kw", [conn.db, uid, conn.password, model, method, args, kwargs]);
  const s = {
    uid,
    get calls() {
      return calls;
    },
    call,
    find: (model, domain, fields, opts = {}) =>
      call(model, "search_read", [domain], { fields, order: "id asc", ...opts }),
    async one(model, domain, fields = ["id"]) {
      const [row] = await s.find(model, domain, fields, { limit: 1 });
      if (!row) throw new Error(`Odoo has no ${model} matching ${JSON.stringify(domain)}`);
      return row;
    },
    create: (model, values, context) => call(model, "create", [values], context ? { context } : {}),
    write: (model, ids, values) => call(model, "write", [ids, values]),
  };
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Seeding

const SIZES = ["S", "M", "L"];

/**
 * Seeds a started Odoo the way a merchant sets it up: the service products the order writer books
 * shipping and discounts on (internal references SHIP and DISCOUNT), `products` storable templates (every
 * `variantsEvery`-th with a Size attribute and three variants), a second warehouse WH2, stock in both
 * warehouses (inventory adjustments), two pricelists ("Wholesale" with a fixed price per variant, "VIP"
 * with 15 % off each variant's list price) and a customer with a delivery address for each;
 * `basePricelist` names a third pricelist with each variant at 90 % of its list price (the shop's one price,
 * different from the product's own so a test sees which of the two reached the shop).
 */
export async function seedOdoo(conn, opts = {}) {
  const { products = 6, variantsEvery = 3, prefix = "OD", stock = 40, basePricelist } = opts;
  const s = await odooSession(conn);
  const existingServices = await s.find(
    "product.product",
    [["default_code", "in", ["SHIP", "DISCOUNT"]]],
    ["default_code"],
  );
  for (const [code, name] of [
    ["SHIP", "Shipping"],
    ["DISCOUNT", "Discount"],
  ]) {
    if (existingServices.some((p) => p.default_code === code)) continue;
    await s.create("product.product", {
      name,
      default_code: code,
      detailed_type: "service",
      list_price: 0,
      invoice_policy: "order",
    });
  }

  let size = (await s.find("product.attribute", [["name", "=", "Size"]], ["value_ids"]))[0];
  if (!size) {
    const id = await s.create("product.attribute", {
      name: "Size",
      create_variant: "always",
      value_ids: SIZES.map((name) => [0, 0, { name }]),
    });
    size = (await s.find("product.attribute", [["id", "=", id]], ["value_ids"]))[0];
  }
  const sizeValues = await s.find("product.attribute.value", [["attribute_id", "=", size.id]], ["name"]);

  const specs = Array.from({ length: products }, (_, k) => {
    const i = k + 1;
    return {
      code: `${prefix}-${String(i).padStart(3, "0")}`,
      withVariants: variantsEvery > 0 && i % variantsEvery === 0,
      listPrice: 10 + (i % 7) * 2.5,
    };
  });
  // One create for all templates (Odoo's create takes a list).
  const templateIds = await s.create(
    "product.template",
    specs.map(({ code, withVariants, listPrice }) => ({
      name: `${withVariants ? "Shirt" : "Product"} ${code}`,
      detailed_type: "product",
      invoice_policy: "delivery",
      list_price: listPrice,
      weight: 0.25,
      ...(withVariants
        ? {
            attribute_line_ids: [
              [0, 0, { attribute_id: size.id, value_ids: [[6, 0, sizeValues.map((v) => v.id)]] }],
            ],
          }
        : { default_code: code }),
    })),
  );
  const templates = specs.map((spec, k) => ({ id: templateIds[k], ...spec }));
  const variants = await s.find(
    "product.product",
    [["product_tmpl_id", "in", templates.map((t) => t.id)]],
    ["product_tmpl_id", "product_template_attribute_value_ids", "default_code", "lst_price"],
  );
  // Variants get their SKU from the template code and the size.
  const valueNames = new Map(
    (
      await s.find(
        "product.template.attribute.value",
        [["product_tmpl_id", "in", templates.map((t) => t.id)]],
        ["name"],
      )
    ).map((v) => [v.id, v.name]),
  );
  for (const v of variants) {
    const t = templates.find((x) => x.id === v.product_tmpl_id[0]);
    if (!t?.withVariants) continue;
    const sizeName = valueNames.get(v.product_template_attribute_value_ids[0]);
    v.default_code = `${t.code}-${sizeName}`;
    await s.write("product.product", [v.id], { default_code: v.default_code });
  }
  // A price extra on L: stored on the template attribute value in Odoo 16+.
  const large = [...valueNames].filter(([, name]) => name === "L").map(([id]) => id);
  if (large.length > 0) await s.write("product.template.attribute.value", large, { price_extra: 2 });

  let wh2 = (await s.find("stock.warehouse", [["code", "=", "WH2"]], ["lot_stock_id"]))[0];
  if (!wh2) {
    const id = await s.create("stock.warehouse", { name: "Second Warehouse", code: "WH2" });
    wh2 = (await s.find("stock.warehouse", [["id", "=", id]], ["lot_stock_id"]))[0];
  }
  const warehouses = await s.find("stock.warehouse", [], ["code", "lot_stock_id"]);
  const quantIds = await s.create(
    "stock.quant",
    warehouses.flatMap((wh, w) =>
      variants.map((v, j) => ({
        product_id: v.id,
        location_id: wh.lot_stock_id[0],
        inventory_quantity: stock + ((j + w * 7) % 11),
      })),
    ),
    { inventory_mode: true },
  );
  await s.call("stock.quant", "action_apply_inventory", [quantIds]);

  const usd = await s.one("res.currency", [["name", "=", ODOO_CURRENCY]]);
  const fresh = await s.find(
    "product.product",
    [["id", "in", variants.map((v) => v.id)]],
    ["default_code", "lst_price"],
  );
  const wholesale = await s.create("product.pricelist", {
    name: "Wholesale",
    currency_id: usd.id,
    item_ids: fresh.map((v) => [
      0,
      0,
      {
        applied_on: "0_product_variant",
        product_id: v.id,
        compute_price: "fixed",
        fixed_price: Math.round(v.lst_price * 80) / 100,
      },
    ]),
  });
  const vip = await s.create("product.pricelist", {
    name: "VIP",
    currency_id: usd.id,
    item_ids: fresh.map((v) => [
      0,
      0,
      { applied_on: "0_product_variant", product_id: v.id, compute_price: "percentage", percent_price: 15 },
    ]),
  });
  // The shop's own list (a shop with one price for every buyer): each variant at 90 % of its list price.
  const base = basePricelist
    ? await s.create("product.pricelist", {
        name: basePricelist,
        currency_id: usd.id,
        item_ids: fresh.map((v) => [
          0,
          0,
          {
            applied_on: "0_product_variant",
            product_id: v.id,
            compute_price: "fixed",
            fixed_price: Math.round(v.lst_price * 90) / 100,
          },
        ]),
      })
    : null;
  const be = await s.one("res.country", [["code", "=", "BE"]]);
  const customers = [];
  for (const [name, list] of [
    ["Wholesale", wholesale],
    ["VIP", vip],
  ]) {
    const email = `${name.toLowerCase()}-${prefix.toLowerCase()}@example.com`;
    const id = await s.create("res.partner", {
      name: `${name} Customer ${prefix}`,
      email,
      street: "Rue Neuve 1",
      city: "Brussels",
      zip: "1000",
      country_id: be.id,
      property_product_pricelist: list,
      child_ids: [
        [
          0,
          0,
          {
            type: "delivery",
            name: "Depot",
            street: "Quai 5",
            city: "Antwerp",
            zip: "2000",
            country_id: be.id,
          },
        ],
      ],
    });
    customers.push({ id, email, pricelist: list });
  }
  return {
    templates: templates.map((t) => t.id),
    skus: fresh.map((v) => ({ sku: v.default_code, price: v.lst_price.toFixed(2), id: v.id })),
    warehouses: warehouses.map((w) => ({ id: w.id, code: w.code, stockLocation: w.lot_stock_id[0] })),
    pricelists: [
      { id: wholesale, name: "Wholesale" },
      { id: vip, name: "VIP" },
      ...(base ? [{ id: base, name: basePricelist }] : []),
    ],
    customers,
  };
}

// ---------------------------------------------------------------------------------------------------
// What the warehouse and the accountant do

/**
 * Ships the sale's open outgoing picking with `tracking` as carrier_tracking_ref. `quantities` (SKU →
 * quantity) ships part of it and leaves a backorder for the rest; without it everything ships.
 * Returns the done picking's id.
 */
export async function deliverSale(conn, saleId, tracking, quantities) {
  const s = await odooSession(conn);
  const [picking] = await s.find(
    "stock.picking",
    [
      ["sale_id", "=", saleId],
      ["picking_type_code", "=", "outgoing"],
      ["state", "not in", ["done", "cancel"]],
    ],
    ["move_ids"],
  );
  if (!picking) throw new Error(`sale.order ${saleId} has no open delivery`);
  await s.call("stock.picking", "action_assign", [[picking.id]]);
  await s.write("stock.picking", [picking.id], { carrier_tracking_ref: tracking });
  if (quantities) {
    const moves = await s.find(
      "stock.move",
      [["picking_id", "=", picking.id]],
      ["product_id", "product_uom_qty"],
    );
    const products = await s.find(
      "product.product",
      [["id", "in", moves.map((m) => m.product_id[0])]],
      ["default_code"],
    );
    const code = new Map(products.map((p) => [p.id, p.default_code]));
    for (const m of moves) {
      const qty = quantities[code.get(m.product_id[0])] ?? 0;
      await s.write("stock.move", [m.id], { quantity: qty, picked: qty > 0 });
    }
  }
  const result = await s.call("stock.picking", "button_validate", [[picking.id]]);
  if (result !== true && result && typeof result === "object") {
    // A backorder wizard: keep the rest as a backorder.
    const ctx = result.context ?? {};
    if (result.res_model !== "stock.backorder.confirmation")
      throw new Error(`button_validate asked for ${result.res_model}`);
    const wizard = await s.call("stock.backorder.confirmation", "create", [{}], { context: ctx });
    await s.call("stock.backorder.confirmation", "process", [[wizard]], { context: ctx });
  }
  const [done] = await s.find("stock.picking", [["id", "=", picking.id]], ["state"]);
  if (done?.state !== "done") throw new Error(`picking ${picking.id} is ${done?.state} after validation`);
  return picking.id;
}

/** Invoices what the sale delivered (or ordered, by product policy) and posts the invoice; returns its id. */
export async function invoiceSale(conn, saleId) {
  const s = await odooSession(conn);
  const context = { active_model: "sale.order", active_ids: [saleId], active_id: saleId };
  const wizard = await s.call(
    "sale.advance.payment.inv",
    "create",
    [{ advance_payment_method: "delivered", sale_order_ids: [[6, 0, [saleId]]] }],
    { context },
  );
  await s.call("sale.advance.payment.inv", "create_invoices", [[wizard]], { context });
  const [sale] = await s.find("sale.order", [["id", "=", saleId]], ["invoice_ids"]);
  const drafts = await s.find(
    "account.move",
    [
      ["id", "in", sale.invoice_ids],
      ["state", "=", "draft"],
    ],
    ["id"],
  );
  if (drafts.length === 0) throw new Error(`sale.order ${saleId} made no draft invoice`);
  await s.call("account.move", "action_post", [drafts.map((d) => d.id)]);
  return drafts[drafts.length - 1].id;
}

// ---------------------------------------------------------------------------------------------------
// CLI

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const arg = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const log = (m) => console.error(m);
  const setup = await setupOdoo({ log });
  console.error(`odoo setup: ${setup.ms} ms`);
  if (args.includes("--setup-only")) process.exit(0);
  const erp = await startOdoo({ log });
  const seed = arg("--seed");
  if (seed) {
    const t1 = Date.now();
    const made = await seedOdoo(erp, { products: Number(seed) });
    console.error(
      `seeded ${made.templates.length} templates, ${made.skus.length} variants in ${Date.now() - t1} ms`,
    );
  }
  console.log(`export ODOO_URL=${erp.url}`);
  console.log(`export ODOO_DB=${erp.db}`);
  console.log(`export ODOO_USER=${erp.user}`);
  console.log(`export ODOO_PASSWORD=${erp.password}`);
  const stop = async () => {
    await erp.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  if (args.includes("--once")) await stop();
}
