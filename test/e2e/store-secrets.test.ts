/**
 * Secrets never reach the store, the logs or the CLI's output, even when a vendor hands them back: an ERP
 * whose error answers quote the call (password included), an ERP URL with a password in it, a store URL
 * with one. After real CLI runs (logs at debug), every table of the store is dumped and searched, on SQLite
 * and on PostgreSQL, with the CLI's stdout and stderr. A short secret is redacted as a whole token only,
 * so counts and ids around it stay readable.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import { pgUnreachable, TEST_PG_URL } from "../helpers/postgres.ts";
import { type CliResult, closedPort, explain, startWorld, type World } from "./helpers.ts";

/**
 * In front of the Odoo emulator: answers every partner create/write with the kind of error a customised
 * or debugging Odoo gives, quoting the whole execute_kw call, whose third argument is the password.
 */
async function echoingErp(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const rpc = JSON.parse(body.toString("utf8") || "{}") as {
        id?: unknown;
        params?: { method?: string; args?: unknown[] };
      };
      const args = rpc.params?.args ?? [];
      if (
        rpc.params?.method === "execute_kw" &&
        args[3] === "res.partner" &&
        /^(create|write)$/.test(String(args[4]))
      ) {
        const quoted = args.map((a) => JSON.stringify(a)).join(", ");
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            jsonrpc: "2.0",
            id: rpc.id ?? null,
            error: {
              code: 200,
              message: "Odoo Server Error",
              data: {
                name: "odoo.exceptions.ValidationError",
                message: `Invalid VAT number in call execute_kw(${quoted})`,
              },
            },
          }),
        );
        return;
      }
      const up = request(`${target}${req.url ?? "/"}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on("error", () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

/** Every row of every table of a SQLite store and of its webhook inbox's file, as text. */
function dumpSqlite(path: string): string {
  const inbox = `${path}-inbox`;
  assert.ok(existsSync(inbox), `expected the store's webhook inbox file ${inbox}`);
  return `${dumpSqliteFile(path)}\n${dumpSqliteFile(inbox)}`;
}

function dumpSqliteFile(path: string): string {
  const db = new SqliteDatabase(path, { readonly: true });
  try {
    const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as {
      name: string;
    }[];
    return tables
      .map((t) => `${t.name}: ${JSON.stringify(db.prepare(`select * from "${t.name}"`).all())}`)
      .join("\n");
  } finally {
    db.close();
  }
}

/** Every row of every table of one PostgreSQL schema, as text. */
async function dumpPostgres(schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = $1",
      [schema],
    );
    const out: string[] = [];
    for (const { name } of rows) {
      const data = await client.query(`select * from "${schema}"."${name}"`);
      out.push(`${name}: ${JSON.stringify(data.rows)}`);
    }
    assert.ok(out.length >= 8, `expected the store's tables in schema ${schema}, found ${out.length}`);
    return out.join("\n");
  } finally {
    await client.end();
  }
}

const texts = (results: CliResult[]): string => results.map((r) => `${r.stdout}\n${r.stderr}`).join("\n");

/**
 * Text redacted where no secret stood alone: a short secret replaced inside a word, a number or an address
 * (src/core/redact.ts: short secrets are replaced only between whitespace, quotes, backslashes and value
 * separators).
 */
