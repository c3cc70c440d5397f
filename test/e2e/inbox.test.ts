/**
 * The failed-records inbox and the job runtime through the real CLI, with bad input on purpose: a poison
 * order (a SKU the ERP does not know) among good ones, fixed with `failures edit` + retry; an inbox entry
 * whose flow was removed from the configuration; a corrupt job row in the store. Each gets a clear message
 * and nothing else stops.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { placeOrders } from "@passerelle/emulators";
import { rng } from "../../src/core/prng.ts";
import { openStore } from "../../src/store/index.ts";
import { jobsDb } from "../../src/store/jobs.ts";
import { explain, json, startWorld, type World } from "./helpers.ts";
import { FailuresOutput, parseOutput, RetryOutput } from "./outputs.ts";
import { odooSalesByRef } from "./state.ts";

describe("inbox and jobs under bad input, through the CLI", () => {
  let world: World;
  const good: string[] = [];
  let poison = "";

  before(async () => {
    world = await startWorld({ products: 20 });
    const setup = await world.cli(["sync", "products", "prices", "stock"]);
    assert.equal(setup.code, 0, explain(setup));
    const shop = world.systems.shopify;
    for (const item of shop.data.inventoryItems.values()) {
      for (const level of item.levels.values()) level.available = 1000;
    }
    good.push(...placeOrders(shop, 4, rng(3)).map((o) => `shopify:${o.name}`));
    // A variant whose SKU the ERP has never heard of: the shop sells it, the ERP refuses the order line.
    const variant = [...shop.data.variants.values()].find((v) => v.sku);
    assert.ok(variant?.sku);
    const realSku = variant.sku;
    variant.sku = "GHOST-404";
    shop.data.variants.set(variant.id, variant); // keeps any SKU index in step
    const email = [...shop.data.customers.values()].find((c) => c.email)?.email as string;
    poison = `shopify:${shop.placeOrder({ email, lines: [{ sku: "GHOST-404", quantity: 1 }], shipping: false }).name}`;
    variant.sku = realSku;
    shop.data.variants.set(variant.id, variant);
    good.push(...placeOrders(shop, 3, rng(4)).map((o) => `shopify:${o.name}`));
  });
  after(async () => {
    await world?.close();
  });

  it("a poison order lands in the inbox; every other order of the batch is written", async () => {
    const res = await world.cli(["sync", "orders", "--json"]);
    assert.equal(res.code, 1, explain(res)); // partial
    for (const ref of good) assert.equal(odooSalesByRef(world.systems.odoo, ref).length, 1, ref);
    assert.equal(odooSalesByRef(world.systems.odoo, poison).length, 0);
    const list = await world.cli(["failures", "list", "--flow", "orders", "--type", "permanent", "--json"]);
    const failures = parseOutput(FailuresOutput, list);
    assert.equal(failures.length, 1, explain(list));
    assert.equal(failures[0]?.key, poison);
    assert.match(failures[0]?.errorMessage ?? "", /GHOST-404/);
  });

  it("failures edit (with the SKU corrected) retries it and the order is written once", async () => {
    const [f] = parseOutput(FailuresOutput, await world.cli(["failures", "list", "--json"]));
    assert.ok(f);
    const variant = [...world.systems.shopify.data.variants.values()].find((v) => v.sku);
    const edited = JSON.parse(JSON.stringify(f.mappedPayload).replaceAll("GHOST-404", String(variant?.sku)));
    const file = join(world.dir, "edited.json");
    writeFileSync(file, JSON.stringify(edited));
    const res = await world.cli(["failures", "edit", String(f.id), "--file", file, "--json"]);
    assert.equal(res.code, 0, explain(res));
    assert.equal((json(res) as { action: string }).action, "created");
    assert.equal(odooSalesByRef(world.systems.odoo, poison).length, 1);
    const trace = await world.cli(["trace", "order", poison, "--json"]);
    const kinds = (json(trace) as { events: { kind: string }[] }).events.map((e) => e.kind);
    assert.ok(
      kinds.includes("edited") && kinds.includes("retried") && kinds.includes("created"),
      kinds.join(),
    );
  });

  it("an inbox entry whose flow was removed from the configuration: a clear error, the others still retried", async () => {
    // Two open failures: one of the orders flow, one of the stock flow (a location the mapping refuses).
    const store = await openStore(world.storeUrl);
    try {
      await store.commitPage({
        flow: "orders",
        runId: (await store.startRun("orders", "sync")).id,
        links: [],
        events: [],
        failures: [
          {
            flow: "orders",
            entity: "order",
            key: "shopify:#GONE",
            sourceSystem: "shopify",
            sourceId: "gid://shopify/Order/999999",
            sourcePayload: {},
            mappedPayload: null,
            errorKind: "retryable",
            errorMessage: "timeout",
            errorDetail: null,
          },
        ],
        resolvedKeys: [],
        completedIntents: [],
        counts: {},
      });
    } finally {
      await store.close();
    }
    const noOrders = world.writeConfig("no-orders.yaml", (doc) => {
      doc.deleteIn(["flows", "orders"]);
      doc.deleteIn(["flows", "shipments"]);
    });
    const one = await world.cli(["failures", "list", "--json"]);
    const gone = parseOutput(FailuresOutput, one).find((f) => f.key === "shopify:#GONE");
    assert.ok(gone, explain(one));
    const single = await world.cli(["failures", "retry", String(gone.id)], {
      env: { PASSERELLE_CONFIG: noOrders },
    });
    assert.equal(single.code, 2, explain(single));
    assert.match(
      single.stderr,
      new RegExp(`failure ${gone.id} belongs to flow "orders", which is no longer in`),
    );
    const all = await world.cli(["failures", "retry", "--all", "--json"], {
      env: { PASSERELLE_CONFIG: noOrders },
    });
    const outcomes = parseOutput(RetryOutput, all);
    assert.equal(all.code, 1, explain(all));
    assert.match(outcomes.find((o) => o.id === gone.id)?.message ?? "", /no longer in/);
  });

  it("a corrupt job row is given up with a clear error; the worker still runs the flows", async () => {
    const store = await openStore(world.storeUrl);
    try {
      const now = new Date().toISOString();
      await jobsDb(store)
        .insertInto("jobs")
        .values({
          queue: "sync",
          payload: '{"flow": "ord', // truncated
          status: "queued",
          run_at: now,
          locked_by: null,
          locked_until: null,
          last_error: null,
          created_at: now,
          singleton_key: null,
        })
        .execute();
    } finally {
      await store.close();
    }
    const shop = world.systems.shopify;
    const late = placeOrders(shop, 2, rng(9)).map((o) => `shopify:${o.name}`);
    const res = await world.cli(["worker", "orders", "--interval", "200", "--until-idle"], {
      env: { PASSERELLE_LOG_LEVEL: "error" },
    });
    assert.equal(res.code, 0, explain(res));
    assert.match(res.stderr, /job \d+ \(queue sync\): payload is not valid JSON/);
    for (const ref of late) assert.equal(odooSalesByRef(world.systems.odoo, ref).length, 1, ref);
  });
});
