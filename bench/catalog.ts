/**
 * Scenario 1, catalogue push: products with variants, three customer-group price lists and stock in two
 * warehouses, Odoo emulator → Shopify emulator (rate limits off), by Passerelle (the products, prices and
 * stock flows of passerelle.yaml) and by the engine-less baseline (baseline.ts), each against fresh
 * emulators seeded alike, in the same run. The emulators run in a child process.
 *
 *   node --import tsx bench/catalog.ts [--size 10k|100k|1M|<n>] [--seed 1]
 */
import { pathToFileURL } from "node:url";
import { runBaseline } from "./baseline.ts";
import { parseSize } from "./dataset.ts";
import { argValue, measure, peakRssMb, perSecond, ratio, saveResult } from "./lib/measure.ts";
import { openPasserelle, totals } from "./lib/passerelle.ts";
import { startSystems } from "./lib/systems.ts";

export async function catalogScenario(size: number, seed = 1): Promise<Record<string, unknown>> {
  const base = await startSystems({ size, seed });
  const records = base.counts.total;
  let baseline: Awaited<ReturnType<typeof measure<Awaited<ReturnType<typeof runBaseline>>>>>;
  let baseShop: Awaited<ReturnType<typeof base.stats>>;
  try {
    baseline = await measure(() => runBaseline(base.env));
    baseShop = await base.stats();
  } finally {
    await base.close();
  }
  const sys = await startSystems({ size, seed });
  const p = await openPasserelle(sys.env);
  let run: Awaited<ReturnType<typeof measure<Awaited<ReturnType<typeof p.sync>>>>>;
  let shop: Awaited<ReturnType<typeof sys.stats>>;
  try {
    run = await measure(() => p.sync());
    shop = await sys.stats();
  } finally {
    await p.close();
    await sys.close();
  }
  const t = totals(run.value);
  const result = {
    size,
    dataset: base.counts,
    passerelle: {
      ms: run.ms,
      cpuMs: run.cpuMs,
      recordsPerSecond: perSecond(t.read, run.ms),
      ...t,
      perFlow: run.value.map((s) => ({
        flow: s.flow,
        ms: s.durationMs,
        read: s.counts.read,
        calls: s.counts.calls,
      })),
      shopifyCalls: shop.shopify.calls,
      odooCalls: shop.odoo.calls,
      shop: shop.shop,
    },
    baseline: {
      ms: baseline.ms,
      cpuMs: baseline.cpuMs,
      recordsPerSecond: perSecond(records, baseline.ms),
      ...baseline.value,
      shop: baseShop.shop,
    },
    ratio: { time: ratio(run.ms, baseline.ms), cpu: ratio(run.cpuMs, baseline.cpuMs) },
    target: "Passerelle time ≤ 1.3 × baseline",
    met: ratio(run.ms, baseline.ms) <= 1.3,
    peakRssMb: peakRssMb(),
  };
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const size = parseSize(argValue("size"), 10_000);
  const result = await catalogScenario(size, Number(argValue("seed") ?? 1));
  const path = saveResult(`catalog-${size}`, result);
  console.log(JSON.stringify(result, null, 2));
  console.log(`saved ${path}`);
}
