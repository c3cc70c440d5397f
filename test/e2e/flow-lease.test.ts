/**
 * One lease per flow, whoever runs it, through the real CLI: two `passerelle sync` started at once never
 * write the same records twice (the second exits 4 naming the holder, or waits with --wait), and a worker
 * killed with SIGKILL mid-run leaves a run that `status` reports `interrupted` once its lease has expired,
 * never `running` forever; a restarted worker then finishes with every record exactly once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { explain, json, startCli, startWorld, type World, waitFor } from "./helpers.ts";
import { parseOutput, StatusOutput, SyncOutput } from "./outputs.ts";
import { odooPartnerEmails } from "./state.ts";

/** SKUs of the shop's variants that appear more than once (a flow written twice at the same time). */
function duplicateSkus(world: World): string[] {
  const seen = new Map<string, number>();
  for (const v of world.systems.shopify.data.variants.values()) {
    if (v.sku) seen.set(v.sku, (seen.get(v.sku) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([sku]) => sku);
}

function erpTemplates(world: World): number {
  return world.systems.odoo.data.rows("product.template").filter((t) => t.type !== "service").length;
}

describe("two passerelle sync of one flow at once", () => {
  let world: World;
  before(async () => {
    world = await startWorld({ products: 30 });
    // The store exists before the two start, as it does for anyone who has run Passerelle once.
    const ready = await world.cli(["status"]);
    assert.equal(ready.code, 0, explain(ready));
  });
  after(async () => {
    await world?.close();
  });

  it("the second exits 4 naming the flow and the holder; the shop gets every product once", async () => {
    // A slow shop: writing the 30 products (one call each) takes far longer than the few seconds between
    // the two processes' starts, so the runs overlap.
    world.systems.shopify.faults.configure({ rates: { slow: 1 }, slowMs: 400 });
    const a = startCli(["sync", "products"], world.env);
    const b = startCli(["sync", "products"], world.env);
    const [ra, rb] = await Promise.all([a.exited, b.exited]);
    world.systems.shopify.faults.configure({});
    const [won, lost, winner] = ra.code === 0 ? [ra, rb, a] : [rb, ra, b];
    assert.deepEqual(duplicateSkus(world), [], `duplicates in the shop\n${explain(won)}\n${explain(lost)}`);
    assert.equal(world.systems.shopify.data.products.size, erpTemplates(world));
    assert.equal(won.code, 0, explain(won));
    assert.equal(lost.code, 4, explain(lost));
    assert.match(
      lost.stderr,
      new RegExp(
        `products: not run — flow products is running elsewhere \\(lease flow:products held by sync-[^#\\s]+-${winner.pid}#\\d+\\)`,
      ),
    );
    assert.match(lost.stderr, /--wait <seconds>/);
  });

  it("with --wait the second waits for the first, then runs and finds nothing left to write", async () => {
    // Every ERP call very slow until the holder is seen (a loaded machine takes seconds per `status`), then
    // slow enough that the first still holds the flow when the second asks for it.
    world.systems.odoo.faults.configure({ rates: { slow: 1 }, slowMs: 2_000 });
    const partnersBefore = odooPartnerEmails(world.systems.odoo).size;
    const args = ["sync", "customers", "--wait", "300"];
    const first = startCli(args, world.env);
    // Started once the first holds the flow, so which one waits is known.
    const holder = await waitFor("the first sync to hold the flow", async () => {
      const res = await world.cli(["status", "--json"]);
      return parseOutput(StatusOutput, res).flows.find((f) => f.flow === "customers")?.runningBy ?? null;
    });
    world.systems.odoo.faults.configure({ rates: { slow: 1 }, slowMs: 100 });
    assert.match(holder, new RegExp(`^sync-[^#\\s]+-${first.pid}#\\d+$`));
    const second = await world.cli([...args, "--json"]);
    const firstDone = await first.exited;
    world.systems.odoo.faults.configure({});
    assert.equal(firstDone.code, 0, explain(firstDone));
    assert.equal(second.code, 0, explain(second));
    const out = parseOutput(SyncOutput, second);
    assert.deepEqual(out.busy, []);
    assert.equal(out.runs[0]?.counts.created, 0, "everything was written by the first");
    assert.ok(partnersBefore < odooPartnerEmails(world.systems.odoo).size, "the first wrote customers");
    const emails = world.systems.odoo.data
      .rows("res.partner")
      .map((p) => (typeof p.email === "string" ? p.email.toLowerCase() : ""))
      .filter((e) => e !== "");
    assert.equal(emails.length, new Set(emails).size, "one partner per e-mail");
  });
});

describe("a worker killed with SIGKILL mid-run", () => {
  let world: World;
  let config = "";
  before(async () => {
    world = await startWorld({ products: 30 });
    // Small pages, so the run has many and is killed between two of them.
    config = world.writeConfig("small-pages.yaml", (doc) => doc.setIn(["flows", "products", "batchSize"], 4));
  });
  after(async () => {
    await world?.close();
  });

  const env = () => ({ ...world.env, PASSERELLE_CONFIG: config });
  const status = async () => {
    const res = await world.cli(["status", "--json"], { env: { PASSERELLE_CONFIG: config } });
    assert.equal(res.code, 0, explain(res));
    return parseOutput(StatusOutput, res).flows.find((f) => f.flow === "products");
  };
  /** The products flow's last run as `status --json` shows it, read without the full output contract. */
  const lastRunStatus = async (): Promise<string | null> => {
    const res = await world.cli(["status", "--json"], { env: { PASSERELLE_CONFIG: config } });
    const flows = (json(res) as { flows: { flow: string; lastRun: { status: string } | null }[] }).flows;
    return flows.find((f) => f.flow === "products")?.lastRun?.status ?? null;
  };

  it("leaves a run that status shows interrupted once its lease expired; a restart finishes it once", async () => {
    world.systems.shopify.faults.configure({ rates: { slow: 1 }, slowMs: 100 });
    const worker = startCli(["worker", "products", "--lease", "3000", "--interval", "500"], env());
    await waitFor("the worker to write some products", () => world.systems.shopify.data.products.size >= 6);
    worker.kill("SIGKILL");
    const killed = await worker.exited;
    assert.equal(killed.code, -1, "killed by the signal");
    const written = world.systems.shopify.data.products.size;
    assert.ok(written < erpTemplates(world), "killed before the end of the run");

    let shown: string | null = null;
    await waitFor("status to report the run interrupted", async () => {
      shown = await lastRunStatus();
      return shown === "interrupted";
    }).catch((e: Error) => assert.fail(`${e.message}; status still shows the run ${shown}`));
    const seen = await status();
    assert.match(seen?.lastRun?.error ?? "", /stopped before the end/);
    assert.ok(seen?.lastRun?.finishedAt, "when it was found stopped");
    assert.equal(seen?.runningBy, null);
    const human = await world.cli(["status"], { env: { PASSERELLE_CONFIG: config } });
    assert.match(
      human.stdout,
      /products: run \d+ interrupted: the process running it stopped before the end/,
    );

    world.systems.shopify.faults.configure({});
    const restart = await world.cli(["worker", "products", "--until-idle", "--interval", "200"], {
      env: { PASSERELLE_CONFIG: config },
    });
    assert.equal(restart.code, 0, explain(restart));
    assert.deepEqual(duplicateSkus(world), []);
    assert.equal(world.systems.shopify.data.products.size, erpTemplates(world));
  });
});
