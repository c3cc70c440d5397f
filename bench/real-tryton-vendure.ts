/**
 * Real systems, issue 22 measure 2: a catalogue of `--products` Tryton product templates (every
 * `--variants-every`-th with three size variants) pushed from a real Tryton to a real Vendure, and `--orders`
 * shop orders taken back into Tryton, by `passerelle sync` (the CLI from its sources, as a merchant runs it);
 * each against the system's own bulk path as the ceiling, in the same run:
 *
 * - catalogue: Vendure's own product import (`importProducts`, the Admin API's CSV upload, which runs Vendure's
 *   Importer in the server) of the same templates and variants, names, SKUs and prices, into a second Vendure
 *   started from the same template database;
 * - orders: Tryton's own `create` through JSON-RPC of the same orders' parties (with their e-mail and address)
 *   and sales (one line per shop order line), in batches of `--batch`, then `quote` and `confirm` per batch,
 *   into a second Tryton seeded with the same catalogue. Passerelle also writes each order's shipping line and
 *   checks Tryton's total before it confirms; the ceiling does neither, so it is the faster side by
 *   construction.
 *
 * Set-up (starting the four systems, seeding, placing the shop orders through Vendure's checkout, syncing the
 * stock the orders need) is not timed. Wall time is the CLI process's, start-up included; the run's own time
 * (`durationMs` of each run) is reported beside it. Calls: Passerelle's runs count every call to either system
 * (`counts.calls`); the ceilings count their own requests.
 *
 *   node --import tsx bench/real-tryton-vendure.ts                          # 1,000 templates, 200 orders
 *   node --import tsx bench/real-tryton-vendure.ts --products 100 --orders 20
 *
 * Orders Passerelle holds because Tryton's total differs from the shop's are counted, not fatal (the total check
 * has no tolerance); `BENCH_SHOW_HELD=<file>` writes the first one's `passerelle failures show` there. Any other
 * failure stops the bench.
 *
 * Needs what `npm run test:real` needs for Tryton and Vendure (Debian's trytond modules, @vendure/core).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  CATALOG_FLOWS,
  ORDER_FLOWS,
  pairYaml,
  trytonConnection,
  vendureConnection,
} from "../scripts/real/pair-config.mjs";
import {
  dec,
  type StartedTryton,
  seedTryton,
  startTryton,
  type TrytonSession,
  trytonAvailable,
  trytonSession,
} from "../scripts/real/tryton.mjs";
import { type RunningVendure, startVendure, vendureVersion } from "../scripts/real/vendure.mjs";
import { placeShopOrder, type VendureAdmin, variantIds, vendureAdmin } from "../scripts/real/vendure-shop.ts";
import { loadAverages, machine, saveResult } from "./lib/measure.ts";

const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "bin/passerelle-src.mjs");

/** The CLI from its sources, as the real suites run it: exit code, stdout, stderr. */
function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env, maxBuffer: 256 * 2 ** 20 }, (err, stdout, stderr) => {
      const code = err && typeof err.code === "number" ? err.code : err ? -1 : 0;
      done({ code, stdout, stderr });
    });
  });
}

const LOCATIONS: Record<string, string> = { WH: "Main Warehouse", WH2: "East Warehouse" };
const PREFIX = "RB";

