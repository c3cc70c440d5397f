/**
 * Scenario 4, memory: peak RSS of the measured process (Passerelle alone, emulators in their own process)
 * through a full catalogue push (scenario 1), one fresh process per size so each peak is its own.
 * Target: flat across sizes, ≤ 256 MB.
 *
 *   node --import tsx bench/memory.ts [--sizes 100k,1M] [--max-seconds N] [--heap-mb N]
 *   node --import tsx bench/memory.ts --one <records> [--max-seconds N]
 *   node --import tsx bench/memory.ts --bin [--sizes 100k,1M]      # the CLI as users run it, no flags
 *
 * Every 30 s a progress line goes to stderr (elapsed time, RSS now and at its peak, the shop's product and
 * variant counts). With `--max-seconds`, a push still running after N seconds is stopped and the run is
 * reported with `partial: true`: its peak RSS covers only the part of the push that was done. With
 * `--heap-mb N`, each measured process runs with `--max-old-space-size=N` (V8 otherwise lets garbage pile
 * up far above the live heap on a machine with memory to spare); the result records the cap.
 *
 * With `--bin`, the measured process is the CLI as a user runs it: `node bin/passerelle.mjs sync products
 * prices stock` (the compiled dist/, so `npm run build` first) with no Node flags, against the emulators in
 * this process's child. The bin runs the CLI in a child process of its own with its heap flags
 * (bin/heap.mjs); both processes' peak RSS (VmHWM, read from /proc every 200 ms) and their sum are reported.
 */

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseSize } from "./dataset.ts";
import { argValue, loadAverages, measure, peakRssMb, saveResult } from "./lib/measure.ts";
import { benchConfig, openPasserelle, totals } from "./lib/passerelle.ts";
import { startSystems } from "./lib/systems.ts";

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const load = loadAverages;

/** One size, in this process: prints one JSON line. */
async function one(size: number, maxSeconds: number | undefined): Promise<void> {
  const loadAtStart = load();
  const sys = await startSystems({ size, seed: 1 });
  const before = peakRssMb();
  const p = await openPasserelle(sys.env);
  const afterOpen = peakRssMb();
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(mb(process.memoryUsage().rss)), 1000);
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const report = (extra: Record<string, unknown>) =>
    JSON.stringify({
      size,
      dataset: sys.counts,
      seedMs: sys.seedMs,
      ...extra,
      peakRssMb: peakRssMb(),
      rssBeforeOpenMb: before,
      rssAfterOpenMb: afterOpen,
      heapUsedEndMb: mb(process.memoryUsage().heapUsed),
      rssSamplesMb: samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 20)) === 0),
      loadAverage: { start: loadAtStart, end: load() },
    });
  const progress = setInterval(() => {
    void sys.stats().then(
      (s) =>
        console.error(
          JSON.stringify({
            progress: size,
            s: Math.round((performance.now() - started) / 1000),
            rssMb: mb(process.memoryUsage().rss),
            peakRssMb: peakRssMb(),
            heapUsedMb: mb(process.memoryUsage().heapUsed),
            shop: s.shop,
            odooCalls: s.odoo.calls,
            shopifyCalls: s.shopify.calls,
            emulatorRssMb: mb(s.rss),
            load: load(),
          }),
        ),
      () => undefined,
    );
  }, 30_000);
  let deadline: NodeJS.Timeout | undefined;
  try {
    const sync = measure(() => p.sync());
    const stopped =
      maxSeconds === undefined
        ? null
        : new Promise<"stopped">((resolve) => {
            deadline = setTimeout(() => resolve("stopped"), maxSeconds * 1000);
          });
    const m = await (stopped ? Promise.race([sync, stopped]) : sync);
    if (m === "stopped") {
      const cpu = process.cpuUsage(cpu0);
      const s = await sys.stats();
      console.log(
        report({
          partial: true,
          stoppedAfterMs: Math.round(performance.now() - started),
          cpuMs: Math.round((cpu.user + cpu.system) / 1000),
          shopSoFar: s.shop,
          odooCalls: s.odoo.calls,
          shopifyCalls: s.shopify.calls,
        }),
      );
      // The push is still running: leave without waiting for it (the emulator host goes with us).
      process.exit(0);
    }
    console.log(report({ ms: m.ms, cpuMs: m.cpuMs, ...totals(m.value) }));
  } finally {
    clearTimeout(deadline);
    clearInterval(timer);
    clearInterval(progress);
    await p.close();
    await sys.close();
  }
}

/** Peak and current RSS (MB) of a process from /proc; null once it is gone. */
function procMemory(pid: number): { hwm: number; rss: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
    return { hwm: kb("VmHWM") / 1024, rss: kb("VmRSS") / 1024 };
  } catch {
    return null;
  }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** One size through the real CLI (dist/), no Node flags given: prints one JSON line. */
