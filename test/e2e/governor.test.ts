/**
 * The shared rate governor across processes: four processes call one Odoo emulator that allows 10
 * requests a second (a token bucket of 10; 429 beyond), each through the shared HTTP client governed at
 * 10 requests a second over one PostgreSQL store. Together they never get a 429, and they use at least
 * 90 % of the budget, as measured by the emulator's own counters. Without the governor (the control run)
 * the same four processes do get 429s, so the test can tell the difference.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type OdooEmulator, startOdooEmulator } from "@passerelle/emulators";
import pg from "pg";
import { openStore } from "../../src/store/index.ts";
import { onPostgres, TEST_PG_URL } from "../helpers/postgres.ts";
import { ROOT } from "./helpers.ts";

const SCHEMA = `governor_${process.pid}_${Date.now().toString(36)}`;
const CALLER = join(ROOT, "test/helpers/governed-caller.ts");
const LIMIT = 10;
const DURATION_MS = 8_000;

function caller(storeUrl: string, odooUrl: string, perSecond: number): Promise<Record<string, number>> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", CALLER, storeUrl, odooUrl, String(perSecond), String(DURATION_MS)],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.on("close", (code) => {
      if (code !== 0) fail(new Error(`caller exited ${code}: ${err}`));
      else done(JSON.parse(out) as Record<string, number>);
    });
  });
}

await onPostgres("shared rate governor on PostgreSQL", () => {
  describe("shared rate governor on PostgreSQL", () => {
    let odoo: OdooEmulator;
    let storeUrl: string;

    before(async () => {
      odoo = await startOdooEmulator({ products: 1, customers: 0, orders: 0 });
      const url = new URL(TEST_PG_URL);
      url.searchParams.set("schema", SCHEMA);
      storeUrl = url.toString();
      const store = await openStore(storeUrl);
      await store.migrate();
      await store.close();
    });

    after(async () => {
      await odoo.close();
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      await client.query(`drop schema if exists "${SCHEMA}" cascade`);
      await client.end();
    });

    test("4 processes against a 10 req/s vendor: no 429, at least 90 % of the budget used", async () => {
      odoo.limiter.configure({ perSecond: LIMIT });
      const results = await Promise.all([1, 2, 3, 4].map(() => caller(storeUrl, odoo.url, LIMIT)));
      const { accepted, refused, firstAt, lastAt } = odoo.limiter.stats;
      const seen429 = results.reduce((n, r) => n + (r["429"] ?? 0), 0);
      assert.equal(refused, 0, `the emulator refused ${refused} requests`);
      assert.equal(seen429, 0);
      assert.ok(
        results.every((r) => (r["200"] ?? 0) > 0),
        `a process was starved: ${JSON.stringify(results)}`,
      );
      const rate = (accepted - 1) / (((lastAt ?? 0) - (firstAt ?? 0)) / 1000);
      console.log(
        `governed: ${accepted} requests, ${rate.toFixed(2)} req/s of ${LIMIT}; per process ${JSON.stringify(results)}`,
      );
      assert.ok(rate >= 0.9 * LIMIT, `${rate.toFixed(2)} req/s used of ${LIMIT}`);
    });

    test("control: four processes each pacing itself at the limit (a budget of 4 × 10) do get 429s", async () => {
      odoo.limiter.configure({ perSecond: LIMIT });
      await Promise.all([1, 2, 3, 4].map(() => caller(storeUrl, odoo.url, 4 * LIMIT)));
      assert.ok(odoo.limiter.stats.refused > 0, "no 429 without the shared budget: the test could not fail");
    });
  });
});
