/**
 * The chaos suite at CI size: 1,000 shop orders reach the ERP through a worker process that is SIGKILLed
 * five times at random moments, while the ERP answers 5 % of requests with a 5xx, 1 % with a 429, leaves 2 %
 * unanswered and drops the connection after applying 3 % of writes. Every order must end up in the ERP
 * exactly once, with the shop's total and lines. `npm run chaos -- --orders 10000` runs the full size with
 * the same checks (verifyChaos); PASSERELLE_CHAOS_SEED reruns a seed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatReport, runChaos, verifyChaos } from "./chaos.ts";

const ORDERS = 1_000;

test(`${ORDERS} orders under faults and SIGKILLs arrive exactly once`, { timeout: 1_800_000 }, async () => {
  const seed = Number(process.env.PASSERELLE_CHAOS_SEED ?? Date.now() % 100_000);
  console.log(`chaos seed ${seed}`);
  const lines: string[] = [];
  const report = await runChaos({ orders: ORDERS, kills: 5, seed, log: (l) => lines.push(l) });
  const summary = formatReport(report);
  console.log(summary);
  assert.deepEqual(verifyChaos(report), [], `${summary}\n${lines.join("\n")}`);
});
