#!/usr/bin/env node
// Runs every *.test.ts under src/, test/ and packages/ (or the files/folders given) with Node's test runner and tsx.
// test/real/ needs the real ERP and shop running beside it: it runs only when named (npm run test:real).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) {
    if (path.endsWith(".test.ts")) out.push(path);
    return out;
  }
  for (const name of readdirSync(path)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    if (!explicit.has(join(path, name)) && join(path, name) === join("test", "real")) continue;
    collect(join(path, name), out);
  }
  return out;
}

const args = process.argv.slice(2);
const explicit = new Set(args.map((a) => join(a)));
const roots =
  args.length > 0
    ? args
    : ["src", "test", "packages"].filter((p) => {
        try {
          return statSync(p).isDirectory();
        } catch {
          return false;
        }
      });
const files = roots.flatMap((r) => collect(r, [])).sort();
if (files.length === 0) {
  console.error("no test files found under", roots.join(", "));
  process.exit(1);
}
const res = spawnSync(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    "--test-concurrency=2",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    `--test-reporter=${join(import.meta.dirname, "test-timing-reporter.mjs")}`,
    "--test-reporter-destination=stdout",
    ...files,
  ],
  { stdio: "inherit" },
);
process.exit(res.status ?? 1);
