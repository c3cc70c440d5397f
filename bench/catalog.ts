/**
 * Scenario 1, catalogue push: products with variants, three customer-group price lists and stock in two
 * warehouses, Odoo emulator → Shopify emulator (rate limits off), by Passerelle (the products, prices and
 * stock flows of passerelle.yaml) and by the engine-less baseline (baseline.ts), each against fresh
 * emulators seeded alike, in the same run. The emulators run in a child process.
 *
 * On a shared machine the load moves within minutes, so the two sides are interleaved: `--repeat N` rounds,
 * each running both sides back to back (which side goes first alternates), and the verdict is the median
 * round's time ratio. Every round is reported with the load average it ran under.
 *
 *   node --import tsx bench/catalog.ts [--size 10k|100k|1M|<n>] [--seed 1] [--repeat N]
 *
 * `--repeat` defaults to 3 below 100k records, 1 from 100k on.
 */
import { pathToFileURL } from "node:url";
import { type BaselineCounts, runBaseline } from "./baseline.ts";
import { type DatasetCounts, parseSize } from "./dataset.ts";
import {
  argValue,
  load1,
  type Measured,
  measure,
  peakRssMb,
  perSecond,
  ratio,
  saveResult,
} from "./lib/measure.ts";
import { openPasserelle, totals } from "./lib/passerelle.ts";
import { type Systems, startSystems } from "./lib/systems.ts";

type Shop = Awaited<ReturnType<Systems["stats"]>>;

interface Round {
  round: number;
  first: "baseline" | "passerelle";
  /** 1-minute load average before and after the round (`uptime`). */
  load: [number, number];
  passerelle: Record<string, unknown> & { ms: number; cpuMs: number };
  baseline: Record<string, unknown> & { ms: number; cpuMs: number };
  ratio: { time: number; cpu: number; cpuWithEmulators: number };
}

async function baselineSide(
  size: number,
  seed: number,
): Promise<{ counts: DatasetCounts; m: Measured<BaselineCounts>; shop: Shop; emulatorCpuMs: number }> {
  const sys = await startSystems({ size, seed });
  try {
    const before = await sys.stats();
    const m = await measure(() => runBaseline(sys.env));
    const shop = await sys.stats();
    return { counts: sys.counts, m, shop, emulatorCpuMs: shop.cpuMs - before.cpuMs };
  } finally {
    await sys.close();
  }
}

async function passerelleSide(size: number, seed: number) {
  const sys = await startSystems({ size, seed });
  const p = await openPasserelle(sys.env);
  try {
    const before = await sys.stats();
    const run = await measure(() => p.sync());
    const shop = await sys.stats();
    return { run, shop, emulatorCpuMs: shop.cpuMs - before.cpuMs };
  } finally {
    await p.close();
    await sys.close();
  }
}

