/**
 * One side of the catalogue push alone, for a CPU profile of the measured process: the emulators run in
 * their child process (bench/lib/host.ts), so a `--cpu-prof` profile of this process is Passerelle's (or
 * the baseline's) CPU only.
 *
 * With `--profile <file>`, the side's run alone (not start-up, not the emulators' seeding) is profiled
 * through the inspector and written as a .cpuprofile:
 *
 *   node --import tsx bench/profile.ts [--size 10k] [--side passerelle|baseline] [--profile /tmp/p.cpuprofile]
 *   node bench/lib/cpuprofile-summary.mjs /tmp/p.cpuprofile [--top 40]
 *
 * For start-up as well, run it under `node --cpu-prof --cpu-prof-dir=<dir>` instead.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { runBaseline } from "./baseline.ts";
import { parseSize } from "./dataset.ts";
import { argValue, measure } from "./lib/measure.ts";
import { openPasserelle, totals } from "./lib/passerelle.ts";
import { startSystems } from "./lib/systems.ts";

const size = parseSize(argValue("size"), 10_000);
const side = argValue("side") ?? "passerelle";
const profileTo = argValue("profile");
const session = new Session();
async function profiled<T>(work: () => Promise<T>): Promise<T> {
  if (!profileTo) return work();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(profileTo, JSON.stringify(profile));
    session.disconnect();
  }
}
const sys = await startSystems({ size, seed: 1 });
try {
  if (side === "baseline") {
    const m = await profiled(() => measure(() => runBaseline(sys.env)));
    console.log(
      JSON.stringify({ side, ms: m.ms, cpuMs: m.cpuMs, usPerRecord: (m.cpuMs * 1000) / sys.counts.total }),
    );
  } else {
    const open = await measure(() => openPasserelle(sys.env));
    const p = open.value;
    const m = await profiled(() => measure(() => p.sync()));
    const t = totals(m.value);
    console.log(
      JSON.stringify({
        side,
        openMs: open.ms,
        openCpuMs: open.cpuMs,
        ms: m.ms,
        cpuMs: m.cpuMs,
        read: t.read,
        usPerRecord: (m.cpuMs * 1000) / t.read,
      }),
    );
    await p.close();
  }
} finally {
  await sys.close();
}
