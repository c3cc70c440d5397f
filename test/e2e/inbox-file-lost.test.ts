/**
 * A SQLite store whose webhook inbox file was lost (deleted, or not restored with the store file), through
 * the real CLI: every command refuses the store, naming the file and both remedies; `passerelle webhooks
 * recreate-inbox` creates it empty and says what was lost; the commands work again, the store's links kept.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { explain, json, startWorld, type World } from "./helpers.ts";
import { parseOutput, SyncOutput } from "./outputs.ts";

describe("a lost webhook inbox file, through the CLI", () => {
  let world: World;
  let storeFile = "";

  before(async () => {
    world = await startWorld({ products: 5 });
    assert.match(world.storeUrl, /^sqlite:/);
    storeFile = world.storeUrl.slice("sqlite:".length);
    const first = await world.cli(["sync", "products", "--json"]);
    assert.equal(first.code, 0, explain(first));
    assert.ok(
      parseOutput(SyncOutput, first).runs.some((r) => r.counts.created > 0),
      explain(first),
    );
  });
  after(async () => {
    await world?.close();
  });

  it("is refused by every command, naming the file, the backup and recreate-inbox", async () => {
    for (const f of ["", "-wal", "-shm"]) rmSync(`${storeFile}-inbox${f}`, { force: true });
    const status = await world.cli(["status"]);
    assert.notEqual(status.code, 0, explain(status));
    assert.ok(status.stderr.includes(`${storeFile}-inbox`), explain(status));
    assert.match(status.stderr, /restore it from the backup/);
    assert.match(status.stderr, /passerelle webhooks recreate-inbox/);
  });

  it("recreate-inbox makes it empty and says what is lost; then the store works, its links kept", async () => {
    const res = await world.cli(["webhooks", "recreate-inbox"]);
    assert.equal(res.code, 0, explain(res));
    assert.match(res.stdout, /Created an empty webhook inbox in .*-inbox/);
    assert.match(res.stdout, /events the lost file held are gone/);
    const again = await world.cli(["webhooks", "recreate-inbox", "--json"]);
    assert.equal(again.code, 0, explain(again));
    assert.deepEqual(json(again), {
      created: false,
      file: `${storeFile}-inbox`,
      reason: `${storeFile}-inbox holds the webhook inbox already; nothing to recreate`,
    });
    // The products synced before are still linked: reading them all again creates none.
    const sync = await world.cli(["sync", "products", "--all-records", "--json"]);
    assert.equal(sync.code, 0, explain(sync));
    const runs = parseOutput(SyncOutput, sync).runs;
    assert.ok(
      runs.length > 0 && runs.every((r) => r.counts.created === 0 && r.counts.read > 0),
      explain(sync),
    );
    const status = await world.cli(["status"]);
    assert.equal(status.code, 0, explain(status));
  });
});
