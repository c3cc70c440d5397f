/**
 * PostgreSQL restarted, or stopped for longer than the store waits, in the middle of a real
 * `passerelle sync`: the process never crashes; after a restart the run carries on and ends succeeded;
 * after a long stop it ends with exit 3 and an error naming the store (password masked), and the next run
 * resumes from its cursor. Either way the shop ends with every product exactly once.
 *
 * The server is a cluster of its own (passerelle_restart on port 5499, created by scripts/ci/postgres.sh),
 * so the restarts never reach the tests that share 127.0.0.1:5432; an advisory lock on that shared server
 * keeps two test runs on one machine from restarting it under each other. Without the cluster the suite is
 * skipped with a message, except under CI, where it fails.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as pause } from "node:timers/promises";
import { promisify } from "node:util";
import pg from "pg";
import { pgUnreachable, TEST_PG_URL } from "../helpers/postgres.ts";
import { type CliResult, explain, startWorld, type World } from "./helpers.ts";
import { parseOutput, SyncOutput } from "./outputs.ts";

const run = promisify(execFile);
const CLUSTER = process.env.PASSERELLE_TEST_PG_RESTART_CLUSTER ?? "passerelle_restart";
const SEEDED = 80;
/** The seeded products and the seed's kit (GIFT-SET, made of two of them): what the products flow reads. */
const PRODUCTS = SEEDED + 1;
const PAGE = 5;

/** The restart cluster's version and URL, or why it cannot be used. */
async function restartCluster(): Promise<{ version: string; url: string } | string> {
  let listing: string;
  try {
    listing = (await run("pg_lsclusters", ["--no-header"])).stdout;
  } catch {
    return "PostgreSQL's cluster tools (pg_lsclusters) are not installed";
  }
  const line = listing.split("\n").find((l) => l.split(/\s+/)[1] === CLUSTER);
  if (!line) return `no PostgreSQL cluster named ${CLUSTER}; create it with scripts/ci/postgres.sh (as root)`;
  const [version, , port] = line.split(/\s+/);
  if (process.getuid?.() !== 0) return `restarting cluster ${CLUSTER} needs root`;
  const url = `postgres://postgres@127.0.0.1:${port}/test`;
  const down = await pgUnreachable(url);
  return down === null
    ? { version: version as string, url }
    : `cluster ${CLUSTER} (${url}) is unreachable: ${down}`;
}

const found = await restartCluster();
const sharedDown = await pgUnreachable();
const why = typeof found === "string" ? found : sharedDown;
const skip = why !== null && !process.env.CI ? why : false;

async function ctl(action: "restart" | "stop" | "start"): Promise<void> {
  if (typeof found === "string") throw new Error(found);
  await run("pg_ctlcluster", ["--skip-systemctl-redirect", "-m", "fast", found.version, CLUSTER, action]);
}

