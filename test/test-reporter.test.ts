/**
 * The timing reporter (scripts/test-timing-reporter.mjs) ends a run with each failure and its error, so a CI
 * log read from its end says why a test failed, a suite's start-up hook included.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = join(import.meta.dirname, "..");

test("a failed test's error and a failed start-up hook's, with its cause, come last", () => {
  const res = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--test",
      `--test-reporter=${join(ROOT, "scripts/test-timing-reporter.mjs")}`,
      "--test-reporter-destination=stdout",
      join(ROOT, "test/fixtures/reporter/failing.ts"),
    ],
    // Without the parent run's NODE_TEST_CONTEXT, which would make the child skip its files.
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
  );
  assert.equal(res.status, 1, res.stderr);
  const tail = res.stdout.slice(res.stdout.indexOf("Time per test file"));
  assert.ok(tail.includes("Failed (4), with the error each gave:"), tail);
  const failed = tail.slice(tail.indexOf("Failed (4)"));
  assert.match(
    failed,
    /✖ test\/fixtures\/reporter\/failing\.ts › fails an assertion\n\s+AssertionError.*the order reached the ERP twice/,
  );
  assert.match(
    failed,
    /› a suite whose start-up fails\n\s+\(hookFailed\)\n\s+Error: the shop did not start[\s\S]*caused by:\n\s+Error: port 8470 taken/,
  );
  assert.match(failed, /› fails inside a suite\n\s+Error: stock counted twice/);
  assert.doesNotMatch(failed, /› a suite with a failing test/);
  assert.match(failed, /› never runs\n\s+\(cancelledByParent\)/);
});
