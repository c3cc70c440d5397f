/**
 * The configurable REST connector driving a real WooCommerce 7.9 with no WooCommerce code: a `type: rest`
 * connection in passerelle.yaml describes the shop's REST v3 API (HTTP Basic with an application password,
 * page numbers and the X-WP-TotalPages header for customers, the Link header and `modified_after` for
 * products), and the real CLI (`passerelle sync`) moves customers and products from the shop into JSON
 * Lines files (the file connector), then products from a file into the shop. Started per file with its
 * own `instance`, beside the other WooCommerce tests. Run by `npm run test:real`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type StartedWoo, startWoo, wooAvailable } from "../../scripts/real/woocommerce.mjs";
import { spawnCli as cli } from "../e2e/helpers.ts";

interface RunJson {
  flow: string;
  status: string;
  counts: { read: number; created: number; updated: number; skipped: number; failed: number };
}

/** Forwards every request to `target`, keeping each one's method and URL (path and query). */
async function loggingProxy(target: string): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const to = new URL(target);
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const out = request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: to.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on("error", () => res.writeHead(502).end());
    req.pipe(out);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const available = wooAvailable();

if (!available.ok) {
  test("WooCommerce kit and PHP are there", { skip: available.missing ?? "missing" }, () => {});
} else {
  describe("rest connector ↔ real WooCommerce, configured in YAML only", () => {
    const run = Date.now().toString(36).toLowerCase();
    let shop: StartedWoo;
    let proxy: Awaited<ReturnType<typeof loggingProxy>>;
    let dir: string;
    let files: string;
    let env: NodeJS.ProcessEnv;
    const customerIds: number[] = [];

    async function api<T = Record<string, unknown>>(
      method: string,
      path: string,
      body?: unknown,
    ): Promise<T> {
      const res = await fetch(`${shop.url}/wp-json/wc/v3${path}`, {
        method,
        headers: { authorization: shop.basicAuth, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 400)}`);
      return JSON.parse(text) as T;
    }

    async function sync(flows: string[]): Promise<Map<string, RunJson>> {
      const res = await cli(["sync", ...flows, "--json"], env);
      let runs: RunJson[];
      try {
        runs = (JSON.parse(res.stdout) as { runs: RunJson[] }).runs;
      } catch {
        return assert.fail(
          `sync ${flows.join(" ")} printed no JSON (exit ${res.code}):\n${res.stdout}\n${res.stderr}`,
        );
      }
      if (res.code !== 0) {
        const failures = await cli(["failures", "list", "--json"], env);
        assert.fail(
          `sync ${flows.join(" ")}: exit ${res.code}: ${JSON.stringify(runs)}\n${res.stderr}\n${failures.stdout}`,
        );
      }
      return new Map(runs.map((r) => [r.flow, r]));
    }

    /** The records of the JSON Lines files the file connection wrote with this prefix, oldest file first. */
    const written = (prefix: string) =>
      readdirSync(files)
        .filter((f) => f.startsWith(prefix) && f.endsWith(".jsonl"))
        .sort()
        .map((f) =>
          readFileSync(join(files, f), "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>),
        );

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "passerelle-rest-woo-"));
      files = join(dir, "exchange");
      shop = await startWoo({ instance: "rest", log: (m) => console.log(`# ${m}`) });
      proxy = await loggingProxy(shop.url);
      for (const i of [1, 2, 3]) {
        const c = await api<{ id: number }>("POST", "/customers", {
          email: `rest-${run}-${i}@example.com`,
          first_name: "Grace",
          last_name: `Hopper ${i}`,
          username: `rest-${run}-${i}`,
          billing: { company: "Navy" },
        });
        customerIds.push(c.id);
      }
      for (const i of [1, 2, 3, 4]) {
        await api("POST", "/products", {
          name: `Lamp ${run} ${i}`,
          type: "simple",
          sku: `R-${run}-${i}`,
          regular_price: `${i}9.00`,
        });
      }
      const config = join(dir, "passerelle.yaml");
      // `search: <run>` keeps this test to its own records in a shop other tests may have written to.
      writeFileSync(
        config,
        `version: 1
store:
  url: sqlite:${join(dir, "passerelle.sqlite")}
connections:
  shop:
    type: rest
    baseUrl: ${proxy.url}/wp-json/wc/v3
    auth:
      type: basic
      username: ${shop.username}
      password: \${env:WOO_APPLICATION_PASSWORD}
    rateLimit: { concurrency: 2 }
    entities:
      customer:
        list:
          path: /customers
          params: { search: ${run}, orderby: id, order: asc }
          pagination: { style: page, sizeParam: per_page, totalPagesHeader: X-WP-TotalPages }
          maxPageSize: 2 # several pages of this test's three customers
        updatedAt: [date_modified_gmt, date_created_gmt]
        fields:
          email: { from: email, format: lower }
          firstName: first_name
          lastName: last_name
          company: billing.company
      product:
        list:
          path: /products
          params: { search: ${run}, orderby: modified, order: asc, dates_are_gmt: true }
          pagination: { style: link }
          maxPageSize: 3 # several pages of this test's four products
          incremental: { param: modified_after, format: iso-local }
          sorted: true
        updatedAt: date_modified_gmt
        fields:
          key: sku
          title: name
          currency: { value: USD }
          variants: { expr: "[{ 'sku': sku, 'price': regular_price }]" }
        write:
          create: { path: /products }
          update: { method: PUT, path: "/products/{id}" }
          fields:
            sku: variants.0.sku
            name: title
            regular_price: variants.0.price
            type: { value: simple }
          findBy: { param: sku, field: sku }
  files:
    type: file
    folder: ${files}
    settleMs: 0
    entities:
      customer: { pattern: "customers-in-*.jsonl", format: jsonl, write: { prefix: customers- } }
      product: { pattern: "products-in-*.jsonl", format: jsonl, write: { prefix: products-out- } }
flows:
  customers:
    source: { connection: shop, entity: customer }
    target: { connection: files, entity: customer }
  products-out:
    source: { connection: shop, entity: product }
    target: { connection: files, entity: product }
  products-in:
    source: { connection: files, entity: product }
    target: { connection: shop, entity: product }
`,
      );
      const { mkdirSync } = await import("node:fs");
      mkdirSync(files, { recursive: true });
      env = {
        ...process.env,
        PASSERELLE_CONFIG: config,
        WOO_APPLICATION_PASSWORD: shop.applicationPassword,
        PASSERELLE_LOG_LEVEL: "warn",
      };
    });

    after(async () => {
      proxy?.server.closeAllConnections();
      await new Promise<void>((done) => (proxy ? proxy.server.close(() => done()) : done()));
      await shop?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("customers: read in full, then only the one edited in the shop, then nothing", async () => {
      proxy.seen.length = 0;
      const first = (await sync(["customers"])).get("customers");
      assert.equal(first?.counts.created, 3, JSON.stringify(first));
      assert.ok(
        proxy.seen.some((s) => /^GET \/wp-json\/wc\/v3\/customers\?.*page=2/.test(s)),
        proxy.seen.join("\n"),
      );
      const out = written("customers-").flat();
      assert.deepEqual(
        out.map((c) => [c.email, c.firstName, c.lastName, c.company]).sort(),
        [1, 2, 3].map((i) => [`rest-${run}-${i}@example.com`, "Grace", `Hopper ${i}`, "Navy"]),
      );
      assert.ok(
        out.every((c) => c.source === "shop" && customerIds.map(String).includes(String(c.sourceId))),
      );

      await sleep(1100); // WooCommerce keeps whole seconds
      await api("PUT", `/customers/${customerIds[1]}`, { last_name: "Hopper-Murray" });
      const second = (await sync(["customers"])).get("customers");
      assert.equal(second?.counts.created, 0, JSON.stringify(second));
      assert.equal(second?.counts.updated, 1, JSON.stringify(second));
      const last = written("customers-").at(-1) ?? [];
      assert.deepEqual(
        last.map((c) => [c.email, c.lastName]),
        [[`rest-${run}-2@example.com`, "Hopper-Murray"]],
      );

      const before = written("customers-").length;
      const third = (await sync(["customers"])).get("customers");
      assert.equal((third?.counts.created ?? 0) + (third?.counts.updated ?? 0), 0, JSON.stringify(third));
      assert.equal(written("customers-").length, before, "the third run wrote a file");
    });

    test("products: Link header pages, then modified_after picks up the one edited", async () => {
      proxy.seen.length = 0;
      const first = (await sync(["products-out"])).get("products-out");
      assert.equal(first?.counts.created, 4, JSON.stringify(first));
      // The second page asked for at the URL WooCommerce's Link header gave.
      assert.ok(
        proxy.seen.some((s) => /^GET \/wp-json\/wc\/v3\/products\?.*page=2/.test(s)),
        proxy.seen.join("\n"),
      );
      const out = written("products-out-").flat();
      assert.deepEqual(
        out.map((p) => [p.key, p.title, (p.variants as { price: string }[])[0]?.price]).sort(),
        [1, 2, 3, 4].map((i) => [`R-${run}-${i}`, `Lamp ${run} ${i}`, `${i}9.00`]),
      );

      await sleep(1100);
      const [lamp] = await api<{ id: number }[]>("GET", `/products?sku=R-${run}-3`);
      await api("PUT", `/products/${lamp?.id}`, { regular_price: "35.00" });
      proxy.seen.length = 0;
      const second = (await sync(["products-out"])).get("products-out");
      assert.equal(second?.counts.created, 0, JSON.stringify(second));
      assert.equal(second?.counts.updated, 1, JSON.stringify(second));
      const lists = proxy.seen.filter((s) => s.startsWith("GET /wp-json/wc/v3/products?"));
      assert.ok(lists.length > 0, proxy.seen.join("\n"));
      for (const s of lists) assert.match(s, /modified_after=\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\d(&|$)/, s);
      const changed = written("products-out-").at(-1) ?? [];
      assert.deepEqual(
        changed.map((p) => [p.key, (p.variants as { price: string }[])[0]?.price]),
        [[`R-${run}-3`, "35.00"]],
      );

      const third = (await sync(["products-out"])).get("products-out");
      assert.equal((third?.counts.created ?? 0) + (third?.counts.updated ?? 0), 0, JSON.stringify(third));
    });

    test("products into the shop: created through the rest connection, read back from WooCommerce", async () => {
      const now = new Date().toISOString();
      const product = (n: number, price: string) => ({
        key: `W-${run}-${n}`,
        source: "erp",
        sourceId: String(n),
        updatedAt: now,
        title: `Chair ${run} ${n}`,
        currency: "USD",
        variants: [{ sku: `W-${run}-${n}`, price }],
      });
      writeFileSync(
        join(files, "products-in-001.jsonl"),
        `${[product(1, "120.00"), product(2, "80.50")].map((p) => JSON.stringify(p)).join("\n")}\n`,
      );
      const first = (await sync(["products-in"])).get("products-in");
      assert.equal(first?.counts.created, 2, JSON.stringify(first));
      for (const [n, price] of [
        [1, "120.00"],
        [2, "80.50"],
      ] as const) {
        const found = await api<{ name: string; regular_price: string; type: string }[]>(
          "GET",
          `/products?sku=W-${run}-${n}`,
        );
        assert.equal(found.length, 1, `W-${run}-${n}: ${JSON.stringify(found)}`);
        assert.equal(found[0]?.name, `Chair ${run} ${n}`);
        assert.equal(Number(found[0]?.regular_price), Number(price));
        assert.equal(found[0]?.type, "simple");
      }
      // A new export changes one price: that product is updated in place, the other left alone.
      writeFileSync(
        join(files, "products-in-002.jsonl"),
        `${[product(1, "99.00"), product(2, "80.50")].map((p) => JSON.stringify(p)).join("\n")}\n`,
      );
      proxy.seen.length = 0;
      const second = (await sync(["products-in"])).get("products-in");
      assert.equal(second?.counts.created, 0, JSON.stringify(second));
      const writes = proxy.seen.filter((s) => !s.startsWith("GET "));
      assert.equal(writes.length, 1, writes.join("\n"));
      assert.match(writes[0] ?? "", /^PUT \/wp-json\/wc\/v3\/products\/\d+$/);
      const [one] = await api<{ regular_price: string }[]>("GET", `/products?sku=W-${run}-1`);
      assert.equal(Number(one?.regular_price), 99);
    });
  });
}
