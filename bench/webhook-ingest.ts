/**
 * Webhook ingest: verified, durably stored and acknowledged Shopify deliveries per second, and the
 * acknowledgement latency, against `passerelle run` (the real CLI, its own process) on SQLite in WAL mode.
 * The load generator is wrk (`bench/lib/wrk-shopify.lua`) when it is installed, autocannon in this
 * process otherwise (`--generator` picks one): every request is an orders/create delivery with its own
 * X-Shopify-Event-Id and a valid X-Shopify-Hmac-Sha256. wrk sends one body (and so one signature) with a
 * new event id per request; autocannon builds and signs a new body per request, which costs it about
 * 80 µs of CPU per request on the cores the server uses.
 *
 * Then the crash check, always with autocannon (it records which event ids were answered 2xx): a second
 * burst, the server killed with SIGKILL in the middle of it; every event that received a 2xx must be in
 * the inbox afterwards (looked up by its dedupe key).
 *
 * Each round is followed by the same load against a floor (node:http verifying and answering, storing
 * nothing; `--floor off` skips it) and, with `--compare <dir>`, against another checkout's
 * `passerelle run` (its own store), so a change is measured beside what it changes under the same load.
 *
 *   npm run bench:webhooks [-- --seconds 15 --connections 32 --rounds 1 --generator wrk|autocannon]
 *   git archive HEAD | tar -x -C /tmp/head && ln -s "$PWD/node_modules" /tmp/head/
 *   npm run bench:webhooks -- --rounds 3 --compare /tmp/head
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import Database from "better-sqlite3";
import { inboxFilePath, openStore } from "../src/store/index.ts";
import { load1, machine } from "./lib/measure.ts";
import { cpuMsOf, type Server, startListening } from "./lib/run-process.ts";
import { ordersCreateDelivery } from "./lib/shopify-delivery.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SECRET = "shpss_bench_ingest_secret";
const SHOP = "bench.myshopify.com";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "15" },
    connections: { type: "string", default: "32" },
    "kill-after": { type: "string", default: "3" },
    profile: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    rounds: { type: "string", default: "1" },
    generator: { type: "string" },
    threads: { type: "string", default: "1" },
    floor: { type: "string", default: "on" },
    /** Another checkout of Passerelle (e.g. the last commit) measured interleaved with this one. */
    compare: { type: "string" },
  },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const KILL_AFTER_S = Number(args["kill-after"]);
const ROUNDS = Math.max(1, Number(args.rounds));
const WRK = ["/usr/bin/wrk", "/usr/local/bin/wrk"].find((p) => existsSync(p)) ?? null;
const GENERATOR = args.generator ?? (WRK ? "wrk" : "autocannon");
if (GENERATOR !== "wrk" && GENERATOR !== "autocannon") throw new Error("--generator is wrk or autocannon");
if (GENERATOR === "wrk" && !WRK) throw new Error("--generator wrk: wrk is not installed");

/**
 * The floor: node:http alone, checking the signature and parsing the body as Passerelle does, answering
 * 200 without storing anything (no durability, no framework). Measured beside Passerelle, interleaved, it
 * shows what this machine's load leaves for any Node server at that moment.
 */
const FLOOR_SOURCE = `
const http = require("node:http");
const { createHmac, timingSafeEqual } = require("node:crypto");
const secret = process.env.SHOPIFY_WEBHOOK_SECRET;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const given = Buffer.from(String(req.headers["x-shopify-hmac-sha256"] || ""), "base64");
    const mac = createHmac("sha256", secret).update(body).digest();
    if (given.length !== mac.length || !timingSafeEqual(given, mac)) {
      res.writeHead(401);
      res.end();
      return;
    }
    JSON.parse(body.toString("utf8"));
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"stored":1,"duplicates":0}');
  });
});
server.listen(0, "127.0.0.1", () => process.stderr.write("Listening on http://127.0.0.1:" + server.address().port + "\\n"));
`;

function startFloor(dir: string): Promise<Server> {
  return startProcess(dir, ["-e", FLOOR_SOURCE]);
}

