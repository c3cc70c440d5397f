/** Wall time, CPU time and peak RSS of the measured (current) process, and result files. */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

export interface Measured<T> {
  value: T;
  ms: number;
  cpuMs: number;
}

export async function measure<T>(work: () => Promise<T>): Promise<Measured<T>> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await work();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { value, ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000) };
}

/** Peak resident set size of this process so far, in MB. */
/** The 1-, 5- and 15-minute load averages (`uptime`), to two decimals. */
export function loadAverages(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}

/** The 1-minute load average, to two decimals. */
export function load1(): number {
  return loadAverages()[0] ?? 0;
}

export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function machine(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: availableParallelism(),
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

const RESULTS = fileURLToPath(new URL("../results/", import.meta.url));

/** Writes bench/results/<name>.json and returns its path. */
export function saveResult(name: string, result: Record<string, unknown>): string {
  mkdirSync(RESULTS, { recursive: true });
  const path = `${RESULTS}${name}.json`;
  writeFileSync(
    path,
    `${JSON.stringify({ scenario: name, at: new Date().toISOString(), machine: machine(), ...result }, null, 2)}\n`,
  );
  return path;
}

export function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : Math.round((a / b) * 100) / 100;
}

export function perSecond(records: number, ms: number): number {
  return ms === 0 ? 0 : Math.round((records / ms) * 1000);
}

export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}
