/**
 * Webhook ingest at a fixed offered rate while a catalogue sync runs in the same `passerelle run` process
 * (issue 22: "keep p99 ack ≤ 25 ms at 3,000/s with a sync running in the same process").
 *
 * Each phase starts its own emulator host (bench/lib/host.ts: Odoo seeded with `--size` records, Shopify
 * with rate limits off, in a process of their own) and its own `passerelle run` (the CLI, its own process,
 * a fresh SQLite store) whose configuration holds the products, prices and stock flows of passerelle.yaml:
 *
 * - ingest only: the flows are manual, nothing but the webhooks runs;
 * - ingest + sync: the flows run on a schedule (`--cron`, every 10 s by default), so their first, full
 *   push starts within seconds, all three at once as on a real first start (prices and stock then fail the
 *   records whose product is not in the shop yet, and retry them on the next fire); the load starts once
 *   the products flow's run is in the store's runs table, and the runs table is read afterwards to show
 *   which runs covered the measured window (`sync.share`: the share of the window during which a run that
 *   read or wrote records was going). The default `--size` (60k records, ~4,600 products) keeps the
 *   products push going past a 20 s window even on a quiet machine; at 30k it ended inside the window once.
 *
 * autocannon (in this process) offers `--rate` signed orders/create deliveries per second for `--seconds`
 * over `--connections` connections (its `overallRate`, latency corrected for coordinated omission) and
 * reports the acknowledgement latency and the achieved rate. The phases alternate (ingest only,
 * ingest + sync, …) for `--rounds` rounds, so both see the same machine. With `--compare <checkout>`, every
 * round also runs ingest + sync on that checkout's `passerelle run` (e.g. the previous commit). With
 * `--thread`, every round also runs ingest + sync with `server.jobsThread: true` (the jobs in a worker
 * thread of the same process, src/runtime/jobs-thread.ts). With `--niced-emulators`, every round also runs
 * that jobs-thread phase with the emulator host at nice 10 (EMULATORS_NICE): a stand-in for an ERP and a
 * shop on other machines, whose CPU does not compete with the acknowledgements as it does when they share
 * this machine's cores at the same priority. Both are reported; the target is judged on each.
 *
 * Inside each server a preloaded module (bench/lib/loop-delay.mjs) records the event loop's delay over the
 * measured window; with `--profile` the servers run under --cpu-prof and the longest busy stretches of
 * the window are listed (bench/lib/cpuprofile-slices.mjs).
 *
 *   npm run bench:webhooks:sync [-- --rate 3000 --seconds 20 --rounds 3 --size 10k --profile]
 *   git worktree add /tmp/base HEAD && ln -s "$PWD/node_modules" /tmp/base/
 *   npm run bench:webhooks:sync -- --bin src --compare /tmp/base
 *   npm run bench:webhooks:sync -- --thread      # also ingest + sync with the jobs in a worker thread
 *   npm run bench:webhooks:sync -- --thread --niced-emulators   # and that with the emulators at nice 10
 *   (with --compare too, the other checkout's ingest + sync runs both ways)
 *
 * `--bin dist` (the default) runs bin/passerelle.mjs, the compiled CLI as users run it (build first);
 * `--bin src` runs bin/passerelle-src.mjs, the TypeScript sources through tsx, for an unbuilt change.
 * Writes bench/results/webhook-with-sync-<rate>.json.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import Database from "better-sqlite3";
import { parseDocument } from "yaml";
import { parseSize } from "./dataset.ts";
import { loadAverages, ratio, saveResult } from "./lib/measure.ts";
import { benchConfig, CATALOG_FLOWS } from "./lib/passerelle.ts";
import { cpuMsOf, type Server, startListening, stopServer } from "./lib/run-process.ts";
import { ordersCreateDelivery } from "./lib/shopify-delivery.ts";
import { type Systems, startSystems } from "./lib/systems.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const LOOP_DELAY = new URL("./lib/loop-delay.mjs", import.meta.url).pathname;
const SLICES = new URL("./lib/cpuprofile-slices.mjs", import.meta.url).href;
/** The heap flags bin/passerelle.mjs would re-run itself with (bin/heap.mjs); given here, it runs in place. */
const HEAP_FLAGS = ["--max-old-space-size=192", "--max-semi-space-size=4"];
/** The emulator host's nice value in the `--niced-emulators` phase (the jobs thread's own is 10 as well). */
export const EMULATORS_NICE = 10;

