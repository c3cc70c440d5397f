/**
 * The store's share of a first sync, against the floor of the same rows written by SQLite itself, in one
 * run. Each record of a first sync costs the store what the engine's page asks of it: the page's reads (the
 * source links by external id, the target links by key, the pending intents, the live-failure probe), an
 * intent per record committed before the write, then one transaction with the run's counts, two links
 * (source and target), the cursor, two lineage events ("read" and "created") and the intents completed.
 *
 * - `store`: those calls through the store (src/store), as the engine makes them.
 * - `floor`: the same statements and rows on the same schema (a store migrated by this version, then
 *   opened with better-sqlite3 directly, same pragmas), each statement prepared once and run with its
 *   values, no store code: what these rows cost SQLite and the native binding on this machine. It is the
 *   floor of the guarantees themselves (links, lineage, intents), whatever the engine's own code costs.
 *
 * CPU time of this process per record, each side on a fresh store every round, sides interleaved, the
 * median kept; the ratio store / floor is the figure to compare across machines.
 *
 *   node --import tsx bench/commit-page.ts [--records 10000] [--page 250] [--rounds 5]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import type { PageCommit } from "../src/ports/store.ts";
import { openStore } from "../src/store/index.ts";
import { loadAverages, ratio, saveResult } from "./lib/measure.ts";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "10000" },
    page: { type: "string", default: "250" },
    rounds: { type: "string", default: "5" },
  },
});
const positive = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return n;
};
const total = positive("records", values.records);
const pageSize = positive("page", values.page);
const rounds = positive("rounds", values.rounds);

const FLOW = "bench";
const VERSION = "2025-01-01 00:00:00";
const keyOf = (i: number) => `P-${String(i).padStart(6, "0")}`;
const hashOf = (i: number) => i.toString(16).padStart(64, "0");
const shopIdOf = (i: number) => `gid://shopify/Product/${i}`;
/** The page's records: [first, end). */
const pages = Array.from({ length: Math.ceil(total / pageSize) }, (_, n) => ({
  first: n * pageSize,
  end: Math.min((n + 1) * pageSize, total),
}));

