/**
 * The chaos suite at CI size: 1,000 shop orders reach the ERP through a worker process that is SIGKILLed
 * five times at random moments, while the ERP answers 5 % of requests with a 5xx, 1 % with a 429, leaves 2 %
 * unanswered and drops the connection after applying 3 % of writes. Every order must end up in the ERP
 * exactly once, with the shop's total and lines. `npm run chaos -- --orders 10000` runs the full size.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatReport, runChaos } from "./chaos.ts";

const ORDERS = 1_000;

test(`${ORDERS} orders under faults and SIGKILLs arrive exactly once`, { timeout: 1_200_000 }, async () => {
  const seed = Number(process.env.PASSERELLE_CHAOS_SEED ?? Date.now() % 100_000);
  const lines: string[] = [];
  const report = await runChaos({
    orders: ORDERS,
    kills: 5,
    seed,
    deadlineMs: 900_000,
    log: (l) => lines.push(l),
  });
  const summary = `seed ${seed}\n${formatReport(report)}`;
  console.log(summary);
  const context = `${summary}\n${lines.join("\n")}`;
  assert.equal(report.kills.length, 5, context);
  assert.ok(report.faults["5xx"] > 0 && report.faults.timeout > 0, context);
  assert.ok(report.faults["429"] > 0 && report.faults.drop > 0, context);
  assert.deepEqual(report.duplicated, [], context);
  assert.deepEqual(report.missing, [], context);
  assert.deepEqual(report.wrongTotal, [], context);
  assert.deepEqual(report.wrongLines, [], context);
  assert.deepEqual(report.notConfirmed, [], context);
  assert.equal(report.exactlyOne, ORDERS, context);
  assert.equal(report.erpSales, ORDERS, "no sale order in the ERP that the shop did not place");
});
