/**
 * Window passes (mass changes, reconciliation) against real connectors: orders from one Odoo emulator to
 * another (the shop → ERP direction without a shop) and a real SQLite store. The source stream and the
 * target writer are watched, not replaced: the log says what was asked of each, in what order.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startFixture } from "../../test/fixtures/odoo.ts";
import type { Flow } from "../engine/flow.ts";
import { SyncEngine } from "../engine/sync.ts";
import { openStore } from "../store/index.ts";
import { type PassResult, windowPass } from "./passes.ts";

/** Two Odoo emulators (30 orders in the source, none in the target) and a real SQLite store. */
interface World {
  flow: Flow;
  /** The target emulator. */
  target: Awaited<ReturnType<typeof startFixture>>;
  /** A window pass of the whole source, with a clock a minute ahead (every order before the signpost). */
  pass(): Promise<PassResult>;
}

async function withOrders(name: string, batchSize: number, body: (w: World) => Promise<void>): Promise<void> {
  const a = await startFixture({ orders: 30, seed: 7 });
  const b = await startFixture({ orders: 0, seed: 7 });
  const dir = mkdtempSync(join(tmpdir(), "passerelle-passes-"));
  const store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
  try {
    await store.migrate();
    const flow: Flow = {
      name,
      entity: "order",
      source: a.connect({ pageSize: 7 }, "erp-a"),
      target: b.connect({}, "erp-b"),
      batchSize,
    };
    const later = () => new Date(Date.now() + 60_000);
    await body({
      flow,
      target: b,
      pass: () => windowPass({ store, engine: new SyncEngine(store) }, flow, null, { now: later }),
    });
  } finally {
    await store.close();
    await a.emu.close();
    await b.emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every order of the target under one reference only, and `count` of them. */
function assertEachOnce(target: World["target"], count: number): void {
  const rows = target.emu.data.rows("sale.order");
  for (const ref of new Set(rows.map((o) => String(o.client_order_ref))))
    assert.equal(target.emu.data.search("sale.order", [["client_order_ref", "=", ref]]).length, 1, ref);
  assert.equal(rows.length, count);
}

test("a window pass reads the next page while the previous one is written, and writes every record once", async () => {
  await withOrders("orders-window", 7, async ({ flow, target, pass }) => {
    const log: string[] = [];
    const stream = flow.source.streams.order;
    const writer = flow.target.writers.order;
    assert.ok(stream && writer);
    const list = stream.list.bind(stream);
    stream.list = (req) => ({
      async *[Symbol.asyncIterator]() {
        const inner = list(req)[Symbol.asyncIterator]();
        try {
          for (let i = 1; ; i++) {
            log.push(`read ${i}`);
            const r = await inner.next();
            if (r.done) return;
            log.push(`read ${i} done`);
            yield r.value;
          }
        } finally {
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
    const s = await pass();
    assert.equal(s.status, "succeeded", s.error?.message);
    assert.equal(s.counts.created, 30);
    // Page 2 is asked for before page 1's write has answered.
    assert.ok(log.indexOf("read 2") < log.indexOf("write 1 done"), log.join(", "));
    assert.equal(writes, 5, log.join(", "));
    assertEachOnce(target, 30);
  });
});

test("a window pass gathers small source pages into write batches of the flow's batch size", async () => {
  await withOrders("orders-gather", 21, async ({ flow, target, pass }) => {
    // Pages of 7 from the source, batches of 21 for the target: 30 orders in writes of 21 and 9.
    const writer = flow.target.writers.order;
    const stream = flow.source.streams.order;
    assert.ok(writer && stream);
    // A source that pages smaller than asked, as the Shopify order stream does (pages fitted to the
    // query's cost budget): each page the Odoo stream gives is handed on in pages of 7.
    const list = stream.list.bind(stream);
    stream.list = (req) => ({
      async *[Symbol.asyncIterator]() {
        for await (const page of list(req))
          for (let i = 0; i < page.length; i += 7) yield page.slice(i, i + 7);
      },
    });
    const upsert = writer.upsert.bind(writer);
    const sizes: number[] = [];
    writer.upsert = async (items, ctx) => {
      sizes.push(items.length);
      return upsert(items, ctx);
    };
    const s = await pass();
    assert.equal(s.status, "succeeded", s.error?.message);
    assert.equal(s.counts.created, 30);
    assert.deepEqual(sizes, [21, 9]);
    assertEachOnce(target, 30);
  });
});

test("a window pass reads and gathers the next write batch while the previous batch is written", async () => {
  await withOrders("orders-overlap", 14, async ({ flow, target, pass }) => {
    // Pages of 7, batches of 14: the second batch is pages 3 and 4.
    const writer = flow.target.writers.order;
    const stream = flow.source.streams.order;
    assert.ok(writer && stream);
    const log: string[] = [];
    let fourthRead: () => void = () => undefined;
    const fourth = new Promise<void>((resolve) => {
      fourthRead = resolve;
    });
    const list = stream.list.bind(stream);
    stream.list = (req) => ({
      async *[Symbol.asyncIterator]() {
        let n = 0;
        for await (const page of list(req))
          for (let i = 0; i < page.length; i += 7) {
            n++;
            log.push(`read ${n}`);
            if (n === 4) fourthRead();
            yield page.slice(i, i + 7);
          }
      },
    });
    const upsert = writer.upsert.bind(writer);
    let writes = 0;
    writer.upsert = async (items, ctx) => {
      const n = ++writes;
      // The first batch's write holds until the second batch's last page has been read: a pass that
      // waited for each write before reading on would never get there (the wait then ends after 5 s and
      // the order of the log fails the test).
      if (n === 1) await Promise.race([fourth, new Promise((r) => setTimeout(r, 5000))]);
      log.push(`write ${n} (${items.length})`);
      return upsert(items, ctx);
    };
    const s = await pass();
    assert.equal(s.status, "succeeded", s.error?.message);
    assert.equal(s.counts.created, 30);
    assert.ok(log.indexOf("read 4") < log.indexOf("write 1 (14)"), log.join(", "));
    // Batches are still written one at a time, in order, each of the flow's size.
    assert.deepEqual(
      log.filter((l) => l.startsWith("write")),
      ["write 1 (14)", "write 2 (14)", "write 3 (2)"],
    );
    assertEachOnce(target, 30);
  });
});

test("a window pass whose read fails while a batch is written commits that batch and ends failed with the read's error", async () => {
  await withOrders("orders-read-fails", 14, async ({ flow, target, pass }) => {
    const stream = flow.source.streams.order;
    assert.ok(stream);
    const list = stream.list.bind(stream);
    stream.list = (req) => ({
      async *[Symbol.asyncIterator]() {
        let n = 0;
        for await (const page of list(req))
          for (let i = 0; i < page.length; i += 7) {
            if (++n === 4) throw new Error("the shop closed the connection on page 4");
            yield page.slice(i, i + 7);
          }
      },
    });
    const s = await pass();
    assert.equal(s.status, "failed");
    assert.match(s.error?.message ?? "", /page 4/);
    // The first batch (pages 1 and 2) was written and committed; page 3, read but not a full batch, was not.
    assert.equal(s.counts.created, 14);
    assertEachOnce(target, 14);
  });
});
