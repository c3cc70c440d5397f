/**
 * The live job of a singleton key is looked up through the partial unique index jobs_singleton_live_uq on
 * SQLite (checked with EXPLAIN QUERY PLAN), not by walking every queued or running job through the lease
 * index; and it is still the right job.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CompiledQuery } from "kysely";
import { openStore } from "./index.ts";
import { liveBySingletonQuery } from "./jobs.ts";
import { KyselyStore } from "./kysely-store.ts";

test("the live job of a singleton key is found through the partial unique index", async () => {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-jobidx-"));
  const store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
  try {
    await store.migrate();
    assert.ok(store instanceof KyselyStore);
    const q = liveBySingletonQuery(store.db, "flow:orders").compile();
    const plan = await store.db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]),
    );
    const detail = plan.rows.map((r) => r.detail).join("; ");
    assert.match(detail, /jobs_singleton_live_uq/, detail);
    assert.equal(await liveBySingletonQuery(store.db, "flow:orders").executeTakeFirst(), undefined);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