async function oneRound(
  size: number,
  seed: number,
  round: number,
): Promise<Round & { dataset: DatasetCounts }> {
  const first = round % 2 === 0 ? "baseline" : "passerelle";
  const loadBefore = load1();
  let base: Awaited<ReturnType<typeof baselineSide>>;
  let pass: Awaited<ReturnType<typeof passerelleSide>>;
  if (first === "baseline") {
    base = await baselineSide(size, seed);
    pass = await passerelleSide(size, seed);
  } else {
    pass = await passerelleSide(size, seed);
    base = await baselineSide(size, seed);
  }
  const { run, shop } = pass;
  const t = totals(run.value);
  return {
    round,
    first,
    load: [loadBefore, load1()],
    dataset: base.counts,
    passerelle: {
      ms: run.ms,
      cpuMs: run.cpuMs,
      recordsPerSecond: perSecond(t.read, run.ms),
      cpuUsPerRecord: Math.round((run.cpuMs * 1000) / Math.max(1, t.read)),
      ...t,
      perFlow: run.value.map((s) => ({
        flow: s.flow,
        ms: s.durationMs,
        read: s.counts.read,
        calls: s.counts.calls,
      })),
      shopifyCalls: shop.shopify.calls,
      odooCalls: shop.odoo.calls,
      emulatorCpuMs: pass.emulatorCpuMs,
      shop: shop.shop,
    },
    baseline: {
      ms: base.m.ms,
      cpuMs: base.m.cpuMs,
      recordsPerSecond: perSecond(base.counts.total, base.m.ms),
      cpuUsPerRecord: Math.round((base.m.cpuMs * 1000) / Math.max(1, base.counts.total)),
      ...base.m.value,
      emulatorCpuMs: base.emulatorCpuMs,
      shop: base.shop.shop,
    },
    ratio: {
      time: ratio(run.ms, base.m.ms),
      cpu: ratio(run.cpuMs, base.m.cpuMs),
      // The measured process and the emulators together: on a loaded machine, time follows this.
      cpuWithEmulators: ratio(run.cpuMs + pass.emulatorCpuMs, base.m.cpuMs + base.emulatorCpuMs),
    },
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export async function catalogScenario(size: number, seed = 1, repeat = 1): Promise<Record<string, unknown>> {
  const rounds: (Round & { dataset: DatasetCounts })[] = [];
  for (let i = 0; i < Math.max(1, repeat); i++) {
    const r = await oneRound(size, seed, i);
    rounds.push(r);
    console.error(
      `round ${i + 1}/${repeat} (${r.first} first, load ${r.load.join(" → ")}): passerelle ${r.passerelle.ms} ms ` +
        `(CPU ${r.passerelle.cpuMs} ms), baseline ${r.baseline.ms} ms (CPU ${r.baseline.cpuMs} ms), ` +
        `${r.ratio.time}× time, ${r.ratio.cpu}× CPU; emulators' CPU ${r.passerelle.emulatorCpuMs} vs ` +
        `${r.baseline.emulatorCpuMs} ms (${r.ratio.cpuWithEmulators}× CPU with them)`,
    );
  }
  const timeRatio = Math.round(median(rounds.map((r) => r.ratio.time)) * 100) / 100;
  const cpuRatio = Math.round(median(rounds.map((r) => r.ratio.cpu)) * 100) / 100;
  // The round whose time ratio is the median (the lower middle for an even count) stands for the run.
  const typical = [...rounds].sort((a, b) => a.ratio.time - b.ratio.time)[
    Math.floor((rounds.length - 1) / 2)
  ];
  if (typical === undefined) throw new Error("no round ran");
  return {
    size,
    dataset: typical.dataset,
    repeat: rounds.length,
    typicalRound: typical.round,
    passerelle: typical.passerelle,
    baseline: typical.baseline,
    ratio: { time: timeRatio, cpu: cpuRatio },
    median: {
      passerelleMs: median(rounds.map((r) => r.passerelle.ms)),
      baselineMs: median(rounds.map((r) => r.baseline.ms)),
      passerelleCpuMs: median(rounds.map((r) => r.passerelle.cpuMs)),
      baselineCpuMs: median(rounds.map((r) => r.baseline.cpuMs)),
      passerelleEmulatorCpuMs: median(rounds.map((r) => Number(r.passerelle.emulatorCpuMs))),
      baselineEmulatorCpuMs: median(rounds.map((r) => Number(r.baseline.emulatorCpuMs))),
      timeRatio,
      cpuRatio,
      cpuWithEmulatorsRatio: Math.round(median(rounds.map((r) => r.ratio.cpuWithEmulators)) * 100) / 100,
    },
    rounds: rounds.map(({ dataset: _d, ...r }) => r),
    target: "Passerelle time ≤ 1.3 × baseline (median of the rounds' ratios)",
    met: timeRatio <= 1.3,
    peakRssMb: peakRssMb(),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const size = parseSize(argValue("size"), 10_000);
  const repeat = Number(argValue("repeat") ?? (size >= 100_000 ? 1 : 3));
  const result = await catalogScenario(size, Number(argValue("seed") ?? 1), repeat);
  const path = saveResult(`catalog-${size}`, result);
  console.log(JSON.stringify(result, null, 2));
  console.log(`saved ${path}`);
}
