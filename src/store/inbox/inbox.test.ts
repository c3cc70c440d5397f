import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { onPostgres, pgStores } from "../../../test/helpers/postgres.ts";
import type { InboundEvent } from "../../ports/connector.ts";
import type { Store } from "../../ports/store.ts";
import { openStore } from "../index.ts";
import { jobsDb } from "../jobs.ts";
import { GroupCommit } from "./group-commit.ts";
import { writerThreadAvailable } from "./writer-thread.ts";

const ev = (key: string, recordId = key): InboundEvent => ({
  dedupeKey: key,
  topic: "orders/updated",
  entity: "order",
  recordId,
  occurredAt: null,
  payload: { id: recordId },
});

function suite(name: string, open: () => Promise<Store>, cleanup: () => Promise<void>): void {
  describe(name, () => {
    const stores: Store[] = [];
    const fresh = async () => {
      const s = await open();
      stores.push(s);
      return s.openInbox({ windowMs: 5 });
    };
    after(async () => {
      for (const s of stores) await s.close();
      await cleanup();
    });

    test("deliveries arriving together share one transaction, each resolved once committed", async () => {
      const inbox = await fresh();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => inbox.add("shop", [ev(`k${i}`)])),
      );
      assert.ok(results.every((r) => r.stored === 1 && r.duplicates === 0));
      assert.ok(
        inbox.commits.transactions < 50,
        `expected grouped commits, got ${inbox.commits.transactions}`,
      );
      assert.equal(await inbox.count({ status: "pending" }), 50);
    });

    test("a redelivered key is acknowledged as a duplicate and stored once, within a batch and across", async () => {
      const inbox = await fresh();
      const [a, b] = await Promise.all([inbox.add("shop", [ev("same")]), inbox.add("shop", [ev("same")])]);
      assert.deepEqual([a.stored + b.stored, a.duplicates + b.duplicates], [1, 1]);
      assert.deepEqual(await inbox.add("shop", [ev("same")]), { stored: 0, duplicates: 1 });
      // The same key on another connection is another event.
      assert.deepEqual(await inbox.add("other", [ev("same")]), { stored: 1, duplicates: 0 });
      assert.equal(await inbox.count(), 2);
    });

    test("pending events by group, settled once processed", async () => {
      const inbox = await fresh();
      await inbox.add("shop", [ev("a"), ev("b"), { ...ev("c"), entity: null, recordId: null }]);
      assert.deepEqual(
        await inbox.pendingGroups().then((g) => g.map((x) => `${x.connection}/${x.entity}`).sort()),
        ["shop/null", "shop/order"],
      );
      const pending = await inbox.pending("shop", "order");
      assert.deepEqual(
        pending.map((p) => p.recordId),
        ["a", "b"],
      );
      assert.deepEqual(pending[0]?.payload, { id: "a" });
      await inbox.settle(
        pending.map((p) => p.id),
        "processed",
      );
      assert.deepEqual(await inbox.pending("shop", "order"), []);
      assert.equal((await inbox.byKey("shop", "a"))?.status, "processed");
      assert.equal(await inbox.receivedSince("shop", "order", "2000-01-01T00:00:00Z"), 2);
    });

    test("marks are set and replaced", async () => {
      const s = await open();
      stores.push(s);
      const marks = s.marks();
      assert.equal(await marks.getMark("reconcile:orders"), null);
      await marks.setMark("reconcile:orders", "2026-01-01T00:00:00.000Z");
      await marks.setMark("reconcile:orders", "2026-01-02T00:00:00.000Z");
      assert.equal(await marks.getMark("reconcile:orders"), "2026-01-02T00:00:00.000Z");
      assert.equal(await s.marks().getMark("reconcile:orders"), "2026-01-02T00:00:00.000Z", "durable");
    });
  });
}

/** A commit function whose calls are recorded and settled by the test. */
function controlledCommit() {
  const calls: { items: string[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  const commit = (items: string[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ items, resolve: () => resolve(items.map((i) => `ok:${i}`)), reject });
    });
  return { calls, commit };
}

/** Lets every queued callback (microtasks, immediates) run. */
const settle = () => new Promise<void>((r) => setImmediate(() => setImmediate(r)));