function startServer(dir: string, config: string, profile: boolean, root = ROOT): Promise<Server> {
  return startProcess(dir, [
    ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${join(dir, "prof")}`] : []),
    join(root, "bin/passerelle.mjs"),
    "--config",
    config,
    "run",
    "--port",
    "0",
  ]);
}

function startProcess(dir: string, argv: string[]): Promise<Server> {
  return startListening(argv, dir, { ...process.env, SHOPIFY_WEBHOOK_SECRET: SECRET });
}

interface Ctx {
  eventId?: string;
}

/** One load run; `acked` collects the event ids answered 2xx. */
function load(
  url: string,
  seconds: number,
  acked: string[] | null,
  onStart?: (instance: autocannon.Instance) => void,
): Promise<autocannon.Result> {
  let order = 1;
  return new Promise((done, fail) => {
    const instance = autocannon(
      {
        url: `${url}/webhooks/shopify`,
        method: "POST",
        connections: CONNECTIONS,
        duration: seconds,
        timeout: 10,
        requests: [
          {
            method: "POST",
            setupRequest: (req, context) => {
              const { eventId, body, headers } = ordersCreateDelivery(order++, {
                domain: SHOP,
                secret: SECRET,
              });
              (context as Ctx).eventId = eventId;
              return { ...req, body, headers };
            },
            onResponse: (status, _body, context) => {
              const id = (context as Ctx).eventId;
              if (acked && id && status >= 200 && status < 300) acked.push(id);
            },
          },
        ],
      },
      (err, result) => (err ? fail(err) : done(result)),
    );
    onStart?.(instance);
  });
}

/** One throughput round, whichever generator produced it. */
interface Round {
  generator: "wrk" | "autocannon";
  seconds: number;
  requests: number;
  acknowledged: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** CPU time (user + system) the load generator used for this round. */
  generatorCpuMs: number;
}

interface WrkSummary {
  requests: number;
  durationUs: number;
  ok2xx: number;
  non2xx: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  timeouts: number;
  latencyUs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

/** The body every wrk request carries, and its signature. */
function wrkBody(): { body: string; hmac: string } {
  const body = JSON.stringify({
    id: 1,
    admin_graphql_api_id: "gid://shopify/Order/1",
    name: "#1001",
    updated_at: new Date().toISOString(),
    financial_status: "paid",
  });
  return { body, hmac: createHmac("sha256", SECRET).update(body).digest("base64") };
}

/** wrk for `seconds`, under bash's `time` so its CPU time is known exactly. */
function runWrk(url: string, seconds: number, tag: string): Promise<Round> {
  const { body, hmac } = wrkBody();
  const script = join(ROOT, "bench/lib/wrk-shopify.lua");
  const cmd = `TIMEFORMAT='cpu %U %S'; time ${WRK} -t ${Number(args.threads)} -c ${CONNECTIONS} -d ${seconds}s --timeout 10s -s ${script} ${url}/webhooks/shopify`;
  return new Promise((done, fail) => {
    const child = spawn("bash", ["-c", cmd], {
      env: { ...process.env, WRK_BODY: body, WRK_HMAC: hmac, WRK_SHOP: SHOP, WRK_RUN: tag },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString("utf8");
    });
    child.once("error", fail);
    child.once("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(err);
      if (code !== 0 || !line || !cpu) {
        fail(new Error(`wrk failed (exit ${code}):\n${out}\n${err}`));
        return;
      }
      const w = JSON.parse(line) as WrkSummary;
      const ms = (us: number) => Math.round(us / 100) / 10;
      done({
        generator: "wrk",
        seconds: w.durationUs / 1e6,
        requests: w.requests,
        acknowledged: w.ok2xx,
        non2xx: w.non2xx,
        errors: w.connectErrors + w.readErrors + w.writeErrors,
        timeouts: w.timeouts,
        latencyMs: {
          p50: ms(w.latencyUs.p50),
          p90: ms(w.latencyUs.p90),
          p99: ms(w.latencyUs.p99),
          max: ms(w.latencyUs.max),
          mean: ms(w.latencyUs.mean),
        },
        generatorCpuMs: Math.round((Number(cpu[1]) + Number(cpu[2])) * 1000),
      });
    });
  });
}

async function runAutocannon(url: string, seconds: number): Promise<Round> {
  const cpu0 = process.cpuUsage();
  const r = await load(url, seconds, null);
  const cpu = process.cpuUsage(cpu0);
  return {
    generator: "autocannon",
    seconds: r.duration,
    requests: r.requests.total,
    acknowledged: r["2xx"],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    latencyMs: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      mean: r.latency.average,
    },
    generatorCpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}

/**
 * The disk's durable-commit latency at this moment: 100 SQLite transactions of 16 small rows, WAL,
 * synchronous=FULL (one fsync each), on the file system the store is on. Every acknowledgement waits for
 * one such fsync, so this bounds the acknowledgement latency from below.
 */
function fsyncProbe(dir: string): { p50: number; p90: number; p99: number; max: number } {
  const path = join(dir, "fsync-probe.sqlite");
  const sqlite = new Database(path);
  try {
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = FULL");
    sqlite.exec("create table if not exists t (id integer primary key, k text, p text)");
    const insert = sqlite.prepare("insert into t (k, p) values (?, ?)");
    const commit = sqlite.transaction((n: number) => {
      for (let i = 0; i < n; i++) insert.run(randomUUID(), "x".repeat(200));
    });
    const ms: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      commit.immediate(16);
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    const at = (q: number) =>
      Math.round((ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0) * 100) / 100;
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
  } finally {
    sqlite.close();
    rmSync(path, { force: true });
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
  }
}

/**
 * Transactions as seen in the inbox: rows of one commit share its received_at (millisecond) stamp. The inbox
 * has its own file beside the store's (src/store/inbox/own-file.ts); a checkout from before keeps it in the
 * store's file (`--compare`).
 */
function commitsOf(db: string, since: string): { groups: number; events: number; p50: number; max: number } {
  const sqlite = new Database(existsSync(inboxFilePath(db)) ? inboxFilePath(db) : db, { readonly: true });
  try {
    const sizes = sqlite
      .prepare(
        "select count(*) as n from webhook_inbox where received_at >= ? group by received_at order by n",
      )
      .all(since)
      .map((r) => (r as { n: number }).n);
    return {
      groups: sizes.length,
      events: sizes.reduce((a, b) => a + b, 0),
      p50: sizes[sizes.length >> 1] ?? 0,
      max: sizes.at(-1) ?? 0,
    };
  } finally {
    sqlite.close();
  }
}

async function main(): Promise<void> {
  const load0 = load1();
  const dir = mkdtempSync(join(tmpdir(), "passerelle-ingest-"));
  const db = join(dir, "ingest.sqlite");
  const config = join(dir, "passerelle.yaml");
  writeFileSync(
    config,
    `version: 1
store: { url: "sqlite:${db}" }
connections:
  shopify:
    type: shopify
    shop: ${SHOP}
    accessToken: shpat_bench
    endpoint: http://127.0.0.1:9/admin/api/2026-10/graphql.json
    webhookSecret: \${env:SHOPIFY_WEBHOOK_SECRET}
`,
  );
  try {
    // 1. Throughput and latency.
    const server = await startServer(dir, config, args.profile);
    console.error(`passerelle run at ${server.url}; warming up (${GENERATOR})…`);
    const warm =
      GENERATOR === "wrk" ? await runWrk(server.url, 2, "warm") : await runAutocannon(server.url, 2);
    const rounds: (Round & {
      serverCpuMs: number;
      loadAverage: number;
      commits: ReturnType<typeof commitsOf>;
      fsyncMs: ReturnType<typeof fsyncProbe>;
    })[] = [];
    const floor = args.floor === "off" ? null : await startFloor(dir);
    const floorRounds: (Round & { serverCpuMs: number; loadAverage: number })[] = [];
    let other: Server | null = null;
    const otherRounds: (Round & { serverCpuMs: number; loadAverage: number })[] = [];
    if (args.compare) {
      const otherConfig = join(dir, "compare.yaml");
      writeFileSync(otherConfig, readFileSync(config, "utf8").replace(db, join(dir, "compare.sqlite")));
      other = await startServer(dir, otherConfig, false, args.compare);
      await (GENERATOR === "wrk" ? runWrk(other.url, 2, "cwarm") : runAutocannon(other.url, 2));
    }
    const line = (what: string, r: Round, serverCpuMs: number, la: number) =>
      console.error(
        `  ${what}: ${Math.round(r.acknowledged / r.seconds)}/s p50 ${r.latencyMs.p50} p90 ${r.latencyMs.p90} p99 ${r.latencyMs.p99} ms, server ${Math.round((serverCpuMs * 1000) / Math.max(1, r.acknowledged))} µs/ack, generator ${Math.round((r.generatorCpuMs * 1000) / Math.max(1, r.requests))} µs/req, load ${la}`,
      );
    const generate = (url: string, tag: string) =>
      GENERATOR === "wrk" ? runWrk(url, SECONDS, tag) : runAutocannon(url, SECONDS);
    // One generator run against a server, with the CPU that server spent and the load average after it.
    const measureRound = async (what: string, target: { child: ChildProcess; url: string }, tag: string) => {
      const cpu0 = cpuMsOf(target.child.pid);
      const r = await generate(target.url, tag);
      const serverCpuMs = cpuMsOf(target.child.pid) - cpu0;
      const loadAverage = load1();
      line(what, r, serverCpuMs, loadAverage);
      return { ...r, serverCpuMs: Math.round(serverCpuMs), loadAverage };
    };
    for (let i = 0; i < ROUNDS; i++) {
      console.error(`round ${i + 1}/${ROUNDS}: ${CONNECTIONS} connections for ${SECONDS} s (${GENERATOR})…`);
      const fsyncMs = fsyncProbe(dir);
      console.error(
        `  disk: durable commit p50 ${fsyncMs.p50} p90 ${fsyncMs.p90} p99 ${fsyncMs.p99} max ${fsyncMs.max} ms`,
      );
      const since = new Date().toISOString();
      const round = await measureRound("passerelle", server, `r${i}`);
      rounds.push({ ...round, commits: commitsOf(db, since), fsyncMs });
      if (other) otherRounds.push(await measureRound(`compare (${args.compare})`, other, `c${i}`));
      if (floor) floorRounds.push(await measureRound("floor (node:http, no storage)", floor, `f${i}`));
    }
    floor?.child.kill("SIGTERM");
    other?.child.kill("SIGTERM");
    await other?.exited;
    const acked = rounds.reduce((a, r) => a + r.acknowledged, 0);
    server.child.kill("SIGTERM");
    const stopCode = await server.exited;
    if (args.keep || args.profile) writeFileSync(join(dir, "server.log"), server.stderr());

    const store = await openStore(`sqlite:${db}`);
    const inbox = store.openInbox();
    const stored = await inbox.count({ connection: "shopify" });
    await store.close();

    // 2. SIGKILL mid-burst: every acknowledged event must be in the inbox.
    const crashServer = await startServer(dir, config, false);
    const crashAcked: string[] = [];
    let killedAt = 0;
    const crash = await load(crashServer.url, KILL_AFTER_S + 5, crashAcked, (instance) => {
      setTimeout(() => {
        killedAt = crashAcked.length;
        crashServer.child.kill("SIGKILL");
        setTimeout(() => instance.stop(), 500);
      }, KILL_AFTER_S * 1000);
    });
    await crashServer.exited;
    const after = await openStore(`sqlite:${db}`);
    const afterInbox = after.openInbox();
    let missing = 0;
    for (const id of crashAcked) {
      if (!(await afterInbox.byKey("shopify", `shopify:orders/create:${id}`))) missing++;
    }
    const total = await afterInbox.count({ connection: "shopify" });
    await after.close();

    // What every round reports, whichever server it measured.
    const figures = (r: Round & { loadAverage: unknown; serverCpuMs: number }) => ({
      generator: r.generator,
      seconds: r.seconds,
      loadAverage: r.loadAverage,
      perSecond: Math.round(r.acknowledged / r.seconds),
      latencyMs: r.latencyMs,
      serverCpuUs: Math.round((r.serverCpuMs * 1000) / Math.max(1, r.acknowledged)),
      loadGeneratorCpuUsPerRequest: Math.round((r.generatorCpuMs * 1000) / Math.max(1, r.requests)),
    });
    const perRound = rounds.map((r) => {
      const { serverCpuUs, ...f } = figures(r);
      return {
        ...f,
        acknowledged: r.acknowledged,
        non2xx: r.non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
        serverCpuMs: r.serverCpuMs,
        serverCpuUsPerAck: serverCpuUs,
        /** Rows sharing a received_at millisecond: one commit each (two commits in one millisecond count once). */
        commitsSeen: r.commits,
        /** fsyncProbe just before the round: the disk's durable-commit latency then. */
        diskCommitMs: r.fsyncMs,
        met: r.acknowledged / r.seconds >= 3000 && r.latencyMs.p99 <= 25,
      };
    });
    const perOtherRound = otherRounds.map((r) => {
      const { serverCpuUs, ...f } = figures(r);
      return { ...f, acknowledged: r.acknowledged, serverCpuUsPerAck: serverCpuUs };
    });
    const perFloorRound = floorRounds.map((r) => {
      const { serverCpuUs, ...f } = figures(r);
      return { ...f, answered2xx: r.acknowledged, serverCpuUsPerRequest: serverCpuUs };
    });
    const result = {
      benchmark: "webhook-ingest",
      date: new Date().toISOString(),
      machine: machine(),
      /** Other work on the machine while it ran (1-minute load average, start and end). */
      loadAverage: { start: load0, end: load1() },
      setup: {
        server: "passerelle run (child process), SQLite WAL, inbox commits with synchronous=FULL",
        loadGenerator:
          GENERATOR === "wrk"
            ? `wrk (${Number(args.threads)} thread), bench/lib/wrk-shopify.lua: one signed orders/create body, a distinct event id per request`
            : "autocannon in the bench process, one distinct signed orders/create delivery per request",
        crashLoadGenerator: "autocannon (records the event ids answered 2xx)",
        connections: CONNECTIONS,
        seconds: SECONDS,
        rounds: ROUNDS,
      },
      ingest: {
        rounds: perRound,
        acknowledged: acked + warm.acknowledged,
        storedInInbox: stored,
        everyAckStored: stored >= acked + warm.acknowledged,
        stopExitCode: stopCode,
      },
      /** node:http verifying and answering without storing, interleaved with the rounds above. */
      floor: perFloorRound,
      ...(args.compare ? { compare: { checkout: args.compare, rounds: perOtherRound } } : {}),
      crash: {
        ackedBeforeKill: killedAt,
        acked: crashAcked.length,
        requests: crash.requests.total,
        missingFromInbox: missing,
        inboxRowsAfter: total,
        /** Stored but never answered (in flight at the kill): the vendor retries them, the inbox drops them. */
        storedNotAcked: total - stored - crashAcked.length,
      },
      target: { perSecond: 3000, p99Ms: 25 },
      met: `${perRound.filter((r) => r.met).length} of ${perRound.length} rounds`,
    };
    mkdirSync(join(ROOT, "bench/results"), { recursive: true });
    writeFileSync(join(ROOT, "bench/results/webhook-ingest.json"), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    if (missing > 0) {
      console.error(`FAIL: ${missing} acknowledged events are not in the inbox after SIGKILL`);
      process.exitCode = 1;
    }
    if (stored < acked + warm.acknowledged) {
      console.error(`FAIL: ${acked + warm.acknowledged} acknowledged but only ${stored} stored`);
      process.exitCode = 1;
    }
    if (args.profile) console.error(`CPU profile in ${join(dir, "prof")} (kept)`);
    if (args.keep || args.profile) console.error(`server log, store and profiles kept in ${dir}`);
  } finally {
    if (!args.profile && !args.keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
