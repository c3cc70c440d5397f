#!/usr/bin/env node
// The longest stretches a process's main thread was busy without a break, from a V8 .cpuprofile
// (node --cpu-prof): consecutive samples other than "(idle)" form one stretch (JavaScript, native code and
// garbage collection alike); while one lasts, no request on that event loop is answered. For each stretch: its length,
// and the functions with the most self time in it (and the file each comes from).
//   node bench/lib/cpuprofile-slices.mjs <file.cpuprofile> [--from <µs> --to <µs>] [--top 10]
// --from/--to cut a window on the profile's clock (process.hrtime in µs on Linux; see loop-delay.mjs).
import { readFileSync } from "node:fs";

/** Busy stretches of a profile, longest first. */
export function busyStretches(prof, { from = -Infinity, to = Infinity, top = 10, functions = 6 } = {}) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const name = (id) => {
    const cf = byId.get(id).callFrame;
    const url = cf.url
      .replace(/^file:\/\//, "")
      .replace(/.*\/node_modules\//, "npm:")
      .replace(/.*\/(src|bench|packages|dist)\//, "$1/");
    return `${cf.functionName || "(anonymous)"} ${url}${url ? `:${cf.lineNumber + 1}` : ""}`;
  };
  const stretches = [];
  let current = null;
  let t = prof.startTime;
  let busyUs = 0;
  let windowUs = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] ?? 0;
    const dt = prof.timeDeltas[i + 1] ?? 0;
    if (t < from || t > to) continue;
    windowUs += dt;
    const id = prof.samples[i];
    const fn = byId.get(id).callFrame.functionName;
    if (fn === "(idle)") {
      if (current) stretches.push(current);
      current = null;
      continue;
    }
    busyUs += dt;
    if (!current) current = { startUs: t, us: 0, self: new Map() };
    current.us += dt;
    current.self.set(id, (current.self.get(id) ?? 0) + dt);
  }
  if (current) stretches.push(current);
  stretches.sort((a, b) => b.us - a.us);
  const lengths = stretches.map((s) => s.us).sort((a, b) => a - b);
  const over = (ms) => lengths.filter((us) => us > ms * 1000).length;
  return {
    windowMs: Math.round(windowUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    stretches: stretches.length,
    longerThan: { "5ms": over(5), "10ms": over(10), "20ms": over(20), "50ms": over(50) },
    longest: stretches.slice(0, top).map((s) => {
      // Self time summed by function name, so one function seen through several call paths counts once.
      const byName = new Map();
      for (const [id, us] of s.self) byName.set(name(id), (byName.get(name(id)) ?? 0) + us);
      return {
        ms: Math.round(s.us / 100) / 10,
        atUs: s.startUs,
        top: [...byName.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, functions)
          .map(([fn, us]) => `${Math.round(us / 100) / 10} ms ${fn}`),
      };
    }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: cpuprofile-slices.mjs <file.cpuprofile> [--from µs --to µs] [--top N]");
    process.exit(2);
  }
  const arg = (n) => {
    const i = process.argv.indexOf(`--${n}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const prof = JSON.parse(readFileSync(file, "utf8"));
  console.log(
    JSON.stringify(busyStretches(prof, { from: arg("from"), to: arg("to"), top: arg("top") }), null, 2),
  );
}
