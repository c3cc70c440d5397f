/**
 * A node:test reporter that prints, after the run, how long each test file's tests took (the sum of its
 * top-level tests and suites, whose `before` hooks — a real system's start-up — are inside) and how many
 * passed, failed and were skipped. `npm run test:real` uses it so CI prints each real system's test time.
 */
import { relative } from "node:path";

export default async function* timingReporter(source) {
  const files = new Map();
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
}
