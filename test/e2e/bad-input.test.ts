/**
 * The real CLI on bad input: broken configuration, missing or wrong credentials, an unreachable system, a
 * record the mapping cannot map, and names that do not exist. Every case checks the exit code, that stderr
 * says what is wrong and where, and that no stack trace and no secret reaches the output.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Big from "big.js";
import { openStore } from "../../src/store/index.ts";
import {
  type CliResult,
  closedPort,
  explain,
  hasStackTrace,
  leakedSecrets,
  ROOT,
  startWorld,
  type World,
} from "./helpers.ts";
import { FailuresOutput, parseOutput, RetryOutput, SyncOutput } from "./outputs.ts";
import { odooLevels, odooVariants, shopifyAvailable, shopifyLocationId } from "./state.ts";

const FLOWS = ["products", "prices", "stock", "customers", "orders", "shipments", "refunds"];
const ENTITIES = ["product", "price", "inventory", "customer", "order", "shipment", "invoice"];

describe("the CLI on bad input", () => {
  let world: World;

  before(async () => {
    world = await startWorld({ products: 12 });
  });
  after(async () => {
    await world?.close();
  });

  /** Exit code, a message on stderr, no stack trace, no secret anywhere. */
  function assertRefused(res: CliResult, code: number, extraSecrets: string[] = []): void {
    assert.equal(res.code, code, explain(res));
    assert.notEqual(res.stderr.trim(), "", `a message on stderr\n${explain(res)}`);
    assert.ok(!hasStackTrace(res.stdout + res.stderr), `no stack trace\n${explain(res)}`);
    assert.deepEqual(
      leakedSecrets(res.stdout + res.stderr, [...world.secrets, ...extraSecrets]),
      [],
      `no secret in the output\n${explain(res)}`,
    );
  }

  /** The repository's configuration with the Odoo connection named `name`, so messages can be checked for it. */
  function renamedOdoo(name: string): string {
    return world.writeConfig(`renamed-${name}.yaml`, (doc) => {
      const connection = doc.getIn(["connections", "odoo"], true);
      doc.deleteIn(["connections", "odoo"]);
      doc.setIn(["connections", name], connection);
      for (const flow of FLOWS) {
        for (const side of ["source", "target"]) {
          if (doc.getIn(["flows", flow, side, "connection"]) === "odoo") {
            doc.setIn(["flows", flow, side, "connection"], name);
          }
        }
      }
    });
  }

  describe("configuration", () => {
    let threeProblems: CliResult | null = null;

    it("malformed YAML: exit 2 with the line of the syntax error", async () => {
      const lines = readFileSync(join(ROOT, "passerelle.yaml"), "utf8").split("\n");
      const at = lines.findIndex((l) => l.trim() === "batchSize: 50");
      assert.ok(at >= 0, "the repository's configuration has a batchSize: 50 line");
      lines[at] = "   batchSize: 50"; // one space short: no longer in line with its siblings
      const path = join(world.dir, "malformed.yaml");
      writeFileSync(path, lines.join("\n"));

      const res = await world.cli(["sync", "products"], { env: { PASSERELLE_CONFIG: path } });
      assertRefused(res, 2);
      assert.match(res.stderr, /malformed\.yaml/, "names the file");
      assert.match(res.stderr, new RegExp(`\\bline ${at + 1}\\b`), "names the line");
    });

    it("three independent problems: exit 2 and every path listed at once", async () => {
      const path = world.writeConfig("three.yaml", (doc) => {
        doc.setIn(["connections", "odoo", "type"], "sap");
        doc.setIn(["flows", "orders", "target", "connection"], "erp");
        doc.setIn(["flows", "prices", "batchSize"], 0);
      });
      const res = await world.cli(["validate"], { env: { PASSERELLE_CONFIG: path } });
      threeProblems = res;
      assertRefused(res, 2);
      for (const [where, what] of [
        ["connections.odoo.type", '"sap"'],
        ["flows.orders.target.connection", '"erp"'],
        ["flows.prices.batchSize", "0"],
      ] as const) {
        const line = res.stderr.split("\n").find((l) => l.includes(where));
        assert.ok(line, `${where} is listed\n${res.stderr}`);
        assert.ok(line.includes(what), `${where} shows the bad value ${what}: ${line}`);
      }
    });

    it("three independent problems: the valid choices are shown, not redacted", () => {
      assert.ok(threeProblems, "the three-problems case ran");
      const { stderr } = threeProblems;
      assert.ok(!stderr.includes("[redacted]"), `nothing secret in these messages\n${stderr}`);
      assert.match(stderr, /odoo, shopify/, "the known connector types and connections are listed");
    });

    it("mapping fields the order does not have: exit 2, each path, its line and the valid fields", async () => {
      const path = world.writeConfig("unknown-fields.yaml", (doc) => {
        doc.setIn(["flows", "orders", "mapping"], {
          "lines[].skew": "sku",
          "customer.emial": { from: "customer.email", format: "lower" },
          "lines[].unitPrice": { from: "unitPrice", format: "decimal2" },
        });
      });
      const lineOf = (text: string) =>
        readFileSync(path, "utf8")
          .split("\n")
          .findIndex((l) => l.includes(text)) + 1;
      const res = await world.cli(["validate"], { env: { PASSERELLE_CONFIG: path } });
      assertRefused(res, 2);
      const skew = res.stderr.split("\n").find((l) => l.includes("flows.orders.mapping.lines[].skew"));
      assert.ok(skew, `the bad element field is listed\n${res.stderr}`);
      assert.match(
        skew,
        /no field "skew"; valid fields there: sku, title, quantity, unitPrice, discount, taxes/,
      );
      assert.match(skew, new RegExp(`\\(line ${lineOf("lines[].skew")}\\)$`));
      const emial = res.stderr.split("\n").find((l) => l.includes("flows.orders.mapping.customer.emial"));
      assert.ok(emial, `the bad nested field is listed\n${res.stderr}`);
      assert.match(emial, /no field "emial"; valid fields there: key, email, name \(line \d+\)$/);
      assert.ok(!res.stderr.includes("unitPrice:"), "the valid field is not reported");
    });

    it("a filter that is not JSONata: exit 2 with the message, position and expression", async () => {
      const path = world.writeConfig("bad-filter.yaml", (doc) => {
        doc.setIn(["flows", "orders", "filter"], "financialStatus = 'paid' and");
      });
      const res = await world.cli(["validate"], { env: { PASSERELLE_CONFIG: path } });
      assertRefused(res, 2);
      assert.ok(!res.stderr.includes("[object Object]"), res.stderr);
      assert.match(
        res.stderr,
        /flows\.orders\.filter: invalid JSONata filter: Unexpected end of expression \(S0207\) at position 28 \(got "financialStatus = 'paid' and"\) \(line \d+\)/,
      );
    });

    it("a YAML alias bomb: exit 2 naming the line, within a 64 MB heap", async () => {
      const bomb = ["x-lol:", '  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
      for (const [name, previous] of ["ba", "cb", "dc", "ed", "fe", "gf", "hg", "ih"]) {
        bomb.push(`  ${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]`);
      }
      const lines = readFileSync(world.writeConfig("bomb.yaml"), "utf8").split("\n");
      const at = lines.findIndex((l) => l.startsWith("version:")) + 1;
      lines.splice(at, 0, ...bomb);
      const path = join(world.dir, "bomb.yaml");
      writeFileSync(path, lines.join("\n"));
      const res = await world.cli(["validate"], {
        env: { PASSERELLE_CONFIG: path, NODE_OPTIONS: "--max-old-space-size=64" },
      });
      assertRefused(res, 2);
      assert.match(res.stderr, /bomb\.yaml/, "names the file");
      const line = lines.findIndex((l) => l.startsWith("  g: &g")) + 1;
      assert.match(res.stderr, new RegExp(`alias \\*f .*alias bomb \\(line ${line}\\)`), res.stderr);
    });

    it("a secret's environment variable is missing: exit 2 naming the variable and the field", async () => {
      const res = await world.cli(["sync", "customers"], { unset: ["ODOO_PASSWORD"] });
      assertRefused(res, 2);
      assert.match(res.stderr, /ODOO_PASSWORD/);
      assert.match(res.stderr, /connections\.odoo\.password/);
    });
  });

  // The Odoo connection is named "erp" in these runs, so a message can be checked for the connection's
  // name without the product's name ("Odoo") or the database's ("odoo") passing for it.
  describe("credentials and reachability", () => {
    let wrongPassword: CliResult | null = null;
    let unreachable: CliResult | null = null;

    it("a wrong Odoo password: exit 2, the login refused, the password not shown", async () => {
      const wrong = "wrong-odoo-password-4711";
      const res = await world.cli(["sync", "customers"], {
        env: { ODOO_PASSWORD: wrong, PASSERELLE_CONFIG: renamedOdoo("erp") },
      });
      wrongPassword = res;
      assertRefused(res, 2, [wrong]);
      assert.match(res.stderr, /\bcustomers\b/, "names the flow");
      assert.match(res.stderr, /odoo/i, "names the system");
      assert.match(res.stderr, /login|password|credential/i, "says that the credentials were refused");
    });

    it("a wrong Odoo password: the message names the connection", () => {
      assert.ok(wrongPassword, "the wrong-password case ran");
      assert.match(wrongPassword.stderr, /\berp\b/, `names the connection "erp"\n${wrongPassword.stderr}`);
    });

    it("an Odoo URL carrying a password: the password is never printed", async () => {
      const password = "pw-in-url-4713";
      const url = `http://sync:${password}@127.0.0.1:${await closedPort()}`;
      const res = await world.cli(["sync", "products"], { env: { ODOO_URL: url } });
      assert.notEqual(res.code, 0, explain(res));
      assert.deepEqual(leakedSecrets(res.stdout + res.stderr, [password]), [], explain(res));
    });

    describe("an unreachable Odoo", () => {
      const touched: number[] = [];
      let cursorBefore: unknown;

      it("a first sync of products succeeds; then three products change in Odoo", async () => {
        const res = await world.cli(["sync", "products", "--json"]);
        assert.equal(res.code, 0, explain(res));
        const { odoo } = world.systems;
        const templates = odoo.data.rows("product.template").filter((t) => t.type !== "service");
        for (const t of templates.slice(0, 3)) {
          const price = typeof t.list_price === "number" ? t.list_price : 0;
          odoo.touch("product.template", t.id, { list_price: price + 3 });
          touched.push(t.id);
        }
        cursorBefore = await cursorOf(world, "products");
        assert.notEqual(cursorBefore, null);
      });

      it("exit 3, with the address that could not be reached, and the cursor stays", async () => {
        const url = `http://127.0.0.1:${await closedPort()}`;
        const res = await world.cli(["sync", "products"], {
          env: { ODOO_URL: url, PASSERELLE_CONFIG: renamedOdoo("erp") },
        });
        unreachable = res;
        assertRefused(res, 3);
        assert.ok(res.stderr.includes(url), `names the address\n${res.stderr}`);
        assert.match(res.stderr, /odoo/i, "names the system");
        assert.deepEqual(await cursorOf(world, "products"), cursorBefore, "the failed run moved the cursor");
      });

      it("exit 3 names the connection that could not be reached", () => {
        assert.ok(unreachable, "the unreachable case ran");
        assert.match(unreachable.stderr, /\berp\b/, `names the connection "erp"\n${unreachable.stderr}`);
      });

      it("the next run with the right address carries every change: nothing was lost", async () => {
        const res = await world.cli(["sync", "products", "--json"]);
        assert.equal(res.code, 0, explain(res));
        const [run] = parseOutput(SyncOutput, res).runs;
        assert.equal(run?.counts.updated, touched.length, explain(res));
        const { odoo, shopify } = world.systems;
        const stale = odooVariants(odoo).filter((v) => {
          const shop = shopify.data.variantBySku(v.sku);
          return !shop || !new Big(shop.price).eq(v.price);
        });
        assert.deepEqual(
          stale.map((v) => v.sku),
          [],
        );
      });
    });
  });

  describe("a record the mapping cannot map", () => {
    let noWh2: string;
    const variantsCount = () => odooVariants(world.systems.odoo).length;

    it("a strict location map without WH2: exit 1, the WH levels are written", async () => {
      noWh2 = world.writeConfig("no-wh2.yaml", (doc) => {
        doc.setIn(["flows", "stock", "mapping", "location", "map"], { WH: "Main Warehouse" });
      });
      const res = await world.cli(["sync", "stock"], { env: { PASSERELLE_CONFIG: noWh2 } });
      assertRefused(res, 1);
      assert.match(res.stderr, /\bstock\b/, "names the flow");
      assert.match(res.stderr, new RegExp(`\\b${variantsCount()} failed\\b`), "says how many failed");

      const { odoo, shopify } = world.systems;
      const main = shopifyLocationId(shopify, "Main Warehouse");
      const east = shopifyLocationId(shopify, "East Warehouse");
      const wrong = odooLevels(odoo).filter((l) =>
        l.warehouse === "WH"
          ? shopifyAvailable(shopify, l.sku, main) !== l.available
          : shopifyAvailable(shopify, l.sku, east) !== 0,
      );
      assert.deepEqual(wrong, [], "WH levels written, WH2 levels untouched");
    });

    it("the WH2 records wait in the inbox as data failures naming the field and the value", async () => {
      const res = await world.cli(["failures", "list", "--json"], { env: { PASSERELLE_CONFIG: noWh2 } });
      assert.equal(res.code, 0, explain(res));
      const failures = parseOutput(FailuresOutput, res);
      const expected = odooVariants(world.systems.odoo)
        .map((v) => `${v.sku}@WH2`)
        .sort();
      assert.deepEqual(failures.map((f) => f.key).sort(), expected);
      for (const f of failures) {
        assert.equal(f.flow, "stock");
        assert.equal(f.errorKind, "data");
        assert.equal(f.status, "open");
        assert.match(f.errorMessage, /\blocation\b/, "names the field");
        assert.match(f.errorMessage, /"WH2"/, "names the value");
        assert.equal(f.mappedPayload, null, "mapping failed, so there is no mapped payload");
      }
    });

    it("with WH2 mapped again, failures retry --all re-reads each record from Odoo and writes it", async () => {
      const { odoo, shopify } = world.systems;
      const wh2 = odooLevels(odoo).filter((l) => l.warehouse === "WH2");
      assert.ok(
        wh2.some((l) => l.available > 0),
        "some WH2 stock is not zero, so a written level is visible",
      );

      const res = await world.cli(["failures", "retry", "--all", "--json"]);
      assert.equal(res.code, 0, explain(res));
      const outcomes = parseOutput(RetryOutput, res);
      // And the seed's kit (GIFT-SET), whose WH2 level is computed from its components' (it has no quants).
      assert.equal(outcomes.length, wh2.length + 1);
      assert.deepEqual(
        outcomes.filter((o) => !o.ok),
        [],
      );

      const east = shopifyLocationId(shopify, "East Warehouse");
      const wrong = wh2.filter((l) => shopifyAvailable(shopify, l.sku, east) !== l.available);
      assert.deepEqual(wrong, [], "every WH2 level is in the shop");
      const store = await openStore(world.storeUrl);
      try {
        assert.deepEqual(await store.listFailures({ status: "open" }), [], "no failure left open");
      } finally {
        await store.close();
      }
    });
  });

  describe("a filter that fails on every record", () => {
    let path: string;

    it("sync: exit 1, naming the flow", async () => {
      path = world.writeConfig("failing-filter.yaml", (doc) => {
        // Its own store, so these failures stay out of the other cases' inbox.
        doc.setIn(["store", "url"], `sqlite:${join(world.dir, "failing-filter.sqlite")}`);
        // Prices are decimal strings in the canonical model: comparing one with a number fails at run time.
        doc.setIn(["flows", "products", "filter"], "variants[0].price > 10");
      });
      const res = await world.cli(["sync", "products"], { env: { PASSERELLE_CONFIG: path } });
      assertRefused(res, 1);
      assert.match(res.stderr, /\bproducts\b/, "names the flow");
    });

    it("the inbox says which filter failed, where and why, not [object Object]", async () => {
      const res = await world.cli(["failures", "list", "--json"], { env: { PASSERELLE_CONFIG: path } });
      assert.equal(res.code, 0, explain(res));
      const failures = parseOutput(FailuresOutput, res);
      assert.ok(failures.length > 0, explain(res));
      for (const f of failures) {
        assert.equal(f.errorKind, "data");
        assert.match(
          f.errorMessage,
          /^flows\.products\.filter: expression "variants\[0\]\.price > 10" failed: The values "[\d.]+" and 10 either side of operator ">" must be of the same data type \(T2009\) at position \d+/,
        );
      }
      const shown = await world.cli(["failures", "show", String(failures[0]?.id)], {
        env: { PASSERELLE_CONFIG: path },
      });
      assert.equal(shown.code, 0, explain(shown));
      assert.match(shown.stdout, /expression "variants\[0\]\.price > 10" failed: .*\(T2009\)/);
      assert.ok(!shown.stdout.includes("[object Object]"), shown.stdout);
    });
  });

  describe("names that do not exist", () => {
    it("failures show 999999: exit 2, no such failed record", async () => {
      const res = await world.cli(["failures", "show", "999999"]);
      assertRefused(res, 2);
      assert.match(res.stderr, /no failed record with id 999999/);
    });

    it("sync nosuchflow: exit 2 naming the flow and listing the flows", async () => {
      const res = await world.cli(["sync", "nosuchflow"]);
      assertRefused(res, 2);
      assert.match(res.stderr, /"nosuchflow"/);
      for (const f of FLOWS) assert.match(res.stderr, new RegExp(`\\b${f}\\b`), `lists ${f}`);
    });

    it("trace nosuchentity x: exit 2 listing the entities", async () => {
      const res = await world.cli(["trace", "nosuchentity", "x"]);
      assertRefused(res, 2);
      assert.match(res.stderr, /"nosuchentity"/);
      for (const e of ENTITIES) assert.match(res.stderr, new RegExp(`\\b${e}\\b`), `lists ${e}`);
    });
  });
});

async function cursorOf(world: World, flow: string): Promise<unknown> {
  const store = await openStore(world.storeUrl);
  try {
    return await store.getCursor(flow);
  } finally {
    await store.close();
  }
}
