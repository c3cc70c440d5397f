/** Starts the emulators in a child process (host.ts) and talks to it over IPC. */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { DatasetCounts } from "../dataset.ts";
import type { HostReply, HostRequest, HostSettings } from "./protocol.ts";

type Stats = Extract<HostReply, { op: "stats" }>;

export interface Systems {
  env: Record<string, string>;
  counts: DatasetCounts;
  seedMs: number;
  stats(): Promise<Stats>;
  reset(): Promise<void>;
  change(fraction: number, round: number): Promise<DatasetCounts>;
  close(): Promise<void>;
}

const HOST = fileURLToPath(new URL("./host.ts", import.meta.url));

export interface SystemsOptions {
  /**
   * The emulator host's nice value (0–19; default 0, the same priority as everything else). Started
   * through nice(1), so every thread of the host has it from its start.
   */
  nice?: number;
}

export async function startSystems(settings: HostSettings, opts: SystemsOptions = {}): Promise<Systems> {
  const nice = opts.nice ?? 0;
  if (!Number.isInteger(nice) || nice < 0 || nice > 19)
    throw new Error(`startSystems: nice must be an integer from 0 to 19, got ${String(opts.nice)}`);
  const node = [
    // BENCH_HOST_ARGS adds Node flags to the emulator host only (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
    "--import",
    "tsx",
    "--max-old-space-size=8192",
    ...(process.env.BENCH_HOST_ARGS ?? "").split(" ").filter((a) => a !== ""),
    HOST,
    JSON.stringify(settings),
  ];
  const [command, args] =
    nice === 0 ? [process.execPath, node] : ["nice", ["-n", String(nice), process.execPath, ...node]];
  const child: ChildProcess = spawn(command, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let next = 1;
  const waiting = new Map<number, { resolve: (r: HostReply) => void; reject: (e: Error) => void }>();
  const ready = new Promise<Extract<HostReply, { op: "ready" }>>((resolve, reject) => {
    waiting.set(0, { resolve: (r) => resolve(r as Extract<HostReply, { op: "ready" }>), reject });
  });
  child.on("message", (m: { id: number; ok: boolean; reply?: HostReply; error?: string }) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok && m.reply) w.resolve(m.reply);
    else w.reject(new Error(m.error ?? "the emulator host failed"));
  });
  child.on("exit", (code) => {
    for (const w of waiting.values()) w.reject(new Error(`the emulator host exited (code ${code})`));
    waiting.clear();
  });
  const ask = <T extends HostReply>(req: HostRequest): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve: (r) => resolve(r as T), reject });
      child.send({ ...req, id });
    });
  const r = await ready;
  return {
    env: r.env,
    counts: r.counts,
    seedMs: r.seedMs,
    stats: () => ask<Stats>({ op: "stats" }),
    reset: async () => {
      await ask({ op: "reset" });
    },
    change: async (fraction, round) =>
      (await ask<Extract<HostReply, { op: "change" }>>({ op: "change", fraction, round })).changed,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.disconnect();
      }),
  };
}