/** A new store of this version in its own directory, migrated (outside the measured interval). */
async function freshStore(): Promise<{ dir: string; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-bench-commit-"));
  const file = join(dir, "store.sqlite");
  const store = await openStore(`sqlite:${file}`);
  await store.migrate();
  await store.close();
  return { dir, file };
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** The store side: CPU µs per record. */
async function storeSide(): Promise<number> {
  const { dir, file } = await freshStore();
  const store = await openStore(`sqlite:${file}`);
  try {
    const run = await store.startRun(FLOW, "sync");
    const t0 = cpuUs();
    for (const { first, end } of pages) {
      const keys: string[] = [];
      const sourceIds: string[] = [];
      for (let i = first; i < end; i++) {
        keys.push(keyOf(i));
        sourceIds.push(String(i));
      }
      await store.linksByExternalIds("product", "erp", sourceIds);
      await store.getLinks("product", "shop", keys);
      await store.pendingIntents(FLOW);
      const intents = await store.recordIntents(
        keys.map((key) => ({ flow: FLOW, entity: "product", key, system: "shop", externalRef: key })),
      );
      const links: PageCommit["links"] = [];
      const events: PageCommit["events"] = [];
      for (let i = first; i < end; i++) {
        const key = keyOf(i);
        links.push({
          entity: "product",
          key,
          system: "erp",
          externalId: String(i),
          lastHash: hashOf(i),
          version: VERSION,
        });
        events.push({
          entity: "product",
          key,
          system: "erp",
          externalId: String(i),
          kind: "read",
          message: null,
          detail: { updatedAt: VERSION },
        });
      }
      for (let i = first; i < end; i++) {
        const key = keyOf(i);
        links.push({
          entity: "product",
          key,
          system: "shop",
          externalId: shopIdOf(i),
          lastHash: hashOf(i),
          version: VERSION,
        });
        events.push({
          entity: "product",
          key,
          system: "shop",
          externalId: shopIdOf(i),
          kind: "created",
          message: null,
          detail: { hash: hashOf(i), sourceSystem: "erp", sourceId: String(i) },
        });
      }
      await store.commitPage({
        flow: FLOW,
        runId: run.id,
        cursor: { updatedAt: VERSION, id: String(end - 1) },
        links,
        events,
        failures: [],
        resolvedKeys: keys,
        completedIntents: intents.map((x) => x.id),
        counts: { read: keys.length, created: keys.length },
      });
    }
    return (cpuUs() - t0) / total;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The floor side: the same statements on the same schema through better-sqlite3 alone. */
async function floorSide(): Promise<number> {
  const { dir, file } = await freshStore();
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    const now = new Date().toISOString();
    const runId = Number(
      db
        .prepare("insert into runs (flow, mode, status, started_at) values (?, 'sync', 'running', ?)")
        .run(FLOW, now).lastInsertRowid,
    );
    const tuples = (rows: number, columns: number) =>
      Array(rows)
        .fill(`(${Array(columns).fill("?").join(", ")})`)
        .join(", ");
    const list = (n: number) => Array(n).fill("?").join(", ");
    // Statements per row count: the last page may be shorter.
    const cache = new Map<string, Database.Statement>();
    const stmt = (sql: string) => {
      let s = cache.get(sql);
      if (!s) {
        s = db.prepare(sql);
        cache.set(sql, s);
      }
      return s;
    };
    const t0 = cpuUs();
    for (const { first, end } of pages) {
      const n = end - first;
      const keys: string[] = [];
      const sourceIds: string[] = [];
      for (let i = first; i < end; i++) {
        keys.push(keyOf(i));
        sourceIds.push(String(i));
      }
      stmt(`select * from links where entity = ? and system = ? and external_id in (${list(n)})`).all(
        "product",
        "erp",
        ...sourceIds,
      );
      stmt(`select * from links where entity = ? and system = ? and key in (${list(n)})`).all(
        "product",
        "shop",
        ...keys,
      );
      stmt("select * from intents where flow = ? and completed_at is null order by id").all(FLOW);
      db.exec("begin immediate");
      const intentIds = (
        stmt(
          `insert into intents (flow, entity, key, system, external_ref, created_at, completed_at) values ${tuples(n, 7)} returning id`,
        ).all(keys.flatMap((key) => [FLOW, "product", key, "shop", key, now, null])) as { id: number }[]
      ).map((r) => r.id);
      db.exec("commit");
      db.exec("begin immediate");
      stmt("update runs set read = read + ?, created = created + ? where id = ?").run(n, n, runId);
      const links: unknown[] = [];
      const events: unknown[] = [];
      for (let i = first; i < end; i++) {
        const key = keyOf(i);
        links.push("product", key, "erp", String(i), hashOf(i), VERSION, now);
        events.push(runId, FLOW, "product", key, "erp", String(i), "read", null);
        events.push(JSON.stringify({ updatedAt: VERSION }), now);
      }
      for (let i = first; i < end; i++) {
        const key = keyOf(i);
        links.push("product", key, "shop", shopIdOf(i), hashOf(i), VERSION, now);
        events.push(runId, FLOW, "product", key, "shop", shopIdOf(i), "created", null);
        events.push(JSON.stringify({ hash: hashOf(i), sourceSystem: "erp", sourceId: String(i) }), now);
      }
      stmt(
        `insert into links (entity, key, system, external_id, last_hash, version, updated_at) values ${tuples(2 * n, 7)} on conflict (entity, key, system) do update set external_id = excluded.external_id, last_hash = excluded.last_hash, version = excluded.version, updated_at = excluded.updated_at`,
      ).run(links);
      stmt(
        "insert into cursors (flow, updated_at_cursor, id_cursor, committed_at) values (?, ?, ?, ?) on conflict (flow) do update set updated_at_cursor = excluded.updated_at_cursor, id_cursor = excluded.id_cursor, committed_at = excluded.committed_at",
      ).run(FLOW, VERSION, String(end - 1), now);
      stmt("select id from failed_records where flow = ? and status in ('open', 'retrying') limit 1").get(
        FLOW,
      );
      stmt(
        `insert into sync_events (run_id, flow, entity, key, system, external_id, kind, message, detail, at) values ${tuples(2 * n, 10)}`,
      ).run(events);
      stmt(`update intents set completed_at = ? where id in (${list(n)}) and completed_at is null`).run(
        now,
        ...intentIds,
      );
      db.exec("commit");
    }
    const us = (cpuUs() - t0) / total;
    const count = (table: string) =>
      (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    if (count("links") !== 2 * total || count("sync_events") !== 2 * total)
      throw new Error("the floor side did not write every row");
    return us;
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sides = { store: storeSide, floor: floorSide };
const samples: Record<keyof typeof sides, number[]> = { store: [], floor: [] };
const loadBefore = loadAverages();
await storeSide(); // warm-up: module loading and the JIT, for both sides' shared code
await floorSide();
for (let round = 0; round < rounds; round++) {
  const order: (keyof typeof sides)[] = round % 2 === 0 ? ["store", "floor"] : ["floor", "store"];
  for (const side of order) samples[side].push(await sides[side]());
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round1 = (x: number) => Math.round(x * 10) / 10;
const result = {
  command: `node --import tsx bench/commit-page.ts --records ${total} --page ${pageSize} --rounds ${rounds}`,
  records: total,
  pageSize,
  rounds,
  loadBefore,
  loadAfter: loadAverages(),
  cpuUsPerRecord: { store: samples.store.map(round1), floor: samples.floor.map(round1) },
  median: { store: round1(median(samples.store)), floor: round1(median(samples.floor)) },
  ratios: samples.store.map((s, i) => ratio(s, samples.floor[i] ?? 0)),
  medianRatio: ratio(median(samples.store), median(samples.floor)),
};
console.log(JSON.stringify(result, null, 2));
console.log(`saved ${saveResult(`commit-page-${total}`, result)}`);
