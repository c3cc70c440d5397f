/**
 * A page's commit looks its keys' live failures up through the partial unique index
 * failed_records_live_uq (flow, key where status is open or retrying) on SQLite, not through the status
 * index (every open failure of every flow): the page commit holds the write lock while it runs, and
 * webhook acknowledgements wait on that lock. Checked with EXPLAIN QUERY PLAN on a store holding open
 * failures of another flow, then end to end: the commit still finds, updates and resolves the right ones.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CompiledQuery } from "kysely";
import type { NewFailure, Store } from "../ports/store.ts";
import { liveFailuresQuery, resolveFailuresQuery } from "./commit-page.ts";
import { openStore } from "./index.ts";
import { KyselyStore } from "./kysely-store.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function sqliteStore(): Promise<KyselyStore> {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-failidx-"));
  dirs.push(dir);
  const store: Store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
  await store.migrate();
  assert.ok(store instanceof KyselyStore);
  return store;
}

function failure(flow: string, key: string, message: string): NewFailure {
  return {
    flow,
    entity: "inventory",
    key,
    sourceSystem: "odoo",
    sourceId: key,
    sourcePayload: { key },
    mappedPayload: null,
    errorKind: "data",
    errorMessage: message,
    errorDetail: null,
  };
}

async function planOf(store: KyselyStore, q: CompiledQuery): Promise<string> {
  const r = await store.db.executeQuery<{ detail: string }>(
    CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]),
  );
  return r.rows.map((row) => row.detail).join("; ");
}

describe("page commit: live failures by (flow, key)", () => {
  test("both lookups use the partial unique index, not the status index", async () => {
    const store = await sqliteStore();
    try {
      const run = await store.startRun("prices", "sync");
      const open = Array.from({ length: 300 }, (_, i) => failure("prices", `price#${i}`, "no variant"));
      await store.commitPage({
        flow: "prices",
        runId: run.id,
        links: [],
        events: [],
        failures: open,
        resolvedKeys: [],
        completedIntents: [],
        counts: { failed: open.length },
      });
      const keys = ["inventory#1", "inventory#2", "inventory#3"];
      for (const q of [
        liveFailuresQuery(store.db, "stock", keys),
        resolveFailuresQuery(store.db, "stock", keys),
      ]) {
        const plan = await planOf(store, q.compile());
        assert.match(plan, /failed_records_live_uq/, plan);
        assert.doesNotMatch(plan, /failed_records_status_idx/, plan);
      }
    } finally {
      await store.close();
    }
  });

  test("a failure that fails again is updated, one that succeeds is resolved, others are left alone", async () => {
    const store = await sqliteStore();
    try {
      const page = (runId: number, failures: NewFailure[], resolvedKeys: string[]) =>
        store.commitPage({
          flow: "stock",
          runId,
          links: [],
          events: [],
          failures,
          resolvedKeys,
          completedIntents: [],
          counts: { failed: failures.length },
        });
      const first = await store.startRun("stock", "sync");
      await page(first.id, [failure("stock", "a", "no variant"), failure("stock", "b", "no variant")], []);
      // Another flow's live failure under the same key is not touched by stock's lookups.
      const other = await store.startRun("prices", "sync");
      await store.commitPage({
        flow: "prices",
        runId: other.id,
        links: [],
        events: [],
        failures: [failure("prices", "a", "no price list")],
        resolvedKeys: [],
        completedIntents: [],
        counts: { failed: 1 },
      });
      const second = await store.startRun("stock", "sync");
      await page(second.id, [failure("stock", "a", "still no variant")], ["b"]);

      const rows = await store.db
        .selectFrom("failed_records")
        .select(["flow", "key", "status", "attempts", "error_message"])
        .orderBy("id")
        .execute();
      assert.deepEqual(rows, [
        { flow: "stock", key: "a", status: "open", attempts: 2, error_message: "still no variant" },
        { flow: "stock", key: "b", status: "resolved", attempts: 1, error_message: "no variant" },
        { flow: "prices", key: "a", status: "open", attempts: 1, error_message: "no price list" },
      ]);
    } finally {
      await store.close();
    }
  });
});
