/**
 * `npm run bench`: every scenario at a small size (a few minutes on two cores), results in bench/results/.
 * Larger sizes: run a scenario alone with --size (see BENCHMARKS.md).
 */

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const steps: [string, string[]][] = [
  ["catalog.ts", ["--size", "10k"]],
  ["incremental.ts", ["--size", "10k"]],
  ["rate-limited.ts", ["--size", "2k"]],
  ["bulk.ts", ["--products", "2000", "--sample", "200"]],
  ["memory.ts", ["--sizes", "10k,30k"]],
];
if (existsSync(`${here}webhook-ingest.ts`)) steps.push(["webhook-ingest.ts", []]);

let failed = 0;
for (const [file, args] of steps) {
  console.log(`\n== ${file} ${args.join(" ")}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", `${here}${file}`, ...args], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    console.error(`${file} exited with ${r.status}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
