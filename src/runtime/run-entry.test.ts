/**
 * One run entry: outside the engine and the runtime, a flow runs only through `runFlow` (which takes the
 * flow's lease and the flow's retry policy). A command that called the engine's `run` itself would skip both.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";

const SRC = join(import.meta.dirname, "..");
const ALLOWED = ["engine", "runtime"];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** `engine.run(`, `ctx.engine.run (`, `new SyncEngine(` …: a run that bypasses runFlow. */
export function bypasses(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\bengine\s*\??\.\s*run\s*\(|\bnew\s+SyncEngine\s*\(/g)) found.push(m[0]);
  return found;
}

test("the scan recognises a direct engine run", () => {
  assert.deepEqual(bypasses("const s = await ctx.engine.run(flow, { dryRun: true });"), ["engine.run("]);
  assert.deepEqual(bypasses("deps.engine\n  .run (flow)"), ["engine\n  .run ("]);
  assert.deepEqual(bypasses("const e = new SyncEngine(store);"), ["new SyncEngine("]);
  assert.deepEqual(bypasses("await runFlow(ctx, flow, { kind: 'cursor' }, opts);"), []);
});

test("nothing outside src/engine and src/runtime runs a flow except through runFlow", () => {
  const offenders: string[] = [];
  const files = sources(SRC);
  assert.ok(files.length > 50, `the scan sees the sources (found ${files.length} files under ${SRC})`);
  for (const file of files) {
    const rel = relative(SRC, file);
    if (ALLOWED.includes(rel.split(/[\\/]/)[0] ?? "")) continue;
    for (const hit of bypasses(readFileSync(file, "utf8"))) offenders.push(`src/${rel}: ${hit}`);
  }
  assert.deepEqual(offenders, [], "run flows with runFlow (src/runtime/run-flow.ts)");
});
