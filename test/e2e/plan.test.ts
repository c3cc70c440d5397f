/**
 * `passerelle plan` through the real CLI: a plan whose records would fail or be held says how many and
 * exits 1, as the sync would; and its API-call estimate is close to what the same records then cost in a
 * real `sync` (the sync summary counts the calls actually made), flow by flow, both directions.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { placeOrders, shipReadyDeliveries } from "@passerelle/emulators";
import { rng } from "../../src/core/prng.ts";
import { explain, startWorld, type World } from "./helpers.ts";
import { PlanOutput, parseOutput, SyncOutput } from "./outputs.ts";

/**
 * How close a plan's estimate must be to the calls the sync then makes: within 10 %, or 3 calls on a
 * small flow (one login, a refused batch sent again, a price list created on first use).
 */
function assertClose(flow: string, estimate: number, actual: number): void {
  const slack = Math.max(3, Math.ceil(actual * 0.1));
  console.log(`# ${flow}: plan estimated ${estimate} API calls, the sync made ${actual}`);
  assert.ok(
    Math.abs(estimate - actual) <= slack,
    `${flow}: plan estimated ${estimate} API calls, the sync made ${actual} (allowed: ±${slack})`,
  );
}

describe("passerelle plan: failures and the call estimate, through the real CLI", () => {
  let world: World;

  before(async () => {
    world = await startWorld({ products: 60 });
  });
  after(async () => {
    await world?.close();
  });

  it("a plan in which every record would fail exits 1 and says how many", async () => {
    // A strict location map that knows none of the ERP's warehouses: no stock level can be mapped.
    const config = world.writeConfig("no-locations.yaml", (doc) => {
      doc.setIn(["flows", "stock", "mapping", "location", "map"], { NOWHERE: "Main Warehouse" });
    });
    const res = await world.cli(["plan", "stock", "--json"], { env: { PASSERELLE_CONFIG: config } });
    assert.equal(res.code, 1, explain(res));
    const plan = parseOutput(PlanOutput, res);
    assert.ok(plan.records.length > 0, "the ERP has stock levels");
    assert.equal(plan.status, "partial");
    assert.equal(plan.wouldFail, plan.records.length);
    assert.equal(plan.wouldHold, 0);
    assert.deepEqual(
      plan.records.filter((r) => r.action !== "error"),
      [],
      "every level fails to map",
    );

    const human = await world.cli(["plan", "stock"], { env: { PASSERELLE_CONFIG: config } });
    assert.equal(human.code, 1, explain(human));
    assert.match(human.stdout, new RegExp(`${plan.records.length} records would fail`));
    assert.doesNotMatch(human.stdout, /succeeded/);
  });

  /** Plans a flow, then syncs it: the sync creates what the plan said, for about the calls it estimated. */
  async function planThenSync(flow: string, creates: number | null = null): Promise<void> {
    const planned = await world.cli(["plan", flow, "--json"]);
    assert.equal(planned.code, 0, explain(planned));
    const plan = parseOutput(PlanOutput, planned);
    const toCreate = plan.plan.create?.records ?? 0;
    if (creates !== null) assert.equal(toCreate, creates, `${flow}: records to create`);
    assert.ok(toCreate > 0, `${flow}: the target is empty, so the plan creates`);
    const synced = await world.cli(["sync", flow, "--json"]);
    assert.equal(synced.code, 0, explain(synced));
    const run = parseOutput(SyncOutput, synced).runs[0];
    assert.equal(run?.counts.created, toCreate, `${flow}: the sync created what the plan said`);
    assertClose(flow, plan.calls.total, run?.counts.calls ?? -1);
  }

  it("plan and sync of the catalogue, ERP → shop: the estimate is close to the calls made", async () => {
    for (const flow of ["products", "prices", "stock"]) await planThenSync(flow);
  });

  it("plan and sync of customers and orders, shop → ERP, and shipments back: the estimate is close", async () => {
    await planThenSync("customers", 50);
    placeOrders(world.systems.shopify, 30, rng(5));
    await planThenSync("orders", 30);
    await shipReadyDeliveries(world.systems.odoo, rng(6));
    await planThenSync("shipments", 30);
  });

  it("a plan with orders that would be held exits 1 and says how many", async () => {
    const orders = world.systems.shopify.data.orders.size;
    // A total that cannot be the sum of the lines: the money guard would hold every order, new or not.
    const config = world.writeConfig("bad-totals.yaml", (doc) => {
      doc.setIn(["flows", "orders", "mapping"], { total: { value: "0.01" } });
    });
    const res = await world.cli(["plan", "orders", "--json"], { env: { PASSERELLE_CONFIG: config } });
    assert.equal(res.code, 1, explain(res));
    const plan = parseOutput(PlanOutput, res);
    assert.equal(plan.wouldHold, orders, explain(res));
    assert.equal(plan.wouldFail, 0);
    const human = await world.cli(["plan", "orders"], { env: { PASSERELLE_CONFIG: config } });
    assert.equal(human.code, 1, explain(human));
    assert.match(human.stdout, new RegExp(`${orders} records would be held`));
    assert.match(human.stdout, /API calls a sync would make: about \d+/);
  });
});