describe("group commit", () => {
  test("a group formed while a commit is in flight is committed after it, nothing answered before its commit", async () => {
    const { calls, commit } = controlledCommit();
    const group = new GroupCommit(commit);
    const answered: string[] = [];
    const add = (item: string) => group.add(item).then((r) => answered.push(r));

    const first = add("a");
    await settle();
    assert.deepEqual(
      calls.map((c) => c.items),
      [["a"]],
    );
    // Arrive while "a" commits: queued, not committed, not answered.
    const rest = [add("b"), add("c")];
    await settle();
    assert.equal(calls.length, 1, "no second commit while the first is in flight");
    assert.deepEqual(answered, []);
    assert.equal(group.queued, 2);

    calls[0]?.resolve();
    await first;
    assert.deepEqual(answered, ["ok:a"]);
    // The queued group went to its commit at once (no window) and waits for it.
    assert.deepEqual(
      calls.map((c) => c.items),
      [["a"], ["b", "c"]],
    );
    await settle();
    assert.deepEqual(answered, ["ok:a"], "b and c wait for their own commit");

    calls[1]?.resolve();
    await Promise.all(rest);
    assert.deepEqual(answered, ["ok:a", "ok:b", "ok:c"]);
    assert.deepEqual(group.stats, { commits: 2, items: 3 });
  });

  test("the next group is sent before the finished group's requests are answered", async () => {
    const { calls, commit } = controlledCommit();
    const group = new GroupCommit(commit);
    const seen: number[] = [];
    const first = group.add("a").then(() => seen.push(calls.length));
    await settle();
    const second = group.add("b");
    calls[0]?.resolve();
    await first;
    assert.deepEqual(seen, [2], "b's commit had started when a was answered");
    calls[1]?.resolve();
    await second;
  });

  test("items arriving in one event-loop turn share a commit; a group is bounded by maxBatch", async () => {
    const { calls, commit } = controlledCommit();
    const group = new GroupCommit(commit, { maxBatch: 3, weight: (i: string) => i.length });
    const all = ["a", "b", "c", "d", "ee"].map((i) => group.add(i));
    await settle();
    // "a", "b", "c" reached maxBatch (3) and went at once; the rest wait for that commit.
    assert.deepEqual(
      calls.map((c) => c.items),
      [["a", "b", "c"]],
    );
    calls[0]?.resolve();
    await settle();
    assert.deepEqual(
      calls.map((c) => c.items),
      [
        ["a", "b", "c"],
        ["d", "ee"],
      ],
    );
    calls[1]?.resolve();
    assert.deepEqual(await Promise.all(all), ["ok:a", "ok:b", "ok:c", "ok:d", "ok:ee"]);
  });

  test("a failed commit rejects only its own group; the next group still commits; drain waits for both", async () => {
    const { calls, commit } = controlledCommit();
    const group = new GroupCommit(commit);
    const a = group.add("a");
    await settle();
    const b = group.add("b");
    const drained = group.drain().then(() => "drained");
    calls[0]?.reject(new Error("disk full"));
    await assert.rejects(a, /disk full/);
    await settle();
    assert.equal(calls.length, 2);
    assert.equal(await Promise.race([drained, settle().then(() => "pending")]), "pending");
    calls[1]?.resolve();
    assert.equal(await b, "ok:b");
    assert.equal(await drained, "drained");
  });
});

const dir = mkdtempSync(join(tmpdir(), "passerelle-inbox-"));
let n = 0;

describe("webhook inbox with its SQLite writer thread", () => {
  test("the writer thread's worker modules are beside it (else the tests below would not use a thread)", () => {
    assert.equal(writerThreadAvailable(), true);
  });

  test("batches commit on the thread: stored once, duplicates counted, readable by the store", async () => {
    const store = await openStore(`sqlite:${join(dir, "writer.db")}`);
    await store.migrate();
    const inbox = store.openInbox({ windowMs: 5, writerThread: true });
    try {
      const first = await Promise.all(Array.from({ length: 40 }, (_, i) => inbox.add("shop", [ev(`w${i}`)])));
      assert.ok(first.every((r) => r.stored === 1 && r.duplicates === 0));
      const again = await Promise.all([
        inbox.add("shop", [ev("w1"), ev("w40")]),
        inbox.add("shop", [ev("w40")]),
      ]);
      assert.deepEqual(again, [
        { stored: 1, duplicates: 1 },
        { stored: 0, duplicates: 1 },
      ]);
      assert.ok(inbox.commits.transactions < 40, `grouped: ${inbox.commits.transactions} transactions`);
      assert.equal(await inbox.count({ connection: "shop" }), 41);
      assert.equal((await inbox.byKey("shop", "w40"))?.status, "pending");
    } finally {
      await inbox.close();
      await store.close();
    }
  });
});

describe("webhook inbox on its writer thread, beside the store's connection", () => {
  test("a delivery arriving while the store's transaction holds the store file's write lock commits meanwhile (the inbox has its own file)", async () => {
    const store = await openStore(`sqlite:${join(dir, "beside.db")}`);
    await store.migrate();
    const inbox = store.openInbox({ writerThread: true });
    const db = jobsDb(store);
    try {
      await inbox.add("shop", [ev("before")]); // opens the inbox's connection
      let added: Promise<unknown> | null = null;
      let committedFirst = false;
      await db.transaction().execute(async (trx) => {
        await trx.insertInto("sync_marks").values({ name: "m", mark: "1", updated_at: "now" }).execute();
        // The store's connection now holds the store file's write lock; the inbox's file is another.
        added = inbox.add("shop", [ev("during")]).then((r) => {
          committedFirst = true;
          return r;
        });
        await added;
        assert.equal(committedFirst, true, "committed while the store's transaction holds its own lock");
      });
      assert.deepEqual(await added, { stored: 1, duplicates: 0 });
      assert.equal((await inbox.byKey("shop", "during"))?.status, "pending");
      assert.equal(await store.marks().getMark("m"), "1");
    } finally {
      await inbox.close();
      await store.close();
    }
  });
});

suite(
  "webhook inbox on SQLite",
  async () => {
    const s = await openStore(`sqlite:${join(dir, `s${++n}.db`)}`);
    await s.migrate();
    return s;
  },
  async () => rmSync(dir, { recursive: true, force: true }),
);

await onPostgres("webhook inbox on PostgreSQL", () => {
  const pgs = pgStores("passerelle_inbox");
  suite("webhook inbox on PostgreSQL", pgs.open, pgs.cleanup);
});
