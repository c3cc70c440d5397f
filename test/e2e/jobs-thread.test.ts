/**
 * `passerelle run` with `server.jobsThread: true`, through the real CLI: the server and the scheduler stay on
 * the main thread, every job runs in a worker thread of the same process. A scheduled catalogue sync and an
 * order's webhooks are run by the thread's runner (the jobs it holds carry its holder, `worker-…#1`, never
 * the main thread's `run-…`); what the thread did reaches the main thread's output and /metrics; SIGTERM in
 * the middle of a sync stops the thread cleanly and the process exits 0; the next start finishes the
 * catalogue with every product once.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { placeOrders } from "@passerelle/emulators";
import { rng } from "../../src/core/prng.ts";
import type { Store } from "../../src/ports/store.ts";
import { openStore } from "../../src/store/index.ts";
import { explain, type LiveCli, startCli, startWorld, type World, waitFor } from "./helpers.ts";
import { odooSalesByRef } from "./state.ts";

const PRODUCTS = 30;

describe("passerelle run with the jobs in a worker thread (server.jobsThread)", () => {
  let world: World;
  let env: NodeJS.ProcessEnv;
  let configPath = "";
  let store: Store;
  let run: LiveCli | null = null;
  let base = "";

  const start = async () => {
    const r = startCli(["run", "--port", "0", "--no-auth-on-loopback"], env);
    base = await waitFor(
      "the server to listen",
      () => /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(r.stderr())?.[1] ?? null,
    );
    return r;
  };
  const shopSkus = () =>
    [...world.systems.shopify.data.variants.values()].map((v) => v.sku ?? "").filter(Boolean);

  before(async () => {
    world = await startWorld({ products: PRODUCTS });
    const config = world.writeConfig("threaded.yaml", (doc) => {
      doc.setIn(["server", "jobsThread"], true);
      // Small pages on a schedule: the catalogue push is still going when the test looks at who runs it.
      doc.setIn(["flows", "products", "trigger"], { type: "schedule", cron: "*/2 * * * * *" });
      doc.setIn(["flows", "products", "batchSize"], 3);
    });
    configPath = config;
    env = { ...world.env, PASSERELLE_CONFIG: config };
    store = await openStore(world.storeUrl);
  });

  after(async () => {
    run?.kill("SIGKILL");
    await run?.exited;
    await store?.close();
    await world?.close();
  });

  it("runs the scheduled sync in the thread; SIGTERM stops it mid-run and the process exits 0", async () => {
    world.systems.shopify.faults.configure({ rates: { slow: 1 }, slowMs: 60 });
    run = await start();
    const r0pid = () => run?.pid ?? -1;
    // While the sync is running, its job is held by the thread's runner.
    const holders = await waitFor("the products sync job to be running", async () => {
      const running = await store.jobs().list({ status: "running" });
      const held = running.filter((j) => j.queue === "sync").map((j) => j.lockedBy ?? "");
      return held.length > 0 && world.systems.shopify.data.products.size >= 3 ? held : null;
    });
    // The thread runs at a lower priority than the main thread (Linux: a nice value per thread).
    const nices = readdirSync(`/proc/${r0pid()}/task`).map((tid) => ({
      tid: Number(tid),
      nice: Number(readFileSync(`/proc/${r0pid()}/task/${tid}/stat`, "utf8").split(") ")[1]?.split(" ")[16]),
    }));
    assert.equal(nices.find((t) => t.tid === r0pid())?.nice, 0, JSON.stringify(nices));
    assert.equal(nices.filter((t) => t.nice === 10).length, 1, JSON.stringify(nices));
    for (const h of holders) assert.match(h, /^worker-.+-\d+#1#\d+$|^worker-.+-\d+#1$/, `held by ${h}`);
    // The main thread's /metrics counts the calls the thread's connectors made.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const calls = /passerelle_api_calls\{connection="shopify"\} (\d+)/.exec(metrics);
    await waitFor("the thread's call counters on /metrics", async () => {
      const m = /passerelle_api_calls\{connection="shopify"\} (\d+)/.exec(
        await (await fetch(`${base}/metrics`)).text(),
      );
      return m && Number(m[1]) > 0 ? true : null;
    });
    assert.ok(calls, metrics);

    run.kill("SIGTERM");
    const res = await run.exited;
    run = null;
    world.systems.shopify.faults.configure({});
    assert.equal(res.code, 0, explain(res));
    assert.match(res.stdout + res.stderr, /Stopped/);
    const written = world.systems.shopify.data.products.size;
    assert.ok(written < PRODUCTS, `stopped mid-run (${written} of ${PRODUCTS} written)`);
    const runs = await store.lastRuns("products", 20);
    assert.ok(
      runs.some((r) => r.status === "interrupted"),
      `a run recorded interrupted: ${JSON.stringify(runs.map((r) => r.status))}`,
    );
  });

  it("the next start finishes the catalogue once, and an order's webhooks reach the ERP through the thread", async () => {
    run = await start();
    const total = world.systems.odoo.data
      .rows("product.product")
      .filter(
        (v) => typeof v.default_code === "string" && !["SHIP", "DISCOUNT", ""].includes(v.default_code),
      ).length;
    await waitFor("every product in the shop", () => shopSkus().length >= total);
    const skus = shopSkus();
    assert.equal(new Set(skus).size, skus.length, "no product written twice");
    await waitFor("the main thread to print the thread's passes", () =>
      /schedule products: \d+ read/.test(run?.stderr() ?? "") ? true : null,
    );

    const customers = await world.cli(["sync", "prices", "stock", "customers"], {
      env: { PASSERELLE_CONFIG: configPath },
    });
    assert.equal(customers.code, 0, explain(customers));
    const reg = await world.cli(
      ["webhooks", "register", "shopify", "--address", `${base}/webhooks/shopify`],
      { env: { PASSERELLE_CONFIG: configPath } },
    );
    assert.equal(reg.code, 0, explain(reg));
    const [placed] = placeOrders(world.systems.shopify, 1, rng(7));
    assert.ok(placed);
    await world.systems.shopify.webhooks.settle();
    const ref = `shopify:${placed.name}`;
    await waitFor("the order in the ERP", () =>
      odooSalesByRef(world.systems.odoo, ref).length > 0 ? true : null,
    );
    assert.equal(odooSalesByRef(world.systems.odoo, ref).length, 1);
    await waitFor("the events pass on the main thread's output", () =>
      /events orders: \d+ read/.test(run?.stderr() ?? "") ? true : null,
    );

    run.kill("SIGTERM");
    const res = await run.exited;
    run = null;
    assert.equal(res.code, 0, explain(res));
  });
});

describe("server.jobsThread with a store only one connection can see", () => {
  it("is refused, naming the setting and the store", async () => {
    const world = await startWorld({ products: 2 });
    try {
      const config = world.writeConfig("memory.yaml", (doc) => {
        doc.setIn(["server", "jobsThread"], true);
        doc.setIn(["store", "url"], "sqlite::memory:");
      });
      const res = await world.cli(["run", "--port", "0"], { env: { PASSERELLE_CONFIG: config } });
      assert.notEqual(res.code, 0, explain(res));
      assert.match(
        res.stderr,
        /server\.jobsThread: true needs a store both threads can open; "sqlite::memory:"/,
      );
    } finally {
      await world.close();
    }
  });
});
