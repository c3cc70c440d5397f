/**
 * Kits and restock dates through the engine, from export files (a source that checks nothing, so the cycles
 * Tryton refuses can reach Passerelle) to a files target, which writes the canonical records as they are:
 * what the engine derives (the restock date and the backorder flag per flow policy) is read back from the
 * delivered files, and what it refuses is in the failed-record inbox.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FileConfig } from "../../src/connectors/file/config.ts";
import { file } from "../../src/connectors/file/index.ts";
import type { Flow } from "../../src/engine/flow.ts";
import { SyncEngine } from "../../src/engine/sync.ts";
import type { Store } from "../../src/ports/store.ts";
import { openStore } from "../../src/store/index.ts";

const noSleep = async () => {};
const base = { source: "files", updatedAt: "2026-12-01T10:00:00Z", currency: "EUR" };

describe("kits and restock dates through the engine (files → files)", () => {
  let dir: string;
  let store: Store;

  const connector = (name: string, folder: string, write: boolean) =>
    file.create(
      name,
      FileConfig.parse({
        folder,
        settleMs: 0,
        entities: {
          product: {
            pattern: "products-*.jsonl",
            format: "jsonl",
            ...(write ? { write: { prefix: "products-out-" } } : {}),
          },
          inventory: {
            pattern: "stock-*.jsonl",
            format: "jsonl",
            ...(write ? { write: { prefix: "stock-out-" } } : {}),
          },
        },
      }),
    );

  const exported = (folder: string, name: string, lines: Record<string, unknown>[]) => {
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, name), lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
  };

  const delivered = (folder: string, prefix: string): Record<string, unknown>[] =>
    readdirSync(folder)
      .filter((f) => f.startsWith(prefix))
      .flatMap((f) =>
        readFileSync(join(folder, f), "utf8")
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-kits-"));
    store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
    await store.migrate();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("kits containing each other, or themselves, fail naming the cycle; the rest is written", async () => {
    const src = join(dir, "kits-in");
    const out = join(dir, "kits-out");
    mkdirSync(out, { recursive: true });
    const product = (key: string, components: { sku: string; quantity: number }[]) => ({
      ...base,
      sourceId: key,
      key,
      title: key,
      variants: [{ sku: key, price: "10" }],
      components,
    });
    exported(src, "products-001.jsonl", [
      product("PART", []),
      product("BOX", [{ sku: "PART", quantity: 2 }]),
      product("LOOP-A", [{ sku: "LOOP-B", quantity: 1 }]),
      product("LOOP-B", [{ sku: "LOOP-A", quantity: 1 }]),
      product("SELF", [{ sku: "SELF", quantity: 1 }]),
    ]);
    const flow: Flow = {
      name: "kit-products",
      entity: "product",
      source: connector("files", src, false),
      target: connector("export", out, true),
      batchSize: 50,
    };
    const run = await new SyncEngine(store).run(flow, { sleep: noSleep });
    assert.equal(run.counts.failed, 3, JSON.stringify(run));
    assert.equal(run.counts.created, 2);
    const failures = await store.listFailures({ flow: "kit-products" });
    const reasons = new Map(failures.map((f) => [f.key, f.errorMessage]));
    assert.match(reasons.get("LOOP-A") ?? "", /kit cycle: LOOP-A → LOOP-B → LOOP-A/);
    assert.match(reasons.get("LOOP-B") ?? "", /kit cycle: LOOP-B → LOOP-A → LOOP-B/);
    // Refused by the canonical schema (the file connector files it under its line).
    assert.ok(
      failures.some((f) => /components\.0\.sku: kit cycle: SELF contains itself/.test(f.errorMessage)),
      JSON.stringify(failures.map((f) => f.errorMessage)),
    );
    const written = delivered(out, "products-out-");
    assert.deepEqual(written.map((p) => p.key).sort(), ["BOX", "PART"]);
    assert.deepEqual(written.find((p) => p.key === "BOX")?.components, [{ sku: "PART", quantity: 2 }]);
  });

  for (const policy of ["allow", "deny"] as const) {
    test(`out of stock with a lead time: the restock date is derived, backordered per the flow (${policy})`, async () => {
      const src = join(dir, `stock-in-${policy}`);
      const out = join(dir, `stock-out-${policy}`);
      mkdirSync(out, { recursive: true });
      const level = (sku: string, onHand: number, leadTimeDays?: number) => ({
        source: `files-${policy}`,
        sourceId: sku,
        updatedAt: base.updatedAt,
        key: `${sku}@WH`,
        sku,
        location: "WH",
        onHand,
        ...(leadTimeDays !== undefined ? { leadTimeDays } : {}),
      });
      exported(src, "stock-001.jsonl", [level("OUT", 0, 7), level("IN", 4, 7), level("NOLEAD", 0)]);
      const flow: Flow = {
        name: `stock-${policy}`,
        entity: "inventory",
        source: connector(`files-${policy}`, src, false),
        target: connector(`export-${policy}`, out, true),
        batchSize: 50,
        backorders: policy,
      };
      const run = await new SyncEngine(store).run(flow, { sleep: noSleep });
      assert.equal(run.counts.created, 3, JSON.stringify(run));
      const written = new Map(delivered(out, "stock-out-").map((l) => [l.sku, l]));
      const expectedOn = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
      assert.deepEqual(written.get("OUT")?.restock, { expectedOn, backorder: policy === "allow" });
      assert.equal(written.get("IN")?.restock, undefined, "in stock: no date");
      assert.equal(written.get("NOLEAD")?.restock, undefined, "no lead time: no date to promise");
    });
  }
});
