/**
 * `passerelle emulate` as a user runs it, in child processes: its options are checked like every other
 * command's (a bad --port is an error, not a silently ignored value), and the orders flow can be tried by
 * hand: both emulators started, a passerelle.yaml written for them, the catalogue synced to the shop, an
 * order placed with the curl commands the shop emulator prints, and `passerelle sync orders` bringing it
 * into the ERP, read back over Odoo's own JSON-RPC API.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Big from "big.js";
import { parse as parseYaml } from "yaml";
import { SKU_PLACEHOLDER } from "../../src/cli/commands/emulate.ts";
import { OdooClient } from "../../src/connectors/odoo/client.ts";
import { OdooConfig } from "../../src/connectors/odoo/config.ts";
import { createOdooConnector } from "../../src/connectors/odoo/index.ts";
import { explain, hasStackTrace, json, ROOT, spawnCli } from "./helpers.ts";
import { type LongRunning, startCli } from "./long-running.ts";
import { parseOutput, SyncOutput } from "./outputs.ts";

/** Runs `passerelle emulate …args`; stops it if it starts instead of refusing, so a wrong acceptance fails. */
async function emulate(args: string[]) {
  const run = startCli(["emulate", ...args], { ...process.env });
  try {
    await run.waitFor("stdout", /emulator running/);
  } catch {
    // Exited without starting: what the refusals below expect.
  }
  return run.stop();
}

