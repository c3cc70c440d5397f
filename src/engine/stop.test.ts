/**
 * A run asked to stop (its signal aborts): it finishes and commits the batch it is writing, reads nothing
 * more, ends `interrupted` with the reason, and the next run resumes from the committed cursor, so every
 * record arrives exactly once. Two Odoo emulators, orders from one to the other, a real SQLite store.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type OdooFixture, startFixture } from "../../test/fixtures/odoo.ts";
import type { Store } from "../ports/store.ts";
import { openStore } from "../store/index.ts";
import type { Flow } from "./flow.ts";
import { SyncEngine } from "./sync.ts";

let a: OdooFixture;
let b: OdooFixture;
let store: Store;
let dir: string;
let flow: Flow;

before(async () => {
  a = await startFixture({ orders: 30, seed: 7 });
  b = await startFixture({ orders: 0, seed: 7 });
  dir = mkdtempSync(join(tmpdir(), "passerelle-stop-"));
  store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
  await store.migrate();
  flow = {
    name: "orders",
    entity: "order",
    source: a.connect({ pageSize: 7 }, "erp-a"),
    target: b.connect({}, "erp-b"),
    batchSize: 7,
  };
});

after(async () => {
  await store.close();
  await a.emu.close();
  await b.emu.close();
  rmSync(dir, { recursive: true, force: true });
});

function refs(fx: OdooFixture): string[] {
  const ids = fx.emu.data.search("sale.order", [["client_order_ref", "!=", false]]);
  return fx.emu.data.read("sale.order", ids, ["client_order_ref"]).map((r) => String(r.client_order_ref));
}

test("a stop during a page's writes commits that page, ends the run interrupted, and the next run resumes", async () => {
  const engine = new SyncEngine(store);
  const stop = new AbortController();
  // Asked to stop while the first page is being planned and written.
  const s = await engine.run(flow, {
    signal: stop.signal,
    onPlan: () => stop.abort(new Error("SIGTERM received")),
  });
  assert.equal(s.status, "interrupted");
  assert.equal(s.counts.created, 7, "the page in flight was written");
  assert.equal(refs(b).length, 7, "and nothing after it");
  const [run] = await store.lastRuns("orders", 1);
  assert.equal(run?.status, "interrupted");
  assert.equal(run?.error, "interrupted: SIGTERM received");
  assert.equal(run?.counts.created, 7, "its page was committed with the run's counts");
  assert.notEqual(await store.getCursor("orders"), null, "the cursor moved past the committed page");

  const rest = await engine.run(flow);
  assert.equal(rest.status, "succeeded", rest.error?.message);
  assert.equal(rest.counts.created, 23);
  const got = refs(b);
  assert.equal(got.length, 30);
  assert.equal(new Set(got).size, 30, "no order twice");
});

test("a run whose signal has already aborted reads nothing and is recorded interrupted", async () => {
  const stop = new AbortController();
  stop.abort(new Error("SIGINT received"));
  const s = await new SyncEngine(store).run(flow, { signal: stop.signal });
  assert.equal(s.status, "interrupted");
  assert.equal(s.counts.read, 0);
});
