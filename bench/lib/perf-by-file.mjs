#!/usr/bin/env node
// On-CPU time by file from `perf script` output of a node run with --perf-basic-prof: each sample goes to
// the innermost JavaScript frame of its stack (native and builtin frames are charged to the JS that called
// them), so the figures are CPU, not wall time (a V8 .cpuprofile also counts time a thread waited).
//   perf record -F 499 -e cpu-clock -i -g -o perf.data -- node --perf-basic-prof --import tsx bench/profile.ts
//   perf script -i perf.data | node bench/lib/perf-by-file.mjs [--top 40] [--by fn]
import { createInterface } from "node:readline";

const ti = process.argv.indexOf("--top");
const top = ti > 0 ? Number(process.argv[ti + 1]) : 40;
const byFn = process.argv.includes("fn");
const totals = new Map();
let samples = 0;
let frames = [];
const flush = () => {
  if (frames.length === 0) return;
  samples++;
  const js = frames.find((f) => f.includes("JS:"));
  let key;
  if (!js)
    key = frames.some((f) => /\[kernel|\bk\b/.test(f))
      ? "(kernel/native, no JS frame)"
      : "(native, no JS frame)";
  else {
    const m = /JS:[~^*+]?(.*?) ((?:file:\/\/)?[^ ]*?):(\d+):\d+/.exec(js);
    const url = (m?.[2] ?? "?")
      .replace(/^file:\/\//, "")
      .replace(/.*\/node_modules\//, "npm:")
      .replace(/.*\/(src|bench|packages)\//, "$1/");
    key = byFn ? `${m?.[1] || "(anon)"} ${url}` : url.replace(/^npm:((?:@[^/]+\/)?[^/]+).*/, "npm:$1");
  }
  totals.set(key, (totals.get(key) ?? 0) + 1);
  frames = [];
};
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "") flush();
  else if (/^\s/.test(line)) frames.push(line.trim());
  else flush();
}
flush();
console.log(`${samples} samples`);
for (const [k, n] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((100 * n) / samples).toFixed(1).padStart(5)}%  ${k}`);
}