const MANGLED = /[^\s\\"'`=&?,;()[\]{}<>]\[redacted\]|\[redacted\][^\s\\"'`=&?,;()[\]{}<>]/;

const debug = { env: { PASSERELLE_LOG_LEVEL: "debug" } };

/**
 * Runs what an operator would on one store: customers through the echoing ERP (their creates fail with
 * the password quoted), products with a password in the ERP's URL (the run fails), then every command that
 * prints what the store holds. Returns every output.
 */
async function operate(world: World, erp: string, urlSecret: string): Promise<CliResult[]> {
  const echoing = world.writeConfig("echo.yaml", (doc) => doc.setIn(["connections", "odoo", "url"], erp));
  const withPassword = world.writeConfig("url.yaml", (doc) => {
    doc.setIn(["connections", "odoo", "url"], erp.replace("http://", `http://erp-gate:${urlSecret}@`));
    doc.setIn(["retry"], { attempts: 1 });
  });
  const customers = await world.cli(["-c", echoing, "sync", "customers"], debug);
  assert.equal(customers.code, 1, explain(customers));
  const products = await world.cli(["-c", withPassword, "--json", "sync", "products"], debug);
  assert.equal(products.code, 3, explain(products));
  const list = await world.cli(["-c", echoing, "--json", "failures", "list"], debug);
  const failures = JSON.parse(list.stdout) as { id: number; key: string }[];
  assert.ok(failures.length > 0, explain(list));
  const first = failures[0] as { id: number; key: string };
  const shown = await world.cli(["-c", echoing, "--json", "failures", "show", String(first.id)], debug);
  assert.match(shown.stdout, /Invalid VAT number in call execute_kw/, explain(shown));
  const traced = await world.cli(["-c", echoing, "trace", "customer", first.key], debug);
  const status = await world.cli(["-c", withPassword, "--json", "status"], debug);
  assert.match(status.stdout, /cannot reach Odoo/, explain(status));
  return [customers, products, list, shown, traced, status];
}

/** Fails with the place it was found (a window around it), not the whole dump. */
function assertNot(text: string, pattern: RegExp, what: string): void {
  const m = pattern.exec(text);
  if (m) assert.fail(`${what}: …${text.slice(Math.max(0, m.index - 80), m.index + 80)}…`);
}

function assertClean(where: string, text: string, secrets: string[]): void {
  for (const s of secrets) {
    const at = text.indexOf(s);
    if (at >= 0)
      assert.fail(`${where} holds a secret: …${text.slice(Math.max(0, at - 80), at + s.length + 20)}…`);
  }
  assertNot(text, MANGLED, `${where} was redacted inside a word`);
}

function assertStored(stored: string): void {
  assert.ok(stored.includes("Invalid VAT number in call execute_kw"), "the vendor's error was stored");
  assert.ok(stored.includes("cannot reach Odoo"), "the run's error was stored");
  assert.ok(stored.includes("[redacted]"), "the quoted password was stored redacted");
}

describe("secrets at the store boundary", async () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close();
  });

  /** A world whose ERP is reached through the echoing proxy; `password` replaces the ERP's. */
  async function world(opts: { storeUrl?: string; password?: string } = {}) {
    const w = await startWorld({ products: 12, ...(opts.storeUrl ? { storeUrl: opts.storeUrl } : {}) });
    closing.push(() => w.close());
    if (opts.password !== undefined) {
      w.systems.odoo.changePassword(opts.password);
      w.env.ODOO_PASSWORD = opts.password;
    }
    const erp = await echoingErp(w.env.ODOO_URL as string);
    closing.push(() => erp.close());
    const urlSecret = `gate-${randomBytes(6).toString("hex")}`;
    return { w, erp, urlSecret, secrets: [...w.secrets, urlSecret] };
  }

  it("SQLite: no secret in any table, log line or output", async () => {
    const { w, erp, urlSecret, secrets } = await world();
    const storeSecret = `store-${randomBytes(6).toString("hex")}`;
    const outputs = await operate(w, erp.url, urlSecret);
    // A store URL with a password that cannot be opened: the error names the URL, masked.
    const port = await closedPort();
    const badStore = w.writeConfig("store.yaml", (doc) =>
      doc.setIn(["store", "url"], `postgres://passerelle:${storeSecret}@127.0.0.1:${port}/nowhere`),
    );
    const unopened = await w.cli(["-c", badStore, "status"], debug);
    assert.equal(unopened.code, 3, explain(unopened));
    assert.match(
      unopened.stderr,
      new RegExp(`postgres://passerelle:\\*\\*\\*@127\\.0\\.0\\.1:${port}/nowhere`),
    );

    const stored = dumpSqlite(w.storeUrl.slice("sqlite:".length));
    assertClean("the SQLite store", stored, [...secrets, storeSecret]);
    assertStored(stored);
    assertClean("the CLI's output and logs", texts([...outputs, unopened]), [...secrets, storeSecret]);
  });

  const down = await pgUnreachable();
  it("PostgreSQL: no secret in any table, log line or output", {
    skip: down !== null && !process.env.CI ? `PostgreSQL unreachable at ${TEST_PG_URL} (${down})` : false,
  }, async () => {
    assert.equal(down, null, `PostgreSQL unreachable (${down}); CI requires it`);
    const schema = `secrets_${randomBytes(6).toString("hex")}`;
    // The server trusts local connections, so the password in the store URL is never asked for: it is
    // there to be leaked, or not.
    const storeSecret = `store-${randomBytes(6).toString("hex")}`;
    const url = new URL(TEST_PG_URL);
    url.password = storeSecret;
    url.searchParams.set("schema", schema);
    closing.push(async () => {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`).finally(() => client.end());
    });
    const { w, erp, urlSecret, secrets } = await world({ storeUrl: url.toString() });
    const outputs = await operate(w, erp.url, urlSecret);

    const stored = await dumpPostgres(schema);
    assertClean("the PostgreSQL store", stored, [...secrets, storeSecret]);
    assertStored(stored);
    assertClean("the CLI's output and logs", texts(outputs), [...secrets, storeSecret]);
  });

  it("a short secret is redacted where it stands alone, never inside a number or a word", async () => {
    const { w, erp } = await world({ password: "1" });
    const products = await w.cli(["sync", "products"], debug);
    assert.equal(products.code, 0, explain(products));
    // 12 seeded products and the seed's kit (GIFT-SET).
    assert.ok(products.stderr.includes("13 read, 13 created"), `counts mangled: ${products.stderr}`);
    const echoing = w.writeConfig("echo.yaml", (doc) => doc.setIn(["connections", "odoo", "url"], erp.url));
    const customers = await w.cli(["-c", echoing, "sync", "customers"], debug);
    assert.equal(customers.code, 1, explain(customers));
    const list = await w.cli(["-c", echoing, "--json", "failures", "list"], debug);
    const [first] = JSON.parse(list.stdout) as { id: number }[];
    assert.ok(first, explain(list));
    const shown = await w.cli(["-c", echoing, "--json", "failures", "show", String(first.id)], debug);

    const stored = dumpSqlite(w.storeUrl.slice("sqlite:".length));
    // The quoted password is gone; the uid beside it, the counts and the ids stay.
    assert.match(stored, /execute_kw\(\\+"odoo\\+", \d+, \\+"\[redacted\]\\+", \\+"res\.partner/);
    assertNot(stored, MANGLED, "the store was redacted inside a word");
    assertNot(texts([products, customers, list, shown]), MANGLED, "the output was redacted inside a word");
    // Payloads are data a retry writes again: a short secret inside them is left alone when stored.
    const failure = JSON.parse(shown.stdout) as { sourcePayload: unknown; mappedPayload: unknown };
    assert.match(JSON.stringify(failure.mappedPayload), /"sourceId":"gid:\/\/shopify\/Customer\/\d+"/);
  });
});
