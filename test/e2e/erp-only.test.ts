/**
 * Sales entered in the ERP alone (phone orders, a customer's purchase order) are shipped too, but their
 * deliveries are not for the shop: through the real CLI, a shipments sync skips each with the reason in its
 * lineage, fails nothing, writes nothing to the shop for them, and reading them again adds no events.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { placeOrders, shipReadyDeliveries } from "@passerelle/emulators";
import { rng } from "../../src/core/prng.ts";
import { openStore } from "../../src/store/index.ts";
import { explain, json, startWorld, type World } from "./helpers.ts";
import { PlanOutput, parseOutput, SyncOutput, TraceOutput } from "./outputs.ts";
import { odooErpOnlyShipments } from "./state.ts";

describe("shipments of sales that exist only in the ERP, through the real CLI", () => {
  let world: World;
  let erpOnly: string[] = [];

  before(async () => {
    world = await startWorld({ products: 20, erpSales: 8 });
    const setup = await world.cli(["sync", "products", "stock", "customers"]);
    assert.equal(setup.code, 0, explain(setup));
    placeOrders(world.systems.shopify, 3, rng(21));
    const orders = await world.cli(["sync", "orders"]);
    assert.equal(orders.code, 0, explain(orders));
    await shipReadyDeliveries(world.systems.odoo, rng(22));
    erpOnly = odooErpOnlyShipments(world.systems.odoo);
    assert.ok(erpOnly.length >= 2, `the ERP has shipped sales of its own: ${erpOnly.join(", ")}`);
  });
  after(async () => {
    await world?.close();
  });

  it("plan shows each of them as skipped, with the reason", async () => {
    const res = await world.cli(["plan", "shipments", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const plan = parseOutput(PlanOutput, res);
    const skipped = plan.records.filter((r) => r.action === "skip");
    assert.deepEqual(skipped.map((r) => r.key).sort(), erpOnly.map((n) => `odoo:${n}`).sort());
    for (const r of skipped) assert.match(r.reason ?? "", /^order .+ is not in shopify/, r.key);
    assert.equal(plan.plan.create?.records, 3);
  });

  it("sync ships the shop's orders, skips the ERP's own, fails nothing and exits 0", async () => {
    const res = await world.cli(["sync", "shipments", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const run = parseOutput(SyncOutput, res).runs[0];
    assert.equal(run?.status, "succeeded");
    assert.equal(run?.counts.failed, 0);
    assert.equal(run?.counts.created, 3);
    assert.equal(run?.counts.skippedWithReason, erpOnly.length);
    const human = await world.cli(["failures", "list", "--json"]);
    assert.deepEqual(json(human), [], "nothing in the inbox");
  });

  it("trace shows why a skipped shipment was not sent", async () => {
    const res = await world.cli(["trace", "shipment", `odoo:${erpOnly[0]}`, "--json"]);
    assert.equal(res.code, 0, explain(res));
    const trace = parseOutput(TraceOutput, res);
    const skipped = trace.events.filter((e) => e.kind === "skipped");
    assert.equal(skipped.length, 1, explain(res));
    assert.equal(skipped[0]?.system, "shopify");
    assert.match(skipped[0]?.message ?? "", /^order .+ is not in shopify \(it did not come from there/);
    assert.deepEqual(
      trace.events.filter((e) => e.kind === "failed"),
      [],
    );
  });

  it("read again, they are skipped quietly: no write, no failure, no new event", async () => {
    const before = await world.cli(["trace", "shipment", `odoo:${erpOnly[0]}`, "--json"]);
    const eventsBefore = parseOutput(TraceOutput, before).events.length;
    // As an overlapping poll or a re-run from the start would: read every shipment again.
    const store = await openStore(world.storeUrl);
    await store.resetCursor("shipments");
    await store.close();
    world.systems.shopify.resetStats();

    const res = await world.cli(["sync", "shipments", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const run = parseOutput(SyncOutput, res).runs[0];
    assert.equal(run?.counts.failed, 0);
    assert.equal((run?.counts.created ?? 0) + (run?.counts.updated ?? 0), 0);
    assert.equal(run?.counts.skippedWithReason, erpOnly.length);
    assert.equal(world.systems.shopify.stats.writes, 0, "nothing was written to the shop");
    const after = await world.cli(["trace", "shipment", `odoo:${erpOnly[0]}`, "--json"]);
    assert.equal(parseOutput(TraceOutput, after).events.length, eventsBefore, explain(after));
  });
});
