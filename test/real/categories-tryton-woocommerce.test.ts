/**
 * The category tree from a real Tryton (`erp`, product.category) to a real WooCommerce 7.9 (`shop`,
 * product categories), with the products that are in them, through the CLI as a merchant runs it. Every
 * assertion reads WooCommerce back through its REST API as the merchant's admin; Passerelle reaches the shop
 * through a recording proxy, so its write calls are counted on the wire and every request and answer is
 * checked against the shop's own REST schemas (woocommerce-spec.ts).
 *
 *   first run     the products flow is listed before the categories flow in passerelle.yaml, and the
 *                 categories still run first: the tree is created, each product in its categories; a second
 *                 run writes nothing to the shop (Tryton keeps no order among sibling categories, so
 *                 menu_order is proven by the contract suite in woocommerce.test.ts)
 *   rename, move  a category renamed and another moved in Tryton: the same categories are renamed and moved
 *                 (ids and published slugs kept), no product is written
 *   product moved a product moved to another category in Tryton moves between the categories
 *   lost links    a store that lost its links (a crash between the shop's create and the link) finds every
 *                 category again by its slug: nothing is created twice
 *   translations  a French name in Tryton fails nothing and reaches nothing: WooCommerce core has one name
 *   spec          every exchange fits WooCommerce's declared REST schemas
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { envRef, pairYaml, trytonConnection } from "../../scripts/real/pair-config.mjs";
import {
  type StartedTryton,
  seedTryton,
  startTryton,
  type TrytonSession,
  trytonAvailable,
  trytonSession,
} from "../../scripts/real/tryton.mjs";
import { type StartedWoo, startWoo, wooAvailable } from "../../scripts/real/woocommerce.mjs";
import { spawnCli as cli } from "../e2e/helpers.ts";
import type { Exchange } from "./exchanges.ts";
import { wooSpecs } from "./woocommerce-spec.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SPECS = process.env.WOO_SPECS ?? resolve(ROOT, "..", "shared", "specs", "woocommerce");

interface SyncRun {
  flow: string;
  status: string;
  counts: { created: number; updated: number; failed: number; skipped: number };
}

interface ShopCategory {
  id: number;
  name: string;
  slug: string;
  parent: number;
  menu_order: number;
}

/** A proxy to the shop that records every exchange (JSON parsed where it is) for the spec check. */
async function recordingProxy(target: string) {
  const to = new URL(target);
  const exchanges: Exchange[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      // Plain answers, so they can be read here.
      const { "accept-encoding": _, ...headers } = req.headers;
      const fwd = request(
        {
          host: to.hostname,
          port: to.port,
          method: req.method,
          path: req.url,
          headers: { ...headers, host: to.host },
        },
        (answer) => {
          const got: Buffer[] = [];
          answer.on("data", (c: Buffer) => got.push(c));
          answer.on("end", () => {
            const text = Buffer.concat(got).toString("utf8");
            const json = (s: string): unknown => {
              try {
                return s ? JSON.parse(s) : undefined;
              } catch {
                return undefined;
              }
            };
            exchanges.push({
              method: req.method ?? "GET",
              url: `${target}${req.url}`,
              body: json(body.toString("utf8")),
              status: answer.statusCode ?? 0,
              answer: json(text) ?? null,
            });
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(got));
          });
        },
      );
      fwd.on("error", (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      fwd.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    /** The calls that changed data, as "METHOD /path". */
    writes: () =>
      exchanges
        .filter((x) => x.method !== "GET")
        .map((x) => `${x.method} ${new URL(x.url).pathname.replace(/^\/wp-json\/wc\/v3/, "")}`),
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

const ready = trytonAvailable();
const woo = wooAvailable();
const skip = !ready.ok ? ready.missing : !woo.ok ? woo.missing : false;

describe("categories from a real Tryton to a real WooCommerce", {
  skip: skip || false,
  timeout: 15 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedTryton;
  let shop: StartedWoo;
  let session: TrytonSession;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let env: NodeJS.ProcessEnv;
  const cat: Record<string, number> = {};
  let skus: string[] = [];
  let templates: number[] = [];

  /** The shop's REST API as its admin uses it (outside Passerelle, outside the proxy). */
  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${shop.url}/wp-json/wc/v3${path}`, {
      method,
      headers: { authorization: shop.basicAuth, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 400)}`);
    return JSON.parse(text) as T;
  }

  /** `passerelle sync --json`, with the shop's write calls it made. */
  async function sync(config = env.PASSERELLE_CONFIG as string, expectCode = 0) {
    const w0 = proxy.writes().length;
    const res = await cli(["sync", "--json"], { ...env, PASSERELLE_CONFIG: config });
    assert.equal(res.code, expectCode, `sync exit ${res.code}:\n${res.stdout}\n${res.stderr}`);
    const runs = (JSON.parse(res.stdout) as { runs: SyncRun[] }).runs;
    return { runs, writes: proxy.writes().slice(w0) };
  }

  const categories = () =>
    api<ShopCategory[]>("GET", "/products/categories?per_page=100").then((all) =>
      all.filter((c) => c.slug !== "uncategorized"),
    );

  async function category(name: string): Promise<ShopCategory> {
    const all = await categories();
    const found = all.filter((c) => c.name === name);
    assert.equal(
      found.length,
      1,
      `category ${name} is in WooCommerce ${found.length} times: ${all.map((c) => c.name)}`,
    );
    return found[0] as ShopCategory;
  }

  /**
   * The SKUs of the products WooCommerce holds in a category itself. Not its `?category=` filter: that lists
   * a parent's products with its children's (WP_Tax_Query's include_children), so it cannot tell a product
   * in Shirts from one in Apparel.
   */
  async function skusIn(name: string): Promise<string[]> {
    const c = await category(name);
    const products = await api<{ sku: string; categories: { id: number }[] }[]>(
      "GET",
      "/products?per_page=100&status=any",
    );
    return products
      .filter((p) => p.categories.some((x) => x.id === c.id))
      .map((p) => p.sku)
      .sort();
  }

  const run = (runs: SyncRun[], flow: string) => {
    const r = runs.find((x) => x.flow === flow);
    assert.ok(r, `no run of ${flow}: ${JSON.stringify(runs)}`);
    return r;
  };

  const yaml = (store: string) =>
    pairYaml({
      dir,
      store,
      erp: trytonConnection(erp),
      shop: [
        "type: woocommerce",
        `url: ${proxy.url}`,
        `username: ${shop.username}`,
        `applicationPassword: ${envRef("WOO_APPLICATION_PASSWORD")}`,
        "location: WH",
      ],
      // Products first on purpose: the categories flow must still run before them.
      flows: [
        ["products", "erp", "product"],
        ["categories", "erp", "category"],
      ],
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-categories-woo-"));
    [erp, shop] = await Promise.all([
      startTryton({ dir: join(dir, "erp") }),
      startWoo({ instance: "categories", log: (m) => console.log(`# ${m}`) }),
    ]);
    session = await trytonSession(erp);
    const seeded = await seedTryton(erp, { products: 3, variantsEvery: 0, prefix: "WCAT", stock: 5 });
    templates = seeded.templates;
    skus = seeded.skus.slice().sort();
    [cat.Apparel, cat.Shoes, cat.Outlet] = (await session.create("product.category", [
      { name: "Apparel" },
      { name: "Shoes" },
      { name: "Outlet" },
    ])) as [number, number, number];
    [cat.Shirts] = (await session.create("product.category", [{ name: "Shirts", parent: cat.Apparel }])) as [
      number,
    ];
    const [t1, t2, t3] = templates as [number, number, number];
    await session.model("product.template", "write", [t1], { categories: [["add", [cat.Shirts]]] });
    await session.model("product.template", "write", [t2], { categories: [["add", [cat.Shoes]]] });
    await session.model("product.template", "write", [t3], {
      categories: [["add", [cat.Shirts, cat.Outlet]]],
    });
    proxy = await recordingProxy(shop.url);
    const config = join(dir, "passerelle.yaml");
    writeFileSync(config, yaml("passerelle.sqlite"));
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      TRYTON_PASSWORD: erp.password,
      WOO_APPLICATION_PASSWORD: shop.applicationPassword,
      PASSERELLE_LOG_LEVEL: "warn",
    };
  });

  after(async () => {
    await proxy?.close();
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("first run: categories before products; the tree in WooCommerce, each product in its categories", async () => {
    const { runs } = await sync();
    assert.deepEqual(
      runs.map((r) => r.flow),
      ["categories", "products"],
    );
    assert.equal(run(runs, "categories").counts.created, 4, JSON.stringify(runs));
    assert.equal(run(runs, "products").counts.created, 3, JSON.stringify(runs));
    assert.equal(run(runs, "products").counts.failed, 0);
    const [apparel, shirts, shoes, outlet] = await Promise.all(
      ["Apparel", "Shirts", "Shoes", "Outlet"].map((n) => category(n)),
    );
    assert.equal(shirts?.parent, apparel?.id, "Shirts is under Apparel");
    assert.equal(shoes?.parent, 0, "Shoes is top-level");
    assert.equal(outlet?.parent, 0, "Outlet is top-level");
    assert.equal(apparel?.slug, `apparel-c${cat.Apparel}`, "the slug carries the key");
    const [s1, s2, s3] = skus as [string, string, string];
    assert.deepEqual(await skusIn("Shirts"), [s1, s3].sort());
    assert.deepEqual(await skusIn("Shoes"), [s2]);
    assert.deepEqual(await skusIn("Outlet"), [s3]);
    assert.deepEqual(await skusIn("Apparel"), [], "a product is in its own categories, not their parents");
    // Settled: nothing is written again, on the wire.
    const again = await sync();
    for (const r of again.runs) assert.equal(r.counts.created + r.counts.updated, 0, `${r.flow} wrote again`);
    assert.deepEqual(again.writes, [], "a second run wrote to the shop");
  });

  test("rename and move: the same categories are renamed and moved, products keep their categories", async () => {
    const before = await Promise.all(["Shirts", "Shoes"].map((n) => category(n)));
    await session.model("product.category", "write", [cat.Shirts], { name: "T-Shirts" });
    await session.model("product.category", "write", [cat.Shoes], { parent: cat.Apparel });
    const { runs, writes } = await sync();
    assert.equal(run(runs, "categories").counts.updated, 2, JSON.stringify(runs));
    assert.equal(run(runs, "categories").counts.created, 0);
    assert.equal(run(runs, "products").counts.created + run(runs, "products").counts.updated, 0);
    assert.equal(writes.length, 2, `two category updates, nothing else: ${writes}`);
    const [tshirts, shoes, apparel] = await Promise.all(
      ["T-Shirts", "Shoes", "Apparel"].map((n) => category(n)),
    );
    assert.equal(tshirts?.id, before[0]?.id, "renamed, not created again");
    assert.equal(tshirts?.slug, before[0]?.slug, "the published slug is kept");
    assert.equal(shoes?.id, before[1]?.id);
    assert.equal(shoes?.parent, apparel?.id, "Shoes moved under Apparel");
    const [s1, s2, s3] = skus as [string, string, string];
    assert.deepEqual(await skusIn("T-Shirts"), [s1, s3].sort());
    assert.deepEqual(await skusIn("Shoes"), [s2]);
  });

  test("a product moved to another category in Tryton moves between the categories", async () => {
    const t2 = templates[1] as number;
    await session.model("product.template", "write", [t2], {
      categories: [
        ["remove", [cat.Shoes]],
        ["add", [cat.Outlet]],
      ],
    });
    const { runs } = await sync();
    assert.equal(run(runs, "products").counts.updated, 1, JSON.stringify(runs));
    const [, s2, s3] = skus as [string, string, string];
    assert.deepEqual(await skusIn("Shoes"), []);
    assert.deepEqual(await skusIn("Outlet"), [s2, s3].sort());
  });

  test("a store that lost its links finds every category again: nothing is created twice", async () => {
    const count = (await categories()).length;
    const lost = join(dir, "lost.yaml");
    writeFileSync(lost, yaml("lost.sqlite"));
    const { runs, writes } = await sync(lost);
    assert.equal(run(runs, "categories").counts.failed, 0, JSON.stringify(runs));
    assert.equal(
      writes.filter((w) => w === "POST /products/categories").length,
      0,
      `categories created again: ${writes}`,
    );
    assert.equal((await categories()).length, count);
    const again = await sync(lost);
    assert.deepEqual(again.writes, [], "a second run of that store wrote to the shop");
  });

  test("a French name in Tryton fails nothing and writes nothing: WooCommerce core has one name", async () => {
    const [fr] = await session.find("ir.lang", [["code", "=", "fr"]], ["id"]);
    assert.ok(fr, "Tryton has a French language record");
    await session.model("ir.lang", "write", [fr.id], { translatable: true });
    await session.callWith({ language: "fr" }, "model.product.category.write", [cat.Apparel], {
      name: "Vêtements",
    });
    const { runs, writes } = await sync();
    assert.equal(run(runs, "categories").counts.failed, 0, JSON.stringify(runs));
    assert.deepEqual(writes, []);
    assert.equal((await category("Apparel")).name, "Apparel");
  });

  test("every exchange fits WooCommerce's declared REST schemas", () => {
    const specs = wooSpecs(SPECS);
    const categoryAnswers = proxy.exchanges.filter(
      (x) => /\/products\/categories/.test(x.url) && x.status < 300,
    ).length;
    assert.ok(categoryAnswers >= 8, `only ${categoryAnswers} category exchanges recorded`);
    const problems = proxy.exchanges.flatMap((x) => specs.check(x));
    assert.deepEqual(problems, []);
    console.log(`# ${proxy.exchanges.length} exchanges checked against WooCommerce 7.9's schemas`);
  });
});
