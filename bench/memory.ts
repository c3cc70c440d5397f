/**
 * Scenario 4, memory: peak RSS of the measured process (Passerelle alone, emulators in their own process)
 * through a full catalogue push (scenario 1), one fresh process per size so each peak is its own.
 * Target: flat across sizes, ≤ 256 MB.
 *
 *   node --import tsx bench/memory.ts [--sizes 100k,1M]
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseSize } from "./dataset.ts";
import { argValue, measure, peakRssMb, saveResult } from "./lib/measure.ts";
import { openPasserelle, totals } from "./lib/passerelle.ts";
import { startSystems } from "./lib/systems.ts";

/** One size, in this process: prints one JSON line. */
async function one(size: number): Promise<void> {
  const sys = await startSystems({ size, seed: 1 });
  const before = peakRssMb();
  const p = await openPasserelle(sys.env);
  const afterOpen = peakRssMb();
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(Math.round(process.memoryUsage().rss / 2 ** 20)), 1000);
  try {
    const m = await measure(() => p.sync());
    console.log(
      JSON.stringify({
        size,
        dataset: sys.counts,
        ms: m.ms,
        ...totals(m.value),
        peakRssMb: peakRssMb(),
        rssBeforeOpenMb: before,
        rssAfterOpenMb: afterOpen,
        heapUsedEndMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
        rssSamplesMb: samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 20)) === 0),
      }),
    );
  } finally {
    clearInterval(timer);
    await p.close();
    await sys.close();
  }
}

export function memoryScenario(sizes: number[]): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const runs = sizes.map((size) => {
    const r = spawnSync(process.execPath, ["--import", "tsx", self, "--one", String(size)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 * 2 ** 20,
    });
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    try {
      return JSON.parse(line) as { size: number; peakRssMb: number };
    } catch {
      return { size, peakRssMb: Number.NaN, error: `exit ${r.status}: ${r.stdout.slice(-500)}` };
    }
  });
  const peaks = runs.map((r) => r.peakRssMb);
  return {
    runs,
    target: "peak RSS flat across sizes and ≤ 256 MB",
    met: peaks.every((p) => p <= 256) && Math.max(...peaks) - Math.min(...peaks) <= 32,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const single = argValue("one");
  if (single !== undefined) await one(Number(single));
  else {
    const sizes = (argValue("sizes") ?? "100k,1M").split(",").map((s) => parseSize(s, 0));
    const result = memoryScenario(sizes);
    const path = saveResult(`memory-${sizes.join("-")}`, result);
    console.log(JSON.stringify(result, null, 2));
    console.log(`saved ${path}`);
  }
}
