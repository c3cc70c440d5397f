/**
 * One run entry: outside the engine and the runtime, a flow runs only through `runFlow` (which takes the
 * flow's lease and the flow's retry policy). A command that called the engine's `run` itself would skip both.
 * And ports only: the runtime and the server reach the store through its ports, never its Kysely internals.
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

/** Imports of store internals, `instanceof KyselyStore` and double casts: reaching past the ports. */
export function pastThePorts(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(
    /from\s+"\.\.\/store\/(?!index\.ts")[^"]+"|instanceof\s+KyselyStore|as\s+unknown\s+as/g,
  ))
    found.push(m[0]);
  return found;
}

test("the ports scan recognises a reach past the ports", () => {
  assert.deepEqual(pastThePorts('import { JobStore } from "../store/jobs.ts";'), ['from "../store/jobs.ts"']);
  assert.deepEqual(pastThePorts("if (!(store instanceof KyselyStore)) throw e;"), ["instanceof KyselyStore"]);
  assert.deepEqual(pastThePorts("const db = store.db as unknown as Kysely<X>;"), ["as unknown as"]);
  assert.deepEqual(pastThePorts('import { openStore } from "../store/index.ts";'), []);
});

test("src/runtime and src/server reach the store only through its ports (and openStore)", () => {
  const offenders: string[] = [];
  for (const dir of ["runtime", "server"]) {
    for (const file of sources(join(SRC, dir))) {
      for (const hit of pastThePorts(readFileSync(file, "utf8")))
        offenders.push(`src/${relative(SRC, file)}: ${hit}`);
    }
  }
  assert.deepEqual(
    offenders,
    [],
    "use the ports the store hands out: jobs(), leases(), marks(), openInbox(), access()",
  );
});
