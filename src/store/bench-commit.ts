/**
 * Measures commitPage on SQLite: 10,000 links in pages of 500, each page also moving the cursor and
 * adding run counts, as a sync does. Not a test (no thresholds); run it to check the per-record budget:
 *   node --import tsx src/store/bench-commit.ts [links] [pageSize]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { PageCommit } from "../ports/store.ts";
import { openStore } from "./index.ts";

const total = Number(process.argv[2] ?? 10_000);
const pageSize = Number(process.argv[3] ?? 500);

const dir = mkdtempSync(join(tmpdir(), "passerelle-bench-"));
const store = await openStore(`sqlite:${join(dir, "bench.db")}`);
try {
  await store.migrate();
  const run = await store.startRun("bench", "sync");

  const pages = (prefix: string, withEvents: boolean): PageCommit[] => {
    const out: PageCommit[] = [];
    for (let start = 0; start < total; start += pageSize) {
      const links: PageCommit["links"] = [];
      const events: PageCommit["events"] = [];
      for (let i = start; i < Math.min(start + pageSize, total); i++) {
        const key = `SKU-${String(i).padStart(6, "0")}`;
        links.push({
          entity: "product",
          key,
          system: "shop",
          externalId: `gid://shopify/Product/${prefix}${i}`,
          lastHash: `${prefix}${i.toString(16).padStart(64, "0")}`,
          version: "2025-01-01T00:00:00.000Z",
        });
        if (withEvents) {
          events.push({
            entity: "product",
            key,
            system: "shop",
            externalId: `gid://shopify/Product/${prefix}${i}`,
            kind: "created",
            message: null,
            detail: { hash: "abc" },
          });
        }
      }
      out.push({
        flow: "bench",
        runId: run.id,
        cursor: { updatedAt: "2025-01-01T00:00:00.000Z", id: String(start) },
        links,
        events,
        failures: [],
        resolvedKeys: [],
        completedIntents: [],
        counts: { read: links.length, created: links.length },
      });
    }
    return out;
  };

  const measure = async (label: string, work: PageCommit[]): Promise<void> => {
    const t0 = performance.now();
    for (const page of work) await store.commitPage(page);
    const us = ((performance.now() - t0) * 1000) / total;
    console.log(`${label.padEnd(34)} ${us.toFixed(1)} µs/link`);
  };

  /**
   * A first sync's page as the engine commits it: an intent per record before the write, then the source
   * and target links, a "read" and a "created" event per record, and the intents completed.
   */
  const syncPage = async (start: number): Promise<void> => {
    const keys: string[] = [];
    for (let i = start; i < Math.min(start + pageSize, total); i++)
      keys.push(`P-${String(i).padStart(6, "0")}`);
    const intents = await store.recordIntents(
      keys.map((key) => ({ flow: "bench", entity: "product", key, system: "shop", externalRef: key })),
    );
    const links: PageCommit["links"] = [];
    const events: PageCommit["events"] = [];
    for (const [n, key] of keys.entries()) {
      const i = start + n;
      const hash = i.toString(16).padStart(64, "0");
      links.push({
        entity: "product",
        key,
        system: "erp",
        externalId: String(i),
        lastHash: hash,
        version: "2025-01-01 00:00:00",
      });
      links.push({
        entity: "product",
        key,
        system: "shop",
        externalId: `gid://shopify/Product/${i}`,
        lastHash: hash,
        version: "2025-01-01 00:00:00",
      });
      events.push({
        entity: "product",
        key,
        system: "erp",
        externalId: String(i),
        kind: "read",
        message: null,
        detail: { updatedAt: "2025-01-01 00:00:00" },
      });
    }
    for (const [n, key] of keys.entries()) {
      const i = start + n;
      events.push({
        entity: "product",
        key,
        system: "shop",
        externalId: `gid://shopify/Product/${i}`,
        kind: "created",
        message: null,
        detail: { hash: i.toString(16).padStart(64, "0"), sourceSystem: "erp", sourceId: String(i) },
      });
    }
    await store.commitPage({
      flow: "bench",
      runId: run.id,
      cursor: { updatedAt: "2025-01-01T00:00:00.000Z", id: String(start) },
      links,
      events,
      failures: [],
      resolvedKeys: keys,
      completedIntents: intents.map((x) => x.id),
      counts: { read: keys.length, created: keys.length },
    });
  };

  console.log(`SQLite (WAL, synchronous=NORMAL), ${total} links in pages of ${pageSize}`);
  await measure("insert new links", pages("a", false));
  await measure("update existing links", pages("b", false));
  await measure("update links + one event each", pages("c", true));
  {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let start = 0; start < total; start += pageSize) await syncPage(start);
    const cpu = process.cpuUsage(c0);
    const us = ((performance.now() - t0) * 1000) / total;
    const cpuUs = (cpu.user + cpu.system) / total;
    console.log(
      `${"first-sync page, per record".padEnd(34)} ${us.toFixed(1)} µs/record (CPU ${cpuUs.toFixed(1)} µs)`,
    );
  }
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
