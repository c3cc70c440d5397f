#!/usr/bin/env node
// The chaos suite at any size: `npm run chaos -- --orders 10000 [--kills 8] [--seed 7] [--stall-s 120]`.
// Orders flow from the shop emulator to the ERP emulator under injected faults while the worker process is
// SIGKILLed and restarted; the last worker runs until it is idle. Exits 1 unless every check of the test
// suite passes (verifyChaos: each order exactly once, confirmed, equal totals and lines, no other sale, no
// failed record left open, every fault kind injected); `--seed` reruns a run's orders, faults and kills.
import { register } from "tsx/esm/api";

register();
const { DEFAULT_STALL_MS, formatReport, rerunCommand, runChaos, verifyChaos } = await import(
  "../test/chaos/chaos.ts"
);

const KNOWN = ["orders", "kills", "seed", "stall-s"];

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`--${name} must be a whole number above 0, got ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  return n;
}

for (const a of process.argv.slice(2)) {
  if (a.startsWith("--") && !KNOWN.includes(a.slice(2))) {
    console.error(`unknown option ${a}; known: ${KNOWN.map((k) => `--${k}`).join(", ")}`);
    process.exit(2);
  }
}

const orders = arg("orders", 1000);
const kills = arg("kills", 6);
const seed = arg("seed", (Date.now() % 100000) + 1);
console.log(
  `chaos: ${orders} orders, ${kills} kills, seed ${seed} (rerun: ${rerunCommand({ orders, expectedKills: kills, seed })})`,
);
const report = await runChaos({
  orders,
  kills,
  seed,
  stallMs: arg("stall-s", DEFAULT_STALL_MS / 1000) * 1000,
  log: (line) => console.error(line),
});
console.log(formatReport(report));
const problems = verifyChaos(report);
for (const p of problems) console.log(`FAILED: ${p}`);
console.log(problems.length === 0 ? "chaos: passed" : `chaos: failed (seed ${seed})`);
process.exit(problems.length === 0 ? 0 : 1);
