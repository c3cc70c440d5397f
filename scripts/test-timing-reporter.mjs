/**
 * A node:test reporter that prints, after the run, how long each test file's tests took (the sum of its
 * top-level tests and suites, whose `before` hooks — a real system's start-up — are inside) and how many
 * passed, failed and were skipped. `npm run test:real` uses it so CI prints each real system's test time.
 * Then, last, each failed test again with its error: a CI log is often read from its end only, and the spec
 * reporter's account of a failure sits far above it.
 */
import { relative } from "node:path";

export default async function* timingReporter(source) {
  const files = new Map();
  const failures = [];
  // Node names the file a test was declared in. A suite a helper declares for a test file (the contract
  // suite) is told apart by its top-level name; its tests' outcomes, whose events carry only the helper's
  // file, are left to the run's summary rather than guessed.
  const isTestFile = (path) => /\.test\.[cm]?[jt]s$/.test(path);
  const of = (file, topName) => {
    const path = file ? relative(process.cwd(), file) : "(unknown file)";
    const key = isTestFile(path) || !topName ? path : `${path} › ${topName}`;
    let f = files.get(key);
    if (!f) {
      f = { ms: 0, pass: 0, fail: 0, skip: 0, counted: isTestFile(path) };
      files.set(key, f);
    }
    return f;
  };
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const d = event.data;
    // Suites are counted by their duration only; leaf tests by their outcome.
    const leaf = d.details?.type !== "suite";
    const path = d.file ? relative(process.cwd(), d.file) : "";
    // A suite that failed only because a test in it did is not listed: its test is.
    if (event.type === "test:fail" && d.details?.error?.failureType !== "subtestsFailed")
      failures.push({ path: path || "(unknown file)", d });
    if (d.nesting > 0 && !isTestFile(path)) continue;
    const f = of(d.file, d.nesting === 0 ? d.name : null);
    if (d.nesting === 0) f.ms += d.details?.duration_ms ?? 0;
    if (!leaf || !f.counted) continue;
    if (d.skip !== undefined || d.todo !== undefined) f.skip += 1;
    else if (event.type === "test:pass") f.pass += 1;
    else f.fail += 1;
  }
  if (files.size === 0) return;
  const rows = [...files.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const width = Math.max(...rows.map(([name]) => name.length));
  yield "\nTime per test file (its top-level tests and suites, start-up hooks inside them included):\n";
  for (const [name, f] of rows) {
    const secs = (f.ms / 1000).toFixed(1).padStart(7);
    const counts = f.counted
      ? `${f.pass} passed, ${f.fail} failed, ${f.skip} skipped`
      : "(counted in the summary)";
    yield `  ${name.padEnd(width)} ${secs} s  ${counts}\n`;
  }
  if (failures.length === 0) return;
  yield `\nFailed (${failures.length}), with the error each gave:\n`;
  for (const { path, d } of failures) {
    yield `  ✖ ${path} › ${d.name}\n`;
    for (const line of describeError(d.details?.error).slice(0, 60)) yield `      ${line}\n`;
  }
}

/** A failure's error: node:test wraps what the test threw (the cause) in its own ERR_TEST_FAILURE, whose
 * failureType says where it came from (a hook, a timeout, a cancelled subtest); the cause's message and the
 * first lines of its stack are what tell why. */
function describeError(error) {
  if (!error) return ["(no error given)"];
  const lines = [];
  if (error.failureType && error.failureType !== "testCodeFailure") lines.push(`(${error.failureType})`);
  let e = error.code === "ERR_TEST_FAILURE" && error.cause ? error.cause : error;
  for (let depth = 0; e && depth < 3; depth++) {
    if (depth > 0) lines.push("caused by:");
    const text = typeof e === "object" ? String(e.stack ?? e.message ?? e) : String(e);
    const all = text.split("\n").filter((l) => l.trim() !== "");
    lines.push(...all.filter((l) => !/^\s+at /.test(l)));
    lines.push(
      ...all
        .filter((l) => /^\s+at /.test(l))
        .slice(0, 3)
        .map((l) => l.trim()),
    );
    e = typeof e === "object" ? e.cause : undefined;
  }
  return lines;
}
