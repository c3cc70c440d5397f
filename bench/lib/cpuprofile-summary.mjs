#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by file, highest first.
//   node bench/lib/cpuprofile-summary.mjs <file.cpuprofile> [--top 40]
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: cpuprofile-summary.mjs <file.cpuprofile> [--top N]");
  process.exit(2);
}
const ti = process.argv.indexOf("--top");
const top = ti > 0 ? Number(process.argv[ti + 1]) : 40;
const prof = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFn = new Map();
const byFile = new Map();
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  const url = cf.url
    .replace(/^file:\/\//, "")
    .replace(/.*\/node_modules\//, "npm:")
    .replace(/.*\/(src|bench|packages)\//, "$1/");
  const fn = `${cf.functionName || "(anonymous)"} ${url}:${cf.lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + us);
  const f = url || `(${cf.functionName})`;
  byFile.set(f, (byFile.get(f) ?? 0) + us);
}
const show = (title, m) => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${(us / 1000).toFixed(1).padStart(9)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`,
    );
  }
};
show("self time by file", byFile);
show("self time by function", byFn);
