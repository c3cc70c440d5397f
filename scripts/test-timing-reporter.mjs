/**
 * A node:test reporter that prints, after the run, how long each test file's tests took (the sum of its
 * top-level tests and suites, whose `before` hooks — a real system's start-up — are inside) and how many
 * passed, failed and were skipped. `npm run test:real` uses it so CI prints each real system's test time.
 */
import { relative } from "node:path";

export default async function* timingReporter(source) {
  const files = new Map();
  const of = (file) => {
    const key = file ? relative(process.cwd(), file) : "(unknown file)";
    let f = files.get(key);
    if (!f) {
      f = { ms: 0, pass: 0, fail: 0, skip: 0 };
      files.set(key, f);
    }
    return f;
  };
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const d = event.data;
    // Suites are counted by their duration only; leaf tests by their outcome.
    const leaf = d.details?.type !== "suite";
    const f = of(d.file);
    if (d.nesting === 0) f.ms += d.details?.duration_ms ?? 0;
    if (!leaf) continue;
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
    yield `  ${name.padEnd(width)} ${secs} s  ${f.pass} passed, ${f.fail} failed, ${f.skip} skipped\n`;
  }
}
