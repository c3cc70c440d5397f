#!/usr/bin/env node
/**
 * A real Tryton 6.0 server for tests and the real demo: a throw-away SQLite database in a given folder,
 * `trytond` on a free loopback port, and a seeding helper. Needs the Debian packages `tryton-server` and
 * the modules listed in TRYTON_MODULES (see docs/connectors/tryton.md); it installs nothing.
 *
 * The first run creates the database with trytond-admin (about 15–35 s), sets up a company, the euro, a
 * minimal chart of accounts, fiscal years, taxes (rounded per line) and an accounting category over JSON-RPC, and keeps the
 * result as a golden copy under node_modules/.cache/passerelle/tryton/. Every later start copies that file.
 *
 *   import { startTryton, seedTryton } from "./scripts/real/tryton.mjs";
 *   const erp = await startTryton({ dir: "/tmp/erp" });   // { url, db, user, password, stop }
 *   await seedTryton(erp, { products: 50 });
 *   await erp.stop();
 *
 * CLI: `node scripts/real/tryton.mjs [--dir <folder>] [--seed <n>]` starts one, prints its connection as
 * `export` lines and keeps it running until Ctrl-C.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const TRYTON_MODULES = [
  "sale",
  "account_invoice_stock",
  "sale_price_list",
  "product_price_list",
  "account_product",
  // Kits (product.component) and suppliers with lead times (purchase.product_supplier), issue 21.
  "product_kit",
  "purchase",
];
export const TRYTON_USER = "admin";
export const TRYTON_PASSWORD = "passerelle-admin";
export const TRYTON_DB = "erp";
/** Bump when the set-up below changes: it names the golden copy. */
const SETUP_VERSION = 7;
const COUNTRIES = [
  ["DE", "Germany"],
  ["AT", "Austria"],
  ["CH", "Switzerland"],
  ["FR", "France"],
  ["BE", "Belgium"],
  ["NL", "Netherlands"],
  ["LU", "Luxembourg"],
  ["IT", "Italy"],
  ["ES", "Spain"],
  ["PT", "Portugal"],
  ["GB", "United Kingdom"],
  ["IE", "Ireland"],
  ["DK", "Denmark"],
  ["SE", "Sweden"],
  ["PL", "Poland"],
  ["US", "United States"],
  ["CA", "Canada"],
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CACHE = join(ROOT, "node_modules", ".cache", "passerelle", "tryton");

/** Whether trytond and trytond-admin are on PATH; `missing` says what to install when not. */
export function trytonAvailable() {
  const missing = ["trytond", "trytond-admin"].filter(
    (bin) => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status !== 0,
  );
  if (missing.length === 0) return { ok: true, missing: null };
  return {
    ok: false,
    missing: `${missing.join(", ")} not found: install the Debian packages tryton-server ${TRYTON_MODULES.map((m) => `tryton-modules-${m.replace(/_/g, "-")}`).join(" ")}`,
  };
}

function trytonVersion() {
  const r = spawnSync("trytond", ["--version"], { encoding: "utf8" });
  return (r.stdout || r.stderr || "unknown").trim();
}

export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? done(address.port) : fail(new Error("no port")),
      );
    });
  });
}

function writeConfig(dir, port) {
  mkdirSync(join(dir, "db"), { recursive: true });
  const conf = join(dir, "trytond.conf");
  writeFileSync(
    conf,
    [
      "[database]",
      "uri = sqlite://",
      `path = ${join(dir, "db")}`,
      "",
      "[web]",
      `listen = 127.0.0.1:${port}`,
      "",
      "[session]",
      "timeout = 3600",
      "",
    ].join("\n"),
  );
  return conf;
}

// ---------------------------------------------------------------------------------------------------
// JSON-RPC (a minimal client for set-up and seeding; the connector has its own, typed one)

export const dec = (v) => ({ __class__: "Decimal", decimal: String(v) });
export const date = (d) => ({
  __class__: "date",
  year: d.getUTCFullYear(),
  month: d.getUTCMonth() + 1,
  day: d.getUTCDate(),
});