export function parseRealArgs(argv: string[]): {
  products: number;
  variantsEvery: number;
  orders: number;
  batch: number;
  maxQuantity: number;
} {
  const { values } = parseArgs({
    args: argv,
    options: {
      products: { type: "string", default: "1000" },
      "variants-every": { type: "string", default: "5" },
      orders: { type: "string", default: "200" },
      batch: { type: "string", default: "50" },
      "max-quantity": { type: "string", default: "2" },
    },
    strict: true,
  });
  const int = (name: string, raw: string | undefined, min: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${raw}`);
    return n;
  };
  return {
    products: int("products", values.products, 1),
    variantsEvery: int("variants-every", values["variants-every"], 0),
    orders: int("orders", values.orders, 1),
    batch: int("batch", values.batch, 1),
    maxQuantity: int("max-quantity", values["max-quantity"], 1),
  };
}

/** Variant ids by SKU, 500 SKUs a query (the Admin API's list takes at most 1,000). */
async function allVariantIds(admin: VendureAdmin, skus: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < skus.length; i += 500)
    for (const [k, v] of await variantIds(admin, skus.slice(i, i + 500))) out.set(k, v);
  return out;
}

interface RunJson {
  flow: string;
  status: string;
  durationMs: number;
  counts: { read: number; created: number; updated: number; failed: number; calls: number };
}

/** The catalogue as Tryton holds it: each template with its variants' SKUs and its list price. */
interface Template {
  name: string;
  code: string;
  price: string;
  variants: string[];
}

async function catalogueOf(s: TrytonSession): Promise<Template[]> {
  const templates = await s.find(
    "product.template",
    [["code", "like", `${PREFIX}-%`]],
    ["name", "code", "list_price", "products"],
  );
  const variants = await s.find("product.product", [["template.code", "like", `${PREFIX}-%`]], ["code"]);
  const codeOf = new Map(variants.map((v) => [v.id, String(v.code)]));
  const priceOf = (v: unknown) =>
    typeof v === "object" && v !== null && "decimal" in v
      ? String((v as { decimal: string }).decimal)
      : String(v);
  return templates
    .map((t) => ({
      name: String(t.name),
      code: String(t.code),
      price: priceOf(t.list_price),
      variants: (t.products as number[]).map((id) => codeOf.get(id) ?? "").sort(),
    }))
    .sort((a, b) => a.code.localeCompare(b.code));
}

const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/** Vendure's product import CSV of the catalogue: a product row, then one row per further variant. */
export function importCsv(templates: Template[], taxCategory: string): string {
  const head = [
    "name",
    "slug",
    "description",
    "assets",
    "facets",
    "optionGroups",
    "optionValues",
    "sku",
    "price",
    "taxCategory",
    "stockOnHand",
    "trackInventory",
    "variantAssets",
    "variantFacets",
  ];
  const rows = [head.join(",")];
  for (const t of templates) {
    const sized = t.variants.length > 1 || t.variants[0] !== t.code;
    t.variants.forEach((sku, i) => {
      const option = sized ? sku.slice(t.code.length).replace(/^-/, "") : "";
      const first = i === 0;
      rows.push(
        [
          first ? t.name : "",
          first ? t.code.toLowerCase() : "",
          first ? t.name : "",
          "",
          "",
          first && sized ? "size" : "",
          option,
          sku,
          t.price,
          taxCategory,
          "0",
          "false",
          "",
          "",
        ]
          .map(csvCell)
          .join(","),
      );
    });
  }
  return `${rows.join("\n")}\n`;
}

/** Vendure's bulk path: one `importProducts` upload (GraphQL multipart request) of the CSV. */
async function vendureImport(
  v: RunningVendure,
  csv: string,
): Promise<{ ms: number; calls: number; info: unknown }> {
  const login = await fetch(v.adminApi, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: "mutation($u:String!,$p:String!){login(username:$u,password:$p){...on CurrentUser{id}}}",
      variables: { u: v.adminUser, p: v.adminPassword },
    }),
  });
  const token = login.headers.get("vendure-auth-token");
  if (!token) throw new Error("Vendure gave no auth token");
  const form = new FormData();
  form.set(
    "operations",
    JSON.stringify({
      query: "mutation($f:Upload!){importProducts(csvFile:$f){errors processed imported}}",
      variables: { f: null },
    }),
  );
  form.set("map", JSON.stringify({ 0: ["variables.f"] }));
  form.set("0", new Blob([csv], { type: "text/csv" }), "catalogue.csv");
  const t0 = performance.now();
  const res = await fetch(v.adminApi, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "true" },
    body: form,
  });
  const body = (await res.json()) as { data?: { importProducts?: unknown }; errors?: unknown };
  const ms = Math.round(performance.now() - t0);
  if (body.errors || !body.data?.importProducts)
    throw new Error(`importProducts: HTTP ${res.status} ${JSON.stringify(body.errors ?? body)}`);
  return { ms, calls: 2, info: body.data.importProducts };
}

interface PlacedOrder {
  email: string;
  lines: { sku: string; quantity: number; unitPrice: string }[];
}

/** Tryton's bulk path for the same orders: parties, then sales, quote, confirm, `batch` at a time. */
async function trytonBulk(
  erp: StartedTryton,
  orders: PlacedOrder[],
  batch: number,
): Promise<{ ms: number; calls: number; sales: number }> {
  const s = await trytonSession(erp);
  const variants = await s.find(
    "product.product",
    [["code", "like", `${PREFIX}-%`]],
    ["code", "default_uom"],
  );
  const product = new Map(variants.map((v) => [String(v.code), v]));
  const [country] = await s.find("country.country", [["code", "=", "DE"]], ["id"]);
  const [warehouse] = await s.find("stock.location", [["code", "=", "WH"]], ["id"]);
  const company = await s.one("company.company", [["id", "=", s.context.company]], ["currency"]);
  let calls = 0;
  const t0 = performance.now();
  let sales = 0;
  for (let i = 0; i < orders.length; i += batch) {
    const chunk = orders.slice(i, i + batch);
    const parties = await s.create(
      "party.party",
      chunk.map((o) => ({
        name: o.email.split("@")[0],
        contact_mechanisms: [["create", [{ type: "email", value: o.email }]]],
        addresses: [
          [
            "create",
            [
              {
                street: "Hauptstraße 1",
                city: "Berlin",
                postal_code: "10115",
                ...(country ? { country: country.id } : {}),
              },
            ],
          ],
        ],
      })),
    );
    const addresses = await s.find("party.address", [["party", "in", parties]], ["party"]);
    const addressOf = new Map(addresses.map((a) => [Number(a.party), a.id]));
    const ids = await s.create(
      "sale.sale",
      chunk.map((o, j) => ({
        party: parties[j],
        invoice_address: addressOf.get(parties[j] as number),
        shipment_address: addressOf.get(parties[j] as number),
        warehouse: warehouse?.id,
        currency: company.currency,
        reference: `bulk-${i + j}`,
        lines: [
          [
            "create",
            o.lines.map((l) => ({
              type: "line",
              product: product.get(l.sku)?.id,
              unit: product.get(l.sku)?.default_uom,
              quantity: l.quantity,
              unit_price: dec(l.unitPrice),
              description: l.sku,
            })),
          ],
        ],
      })),
    );
    await s.model("sale.sale", "quote", ids);
    await s.model("sale.sale", "confirm", ids);
    calls += 5;
    sales += ids.length;
  }
  return { ms: Math.round(performance.now() - t0), calls, sales };
}

async function main(): Promise<void> {
  const opts = parseRealArgs(process.argv.slice(2));
  const ready = trytonAvailable();
  if (!ready.ok) throw new Error(`Tryton cannot run here: ${ready.missing}`);
  if (vendureVersion() === null) throw new Error("@vendure/core is not installed");
  const dir = mkdtempSync(join(tmpdir(), "passerelle-bench-real-"));
  const load = [loadAverages()];
  console.log(
    `real systems: ${opts.products} templates (variants every ${opts.variantsEvery}), ${opts.orders} orders`,
  );
  const started = performance.now();
  // Two of each, the second of each once the first has built the template database it clones.
  const [erp, shop] = await Promise.all([
    startTryton({ dir: join(dir, "erp") }),
    startVendure({ dir: join(dir, "shop") }),
  ]);
  const ceilings = await Promise.allSettled([
    startVendure({ dir: join(dir, "shop-ceiling") }),
    startTryton({ dir: join(dir, "erp-ceiling") }),
  ]);
  if (ceilings[0].status === "rejected" || ceilings[1].status === "rejected") {
    await Promise.allSettled([
      erp.stop(),
      shop.stop(),
      ...ceilings.map((c) => (c.status === "fulfilled" ? c.value.stop() : undefined)),
    ]);
    const failed = ceilings.find((c) => c.status === "rejected") as PromiseRejectedResult;
    throw failed.reason;
  }
  const ceilingShop = ceilings[0].value;
  const ceilingErp = ceilings[1].value;
  try {
    const seedOpts = { products: opts.products, variantsEvery: opts.variantsEvery, prefix: PREFIX };
    await seedTryton(erp, seedOpts);
    const session = await trytonSession(erp);
    // Vendure rounds tax per line; a Tryton that rounds per document computes other totals, and Passerelle
    // holds those orders for a person (docs/connectors/tryton.md). Set as the real suites set it.
    await session.model("account.configuration", "write", [1], { tax_rounding: "line" });
    const catalogue = await catalogueOf(session);
    const skus = catalogue.flatMap((t) => t.variants);
    console.log(
      `set up in ${Math.round((performance.now() - started) / 1000)} s: ${catalogue.length} templates, ${skus.length} SKUs`,
    );

    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      pairYaml({
        dir,
        erp: trytonConnection(erp),
        shop: vendureConnection(shop, LOCATIONS),
        flows: [...CATALOG_FLOWS, ...ORDER_FLOWS],
      }),
    );
    const env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      TRYTON_PASSWORD: erp.password,
      VENDURE_PASSWORD: shop.adminPassword,
      PASSERELLE_LOG_LEVEL: "warn",
    };
    const sync = async (flows: string[]) => {
      const t0 = performance.now();
      const res = await spawnCli(["sync", ...flows, "--json"], env);
      const ms = Math.round(performance.now() - t0);
      let runs: RunJson[];
      try {
        runs = (JSON.parse(res.stdout) as { runs: RunJson[] }).runs;
      } catch {
        throw new Error(`passerelle sync ${flows.join(" ")}: exit ${res.code}\n${res.stdout}\n${res.stderr}`);
      }
      // Orders whose total Tryton computes a cent apart from the shop's are held by design (the total check
      // has no tolerance): counted and reported. Any other failure stops the bench.
      let held: string[] = [];
      if (runs.some((r) => r.counts.failed > 0 || r.status === "failed")) {
        const listed = await spawnCli(["failures", "list", "--json"], env);
        let reasons: string[] = [];
        try {
          const failures = JSON.parse(listed.stdout) as { errorMessage: string }[];
          reasons = failures.map((f) => f.errorMessage);
        } catch {
          reasons = [listed.stdout.slice(0, 2000)];
        }
        held = reasons.filter((r) => /Tryton computes a total of/.test(r));
        if (process.env.BENCH_SHOW_HELD) {
          const first = (JSON.parse(listed.stdout) as { id: number }[])[0];
          if (first)
            writeFileSync(
              process.env.BENCH_SHOW_HELD,
              (await spawnCli(["failures", "show", String(first.id)], env)).stdout,
            );
        }
        if (runs.some((r) => r.status === "failed") || held.length !== reasons.length)
          throw new Error(
            `passerelle sync ${flows.join(" ")}: ${JSON.stringify(runs)}\n${res.stderr}\n${reasons.join("\n")}`,
          );
      }
      return { ms, runs, held };
    };

    // Catalogue: Passerelle, then Vendure's own import of the same catalogue into the second Vendure.
    const products = await sync(["products"]);
    const admin = await vendureAdmin(shop);
    const ids = await allVariantIds(admin, skus);
    if (ids.size !== skus.length) throw new Error(`Vendure holds ${ids.size} of the ${skus.length} SKUs`);
    load.push(loadAverages());
    const ceilingAdmin = await vendureAdmin(ceilingShop);
    const tax = await ceilingAdmin<{ taxCategories: { items: { name: string; isDefault: boolean }[] } }>(
      "{taxCategories{items{name isDefault}}}",
    );
    const taxCategory =
      tax.taxCategories.items.find((t) => t.isDefault)?.name ?? tax.taxCategories.items[0]?.name ?? "";
    const csv = importCsv(catalogue, taxCategory);
    const imported = await vendureImport(ceilingShop, csv);
    const ceilingIds = await allVariantIds(ceilingAdmin, skus);
    if (ceilingIds.size !== skus.length)
      throw new Error(
        `Vendure's import made ${ceilingIds.size} of the ${skus.length} SKUs: ${JSON.stringify(imported.info)}`,
      );
    load.push(loadAverages());

    // Orders: stock for the shop to sell (not timed), the orders through Vendure's checkout (not timed).
    await sync(["stock"]);
    const placed: PlacedOrder[] = [];
    const priceOf = new Map(catalogue.flatMap((t) => t.variants.map((sku) => [sku, t.price] as const)));
    for (let i = 0; i < opts.orders; i += 4) {
      const wave = Array.from({ length: Math.min(4, opts.orders - i) }, (_, k) => {
        const n = i + k;
        const lines = Array.from({ length: 1 + (n % 3) }, (_, j) => {
          const sku = skus[(n * 7 + j * 13) % skus.length] as string;
          return { sku, quantity: 1 + ((n + j) % opts.maxQuantity), unitPrice: priceOf.get(sku) ?? "0" };
        });
        const unique = [...new Map(lines.map((l) => [l.sku, l])).values()];
        return { email: `bench-${n}@example.com`, lines: unique };
      });
      await Promise.all(
        wave.map((o) =>
          placeShopOrder(shop, {
            email: o.email,
            firstName: o.email.split("@")[0] ?? "x",
            lastName: "Bench",
            lines: o.lines.map((l) => ({ variantId: ids.get(l.sku) as string, quantity: l.quantity })),
          }),
        ),
      );
      placed.push(...wave);
    }
    load.push(loadAverages());
    const confirmedSales = async () =>
      (await session.find("sale.sale", [["state", "in", ["confirmed", "processing", "done"]]], ["id"]))
        .length;
    const before = await confirmedSales();
    const orders = await sync(["customers", "orders"]);
    const confirmed = (await confirmedSales()) - before;
    if (confirmed + orders.held.length !== opts.orders)
      throw new Error(`Tryton holds ${confirmed} new confirmed sales of the ${opts.orders} orders`);
    load.push(loadAverages());
    await seedTryton(ceilingErp, seedOpts);
    const bulk = await trytonBulk(ceilingErp, placed, opts.batch);
    if (bulk.sales !== opts.orders) throw new Error(`the bulk path made ${bulk.sales} sales`);
    load.push(loadAverages());

    const runOf = (runs: RunJson[], flow: string) => runs.find((r) => r.flow === flow) as RunJson;
    const sum = (runs: RunJson[], f: (r: RunJson) => number) => runs.reduce((a, r) => a + f(r), 0);
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const result = {
      machine: machine(),
      load,
      options: opts,
      catalogue: { templates: catalogue.length, skus: skus.length },
      products: {
        passerelle: {
          wallMs: products.ms,
          runMs: runOf(products.runs, "products").durationMs,
          calls: runOf(products.runs, "products").counts.calls,
          created: runOf(products.runs, "products").counts.created,
        },
        vendureImport: { ms: imported.ms, calls: imported.calls, info: imported.info },
        ratioWall: ratio(products.ms, imported.ms),
        ratioRun: ratio(runOf(products.runs, "products").durationMs, imported.ms),
      },
      orders: {
        passerelle: {
          wallMs: orders.ms,
          runMs: sum(orders.runs, (r) => r.durationMs),
          calls: sum(orders.runs, (r) => r.counts.calls),
          byFlow: orders.runs.map((r) => ({
            flow: r.flow,
            ms: r.durationMs,
            calls: r.counts.calls,
            created: r.counts.created,
          })),
        },
        heldByTotalCheck: orders.held.length,
        heldExamples: orders.held.slice(0, 5),
        trytonBulk: bulk,
        ratioWall: ratio(orders.ms, bulk.ms),
        ratioRun: ratio(
          sum(orders.runs, (r) => r.durationMs),
          bulk.ms,
        ),
        ratioCalls: ratio(
          sum(orders.runs, (r) => r.counts.calls),
          bulk.calls,
        ),
      },
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(`saved ${saveResult(`real-tryton-vendure-${opts.products}x${opts.orders}`, result)}`);
  } finally {
    await Promise.allSettled([erp.stop(), shop.stop(), ceilingShop.stop(), ceilingErp.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
