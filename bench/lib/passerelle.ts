/** Passerelle as a user runs it: the repository's passerelle.yaml, a SQLite store, the catalogue flows. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import type { RunSummary } from "../../src/engine/sync.ts";
import { type Context, openContext } from "../../src/runtime/context.ts";

export const CATALOG_FLOWS = ["products", "prices", "stock"] as const;

const CONFIG = fileURLToPath(new URL("../../passerelle.yaml", import.meta.url));

/**
 * The repository's passerelle.yaml, written into `dir` with this store and without its `categories` flow:
 * the catalogue benches measure products, prices and stock as they did before that flow existed (with it,
 * the products flow fails every product whose category the categories flow has not written yet).
 */
export function benchConfig(dir: string, storeUrl: string): string {
  const doc = parseDocument(readFileSync(CONFIG, "utf8"));
  doc.setIn(["store", "url"], storeUrl);
  doc.deleteIn(["flows", "categories"]);
  const path = join(dir, "passerelle.yaml");
  writeFileSync(path, String(doc));
  return path;
}

export interface PasserelleRun {
  ctx: Context;
  /** Runs the catalogue flows once each, in order. */
  sync(flows?: readonly string[]): Promise<RunSummary[]>;
  close(): Promise<void>;
}

export async function openPasserelle(env: Record<string, string>): Promise<PasserelleRun> {
  Object.assign(process.env, env);
  const dir = mkdtempSync(join(tmpdir(), "passerelle-bench-"));
  const ctx = await openContext(benchConfig(dir, `sqlite:${join(dir, "bench.sqlite")}`));
  return {
    ctx,
    async sync(flows = CATALOG_FLOWS) {
      const out: RunSummary[] = [];
      for (const name of flows) {
        const s = await ctx.engine.run(ctx.flow(name));
        if (s.error) throw new Error(`flow ${name} failed: ${s.error.message}`);
        out.push(s);
      }
      return out;
    },
    async close() {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function totals(runs: RunSummary[]): {
  read: number;
  written: number;
  skipped: number;
  failed: number;
  calls: number;
} {
  let read = 0;
  let written = 0;
  let skipped = 0;
  let failed = 0;
  let calls = 0;
  for (const r of runs) {
    read += r.counts.read;
    written += r.counts.created + r.counts.updated;
    skipped += r.counts.skipped;
    failed += r.counts.failed;
    calls += r.counts.calls;
  }
  return { read, written, skipped, failed, calls };
}
