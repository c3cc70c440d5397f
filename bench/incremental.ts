/**
 * Scenario 2, incremental sync: a full catalogue sync, then 1 % of the products, prices and stock levels
 * changed in Odoo, then the catalogue flows again. Reports records read and written, API calls and time of
 * each pass; the target is writes = the changed records only, in ≤ 5 % of the full sync's time. A third
 * pass with nothing changed shows the cost of finding nothing.
 *
 *   node --import tsx bench/incremental.ts [--size 100k] [--fraction 0.01]
 */
import { pathToFileURL } from "node:url";
import { parseSize } from "./dataset.ts";
import { argValue, measure, peakRssMb, ratio, saveResult } from "./lib/measure.ts";
import { openPasserelle, totals } from "./lib/passerelle.ts";
import { startSystems } from "./lib/systems.ts";

export async function incrementalScenario(size: number, fraction = 0.01): Promise<Record<string, unknown>> {
  const sys = await startSystems({ size, seed: 1 });
  const p = await openPasserelle(sys.env);
  try {
    const pass = async () => {
      await sys.reset();
      const m = await measure(() => p.sync());
      const s = await sys.stats();
      return {
        ms: m.ms,
        cpuMs: m.cpuMs,
        ...totals(m.value),
        odooCalls: s.odoo.calls,
        shopifyCalls: s.shopify.calls,
        shopifyWrites: s.shopify.writes,
        perFlow: m.value.map((r) => ({
          flow: r.flow,
          ms: r.durationMs,
          read: r.counts.read,
          written: r.counts.created + r.counts.updated,
          calls: r.counts.calls,
        })),
      };
    };
    const full = await pass();
    // Odoo stamps writes to the second: let the clock move past the full sync's last second.
    await new Promise((r) => setTimeout(r, 1100));
    const changed = await sys.change(fraction, 1);
    const incremental = await pass();
    const idle = await pass();
    // Steady state: the cursor now sits on a recent second, not on the catalogue's import second.
    await new Promise((r) => setTimeout(r, 1100));
    const changedAgain = await sys.change(fraction, 2);
    const steady = await pass();
    return {
      size,
      fraction,
      dataset: sys.counts,
      changed,
      full,
      incremental,
      nothingChanged: idle,
      changedAgain,
      steadyState: steady,
      ratio: {
        time: ratio(incremental.ms, full.ms),
        steadyTime: ratio(steady.ms, full.ms),
        writtenPerChanged: ratio(incremental.written, changed.total),
        steadyWrittenPerChanged: ratio(steady.written, changedAgain.total),
      },
      target: "incremental writes = changed records; time ≤ 5 % of the full sync",
      met: {
        writes: incremental.written === changed.total && steady.written === changedAgain.total,
        firstIncrementalTime: incremental.ms <= full.ms * 0.05,
        steadyStateTime: steady.ms <= full.ms * 0.05,
      },
      peakRssMb: peakRssMb(),
    };
  } finally {
    await p.close();
    await sys.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const size = parseSize(argValue("size"), 100_000);
  const result = await incrementalScenario(size, Number(argValue("fraction") ?? 0.01));
  const path = saveResult(`incremental-${size}`, result);
  console.log(JSON.stringify(result, null, 2));
  console.log(`saved ${path}`);
}