const webhookSyncOptions = {
  rate: { type: "string", default: "3000" },
  seconds: { type: "string", default: "20" },
  rounds: { type: "string", default: "3" },
  connections: { type: "string", default: "32" },
  warmup: { type: "string", default: "2" },
  size: { type: "string", default: "60k" },
  seed: { type: "string", default: "1" },
  cron: { type: "string", default: "*/10 * * * * *" },
  bin: { type: "string", default: "dist" },
  compare: { type: "string" },
  thread: { type: "boolean", default: false },
  "niced-emulators": { type: "boolean", default: false },
  profile: { type: "boolean", default: false },
  keep: { type: "boolean", default: false },
} as const;

export interface WebhookSyncArgs {
  rate: number;
  seconds: number;
  rounds: number;
  connections: number;
  warmup: number;
  size: number;
  seed: number;
  cron: string;
  bin: "dist" | "src";
  compare: string | null;
  /** Also, every round, ingest + sync with the jobs in a worker thread (server.jobsThread: true). */
  thread: boolean;
  /** Also, every round, the jobs-thread phase with the emulator host at nice EMULATORS_NICE. */
  nicedEmulators: boolean;
  profile: boolean;
  keep: boolean;
}

export function parseWebhookSyncArgs(argv: string[]): WebhookSyncArgs {
  const { values } = parseArgs({ args: argv, options: webhookSyncOptions, strict: true });
  const num = (name: "rate" | "seconds" | "rounds" | "connections" | "warmup" | "seed", min: number) => {
    const raw = values[name];
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min)
      throw new Error(`--${name} must be a number ≥ ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  if (values.bin !== "dist" && values.bin !== "src")
    throw new Error(`--bin must be dist or src, got ${JSON.stringify(values.bin)}`);
  if (values.compare !== undefined && !existsSync(join(values.compare, "bin/passerelle.mjs")))
    throw new Error(`--compare must be a Passerelle checkout, got ${JSON.stringify(values.compare)}`);
  return {
    rate: num("rate", 1),
    seconds: num("seconds", 1),
    rounds: Math.floor(num("rounds", 1)),
    connections: Math.floor(num("connections", 1)),
    warmup: num("warmup", 0),
    size: parseSize(values.size, 10_000),
    seed: num("seed", 0),
    cron: values.cron,
    bin: values.bin,
    compare: values.compare ?? null,
    thread: values.thread,
    nicedEmulators: values["niced-emulators"],
    profile: values.profile,
    keep: values.keep,
  };
}

/**
 * passerelle.yaml as the catalogue benches use it (benchConfig), keeping only the products, prices and
 * stock flows: on `cron` when given, manual otherwise. The shop's webhooks are stored whatever the flows.
 */
export function syncConfig(dir: string, storeUrl: string, cron: string | null, jobsThread = false): string {
  const path = benchConfig(dir, storeUrl);
  const doc = parseDocument(readFileSync(path, "utf8"));
  const flows = doc.getIn(["flows"]) as { items: { key: { value: string } }[] };
  for (const name of flows.items.map((p) => String(p.key.value))) {
    if (!(CATALOG_FLOWS as readonly string[]).includes(name)) doc.deleteIn(["flows", name]);
  }
  for (const name of CATALOG_FLOWS) {
    doc.setIn(["flows", name, "trigger"], cron === null ? { type: "manual" } : { type: "schedule", cron });
  }
  if (jobsThread) doc.setIn(["server", "jobsThread"], true);
  writeFileSync(path, String(doc));
  return path;
}

export interface RunRow {
  flow: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  read: number;
  created: number;
  updated: number;
}

/**
 * The share of [fromMs, toMs] during which at least one run that did work (wrote or read records, or was
 * still running at `nowMs`) was going, and the runs that overlap the window.
 */
export function syncCoverage(
  runs: RunRow[],
  fromMs: number,
  toMs: number,
  nowMs: number,
): { share: number; runs: RunRow[] } {
  const overlapping = runs.filter((r) => {
    const start = Date.parse(r.started_at);
    const end = r.finished_at === null ? nowMs : Date.parse(r.finished_at);
    return start <= toMs && end >= fromMs;
  });
  const busy = overlapping
    .filter((r) => r.finished_at === null || r.read + r.created + r.updated > 0)
    .map((r) => [
      Math.max(fromMs, Date.parse(r.started_at)),
      Math.min(toMs, r.finished_at === null ? nowMs : Date.parse(r.finished_at)),
    ])
    .sort((a, b) => (a[0] as number) - (b[0] as number));
  let covered = 0;
  let reach = fromMs;
  for (const [start, end] of busy as [number, number][]) {
    if (end <= reach) continue;
    covered += end - Math.max(start, reach);
    reach = end;
  }
  return { share: Math.round((covered / Math.max(1, toMs - fromMs)) * 1000) / 1000, runs: overlapping };
}

async function startServer(
  root: string,
  bin: "dist" | "src",
  config: string,
  env: Record<string, string>,
  profileDir: string | null,
): Promise<Server> {
  const argv = [
    ...HEAP_FLAGS,
    "--import",
    LOOP_DELAY,
    ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
    join(root, bin === "dist" ? "bin/passerelle.mjs" : "bin/passerelle-src.mjs"),
    "--config",
    config,
    "run",
    "--port",
    "0",
  ];
  return startListening(argv, root, { ...process.env, ...env });
}

/** autocannon offering `rate` signed orders/create deliveries a second for `seconds`. */
function offer(
  url: string,
  shop: { domain: string; secret: string },
  opts: WebhookSyncArgs,
  seconds: number,
): Promise<autocannon.Result> {
  let order = 1;
  return new Promise((done, fail) => {
    autocannon(
      {
        url: `${url}/webhooks/shopify`,
        method: "POST",
        connections: opts.connections,
        overallRate: opts.rate,
        duration: seconds,
        timeout: 10,
        requests: [
          {
            method: "POST",
            setupRequest: (req) => {
              const { body, headers } = ordersCreateDelivery(order++, shop);
              return { ...req, body, headers };
            },
          },
        ],
      },
      (err, result) => (err ? fail(err) : done(result)),
    );
  });
}

interface LoopDelay {
  mono: number;
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Asks the server's loop-delay module for what it saw since the last ask (SIGUSR2); waits for the line. */
async function loopDelay(server: Server, file: string): Promise<LoopDelay> {
  const before = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).length : 0;
  server.child.kill("SIGUSR2");
  const end = Date.now() + 5_000;
  for (;;) {
    const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
    if (lines.length > before) return JSON.parse(lines[lines.length - 1] as string) as LoopDelay;
    if (Date.now() > end) throw new Error("the server's loop-delay module did not answer SIGUSR2");
    await new Promise((r) => setTimeout(r, 20));
  }
}

function readRuns(db: string): RunRow[] {
  try {
    const sqlite = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return sqlite
        .prepare(
          "select flow, status, started_at, finished_at, read, created, updated from runs where mode = 'sync' order by id",
        )
        .all() as RunRow[];
    } finally {
      sqlite.close();
    }
  } catch {
    return []; // not migrated yet
  }
}

type Kind =
  | "ingest"
  | "ingest+sync"
  | "ingest+sync, jobs thread"
  | "ingest+sync, jobs thread, emulators niced";
/** A phase's letter in the names of its store, loop-delay file and profile directory. */
const TAGS: Record<Kind, string> = {
  ingest: "i",
  "ingest+sync": "s",
  "ingest+sync, jobs thread": "t",
  "ingest+sync, jobs thread, emulators niced": "n",
};

interface Phase {
  kind: Kind;
  checkout: string;
  round: number;
  loadAverage: { before: number[]; after: number[] };
  offeredPerSecond: number;
  achievedPerSecond: number;
  acknowledged: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p90: number; p99: number; p99_9: number; max: number; mean: number };
  serverCpuMs: number;
  emulatorCpuMs: number;
  shopifyWritesInWindow: number;
  eventLoopDelayMs: Omit<LoopDelay, "mono">;
  sync: { waitedMs: number; share: number; runs: RunRow[] } | null;
  profile?: unknown;
  met: boolean;
}

async function phase(
  kind: Kind,
  root: string,
  round: number,
  opts: WebhookSyncArgs,
  dir: string,
): Promise<Phase> {
  const tag = `${TAGS[kind]}${round}-${root === ROOT ? "this" : "other"}`;
  const niced = kind === "ingest+sync, jobs thread, emulators niced";
  const sys: Systems = await startSystems(
    { size: opts.size, seed: opts.seed },
    { nice: niced ? EMULATORS_NICE : 0 },
  );
  let server: Server | null = null;
  try {
    const db = join(dir, `${tag}.sqlite`);
    const config = syncConfig(
      mkdtempSync(join(dir, `${tag}-`)),
      `sqlite:${db}`,
      kind === "ingest" ? null : opts.cron,
      kind === "ingest+sync, jobs thread" || niced,
    );
    const delayFile = join(dir, `${tag}-loop.jsonl`);
    const profileDir = opts.profile ? join(dir, `${tag}-prof`) : null;
    server = await startServer(
      root,
      opts.bin,
      config,
      { ...sys.env, BENCH_LOOP_DELAY_FILE: delayFile },
      profileDir,
    );
    const secret = sys.env.SHOPIFY_WEBHOOK_SECRET;
    const domain = sys.env.SHOPIFY_SHOP;
    if (!secret || !domain)
      throw new Error("the emulator host gave no SHOPIFY_WEBHOOK_SECRET or SHOPIFY_SHOP");
    const shop = { domain, secret };
    let waitedMs = 0;
    if (kind !== "ingest") {
      const t = Date.now();
      while (!readRuns(db).some((r) => r.flow === "products")) {
        if (Date.now() - t > 60_000) throw new Error(`no products run within 60 s:\n${server.stderr()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      waitedMs = Date.now() - t;
    }
    if (opts.warmup > 0) await offer(server.url, shop, opts, opts.warmup);
    const before = loadAverages();
    const shop0 = await sys.stats();
    const start = await loopDelay(server, delayFile);
    const cpu0 = cpuMsOf(server.child.pid);
    const t0 = Date.now();
    const r = await offer(server.url, shop, opts, opts.seconds);
    const t1 = Date.now();
    const serverCpuMs = Math.round(cpuMsOf(server.child.pid) - cpu0);
    const delay = await loopDelay(server, delayFile);
    const shop1 = await sys.stats();
    const after = loadAverages();
    const sync = kind === "ingest" ? null : { waitedMs, ...syncCoverage(readRuns(db), t0, t1, Date.now()) };
    const windowMono = { from: start.mono, to: delay.mono };
    await stopServer(server);
    server = null;
    let profile: unknown;
    if (profileDir && existsSync(profileDir)) {
      // The main thread's profile (thread id 0 in CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile); the
      // inbox's writer and checkpoint threads write their own.
      const file = readdirSync(profileDir).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
      if (file) {
        const { busyStretches } = (await import(SLICES)) as {
          busyStretches: (p: unknown, o: { from: number; to: number; top: number }) => unknown;
        };
        const prof = JSON.parse(readFileSync(join(profileDir, file), "utf8")) as unknown;
        profile = {
          file: join(profileDir, file),
          ...(busyStretches(prof, { ...windowMono, top: 8 }) as object),
        };
      }
    }
    const { mono: _mono, ...eventLoopDelayMs } = delay;
    const achieved = Math.round(r["2xx"] / r.duration);
    const out: Phase = {
      kind,
      checkout: root,
      round,
      loadAverage: { before, after },
      offeredPerSecond: opts.rate,
      achievedPerSecond: achieved,
      acknowledged: r["2xx"],
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      latencyMs: {
        p50: r.latency.p50,
        p90: r.latency.p90,
        p99: r.latency.p99,
        p99_9: r.latency.p99_9,
        max: r.latency.max,
        mean: r.latency.average,
      },
      serverCpuMs,
      emulatorCpuMs: shop1.cpuMs - shop0.cpuMs,
      shopifyWritesInWindow: shop1.shopify.writes - shop0.shopify.writes,
      eventLoopDelayMs,
      sync,
      ...(profile ? { profile } : {}),
      met: achieved >= opts.rate * 0.99 && r.latency.p99 <= 25 && r.non2xx === 0,
    };
    console.error(
      `  ${kind}${root === ROOT ? "" : ` (${root})`}: ${achieved}/s of ${opts.rate} offered, p50 ${r.latency.p50} p90 ${r.latency.p90} p99 ${r.latency.p99} max ${r.latency.max} ms; loop delay p99 ${delay.p99} max ${delay.max} ms; server CPU ${serverCpuMs} ms` +
        (sync
          ? `; sync covered ${Math.round(sync.share * 100)}% of the window (${sync.runs.length} runs), ${out.shopifyWritesInWindow} shop writes`
          : "") +
        `; load ${before[0]} → ${after[0]}`,
    );
    return out;
  } finally {
    if (server) {
      server.child.kill("SIGKILL");
      await server.exited;
    }
    await sys.close();
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function main(opts: WebhookSyncArgs): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-wh-sync-"));
  const load0 = loadAverages();
  const phases: Phase[] = [];
  try {
    for (let i = 0; i < opts.rounds; i++) {
      console.error(
        `round ${i + 1}/${opts.rounds}: ${opts.rate}/s for ${opts.seconds} s over ${opts.connections} connections (${opts.size} records)`,
      );
      phases.push(await phase("ingest", ROOT, i, opts, dir));
      phases.push(await phase("ingest+sync", ROOT, i, opts, dir));
      if (opts.thread) phases.push(await phase("ingest+sync, jobs thread", ROOT, i, opts, dir));
      if (opts.nicedEmulators)
        phases.push(await phase("ingest+sync, jobs thread, emulators niced", ROOT, i, opts, dir));
      if (opts.compare) phases.push(await phase("ingest+sync", opts.compare, i, opts, dir));
      if (opts.compare && opts.thread)
        phases.push(await phase("ingest+sync, jobs thread", opts.compare, i, opts, dir));
    }
    const of = (kind: Kind, root: string) => phases.filter((p) => p.kind === kind && p.checkout === root);
    const summary = (ps: Phase[]) => ({
      rounds: ps.length,
      p99Ms: ps.map((p) => p.latencyMs.p99),
      medianP99Ms: median(ps.map((p) => p.latencyMs.p99)),
      medianP50Ms: median(ps.map((p) => p.latencyMs.p50)),
      achievedPerSecond: ps.map((p) => p.achievedPerSecond),
      loopDelayP99Ms: ps.map((p) => p.eventLoopDelayMs.p99),
      loopDelayMaxMs: ps.map((p) => p.eventLoopDelayMs.max),
      met: `${ps.filter((p) => p.met).length} of ${ps.length}`,
    });
    const ingest = of("ingest", ROOT);
    const withSync = of("ingest+sync", ROOT);
    const withThread = of("ingest+sync, jobs thread", ROOT);
    const withNiced = of("ingest+sync, jobs thread, emulators niced", ROOT);
    const result = {
      setup: {
        server: `passerelle run (${opts.bin === "dist" ? "bin/passerelle.mjs" : "bin/passerelle-src.mjs"}, its own process, ${HEAP_FLAGS.join(" ")}), SQLite WAL, a fresh store per phase`,
        sync: `products, prices and stock flows of passerelle.yaml on cron "${opts.cron}" (ingest+sync) or manual (ingest), Odoo emulator seeded with ${opts.size} records → Shopify emulator (rate limits off), emulators in another process`,
        loadGenerator: `autocannon overallRate ${opts.rate}/s, ${opts.connections} connections, latency corrected for coordinated omission; a ${opts.warmup} s warm-up before each window`,
        seconds: opts.seconds,
        rounds: opts.rounds,
        order: `ingest, ingest+sync${opts.thread ? ", ingest+sync with server.jobsThread" : ""}${opts.nicedEmulators ? `, ingest+sync with server.jobsThread and the emulators at nice ${EMULATORS_NICE}` : ""}${opts.compare ? ", ingest+sync on --compare" : ""}, per round`,
      },
      loadAverage: { start: load0, end: loadAverages() },
      ingest: summary(ingest),
      ingestWithSync: summary(withSync),
      /** Per round, p99 with the sync ÷ p99 without it, measured back to back. */
      p99RatioPerRound: withSync.map((p, k) =>
        ratio(p.latencyMs.p99, ingest[k]?.latencyMs.p99 ?? Number.NaN),
      ),
      ...(opts.thread
        ? {
            ingestWithSyncJobsThread: summary(withThread),
            /** Per round, p99 with the jobs in a thread ÷ p99 with them on the main thread. */
            threadP99RatioPerRound: withThread.map((p, k) =>
              ratio(p.latencyMs.p99, withSync[k]?.latencyMs.p99 ?? Number.NaN),
            ),
          }
        : {}),
      ...(opts.nicedEmulators
        ? {
            ingestWithSyncJobsThreadEmulatorsNiced: summary(withNiced),
            /** Per round, p99 with the emulators niced ÷ p99 with them at the same priority (both jobs thread). */
            nicedP99RatioPerRound: opts.thread
              ? withNiced.map((p, k) => ratio(p.latencyMs.p99, withThread[k]?.latencyMs.p99 ?? Number.NaN))
              : null,
          }
        : {}),
      ...(opts.compare
        ? {
            compare: {
              checkout: opts.compare,
              ingestWithSync: summary(of("ingest+sync", opts.compare)),
              ...(opts.thread
                ? {
                    ingestWithSyncJobsThread: summary(of("ingest+sync, jobs thread", opts.compare)),
                    /** Per round, this checkout's p99 with the jobs thread ÷ the other checkout's. */
                    threadP99RatioPerRound: withThread.map((p, k) =>
                      ratio(
                        p.latencyMs.p99,
                        of("ingest+sync, jobs thread", opts.compare as string)[k]?.latencyMs.p99 ??
                          Number.NaN,
                      ),
                    ),
                  }
                : {}),
              p99RatioPerRound: withSync.map((p, k) =>
                ratio(
                  p.latencyMs.p99,
                  of("ingest+sync", opts.compare as string)[k]?.latencyMs.p99 ?? Number.NaN,
                ),
              ),
            },
          }
        : {}),
      target: { perSecond: opts.rate, p99Ms: 25 },
      phases,
    };
    const path = saveResult(`webhook-with-sync-${opts.rate}`, result);
    const { phases: _p, ...brief } = result;
    console.log(JSON.stringify(brief, null, 2));
    console.log(`saved ${path}`);
  } finally {
    if (opts.keep || opts.profile) console.error(`stores, loop-delay files and profiles kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const opts = parseWebhookSyncArgs(process.argv.slice(2));
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  await main(opts);
}
