/**
 * The chaos run's judge: `verifyChaos` is what both the test suite and `npm run chaos` pass or fail on, so a
 * defect the suite would catch cannot pass the script. And the script itself, run small: it says its seed
 * before it starts and in its result, and passes only on verifyChaos (seed 11 injects every fault kind within
 * the first 150 ERP requests, which 20 orders take).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ROOT } from "../e2e/helpers.ts";
import { type ChaosReport, verifyChaos } from "./chaos.ts";

function clean(): ChaosReport {
  return {
    seed: 7,
    orders: 3,
    expectedKills: 2,
    rates: { "5xx": 0.05, timeout: 0.02, "429": 0.01, drop: 0.03 },
    ending: { idle: true, exitCode: 0 },
    syncMs: 1_000,
    erpSales: 3,
    exactlyOne: 3,
    missing: [],
    duplicated: [],
    wrongTotal: [],
    wrongLines: [],
    notConfirmed: [],
    kills: [
      { atMs: 100, erpSalesAtKill: 0 },
      { atMs: 200, erpSalesAtKill: 1 },
    ],
    faults: { "5xx": 4, "429": 1, timeout: 2, slow: 0, drop: 1 },
    erpRequests: 80,
    openFailures: 0,
    durationMs: 2_000,
  };
}

describe("verifyChaos", () => {
  test("a run that proves everything passes", () => {
    assert.deepEqual(verifyChaos(clean()), []);
  });

  const defects: [string, (r: ChaosReport) => void, RegExp][] = [
    [
      "an order left unconfirmed",
      (r) => r.notConfirmed.push("shopify:#1002"),
      /1 orders not confirmed.*#1002/,
    ],
    ["a failed record left open", (r) => (r.openFailures = 1), /1 failed records left open/],
    ["a sale the shop never placed", (r) => (r.erpSales = 4), /ERP holds 4 sales for 3 shop orders/],
    ["a missing order", (r) => r.missing.push("shopify:#1001"), /1 orders missing from the ERP/],
    ["a duplicated order", (r) => r.duplicated.push("shopify:#1003"), /in the ERP more than once/],
    ["a wrong total", (r) => r.wrongTotal.push("shopify:#1001"), /with another total/],
    ["wrong lines", (r) => r.wrongLines.push("shopify:#1001"), /with other lines/],
    ["a worker that stalled", (r) => (r.ending = { idle: false, stalledForMs: 121_000 }), /stalled.*121 s/],
    ["a worker that failed", (r) => (r.ending = { idle: true, exitCode: 3 }), /exited with code 3/],
    ["a kill short", (r) => r.kills.pop(), /killed 1 times, not 2/],
    ["a fault kind never injected", (r) => (r.faults["429"] = 0), /no 429 fault was injected/],
  ];
  for (const [what, spoil, message] of defects) {
    test(`${what} fails the run`, () => {
      const r = clean();
      spoil(r);
      const problems = verifyChaos(r);
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0] ?? "", message);
    });
  }
});

test("npm run chaos says its seed first and in its result, and passes on verifyChaos", {
  timeout: 600_000,
}, async () => {
  const child = spawn(
    process.execPath,
    [join(ROOT, "scripts/chaos.mjs"), "--orders", "20", "--kills", "1", "--seed", "11"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString("utf8");
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  const context = `exit ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr.slice(-3000)}`;
  const first = stdout.split("\n")[0] ?? "";
  assert.match(first, /^chaos: .*seed 11/, `the first line does not give the seed\n${context}`);
  assert.match(stdout, /^seed: +11 \(rerun: npm run chaos -- --orders 20 --kills 1 --seed 11\)$/m, context);
  assert.match(stdout, /^chaos: passed$/m, context);
  assert.equal(code, 0, context);
});
