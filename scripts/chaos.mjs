#!/usr/bin/env node
// The chaos suite at any size: `npm run chaos -- --orders 10000 [--kills 8] [--seed 7] [--deadline-s 3600]`.
// Orders flow from the shop emulator to the ERP emulator under injected faults while the worker process is
// SIGKILLed and restarted; exits 1 unless every order is in the ERP exactly once with equal totals and lines.
import { register } from "tsx/esm/api";

register();
const { runChaos, formatReport } = await import("../test/chaos/chaos.ts");

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

const orders = arg("orders", 1000);
const report = await runChaos({
  orders,
  kills: arg("kills", 6),
  seed: arg("seed", Date.now() % 100000),
  deadlineMs: arg("deadline-s", Math.max(180, Math.ceil(orders / 5))) * 1000,
  log: (line) => console.error(line),
});
console.log(formatReport(report));
const ok =
  report.exactlyOne === report.orders &&
  report.duplicated.length + report.missing.length + report.wrongTotal.length + report.wrongLines.length ===
    0;
process.exit(ok ? 0 : 1);