describe("passerelle emulate: bad options", () => {
  const cases: [string[], RegExp][] = [
    [["shopify", "--port", "abc"], /--port must be a whole number from 0 to 65535, got "abc"/],
    [["shopify", "--port", "-1"], /--port must be a whole number from 0 to 65535, got "-1"/],
    [["odoo", "--port", "65536"], /--port must be a whole number from 0 to 65535, got "65536"/],
    [["odoo", "--port", "80.5"], /--port must be a whole number from 0 to 65535, got "80\.5"/],
    [["odoo", "--products", "0"], /--products must be a whole number above 0, got "0"/],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(" ")}: exit 2 naming the option and the value`, async () => {
      const res = await emulate(args);
      assert.equal(res.code, 2, explain(res));
      assert.match(res.stderr, message);
      assert.doesNotMatch(res.stdout, /emulator running/);
      assert.ok(!hasStackTrace(res.stderr), res.stderr);
    });
  }
});

/** The `export NAME=value` lines an emulator prints, as an environment. */
function exportsOf(stdout: string): Record<string, string> {
  return Object.fromEntries([...stdout.matchAll(/^\s*export (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/** Runs a command line the way a user pastes it into a shell. */
function shell(command: string): Promise<string> {
  return new Promise((done, fail) =>
    execFile("sh", ["-c", command], (err, stdout, stderr) =>
      err ? fail(new Error(`${command}\n${stderr}`)) : done(stdout),
    ),
  );
}

/** A passerelle.yaml a user would write for the two emulators: catalogue and stock out, orders in. */
function handConfig(dir: string): string {
  return `version: 1
store:
  url: sqlite:${join(dir, "passerelle.sqlite")}
connections:
  odoo:
    type: odoo
    url: \${env:ODOO_URL}
    db: \${env:ODOO_DB}
    username: \${env:ODOO_USER}
    password: \${env:ODOO_PASSWORD}
  shopify:
    type: shopify
    shop: \${env:SHOPIFY_SHOP}
    accessToken: \${env:SHOPIFY_ACCESS_TOKEN}
    endpoint: \${env:SHOPIFY_ENDPOINT}
flows:
  products:
    source: { connection: odoo, entity: product }
    target: { connection: shopify, entity: product }
  stock:
    source: { connection: odoo, entity: inventory }
    target: { connection: shopify, entity: inventory }
    mapping:
      location: { from: location, map: { WH: Main Warehouse, WH2: East Warehouse }, strict: true }
  orders:
    source: { connection: shopify, entity: order }
    target: { connection: odoo, entity: order }
`;
}

describe("trying the orders flow by hand: passerelle emulate odoo and shopify, an order placed over HTTP", () => {
  let odooEmu: LongRunning;
  let shopEmu: LongRunning;
  let dir = "";
  let env: NodeJS.ProcessEnv = {};
  let erp: OdooClient;
  let erpConfig: OdooConfig;
  let placed: { name: string; total: string; lines: { sku: string; quantity: number }[] } | null = null;

  before(async () => {
    odooEmu = startCli(["emulate", "odoo", "--products", "12"], { ...process.env });
    shopEmu = startCli(["emulate", "shopify"], { ...process.env });
    await odooEmu.waitFor("stdout", /Ctrl-C to stop/);
    await shopEmu.waitFor("stdout", /Ctrl-C to stop/);
    dir = mkdtempSync(join(tmpdir(), "passerelle-by-hand-"));
    writeFileSync(join(dir, "passerelle.yaml"), handConfig(dir));
    const exported = { ...exportsOf(odooEmu.stdout()), ...exportsOf(shopEmu.stdout()) };
    env = { ...process.env, ...exported, PASSERELLE_CONFIG: join(dir, "passerelle.yaml") };
    delete env.PASSERELLE_DEBUG;
    erpConfig = OdooConfig.parse({
      url: exported.ODOO_URL,
      db: exported.ODOO_DB,
      username: exported.ODOO_USER,
      password: exported.ODOO_PASSWORD,
    });
    erp = new OdooClient(erpConfig, "test");
  });

  after(async () => {
    // Ctrl-C, as the emulators' own message says.
    const stopped = await Promise.all([odooEmu?.stop("SIGINT"), shopEmu?.stop("SIGINT")]);
    rmSync(dir, { recursive: true, force: true });
    for (const res of stopped) if (res) assert.equal(res.code, 0, explain(res));
  });

  it("the shop emulator prints how to place an order, with curl", () => {
    const out = shopEmu.stdout();
    assert.match(out, /curl -s http:\/\/127\.0\.0\.1:\d+\/emulator\/variants/);
    assert.match(
      out,
      /curl -s http:\/\/127\.0\.0\.1:\d+\/emulator\/orders -H 'content-type: application\/json' \\\n/,
    );
    assert.ok(out.includes(SKU_PLACEHOLDER), out);
  });

  it("sync products stock puts the ERP's catalogue in the shop", async () => {
    const res = await spawnCli(["sync", "products", "stock", "--json"], env);
    assert.equal(res.code, 0, explain(res));
    const runs = parseOutput(SyncOutput, res).runs;
    assert.ok(
      runs.every((r) => r.status === "succeeded" && r.counts.created > 0),
      explain(res),
    );
  });

  it("the printed curl commands, pasted with a SKU from the list, place an order and answer its name", async () => {
    const out = shopEmu.stdout();
    const list = /^\s*(curl -s \S+\/emulator\/variants)$/m.exec(out)?.[1];
    const place = /^\s*(curl -s \S+\/emulator\/orders .*\\\n.*)$/m.exec(out)?.[1];
    assert.ok(list && place, out);
    const variants = JSON.parse(await shell(list)) as { sku: string; price: string; available: number }[];
    const inStock = variants.filter((v) => v.available >= 2);
    assert.ok(inStock.length >= 2, JSON.stringify(variants));
    const [a, b] = inStock as [(typeof inStock)[0], (typeof inStock)[0]];
    // As pasted, with the SKU filled in…
    const first = JSON.parse(await shell(place.replace(SKU_PLACEHOLDER, a.sku))) as { name: string };
    assert.equal(first.name, "#1001");
    // …and an order of two lines with shipping, written by hand against the same address.
    const ordersUrl = /curl -s (\S+\/emulator\/orders)/.exec(place)?.[1] as string;
    const lines = [
      { sku: a.sku, quantity: 2 },
      { sku: b.sku, quantity: 1 },
    ];
    const res = await fetch(ordersUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "hand.test@example.com", lines, shipping: true }),
    });
    const answer = (await res.json()) as { name: string; total: string };
    assert.equal(res.status, 201, JSON.stringify(answer));
    assert.equal(answer.name, "#1002");
    placed = { name: answer.name, total: answer.total, lines };

    const unknown = await fetch(ordersUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "hand.test@example.com", lines: [{ sku: "NO-SUCH-SKU", quantity: 1 }] }),
    });
    assert.equal(unknown.status, 422);
    assert.match(((await unknown.json()) as { error: string }).error, /lines\[0\]\.sku "NO-SUCH-SKU"/);
  });

  it("sync orders brings the order into the ERP as a confirmed sale with the shop's lines and total", async () => {
    assert.ok(placed, "an order was placed");
    const res = await spawnCli(["sync", "orders", "--json"], env);
    assert.equal(res.code, 0, explain(res));
    const run = parseOutput(SyncOutput, res).runs[0];
    assert.deepEqual([run?.counts.created, run?.counts.failed], [2, 0], explain(res));
    const [sale] = await erp.searchRead(
      "sale.order",
      [["client_order_ref", "=", `shopify:${placed.name}`]],
      ["state", "amount_total", "order_line"],
    );
    assert.ok(sale, `a sale for shopify:${placed.name}`);
    assert.equal(sale.state, "sale");
    assert.equal(new Big(sale.amount_total as number).round(2).toFixed(2), placed.total);
    const saleLines = await erp.read("sale.order.line", sale.order_line as number[], [
      "product_id",
      "product_uom_qty",
    ]);
    const products = await erp.read(
      "product.product",
      saleLines.map((l) => (l.product_id as [number, string])[0]),
      ["default_code"],
    );
    const skuOf = new Map(products.map((p) => [p.id, p.default_code]));
    const bySku = saleLines
      .map((l) => ({ sku: skuOf.get((l.product_id as [number, string])[0]), quantity: l.product_uom_qty }))
      .filter((l) => placed?.lines.some((p) => p.sku === l.sku));
    assert.deepEqual(bySku, placed.lines);
  });
  it("the README's `passerelle document` example has the ref shape this Odoo's invoices carry, and works", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const example = /^npx passerelle document (\S+) (\S+) --out (\S+)(?:\s+#.*)?$/m.exec(readme);
    assert.ok(example, "the README shows a passerelle document example");
    const [, connection, ref, out] = example as unknown as [string, string, string, string];
    // The connection it names is the Odoo one of the README's own passerelle.yaml, and the ref is on its URL.
    const yamlBlock =
      [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
        .map((m) => m[1] ?? "")
        .find((b) => /^connections:/m.test(b)) ?? "";
    const conn = (parseYaml(yamlBlock) as { connections: Record<string, { type: string; url: string }> })
      .connections[connection];
    assert.equal(
      conn?.type,
      "odoo",
      `the README's passerelle.yaml has an Odoo connection named ${connection}`,
    );
    assert.ok(ref.startsWith(`${conn.url}/`), `${ref} is on ${conn.url}`);

    // The ref the invoice stream puts on a posted invoice of this Odoo, through the connector itself.
    const [move] = await erp.searchRead(
      "account.move",
      [
        ["move_type", "=", "out_invoice"],
        ["state", "=", "posted"],
      ],
      ["id"],
      { limit: 1, order: "id asc" },
    );
    assert.ok(move, "the emulator seeds posted invoices");
    const connector = createOdooConnector(connection, erpConfig);
    const invoices = connector.streams.invoice;
    assert.ok(invoices);
    const native = await invoices.get(String(move.id));
    assert.ok(native);
    const documentRef = (await invoices.toCanonical(native)).document?.ref;
    const readmeId = /\d+$/.exec(ref)?.[0] ?? "";
    assert.equal(
      documentRef,
      `${env.ODOO_URL}${ref.slice(conn.url.length, ref.length - readmeId.length)}${move.id}`,
      "the README's ref, with this Odoo's URL and invoice id",
    );

    const file = join(dir, out);
    const res = await spawnCli(["document", connection, documentRef as string, "--out", file, "--json"], env);
    assert.equal(res.code, 0, explain(res));
    assert.equal((json(res) as { mimeType: string }).mimeType, "application/pdf");
    assert.equal(readFileSync(file).subarray(0, 5).toString("latin1"), "%PDF-");
  });
});
