/**
 * The REST connector under the sync engine: customers of the test API into JSON Lines files (the file
 * connector). Records that cannot be mapped fail alone into the failure list with the reason while the
 * others are written; the next run, with the cursor, sends the incremental filter and writes nothing.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { seededApi } from "../../../test/fixtures/rest-api.ts";
import { restSettings } from "../../../test/fixtures/rest-contract.ts";
import { SyncEngine } from "../../engine/sync.ts";
import { openStore } from "../../store/index.ts";
import { FileConfig } from "../file/config.ts";
import { file } from "../file/index.ts";
import { RestConfig } from "./config.ts";
import { rest } from "./index.ts";

test("rest → files through the engine: bad records fail alone with the reason; the next run writes nothing", async () => {
  const auth = { type: "bearer" as const, token: "tok-Abc123xyz" };
  const api = await seededApi(auth);
  const dir = mkdtempSync(join(tmpdir(), "passerelle-rest-sync-"));
  const out = join(dir, "out");
  mkdirSync(out);
  const store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
  try {
    await store.migrate();
    const noTime = api.insert("customers", {
      email: "ohne-zeit@example.org",
      first_name: "O",
      last_name: "Z",
    });
    (api.collections.customers?.rows.get(noTime) as Record<string, unknown>).updated_at = null;
    const noEmail = api.insert("customers", { email: "keine-adresse", first_name: "K", last_name: "A" });
    const source = rest.create("crm", RestConfig.parse(restSettings(api.url, auth)));
    const target = file.create(
      "files",
      FileConfig.parse({
        folder: out,
        entities: { customer: { pattern: "in-*.jsonl", format: "jsonl", write: { prefix: "customers-" } } },
      }),
    );
    const flow = { name: "customers", entity: "customer" as const, source, target, batchSize: 5 };
    const engine = new SyncEngine(store);
    // Cursor lag 0: the seeded records are all behind this run's start.
    const first = await engine.run(flow, { cursorLagMs: 0 });
    assert.equal(first.counts.created, 12, JSON.stringify(first));
    assert.equal(first.counts.failed, 2, JSON.stringify(first));
    const failures = await store.listFailures({ flow: "customers" });
    const byId = new Map(failures.map((f) => [f.sourceId, f]));
    assert.match(
      byId.get(String(noTime))?.errorMessage ?? "",
      /customer \d+: updated_at holds no time \(missing\)/,
    );
    assert.equal(byId.get(String(noTime))?.errorKind, "data");
    assert.match(byId.get(String(noEmail))?.errorMessage ?? JSON.stringify(failures), /email/);
    const written = readdirSync(out)
      .filter((f) => f.endsWith(".jsonl"))
      .flatMap((f) => readFileSync(join(out, f), "utf8").split("\n").filter(Boolean))
      .map((l) => JSON.parse(l) as { email: string });
    assert.equal(written.length, 12);

    api.calls.length = 0;
    const second = await engine.run(flow, { cursorLagMs: 0 });
    assert.equal(second.counts.created + second.counts.updated, 0, JSON.stringify(second));
    const list = api.calls.find((c) => c.startsWith("GET /customers?")) ?? "";
    assert.match(list, /updated_since=/, list);
  } finally {
    await store.close();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