/** Logs in and returns `call(method, ...params)` (the context is appended) and `model(model, method, ...params)`. */
export async function trytonSession(conn) {
  let id = 0;
  const url = `${conn.url}/${conn.db}/`;
  let auth = null;
  const post = async (method, params) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify({ id: ++id, method, params }),
    });
    if (res.status !== 200) throw new Error(`Tryton answered HTTP ${res.status} to ${method}`);
    const body = await res.json();
    if (body.error) throw new Error(`Tryton ${method}: ${JSON.stringify(body.error).slice(0, 600)}`);
    return body.result;
  };
  const [uid, session] = await post("common.db.login", [conn.user, { password: conn.password }, "en"]);
  auth = `Session ${Buffer.from(`${conn.user}:${uid}:${session}`).toString("base64")}`;
  let context = await post("model.res.user.get_preferences", [true, {}]);
  const s = {
    uid,
    get context() {
      return context;
    },
    async refreshContext() {
      context = await post("model.res.user.get_preferences", [true, {}]);
      return context;
    },
    call: (method, ...params) => post(method, [...params, context]),
    callWith: (extra, method, ...params) => post(method, [...params, { ...context, ...extra }]),
    model: (model, method, ...params) => post(`model.${model}.${method}`, [...params, context]),
    /** search_read(domain, fields) with no limit. */
    find: (model, domain, fields, extra = {}) =>
      post(`model.${model}.search_read`, [
        domain,
        0,
        null,
        [["id", "ASC"]],
        fields,
        { ...context, ...extra },
      ]),
    async one(model, domain, fields = ["id"]) {
      const [row] = await s.find(model, domain, fields);
      if (!row) throw new Error(`Tryton has no ${model} matching ${JSON.stringify(domain)}`);
      return row;
    },
    async create(model, values) {
      const ids = await post(`model.${model}.create`, [values, context]);
      return ids;
    },
  };
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Server process