async function oneBin(size: number): Promise<void> {
  const loadAtStart = load();
  const root = fileURLToPath(new URL("../", import.meta.url));
  const sys = await startSystems({ size, seed: 1 });
  const dir = mkdtempSync(join(tmpdir(), "passerelle-bench-bin-"));
  const config = benchConfig(dir, `sqlite:${join(dir, "bench.sqlite")}`);
  const env = { ...process.env, ...sys.env };
  delete env.NODE_OPTIONS;
  // To compare settings: BENCH_NODE_OPTIONS="--max-old-space-size=128" (the bin then does not re-run).
  if (process.env.BENCH_NODE_OPTIONS) env.NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS;
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [join(root, "bin/passerelle.mjs"), "--config", config, "--json", "sync", "products", "prices", "stock"],
    { env, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  const peak = new Map<number, number>();
  let peakSum = 0;
  const sample = () => {
    let sum = 0;
    for (const pid of [child.pid as number, ...childPids(child.pid as number)]) {
      const m = procMemory(pid);
      // Gone, a zombie (no VmHWM), or not readable.
      if (!m || !Number.isFinite(m.hwm) || !Number.isFinite(m.rss)) continue;
      peak.set(pid, Math.max(peak.get(pid) ?? 0, m.hwm));
      sum += m.rss;
    }
    peakSum = Math.max(peakSum, sum);
  };
  const timer = setInterval(sample, 200);
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  clearInterval(timer);
  const ms = Math.round(performance.now() - started);
  const s = await sys.stats();
  const [binPid, ...cliPids] = [...peak.keys()];
  const cli = cliPids.map((p) => Math.round(peak.get(p) ?? 0));
  console.log(
    JSON.stringify({
      size,
      dataset: sys.counts,
      exitCode: code,
      ms,
      shop: s.shop,
      odooCalls: s.odoo.calls,
      shopifyCalls: s.shopify.calls,
      // The CLI's own (the bin's child when it re-runs itself) and the bin's peak RSS, MB.
      peakRssMb: cli.length > 0 ? Math.max(...cli) : Math.round(peak.get(binPid as number) ?? 0),
      binPeakRssMb: cli.length > 0 ? Math.round(peak.get(binPid as number) ?? 0) : null,
      // Sum of the two processes' RSS at its highest sample (200 ms apart), and the sum of their peaks.
      peakRssSumMb: Math.round(peakSum),
      sumOfPeaksMb: Math.round([...peak.values()].reduce((a, b) => a + b, 0)),
      output: out.trim().slice(-2000),
      loadAverage: { start: loadAtStart, end: load() },
    }),
  );
  await sys.close();
  rmSync(dir, { recursive: true, force: true });
}

export function memoryScenario(
  sizes: number[],
  maxSeconds?: number,
  heapMb?: number,
  bin = false,
): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  type Run = { size: number; peakRssMb: number; partial?: boolean; error?: string };
  const runs = sizes.map((size): Run => {
    const heap = heapMb === undefined ? [] : [`--max-old-space-size=${heapMb}`];
    const args = [...heap, "--import", "tsx", self, bin ? "--one-bin" : "--one", String(size)];
    if (maxSeconds !== undefined) args.push("--max-seconds", String(maxSeconds));
    const r = spawnSync(process.execPath, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 * 2 ** 20,
    });
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    let run: Run;
    try {
      run = JSON.parse(line) as Run;
    } catch {
      run = { size, peakRssMb: Number.NaN, error: `exit ${r.status}: ${r.stdout.slice(-500)}` };
    }
    // Each size's line as soon as it is known: a long run stopped later still leaves the sizes before it.
    console.error(JSON.stringify(run));
    return run;
  });
  const peaks = runs.map((r) => r.peakRssMb);
  return {
    runs,
    heapCapMb: heapMb ?? null,
    measured: bin
      ? "node bin/passerelle.mjs sync products prices stock (dist/, no flags)"
      : "in-process (tsx)",
    target: "peak RSS flat across sizes and ≤ 256 MB",
    partial: runs.some((r) => r.partial === true),
    met:
      runs.every((r) => r.partial !== true) &&
      peaks.every((p) => p <= 256) &&
      Math.max(...peaks) - Math.min(...peaks) <= 32,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const limit = argValue("max-seconds");
  const maxSeconds = limit === undefined ? undefined : Number(limit);
  const single = argValue("one");
  const singleBin = argValue("one-bin");
  if (singleBin !== undefined) await oneBin(Number(singleBin));
  else if (single !== undefined) await one(Number(single), maxSeconds);
  else {
    const sizes = (argValue("sizes") ?? "100k,1M").split(",").map((s) => parseSize(s, 0));
    const heap = argValue("heap-mb");
    const heapMb = heap === undefined ? undefined : Number(heap);
    if (heapMb !== undefined && !(Number.isInteger(heapMb) && heapMb > 0)) {
      throw new Error(`--heap-mb must be a positive whole number of megabytes, got ${JSON.stringify(heap)}`);
    }
    const bin = process.argv.includes("--bin");
    const result = memoryScenario(sizes, maxSeconds, heapMb, bin);
    const name = `memory-${sizes.join("-")}${heapMb === undefined ? "" : `-heap${heapMb}`}${bin ? "-bin" : ""}`;
    const path = saveResult(name, result);
    console.log(JSON.stringify(result, null, 2));
    console.log(`saved ${path}`);
  }
}
