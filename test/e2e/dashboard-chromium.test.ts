/**
 * The browser test's rule for a machine without Chromium: in CI (CI=true) it fails, naming what is missing;
 * elsewhere it is skipped with the same reason. Runs the test file itself with PASSERELLE_CHROMIUM pointing
 * at nothing; it stops before starting any system.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "./helpers.ts";

function runBrowserTest(env: Record<string, string>): Promise<{ code: number; output: string }> {
  // Not a subtest of this run: the child is a test run of its own.
  const { NODE_TEST_CONTEXT: _, ...base } = process.env;
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--test", "--test-reporter=tap", join(ROOT, "test/e2e/dashboard.test.ts")],
      { cwd: ROOT, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString("utf8");
    });
    child.on("error", fail);
    child.on("close", (code) => done({ code: code ?? -1, output }));
  });
}

const nowhere = { PASSERELLE_CHROMIUM: "/nonexistent/chromium" };

test("without Chromium, in CI: the browser test fails and says what is missing", async () => {
  const res = await runBrowserTest({ ...nowhere, CI: "true" });
  assert.notEqual(res.code, 0, res.output);
  assert.match(
    res.output,
    /the dashboard's browser test cannot run in CI: no Chromium at \/nonexistent\/chromium \(apt-get install chromium\)/,
  );
});

test("without Chromium, outside CI: skipped, with the reason", async () => {
  const res = await runBrowserTest({ ...nowhere, CI: "" });
  assert.equal(res.code, 0, res.output);
  assert.match(res.output, /# SKIP no Chromium at \/nonexistent\/chromium/);
  assert.match(res.output, /# pass 0\n# fail 0/);
});