async function waitReady(url, proc, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (proc.exitCode !== null)
      throw new Error(`trytond exited with code ${proc.exitCode}: ${proc.stderrTail()}`);
    try {
      const res = await fetch(`${url}/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: 0, method: "common.server.version", params: [] }),
      });
      if (res.status === 200) return;
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = String(err?.cause?.code ?? err);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`trytond did not answer at ${url} within ${deadlineMs} ms (${lastError})`);
}

async function spawnServer(dir) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const conf = writeConfig(dir, port);
    // trytond runs soffice to render PDF reports. LibreOffice keeps its profile under $HOME and hands a
    // second process on the same profile over to the first, which can leave the conversion undone: every
    // server gets its own home.
    const home = join(dir, "home");
    mkdirSync(home, { recursive: true });
    const proc = spawn("trytond", ["-c", conf], {
      stdio: ["ignore", "ignore", "pipe"],
      detached: false,
      env: { ...process.env, HOME: home },
    });
    let tail = "";
    proc.stderr.on("data", (chunk) => {
      tail = (tail + chunk.toString()).slice(-4000);
    });
    proc.stderrTail = () => tail;
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, proc, 60_000);
    } catch (err) {
      proc.kill("SIGKILL");
      if (attempt < 2 && /Address already in use/.test(tail)) continue;
      throw err;
    }
    // A test runner that dies must not leave trytond behind.
    const reap = () => proc.kill("SIGKILL");
    process.once("exit", reap);
    const stop = () =>
      new Promise((done) => {
        process.removeListener("exit", reap);
        if (proc.exitCode !== null || proc.signalCode !== null) return done();
        const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        proc.once("exit", () => {
          clearTimeout(timer);
          done();
        });
        proc.kill("SIGTERM");
      });
    return { url, port, proc, stop };
  }
}

// ---------------------------------------------------------------------------------------------------
// Database: created once, kept as a golden copy

function goldenPath() {
  const key = createHash("sha256")
    .update(JSON.stringify([trytonVersion(), TRYTON_MODULES, SETUP_VERSION, TRYTON_PASSWORD]))
    .digest("hex")
    .slice(0, 16);
  return join(CACHE, `${key}.sqlite`);
}

/** Company, currency, chart of accounts, fiscal years, taxes, an accounting category: what sales need. */
async function setUpCompany(s) {
  const [eur] = await s.create("currency.currency", [
    { name: "Euro", code: "EUR", symbol: "€", rounding: dec("0.01"), digits: 2 },
  ]);
  await s.create(
    "country.country",
    COUNTRIES.map(([code, name]) => ({ code, name })),
  );
  const [party] = await s.create("party.party", [{ name: "Passerelle Demo Company" }]);
  const [company] = await s.create("company.company", [{ party, currency: eur }]);
  await s.model("res.user", "write", [s.uid], { companies: [["add", [company]]], company });
  await s.refreshContext();

  const template = await s.one("account.account.template", [
    ["name", "=", "Minimal Account Chart"],
    ["parent", "=", null],
  ]);
  const [sid] = await s.call("wizard.account.create_chart.create");
  await s.call("wizard.account.create_chart.execute", sid, {}, "account");
  const props = await s.call(
    "wizard.account.create_chart.execute",
    sid,
    { account: { company, account_template: template.id } },
    "create_account",
  );
  const defaults = props?.view?.defaults ?? {};
  const receivable =
    defaults.account_receivable ?? (await s.one("account.account", [["type.receivable", "=", true]])).id;
  const payable =
    defaults.account_payable ?? (await s.one("account.account", [["type.payable", "=", true]])).id;
  await s.call(
    "wizard.account.create_chart.execute",
    sid,
    { properties: { company, account_receivable: receivable, account_payable: payable } },
    "create_properties",
  );
  await s.call("wizard.account.create_chart.delete", sid);

  const moveType = await s.one("ir.sequence.type", [["name", "=", "Account Move"]]);
  const invoiceType = await s.one("ir.sequence.type", [["name", "=", "Invoice"]]);
  const year = new Date().getUTCFullYear();
  for (const y of [year - 1, year, year + 1]) {
    const [moveSeq] = await s.create("ir.sequence", [
      { name: `Account Move ${y}`, sequence_type: moveType.id, company },
    ]);
    const strict = await s.create(
      "ir.sequence.strict",
      ["Customer Invoice", "Customer Credit Note", "Supplier Invoice", "Supplier Credit Note"].map(
        (name) => ({
          name: `${name} ${y}`,
          sequence_type: invoiceType.id,
          company,
          prefix:
            name === "Customer Invoice" ? `INV${y}-` : name === "Customer Credit Note" ? `CN${y}-` : `S${y}-`,
        }),
      ),
    );
    const [fy] = await s.create("account.fiscalyear", [
      {
        name: String(y),
        start_date: date(new Date(Date.UTC(y, 0, 1))),
        end_date: date(new Date(Date.UTC(y, 11, 31))),
        company,
        post_move_sequence: moveSeq,
        invoice_sequences: [
          [
            "create",
            [
              {
                company,
                out_invoice_sequence: strict[0],
                out_credit_note_sequence: strict[1],
                in_invoice_sequence: strict[2],
                in_credit_note_sequence: strict[3],
              },
            ],
          ],
        ],
      },
    ]);
    await s.model("account.fiscalyear", "create_period", [fy]);
  }

  await reportsAsPdf(s);

  // Shops round tax per order line; so does this company, so that sales total what the shop charged.
  await s.model("account.configuration", "write", [1], { tax_rounding: "line" });

  const revenue = await s.one("account.account", [["name", "=", "Main Revenue"]]);
  const expense = await s.one("account.account", [["name", "=", "Main Expense"]]);
  const taxAccount = await s.one("account.account", [["name", "=", "Main Tax"]]);
  const taxes = await s.create(
    "account.tax",
    [
      ["VAT 19%", "0.19"],
      ["VAT 7%", "0.07"],
    ].map(([name, rate]) => ({
      name,
      description: name,
      type: "percentage",
      rate: dec(rate),
      company,
      invoice_account: taxAccount.id,
      credit_note_account: taxAccount.id,
    })),
  );
  const [category] = await s.create("product.category", [
    {
      name: "Goods",
      accounting: true,
      account_revenue: revenue.id,
      account_expense: expense.id,
      customer_taxes: [["add", [taxes[0]]]],
    },
  ]);
  const unit = await s.one("product.uom", [["symbol", "=", "u"]]);
  // Shipping and discounts are sale lines on these service products (never read as catalogue).
  await s.create("product.template", [
    {
      name: "Shipping",
      type: "service",
      default_uom: unit.id,
      list_price: dec("0"),
      salable: true,
      sale_uom: unit.id,
      account_category: category,
      code: "SHIP",
      products: [["create", [{}]]],
    },
    {
      name: "Discount",
      type: "service",
      default_uom: unit.id,
      list_price: dec("0"),
      salable: true,
      sale_uom: unit.id,
      account_category: category,
      code: "DISCOUNT",
      products: [["create", [{}]]],
    },
  ]);
}

/**
 * Customer invoices and delivery notes render as PDF: Tryton converts its OpenDocument template with
 * LibreOffice when the report action's extension differs from the template's. A posted invoice keeps the
 * rendering made when it was posted, so this must be set before any invoice is posted.
 */
async function reportsAsPdf(s) {
  for (const name of ["account.invoice", "stock.shipment.out.delivery_note"]) {
    const reports = await s.find("ir.action.report", [["report_name", "=", name]], ["id"]);
    if (reports.length === 0) throw new Error(`Tryton has no ${name} report (are its modules activated?)`);
    await s.model(
      "ir.action.report",
      "write",
      reports.map((r) => r.id),
      { extension: "pdf" },
    );
  }
}

async function buildGolden(golden, log) {
  const t0 = Date.now();
  const work = join(CACHE, `build-${process.pid}-${Date.now()}`);
  mkdirSync(join(work, "db"), { recursive: true });
  try {
    const conf = writeConfig(work, 0);
    writeFileSync(join(work, "db", `${TRYTON_DB}.sqlite`), "");
    writeFileSync(join(work, "adminpass"), `${TRYTON_PASSWORD}\n`);
    log(`creating the Tryton database (trytond-admin, modules ${TRYTON_MODULES.join(" ")})…`);
    const admin = spawnSync(
      "trytond-admin",
      [
        "-c",
        conf,
        "-d",
        TRYTON_DB,
        "--all",
        "-u",
        ...TRYTON_MODULES,
        "--activate-dependencies",
        "--email",
        "admin@example.com",
        "-p",
      ],
      {
        env: { ...process.env, TRYTONPASSFILE: join(work, "adminpass") },
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    if (admin.status !== 0) {
      throw new Error(`trytond-admin failed (exit ${admin.status}): ${(admin.stderr || "").slice(-2000)}`);
    }
    const adminMs = Date.now() - t0;
    const server = await spawnServer(work);
    try {
      const s = await trytonSession({
        url: server.url,
        db: TRYTON_DB,
        user: TRYTON_USER,
        password: TRYTON_PASSWORD,
      });
      await setUpCompany(s);
    } finally {
      await server.stop();
    }
    mkdirSync(dirname(golden), { recursive: true });
    const tmp = `${golden}.${process.pid}.tmp`;
    copyFileSync(join(work, "db", `${TRYTON_DB}.sqlite`), tmp);
    renameSync(tmp, golden);
    log(`Tryton database ready in ${Date.now() - t0} ms (trytond-admin ${adminMs} ms), cached at ${golden}`);
    return { adminMs, totalMs: Date.now() - t0 };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Starts a Tryton server on a free loopback port with a fresh copy of the set-up database in `dir`.
 * Returns the connection and `stop()`; `timings` says what the start cost.
 */
export async function startTryton({ dir, log = () => {} } = {}) {
  const available = trytonAvailable();
  if (!available.ok) throw new Error(available.missing);
  if (!dir) throw new Error("startTryton: dir is required");
  const t0 = Date.now();
  const golden = goldenPath();
  let build = null;
  if (!existsSync(golden)) build = await buildGolden(golden, log);
  mkdirSync(join(dir, "db"), { recursive: true });
  copyFileSync(golden, join(dir, "db", `${TRYTON_DB}.sqlite`));
  const server = await spawnServer(dir);
  return {
    url: server.url,
    db: TRYTON_DB,
    user: TRYTON_USER,
    password: TRYTON_PASSWORD,
    pid: server.proc.pid,
    timings: { startMs: Date.now() - t0, build },
    stop: server.stop,
  };
}

// ---------------------------------------------------------------------------------------------------
// Seeding

const SIZES = ["S", "M", "L"];

/**
 * Seeds a started Tryton: `products` templates (every `variantsEvery`-th with three size variants), two
 * warehouses with stock, and two sale price lists ("Wholesale" at 80 %, "VIP" at 90 % of the list price)
 * with one customer each. Codes are `<prefix>-<n>`; variant codes `<prefix>-<n>-<size>`. Returns what it made.
 */
export async function seedTryton(conn, opts = {}) {
  const { products = 50, variantsEvery = 5, prefix = "TT", stock = 40 } = opts;
  const s = await trytonSession(conn);
  const ctx = s.context;
  const company = ctx.company;
  const unit = await s.one("product.uom", [["symbol", "=", "u"]]);
  const category = await s.one("product.category", [["name", "=", "Goods"]]);

  // Warehouses: the database's own WH plus WH2, each with its storage location.
  let wh2 = (
    await s.find(
      "stock.location",
      [
        ["code", "=", "WH2"],
        ["type", "=", "warehouse"],
      ],
      ["id"],
    )
  )[0]?.id;
  if (!wh2) {
    const [input, output, storage] = await s.create("stock.location", [
      { name: "WH2 Input", type: "storage" },
      { name: "WH2 Output", type: "storage" },
      { name: "WH2 Storage", type: "storage" },
    ]);
    const lostFound = await s.one("stock.location", [["type", "=", "lost_found"]]);
    [wh2] = await s.create("stock.location", [
      {
        name: "Warehouse 2",
        lost_found_location: lostFound.id,
        code: "WH2",
        type: "warehouse",
        input_location: input,
        output_location: output,
        storage_location: storage,
      },
    ]);
    await s.model("stock.location", "write", [input, output, storage], { parent: wh2 });
  }
  const warehouses = await s.find(
    "stock.location",
    [["type", "=", "warehouse"]],
    ["code", "storage_location"],
  );

  const templates = [];
  for (let i = 1; i <= products; i++) {
    const code = `${prefix}-${String(i).padStart(3, "0")}`;
    const withVariants = variantsEvery > 0 && i % variantsEvery === 0;
    templates.push({
      name: `${withVariants ? "Shirt" : "Product"} ${code}`,
      code,
      type: "goods",
      default_uom: unit.id,
      list_price: dec((10 + (i % 17) * 2.5).toFixed(2)),
      salable: true,
      sale_uom: unit.id,
      account_category: category.id,
      products: [
        [
          "create",
          withVariants
            ? SIZES.map((size) => ({ suffix_code: `-${size}`, cost_price: dec("5") }))
            : [{ cost_price: dec("5") }],
        ],
      ],
    });
  }
  const templateIds = await s.create("product.template", templates);
  const variants = await s.find("product.product", [["template", "in", templateIds]], ["code", "template"]);

  // Stock: an inventory per warehouse storage location.
  const inventories = [];
  for (const [w, wh] of warehouses.entries()) {
    const [inv] = await s.create("stock.inventory", [
      {
        location: wh.storage_location,
        company,
        lines: [
          ["create", variants.map((v, j) => ({ product: v.id, quantity: stock + ((j + w * 7) % 11) }))],
        ],
      },
    ]);
    inventories.push(inv);
  }
  await s.model("stock.inventory", "confirm", inventories);

  // Price lists: one per customer group, a customer in each.
  const lists = [];
  for (const [name, factor] of [
    ["Wholesale", "0.8"],
    ["VIP", "0.9"],
  ]) {
    let list = (await s.find("product.price_list", [["name", "=", name]], ["id"]))[0]?.id;
    if (!list) {
      [list] = await s.create("product.price_list", [
        { name, company, lines: [["create", [{ formula: `unit_price * ${factor}` }]]] },
      ]);
    }
    lists.push({ id: list, name, factor });
  }
  const country = await s.one("country.country", [["code", "=", "DE"]]);
  const customers = [];
  for (const list of lists) {
    const email = `${list.name.toLowerCase()}-${prefix.toLowerCase()}@example.com`;
    const [party] = await s.create("party.party", [
      {
        name: `${list.name} Customer ${prefix}`,
        sale_price_list: list.id,
        contact_mechanisms: [["create", [{ type: "email", value: email }]]],
        addresses: [
          [
            "create",
            [{ street: "Hauptstraße 1", postal_code: "10115", city: "Berlin", country: country.id }],
          ],
        ],
      },
    ]);
    customers.push({ id: party, email, priceList: list.name });
  }
  return {
    templates: templateIds,
    skus: variants.map((v) => v.code),
    warehouses: warehouses.map((w) => ({ id: w.id, code: w.code })),
    priceLists: lists,
    customers,
  };
}

/**
 * Splits the lines of `skus` off a waiting customer shipment of the sale into a shipment of their own, as a
 * clerk does when part of an order leaves first (back to draft, the moves moved, both waiting again).
 * Returns the new shipment's id, or the shipment itself when it holds nothing else.
 */
async function splitShipment(s, saleId, skus) {
  const [sale] = await s.model("sale.sale", "read", [saleId], ["shipments"]);
  const shipments = await s.model("stock.shipment.out", "read", sale.shipments, [
    "state",
    "outgoing_moves",
    "customer",
    "delivery_address",
    "warehouse",
    "company",
  ]);
  for (const sh of shipments.filter((x) => x.state === "waiting" || x.state === "draft")) {
    const moves = await s.model("stock.move", "read", sh.outgoing_moves, ["product.code"]);
    const picked = moves.filter((m) => skus.includes(m["product."]?.code)).map((m) => m.id);
    if (picked.length === 0) continue;
    if (picked.length === moves.length) return sh.id;
    if (sh.state === "waiting") await s.model("stock.shipment.out", "draft", [sh.id]);
    const [part] = await s.create("stock.shipment.out", [
      {
        customer: sh.customer,
        delivery_address: sh.delivery_address,
        warehouse: sh.warehouse,
        company: sh.company,
      },
    ]);
    await s.model("stock.move", "write", picked, { shipment: `stock.shipment.out,${part}` });
    await s.model("stock.shipment.out", "wait", [sh.id, part]);
    return part;
  }
  throw new Error(`sale ${saleId} has no waiting shipment with ${skus.join(", ")}`);
}

/**
 * What a warehouse clerk and an accountant do after a sale is confirmed: ship its customer shipments
 * (assign, pick, pack, done) with `tracking` as the shipment reference, and post its invoices. With
 * `skus`, only those lines leave (split into a shipment of their own: a partial shipment); with
 * `post: false` the invoices stay as they are.
 */
export async function fulfilSale(conn, saleId, tracking, { skus, post = true } = {}) {
  const s = await trytonSession(conn);
  const [sale] = await s.model("sale.sale", "read", [saleId], ["shipments", "invoices"]);
  let shipments = sale.shipments;
  if (skus) shipments = [await splitShipment(s, saleId, skus)];
  else if (shipments.length > 0) {
    const states = await s.model("stock.shipment.out", "read", shipments, ["state"]);
    shipments = states.filter((x) => x.state !== "done" && x.state !== "cancelled").map((x) => x.id);
  }
  if (shipments.length > 0) {
    await s.model("stock.shipment.out", "write", shipments, { reference: tracking });
    await s
      .model("stock.shipment.out", "assign_force", shipments)
      .catch(() => s.model("stock.shipment.out", "assign_try", shipments));
    await s.model("stock.shipment.out", "pick", shipments);
    await s.model("stock.shipment.out", "pack", shipments);
    await s.model("stock.shipment.out", "done", shipments);
  }
  const [after] = await s.model("sale.sale", "read", [saleId], ["invoices"]);
  if (!post) return { shipments, invoices: after.invoices };
  const drafts = (await s.model("account.invoice", "read", after.invoices, ["state"])).filter(
    (i) => i.state === "draft",
  );
  if (drafts.length > 0)
    await s.model(
      "account.invoice",
      "post",
      drafts.map((i) => i.id),
    );
  return { shipments, invoices: after.invoices };
}

// ---------------------------------------------------------------------------------------------------
// CLI

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const arg = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dir = resolve(arg("--dir") ?? join(ROOT, ".passerelle", "tryton"));
  const t0 = Date.now();
  const erp = await startTryton({ dir, log: (m) => console.error(m) });
  console.error(`trytond pid ${erp.pid} ready in ${Date.now() - t0} ms`);
  const seed = arg("--seed");
  if (seed) {
    const t1 = Date.now();
    const made = await seedTryton(erp, { products: Number(seed) });
    console.error(
      `seeded ${made.templates.length} templates, ${made.skus.length} variants in ${Date.now() - t1} ms`,
    );
  }
  console.log(`export TRYTON_URL=${erp.url}`);
  console.log(`export TRYTON_DB=${erp.db}`);
  console.log(`export TRYTON_USER=${erp.user}`);
  console.log(`export TRYTON_PASSWORD=${erp.password}`);
  const stop = async () => {
    await erp.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  if (args.includes("--once")) await stop();
}
