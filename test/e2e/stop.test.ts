/**
 * A clean stop through the real CLI: SIGTERM to a worker in the middle of a run (the shop slowed so the run
 * lasts), and Ctrl-C (SIGINT) to a long `passerelle sync`. Each stops after the records it is writing, long
 * before the end of the backlog; the run is recorded `interrupted` by the process itself; the worker hands
 * its job back and exits 0 on its own (not cut by its grace period), the sync exits 3; the next start
 * resumes and every record arrives exactly once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JobQueue } from "../../src/runtime/jobs.ts";
import { leaseHolder } from "../../src/runtime/leases.ts";
import { openStore } from "../../src/store/index.ts";
import { explain, startCli, startWorld, type World, waitFor } from "./helpers.ts";
import { parseOutput, StatusOutput } from "./outputs.ts";

function skus(world: World): string[] {
  return [...world.systems.shopify.data.variants.values()].map((v) => v.sku ?? "").filter(Boolean);
}

function erpSkus(world: World): string[] {
  return world.systems.odoo.data
    .rows("product.product")
    .map((v) => (typeof v.default_code === "string" ? v.default_code : ""))
    .filter((sku) => sku !== "" && sku !== "SHIP" && sku !== "DISCOUNT");
}

describe("stopping a run through the CLI", () => {
  let world: World;
  let config = "";
  let env: NodeJS.ProcessEnv;
  before(async () => {
    world = await startWorld({ products: 40 });
    // Small pages, so a stop comes between two of them.
    config = world.writeConfig("small-pages.yaml", (doc) => {
      doc.setIn(["flows", "products", "batchSize"], 4);
      doc.setIn(["flows", "customers", "batchSize"], 4);
    });
    env = { ...world.env, PASSERELLE_CONFIG: config };
  });
  after(async () => {
    await world?.close();
  });

  const lastRun = async (flow: string) => {
    const res = await world.cli(["status", "--json"], { env: { PASSERELLE_CONFIG: config } });
    assert.equal(res.code, 0, explain(res));
    return parseOutput(StatusOutput, res).flows.find((f) => f.flow === flow)?.lastRun ?? null;
  };

  it("SIGTERM: the worker stops after the page in flight, records the run interrupted, hands the job back", async () => {
    world.systems.shopify.faults.configure({ rates: { slow: 1 }, slowMs: 100 });
    // The default grace period (20 s) is far more than the page in flight needs.
    const worker = startCli(["worker", "products", "--interval", "500"], env);
    await waitFor("the worker to write some products", () => world.systems.shopify.data.products.size >= 6);
    worker.kill("SIGTERM");
    const res = await worker.exited;
    world.systems.shopify.faults.configure({});
    assert.equal(res.code, 0, explain(res));
    const written = world.systems.shopify.data.products.size;
    const total = world.systems.odoo.data.rows("product.template").filter((t) => t.type !== "service").length;
    assert.ok(written < total, `stopped mid-run (${written} of ${total} written), not after the backlog`);
    assert.match(res.stderr, /SIGTERM: stopping/);
    assert.match(res.stdout, /stopped/);
    assert.doesNotMatch(
      res.stdout,
      /handed back to the queue/,
      "it stopped by itself, within the grace period",
    );

    const run = await lastRun("products");
    assert.equal(run?.status, "interrupted", JSON.stringify(run));
    assert.match(run?.error ?? "", /SIGTERM/);
    const store = await openStore(world.storeUrl);
    try {
      const jobs = await new JobQueue(store).list({ queue: "sync" });
      assert.deepEqual(
        jobs.map((j) => j.status),
        ["queued"],
        "the job was handed back, so the next start takes it at once",
      );
      assert.equal(await leaseHolder(store, "flow:products"), null, "the flow's lease was released");
    } finally {
      await store.close();
    }

    const restart = await world.cli(["worker", "products", "--until-idle", "--interval", "200"], {
      env: { PASSERELLE_CONFIG: config },
    });
    assert.equal(restart.code, 0, explain(restart));
    const shop = skus(world);
    assert.equal(shop.length, new Set(shop).size, "no SKU twice in the shop");
    assert.deepEqual([...shop].sort(), erpSkus(world).sort());
  });

  it("Ctrl-C: sync stops after the page in flight, exits 3, and the next sync resumes", async () => {
    world.systems.odoo.faults.configure({ rates: { slow: 1 }, slowMs: 100 });
    const before = world.systems.odoo.data.rows("res.partner").length;
    const sync = startCli(["sync", "customers"], env);
    await waitFor(
      "the sync to write some customers",
      () => world.systems.odoo.data.rows("res.partner").length >= before + 6,
    );
    sync.kill("SIGINT");
    const res = await sync.exited;
    world.systems.odoo.faults.configure({});
    assert.equal(res.code, 3, explain(res));
    assert.match(res.stderr, /SIGINT: stopping after the records being written/);
    assert.match(
      res.stderr,
      /customers: interrupted — .*\n\s+stopped before the end; what was written is committed/,
    );
    const shopCustomers = [...world.systems.shopify.data.customers.values()].filter((c) => c.email).length;
    assert.ok(
      world.systems.odoo.data.rows("res.partner").length < before + shopCustomers,
      "stopped before the end of the backlog",
    );
    const run = await lastRun("customers");
    assert.equal(run?.status, "interrupted");
    assert.match(run?.error ?? "", /SIGINT/);

    const again = await world.cli(["sync", "customers"], { env: { PASSERELLE_CONFIG: config } });
    assert.equal(again.code, 0, explain(again));
    const emails = world.systems.odoo.data
      .rows("res.partner")
      .map((p) => (typeof p.email === "string" ? p.email.toLowerCase() : ""))
      .filter((e) => e !== "");
    assert.equal(emails.length, new Set(emails).size, "one partner per e-mail");
    for (const c of world.systems.shopify.data.customers.values()) {
      if (c.email) assert.ok(emails.includes(c.email.toLowerCase()), `${c.email} reached the ERP`);
    }
  });
});