/** What the store of `schema` says about the flow's runs, read from the test process. */
async function runs(url: string, schema: string): Promise<{ status: string; read: number }[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ status: string; read: number }>(
      `select status, read from "${schema}".runs where flow = 'products' order by id`,
    );
    return rows.map((r) => ({ status: r.status, read: Number(r.read) }));
  } catch {
    return [];
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Waits until the running sync has committed a few pages and has more to go. */
async function midRun(url: string, schema: string, cli: Promise<CliResult>): Promise<number> {
  let exited: CliResult | null = null;
  void cli.then((r) => {
    exited = r;
  });
  for (;;) {
    if (exited) assert.fail(`the sync ended before the store went away:\n${explain(exited)}`);
    const [current] = await runs(url, schema);
    if (current && current.read >= 2 * PAGE) {
      assert.equal(current.status, "running");
      assert.ok(current.read < PRODUCTS, "the sync ended before the store went away");
      return current.read;
    }
    await pause(50);
  }
}

function assertShopHasEachProductOnce(world: World): void {
  const skus = [...world.systems.shopify.data.variants.values()].map((v) => v.sku);
  assert.equal(world.systems.shopify.data.products.size, PRODUCTS, "products in the shop");
  assert.equal(new Set(skus).size, skus.length, "a SKU is in the shop twice");
}

// A generous bound so that a sync which hangs on a dead store fails instead of never ending.
describe("a sync that meets a PostgreSQL restart", { skip, timeout: 600_000 }, () => {
  const schemas: string[] = [];
  let lock: pg.Client | null = null;
  let url = "";

  before(async () => {
    assert.equal(why, null, `${why}; CI requires it (scripts/ci/postgres.sh creates it)`);
    url = (found as { url: string }).url;
    // Held for the whole suite on the shared server, which nobody restarts; released if this process dies.
    lock = new pg.Client({ connectionString: TEST_PG_URL });
    await lock.connect();
    await lock.query("select pg_advisory_lock(hashtext('passerelle restart cluster'))");
  });
  after(async () => {
    if (typeof found !== "string" && (await pgUnreachable(found.url)) !== null) await ctl("start");
    const client = new pg.Client({ connectionString: url });
    await client.connect().catch(() => undefined);
    for (const s of schemas)
      await client.query(`drop schema if exists "${s}" cascade`).catch(() => undefined);
    await client.end().catch(() => undefined);
    await lock?.end();
  });

  /** A world whose store is a fresh schema on the restart cluster, with the ERP slowed to a page at a time. */
  async function world(query: Record<string, string> = {}, password?: string) {
    const schema = `restart_${randomBytes(5).toString("hex")}`;
    schemas.push(schema);
    const storeUrl = new URL(url);
    if (password) storeUrl.password = password;
    storeUrl.searchParams.set("schema", schema);
    for (const [k, v] of Object.entries(query)) storeUrl.searchParams.set(k, v);
    const w = await startWorld({ products: SEEDED, storeUrl: storeUrl.toString() });
    w.systems.odoo.faults.configure({ rates: { slow: 1 }, slowMs: 150 });
    const config = w.writeConfig("restart.yaml", (doc) =>
      doc.setIn(["flows", "products", "batchSize"], PAGE),
    );
    return { w, schema, config };
  }

  it("restarted mid-run: the run carries on and succeeds, each product written once", async () => {
    const { w, schema, config } = await world();
    try {
      const cli = w.cli(["-c", config, "--json", "sync", "products"]);
      await midRun(url, schema, cli);
      await ctl("restart");

      const res = await cli;
      assert.equal(res.code, 0, explain(res));
      const [summary] = parseOutput(SyncOutput, res).runs;
      assert.equal(summary?.status, "succeeded", explain(res));
      assert.equal(summary?.counts.created, PRODUCTS, explain(res));
      // The run was mid-way when the restart was asked for (midRun); this says it met the restart.
      assert.match(res.stderr, /store connection lost/, "the sync never noticed the restart");
      assert.deepEqual(await runs(url, schema), [{ status: "succeeded", read: PRODUCTS }]);
      assertShopHasEachProductOnce(w);
    } finally {
      await w.close();
    }
  });

  it("stopped longer than retry_ms: exit 3 naming the store, and the next run resumes, each product once", async () => {
    const password = `pg-${randomBytes(6).toString("hex")}`;
    const { w, schema, config } = await world({ retry_ms: "1500" }, password);
    try {
      const cli = w.cli(["-c", config, "sync", "products"]);
      await midRun(url, schema, cli);
      await ctl("stop");
      const stopped = await cli.finally(() => ctl("start"));
      assert.equal(stopped.code, 3, explain(stopped));
      assert.match(
        stopped.stderr,
        /error: store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/test\?schema=\w+&retry_ms=1500 (still )?unreachable/,
        explain(stopped),
      );
      assert.equal(
        `${stopped.stdout}${stopped.stderr}`.includes(password),
        false,
        "the store password was printed",
      );

      // The first process could not give its flow lease back while the store was down: the next sync
      // waits for it to expire (60 s) rather than being refused as busy.
      const resumed = await w.cli(["-c", config, "--json", "sync", "products", "--wait", "120"]);
      assert.equal(resumed.code, 0, explain(resumed));
      const first = (await runs(url, schema))[0];
      const [summary] = parseOutput(SyncOutput, resumed).runs;
      // Resumed from the cursor: the pages the first run committed were not read again.
      assert.ok((summary?.counts.read ?? PRODUCTS) < PRODUCTS, explain(resumed));
      assert.ok((first?.read ?? 0) > 0);
      assertShopHasEachProductOnce(w);
    } finally {
      await w.close();
    }
  });
});
