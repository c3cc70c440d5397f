/**
 * A mapping changed after the first sync: the next `passerelle sync` reads from its cursor, past the
 * records already synced, so they keep the old mapping until they change; `sync --all-records` reads them
 * all again and rewrites exactly those the new mapping changes, leaving the cursor where it was. Through
 * the real CLI against the emulated ERP and shop.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { explain, json, startWorld, type World } from "./helpers.ts";

interface RunJson {
  flow: string;
  counts: { read: number; created: number; updated: number; failed: number };
}
const runsOf = (res: { stdout: string }) => (json(res as never) as { runs: RunJson[] }).runs;

describe("sync --all-records after a mapping change", () => {
  let world: World;

  before(async () => {
    world = await startWorld({ products: 4 });
    const first = await world.cli(["sync", "products", "--json"]);
    assert.equal(first.code, 0, explain(first));
    // The 4 seeded products and the seed's kit (GIFT-SET, made of two of them).
    assert.equal(runsOf(first)[0]?.counts.created, 5);
  });

  after(async () => {
    await world?.close();
  });

  it("reads every record again and rewrites those the new mapping changes; the cursor stays", async () => {
    world.writeConfig("passerelle.yaml", (doc) => {
      doc.setIn(["flows", "products", "mapping"], doc.createNode({ vendor: { value: "Remapped Ltd" } }));
    });
    const vendors = () =>
      [...world.systems.shopify.data.products.values()].map((p) => (p as { vendor?: string }).vendor);

    const fromCursor = await world.cli(["sync", "products", "--json"]);
    assert.equal(fromCursor.code, 0, explain(fromCursor));
    assert.deepEqual(
      runsOf(fromCursor).map((r) => [r.counts.read, r.counts.updated]),
      [[0, 0]],
      "from the cursor nothing is read",
    );
    assert.ok(!vendors().includes("Remapped Ltd"));

    const all = await world.cli(["sync", "products", "--all-records", "--json"]);
    assert.equal(all.code, 0, explain(all));
    const [run] = runsOf(all);
    assert.equal(run?.counts.read, 5, explain(all));
    assert.equal(run?.counts.updated, 5, explain(all));
    assert.deepEqual(vendors(), Array(5).fill("Remapped Ltd"));

    const again = await world.cli(["sync", "products", "--all-records", "--json"]);
    assert.equal(runsOf(again)[0]?.counts.updated, 0, "unchanged records are skipped by their hash");
    const status = await world.cli(["sync", "products", "--json"]);
    assert.equal(runsOf(status)[0]?.counts.read, 0, "the cursor did not move back");

    const bad = await world.cli(["sync", "products", "--all-records", "--max-pages", "1"]);
    assert.equal(bad.code, 2, explain(bad));
    assert.match(bad.stderr, /--all-records reads every page: it takes no --max-pages/);
  });
});
