/**
 * The engine against real connectors and emulators: two Odoo databases, orders flowing from one to the
 * other (the shop → ERP direction without needing a shop), and a real SQLite store.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type OdooFixture, startFixture } from "../../test/fixtures/odoo.ts";
import { compileMapping } from "../core/mapping.ts";
import type { Store } from "../ports/store.ts";
import { openStore } from "../store/index.ts";
import { retryFailure } from "./failures.ts";
import type { Flow } from "./flow.ts";
import { SyncEngine } from "./sync.ts";

const noSleep = async () => {};

interface Env {
  a: OdooFixture;
  b: OdooFixture;
  store: Store;
  dir: string;
  flow: Flow;
}

async function setup(name: string): Promise<Env> {
  const a = await startFixture({ orders: 30, seed: 7 });
  const b = await startFixture({ orders: 0, seed: 7 });
  const dir = mkdtempSync(join(tmpdir(), "passerelle-engine-"));
  const store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
  await store.migrate();
  const flow: Flow = {
    name,
    entity: "order",
    source: a.connect({ pageSize: 7 }, "erp-a"),
    target: b.connect({}, "erp-b"),
    batchSize: 7,
  };
  return { a, b, store, dir, flow };
}

async function teardown(env: Env): Promise<void> {
  await env.store.close();
  await env.a.emu.close();
  await env.b.emu.close();
  rmSync(env.dir, { recursive: true, force: true });
}

function salesIn(fx: OdooFixture): { ref: string; total: number }[] {
  const ids = fx.emu.data.search("sale.order", [["client_order_ref", "!=", false]], { order: "id asc" });
  return fx.emu.data
    .read("sale.order", ids, ["client_order_ref", "amount_total"])
    .map((r) => ({ ref: String(r.client_order_ref), total: Number(r.amount_total) }));
}

function sourceOrders(fx: OdooFixture): { ref: string; total: number }[] {
  const ids = fx.emu.data.search("sale.order", [], { order: "id asc" });
  return fx.emu.data.read("sale.order", ids, ["name", "client_order_ref", "amount_total"]).map((r) => ({
    ref: r.client_order_ref ? String(r.client_order_ref) : `erp-a:${r.name}`,
    total: Number(r.amount_total),
  }));
}

describe("sync engine", () => {
  let env: Env;
  before(async () => {
    env = await setup("orders");
  });
  after(async () => teardown(env));

  test("a dry run writes nothing and leaves the cursor where it was", async () => {
    const engine = new SyncEngine(env.store);
    const lines: string[] = [];
    const s = await engine.run(env.flow, {
      dryRun: true,
      onPlan: (l) => lines.push(l.action),
      sleep: noSleep,
    });
    assert.equal(s.status, "succeeded", s.error?.message);
    assert.equal(env.b.emu.stats.writes, 0);
    assert.equal(await env.store.getCursor("orders"), null);
    assert.equal(s.plan.create.records, sourceOrders(env.a).length);
    assert.ok(s.estimatedCalls > 0);
    assert.ok(lines.every((l) => l === "create"));
  });

  test("an interrupted run resumes; every order arrives exactly once with its total", async () => {
    const engine = new SyncEngine(env.store);
    const first = await engine.run(env.flow, { maxPages: 2, sleep: noSleep });
    assert.equal(first.status, "succeeded", first.error?.message);
    assert.equal(first.counts.created, 14);
    // Stopped by maxPages with more to read: the run says so, and is no catch-up (runtime/lag.ts).
    const [firstRun] = await env.store.lastRuns("orders", 1);
    assert.match(firstRun?.error ?? "", /^stopped after 2 page\(s\) \(maxPages\): the source may hold more/);
    const rest = await new SyncEngine(env.store).run(env.flow, { sleep: noSleep });
    assert.equal(rest.status, "succeeded", rest.error?.message);
    const [restRun] = await env.store.lastRuns("orders", 1);
    assert.equal(restRun?.error, null, "read to the end: no note");
    const expected = sourceOrders(env.a);
    const got = salesIn(env.b);
    assert.equal(got.length, expected.length);
    assert.deepEqual(got.map((g) => g.ref).sort(), expected.map((e) => e.ref).sort());
    const totals = new Map(expected.map((e) => [e.ref, e.total]));
    for (const g of got) assert.equal(g.total, totals.get(g.ref), `total of ${g.ref}`);
  });

  test("a second run with no changes writes nothing", async () => {
    env.b.emu.resetStats();
    await env.store.resetCursor("orders"); // re-read everything: the hashes alone must stop the writes
    const s = await new SyncEngine(env.store).run(env.flow, { sleep: noSleep });
    assert.equal(s.status, "succeeded");
    assert.equal(s.counts.created + s.counts.updated, 0);
    assert.equal(s.counts.skipped, sourceOrders(env.a).length);
    assert.equal(env.b.emu.stats.writes, 0);
  });

  test("trace shows the record's lineage across both systems", async () => {
    const [first] = sourceOrders(env.a);
    assert.ok(first);
    const events = await env.store.trace("order", first.ref);
    assert.ok(events.some((e) => e.kind === "created" && e.system === "erp-b"));
    const links = await env.store.linksForKey("order", first.ref);
    assert.deepEqual(links.map((l) => l.system).sort(), ["erp-a", "erp-b"]);
  });
});

describe("sync engine under faults", () => {
  test("a crash after the write but before the commit does not duplicate (intent + lookup)", async () => {
    const env = await setup("orders-crash");
    try {
      let crash = true;
      const crashing = new Proxy(env.store, {
        get(target, prop) {
          if (prop === "commitPage") {
            return async (page: Parameters<Store["commitPage"]>[0]) => {
              if (crash && page.links.some((l) => l.system === "erp-b")) {
                crash = false;
                throw new Error("process killed between the vendor's answer and the commit");
              }
              return target.commitPage(page);
            };
          }
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      // One engine for both runs: the commit failed inside this process (a database error, say) and the
      // next run of the same process must still see the intents that page left behind.
      const engine = new SyncEngine(crashing);
      const s1 = await engine.run(env.flow, { sleep: noSleep });
      assert.equal(s1.status, "failed");
      assert.equal(salesIn(env.b).length, 7, "the first page was written before the crash");
      const s2 = await engine.run(env.flow, { sleep: noSleep });
      assert.equal(s2.status, "succeeded", s2.error?.message);
      const refs = salesIn(env.b).map((s) => s.ref);
      assert.equal(refs.length, sourceOrders(env.a).length);
      assert.equal(new Set(refs).size, refs.length, "an order was created twice");
      assert.equal(s2.counts.created, refs.length - 7);
      assert.deepEqual(await env.store.pendingIntents("orders-crash"), []);
    } finally {
      await teardown(env);
    }
  });

  test("a poison record fails alone, lands in the inbox, and an edit + retry fixes it", async () => {
    const env = await setup("orders-poison");
    try {
      // A product only the source knows: the target refuses every order line carrying its SKU.
      const [order] = env.a.emu.data.search("sale.order", [], { order: "id asc", limit: 1 });
      assert.ok(order);
      const [line] = env.a.emu.data.search("sale.order.line", [["order_id", "=", order]], { limit: 1 });
      assert.ok(line);
      const tmpl = env.a.emu.data.create("product.template", { name: "Source-only lamp", list_price: 10 });
      const variant = env.a.emu.data.create("product.product", {
        product_tmpl_id: tmpl,
        default_code: "LAMP-X",
      });
      env.a.emu.data.write("sale.order.line", [line], { product_id: variant });
      env.a.emu.touch("sale.order", order);

      const engine = new SyncEngine(env.store);
      const s = await engine.run(env.flow, { sleep: noSleep });
      assert.equal(s.status, "partial");
      assert.equal(s.counts.failed, 1);
      assert.equal(salesIn(env.b).length, sourceOrders(env.a).length - 1, "siblings were written");
      const [failure] = await env.store.listFailures({ flow: "orders-poison", status: "open" });
      assert.ok(failure);
      assert.equal(failure.errorKind, "permanent", failure.errorMessage);
      assert.match(failure.errorMessage, /LAMP-X/);
      assert.ok(failure.sourcePayload, "the source payload is kept");

      // Edit: replace the unknown SKU by one the target has, keeping the money right.
      const mapped = failure.mappedPayload as { lines: { sku: string }[] };
      const known = env.b.skus.find((k) => k.sku !== "LAMP-X");
      assert.ok(known);
      const edited = structuredClone(mapped);
      for (const l of edited.lines) if (l.sku === "LAMP-X") l.sku = known.sku;
      await env.store.updateFailure(failure.id, { mappedPayload: edited });
      const reloaded = await env.store.getFailure(failure.id);
      assert.ok(reloaded);
      const outcome = await retryFailure(engine, env.store, env.flow, reloaded, { sleep: noSleep });
      // Changing the SKU changes nothing in the money, so the order is accepted as it stands.
      assert.equal(outcome.ok, true, outcome.message ?? "");
      assert.equal(outcome.action, "created");
      assert.equal((await env.store.getFailure(failure.id))?.status, "resolved");
      assert.equal(salesIn(env.b).length, sourceOrders(env.a).length);
      const events = await env.store.trace("order", failure.key);
      assert.equal(events[0]?.kind, "read");
      assert.equal(events[0]?.system, "erp-a", "lineage starts where the record was read");
      assert.deepEqual(
        events.map((e) => e.kind).filter((k) => k !== "intent" && k !== "read"),
        ["failed", "retried", "created", "resolved"],
      );
      assert.ok(events.some((e) => e.kind === "retried"));
    } finally {
      await teardown(env);
    }
  });

  test("an order whose total does not add up is held, not written", async () => {
    const env = await setup("orders-held");
    try {
      env.flow.mapping = compileMapping(
        { total: { expr: "$string($number(total) + 1)" } },
        { path: "flows.orders-held.mapping" },
      );
      const s = await new SyncEngine(env.store).run(env.flow, { sleep: noSleep });
      assert.equal(s.counts.held, sourceOrders(env.a).length);
      assert.equal(salesIn(env.b).length, 0);
      const failures = await env.store.listFailures({ flow: "orders-held" });
      assert.ok(failures.every((f) => f.errorKind === "hold" && /total/i.test(f.errorMessage)));
      // A page where nothing was written still records where each held record was read.
      const [one] = failures;
      assert.ok(one);
      const kinds = (await env.store.trace("order", one.key)).map((e) => `${e.kind}@${e.system}`);
      assert.deepEqual(kinds, ["read@erp-a", "held@erp-b"]);
    } finally {
      await teardown(env);
    }
  });
});

describe("signpost", () => {
  test("stops the cursor on a whole second, the lag before the start", async () => {
    const { signpostAt } = await import("./sync.ts");
    assert.equal(signpostAt(new Date("2026-01-01T12:00:05.300Z"), 5_000), "2026-01-01T12:00:00.000Z");
    assert.equal(signpostAt(new Date("2026-01-01T12:00:05.300Z"), 0), "2026-01-01T12:00:05.000Z");
  });

  test("a record stamped in the same second as the cursor's cap is read on the next run; a changed key moves its links", async () => {
    const env = await setup("orders-signpost");
    try {
      const engine = new SyncEngine(env.store);
      // Every source order is stamped 12:00:05 (Odoo keeps whole seconds); the sync starts at 12:00:05.300.
      env.a.emu.data.freeze("2026-01-01 12:00:05");
      for (const id of env.a.emu.data.search("sale.order", [])) env.a.emu.touch("sale.order", id);
      const first = await engine.run(env.flow, {
        now: () => new Date("2026-01-01T12:00:05.300Z"),
        cursorLagMs: 0,
        sleep: noSleep,
      });
      assert.equal(first.status, "succeeded", first.error?.message);
      // Later in that same second, one more order changes: it gets the same stamp.
      const [late] = env.a.emu.data.search("sale.order", [], { order: "id asc", limit: 1 });
      assert.ok(late !== undefined);
      env.a.emu.touch("sale.order", late, { client_order_ref: "late-change" });
      const second = await engine.run(env.flow, {
        now: () => new Date("2026-01-01T12:00:09Z"),
        cursorLagMs: 0,
        sleep: noSleep,
      });
      assert.equal(second.status, "succeeded", second.error?.message);
      // It was read: its new key now carries its links in both systems (moved, not duplicated).
      const links = await env.store.linksForKey("order", "late-change");
      assert.deepEqual(
        links.map((l) => l.system).sort(),
        ["erp-a", "erp-b"],
        "the change in the cap's second was never read",
      );
      assert.equal(
        salesIn(env.b).length,
        sourceOrders(env.a).length,
        "a changed key must not create a second sale",
      );
    } finally {
      await teardown(env);
    }
  });
});

describe("keys", () => {
  test("a record whose new key belongs to another record fails alone, naming both keys", async () => {
    const env = await setup("orders-rekey");
    try {
      const engine = new SyncEngine(env.store);
      const first = await engine.run(env.flow, { sleep: noSleep, cursorLagMs: 0 });
      assert.equal(first.status, "succeeded", first.error?.message);
      const [one, two] = sourceOrders(env.a);
      const ids = env.a.emu.data.search("sale.order", [], { order: "id asc", limit: 2 });
      assert.ok(one && two && ids[1] !== undefined);
      await new Promise((r) => setTimeout(r, 1100)); // a later second than the first run's records
      env.a.emu.touch("sale.order", ids[1], { client_order_ref: one.ref });
      const second = await engine.run(env.flow, { sleep: noSleep, cursorLagMs: 0 });
      assert.equal(second.status, "partial");
      const [failure] = await env.store.listFailures({ flow: "orders-rekey", status: "open" });
      assert.ok(failure);
      assert.equal(failure.errorKind, "data");
      assert.match(failure.errorMessage, new RegExp(`from "${two.ref}" to "${one.ref}"`));
      assert.equal(salesIn(env.b).length, sourceOrders(env.a).length, "nothing was created or merged");
    } finally {
      await teardown(env);
    }
  });
});

describe("run records", () => {
  test("a run's stored counts equal its summary, calls included", async () => {
    const env = await setup("orders-counts");
    try {
      const s = await new SyncEngine(env.store).run(env.flow, { sleep: noSleep });
      const [run] = await env.store.lastRuns("orders-counts", 1);
      assert.ok(run);
      assert.equal(run.status, s.status);
      const { held: _h, filtered: _f, skippedWithReason: _r, ...stored } = s.counts;
      assert.deepEqual(run.counts, stored);
      assert.ok(run.counts.calls > 0);
    } finally {
      await teardown(env);
    }
  });
});

/**
 * Watches a flow's source stream and target writer: every page read (started, done), every write (started,
 * done), every page commit, and whether the stream was closed; `failRead` makes that page's read throw.
 */
