import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { InboundEvent } from "../ports/connector.ts";
import type { Store } from "../ports/store.ts";
import { onPostgres, pgStores } from "../testing/postgres.ts";
import { openStore } from "./index.ts";
import { WebhookInbox } from "./webhook-inbox.ts";

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
      return new WebhookInbox(s, { windowMs: 5 });
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
      const inbox = await fresh();
      assert.equal(await inbox.getMark("reconcile:orders"), null);
      await inbox.setMark("reconcile:orders", "2026-01-01T00:00:00.000Z");
      await inbox.setMark("reconcile:orders", "2026-01-02T00:00:00.000Z");
      assert.equal(await inbox.getMark("reconcile:orders"), "2026-01-02T00:00:00.000Z");
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), "passerelle-inbox-"));
let n = 0;

describe("webhook inbox with its SQLite writer thread", () => {
  test("batches commit on the thread: stored once, duplicates counted, readable by the store", async () => {
    const store = await openStore(`sqlite:${join(dir, "writer.db")}`);
    await store.migrate();
    const inbox = new WebhookInbox(store, { windowMs: 5, writerThread: true });
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