function observe(
  env: Env,
  opts: { failRead?: number } = {},
): { log: string[]; lastIds: string[]; store: Store } {
  const log: string[] = [];
  const lastIds: string[] = [];
  const stream = env.flow.source.streams.order;
  const writer = env.flow.target.writers.order;
  assert.ok(stream && writer);
  const list = stream.list.bind(stream);
  stream.list = (req) => ({
    async *[Symbol.asyncIterator]() {
      const inner = list(req)[Symbol.asyncIterator]();
      try {
        for (let i = 1; ; i++) {
          log.push(`read ${i}`);
          const r = await inner.next();
          if (opts.failRead === i) throw new Error(`page ${i} could not be read`);
          if (r.done) return;
          log.push(`read ${i} done`);
          lastIds.push(stream.idOf(r.value[r.value.length - 1]));
          yield r.value;
        }
      } finally {
        log.push("closed");
        await inner.return?.();
      }
    },
  });
  const upsert = writer.upsert.bind(writer);
  let writes = 0;
  writer.upsert = async (items, ctx) => {
    const n = ++writes;
    log.push(`write ${n}`);
    const out = await upsert(items, ctx);
    log.push(`write ${n} done`);
    return out;
  };
  let commits = 0;
  const store = new Proxy(env.store, {
    get(target, prop) {
      if (prop === "commitPage") {
        return async (page: Parameters<Store["commitPage"]>[0]) => {
          if (page.links.length > 0) log.push(`commit ${++commits} ${page.cursor?.id ?? "-"}`);
          return target.commitPage(page);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { log, lastIds, store };
}

/** A clock a minute ahead, so that every source record is before the run's signpost and cursors are exact. */
const later = () => new Date(Date.now() + 60_000);

describe("read-ahead", () => {
  test("the next page is read while the previous one is written; pages commit in order, after their writes", async () => {
    const env = await setup("orders-ahead");
    try {
      const { log, lastIds, store } = observe(env);
      const s = await new SyncEngine(store).run(env.flow, { sleep: noSleep, now: later });
      assert.equal(s.status, "succeeded", s.error?.message);
      assert.equal(s.counts.created, 30);
      // Page 2 is asked for before page 1's write has answered.
      assert.ok(log.indexOf("read 2") < log.indexOf("write 1 done"), log.join(", "));
      // Five pages of 7, 7, 7, 7, 2, committed in order, each with the cursor at its own last record, after
      // its own write has answered and before the next page's write is sent.
      assert.equal(lastIds.length, 5);
      const commits = lastIds.map((id, i) => `commit ${i + 1} ${id}`);
      assert.deepEqual(
        log.filter((l) => l.startsWith("commit")),
        commits,
      );
      for (let n = 1; n <= 5; n++) {
        const at = log.indexOf(commits[n - 1] as string);
        assert.ok(log.indexOf(`write ${n} done`) < at, log.join(", "));
        if (n < 5) assert.ok(at < log.indexOf(`write ${n + 1}`), log.join(", "));
      }
      assert.equal((await env.store.getCursor("orders-ahead"))?.id, lastIds[4]);
      // The end of the stream was itself read ahead, while the last page was handled.
      assert.equal(log.filter((l) => l === "closed").length, 1);
    } finally {
      await teardown(env);
    }
  });

  test("maxPages reads no page beyond the last one it handles, and closes the stream", async () => {
    const env = await setup("orders-ahead-max");
    try {
      const { log, lastIds, store } = observe(env);
      const s = await new SyncEngine(store).run(env.flow, { sleep: noSleep, maxPages: 2, now: later });
      assert.equal(s.status, "succeeded", s.error?.message);
      assert.equal(s.counts.read, 14);
      assert.equal(salesIn(env.b).length, 14);
      assert.deepEqual(
        log.filter((l) => l.startsWith("read")),
        ["read 1", "read 1 done", "read 2", "read 2 done"],
      );
      assert.equal(log.at(-1), "closed");
      assert.equal((await env.store.getCursor("orders-ahead-max"))?.id, lastIds[1]);
    } finally {
      await teardown(env);
    }
  });

  test("a page that cannot be read fails the run once the pages before it are committed", async () => {
    const env = await setup("orders-ahead-fail");
    try {
      const { log, lastIds, store } = observe(env, { failRead: 3 });
      const s = await new SyncEngine(store).run(env.flow, { sleep: noSleep, now: later });
      assert.equal(s.status, "failed");
      assert.match(s.error?.message ?? "", /page 3 could not be read/);
      // The read of page 3 failed while page 2 was being written; pages 1 and 2 were still committed.
      assert.ok(log.indexOf("read 3") < log.indexOf("write 2 done"), log.join(", "));
      assert.equal(log.filter((l) => l.startsWith("commit")).length, 2);
      assert.equal(s.counts.created, 14);
      assert.equal(salesIn(env.b).length, 14);
      assert.equal((await env.store.getCursor("orders-ahead-fail"))?.id, lastIds[1]);
    } finally {
      await teardown(env);
    }
  });

  test("a page whose commit fails stops the run and drops the page read ahead", async () => {
    const env = await setup("orders-ahead-commit");
    try {
      const { log, store } = observe(env);
      const failing = new Proxy(store, {
        get(target, prop) {
          if (prop === "commitPage") {
            return async (page: Parameters<Store["commitPage"]>[0]) => {
              if (page.links.length > 0) throw new Error("the store is gone");
              return target.commitPage(page);
            };
          }
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const s = await new SyncEngine(failing).run(env.flow, { sleep: noSleep });
      assert.equal(s.status, "failed");
      assert.match(s.error?.message ?? "", /the store is gone/);
      assert.equal(await env.store.getCursor("orders-ahead-commit"), null);
      // Page 2 had been read ahead; it was neither written nor left open.
      assert.ok(log.includes("read 2"));
      assert.ok(!log.includes("write 2"));
      assert.equal(log.at(-1), "closed");
      // Its calls still count in the run's record.
      const [run] = await env.store.lastRuns("orders-ahead-commit", 1);
      assert.equal(run?.counts.calls, s.counts.calls);
    } finally {
      await teardown(env);
    }
  });
});
