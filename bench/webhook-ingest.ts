/**
 * Webhook ingest: verified, durably stored and acknowledged Shopify deliveries per second, and the
 * acknowledgement latency, against `passerelle run` (the real CLI, its own process) on SQLite in WAL mode.
 * The load generator (autocannon) runs in this process: every request is an orders/create delivery with
 * its own X-Shopify-Event-Id and a valid X-Shopify-Hmac-Sha256 computed over its body.
 *
 * Then the crash check: a second burst, the server killed with SIGKILL in the middle of it; every event
 * that received a 2xx must be in the inbox afterwards (counted by its dedupe key).
 *
 *   npm run bench:webhooks [-- --seconds 15 --connections 32 --window 2]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { openStore } from "../src/store/index.ts";
import { WebhookInbox } from "../src/store/webhook-inbox.ts";
import { machine } from "./lib/measure.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SECRET = "shpss_bench_ingest_secret";
const SHOP = "bench.myshopify.com";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "15" },
    connections: { type: "string", default: "32" },
    "kill-after": { type: "string", default: "3" },
    profile: { type: "boolean", default: false },
  },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const KILL_AFTER_S = Number(args["kill-after"]);

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

async function startServer(dir: string, config: string, profile: boolean): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${join(dir, "prof")}`] : []),
      join(ROOT, "bin/passerelle.mjs"),
      "--config",
      config,
      "run",
      "--port",
      "0",
    ],
    {
      cwd: dir,
      env: { ...process.env, SHOPIFY_WEBHOOK_SECRET: SECRET },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let err = "";
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const end = Date.now() + 60_000;
  for (;;) {
    const m = /Listening on (http:\/\/[\d.]+:\d+)/.exec(err);
    if (m?.[1]) return { child, url: m[1], exited, stderr: () => err };
    if (child.exitCode !== null) throw new Error(`passerelle run exited:\n${err}`);
    if (Date.now() > end) throw new Error(`passerelle run did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc). */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
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
              const id = order++;
              const eventId = randomUUID();
              const body = JSON.stringify({
                id,
                admin_graphql_api_id: `gid://shopify/Order/${id}`,
                name: `#${1000 + id}`,
                updated_at: new Date().toISOString(),
                financial_status: "paid",
              });
              (context as Ctx).eventId = eventId;
              return {
                ...req,
                body,
                headers: {
                  "content-type": "application/json",
                  "x-shopify-topic": "orders/create",
                  "x-shopify-hmac-sha256": createHmac("sha256", SECRET).update(body).digest("base64"),
                  "x-shopify-shop-domain": SHOP,
                  "x-shopify-api-version": "2026-10",
                  "x-shopify-webhook-id": eventId,
                  "x-shopify-event-id": eventId,
                },
              };
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

async function main(): Promise<void> {
  const load0 = Math.round((loadavg()[0] ?? 0) * 100) / 100;
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
    console.error(`passerelle run at ${server.url}; warming up…`);
    await load(server.url, 2, null);
    console.error(`load: ${CONNECTIONS} connections for ${SECONDS} s…`);
    const acked: string[] = [];
    const serverCpu0 = cpuMsOf(server.child.pid);
    const loadCpu0 = process.cpuUsage();
    const r = await load(server.url, SECONDS, acked);
    const serverCpuMs = cpuMsOf(server.child.pid) - serverCpu0;
    const loadCpu = process.cpuUsage(loadCpu0);
    const loadCpuMs = (loadCpu.user + loadCpu.system) / 1000;
    server.child.kill("SIGTERM");
    const stopCode = await server.exited;

    const store = await openStore(`sqlite:${db}`);
    const inbox = new WebhookInbox(store);
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
    const afterInbox = new WebhookInbox(after);
    let missing = 0;
    for (const id of crashAcked) {
      if (!(await afterInbox.byKey("shopify", `shopify:orders/create:${id}`))) missing++;
    }
    const total = await afterInbox.count({ connection: "shopify" });
    await after.close();

    const seconds = r.duration;
    const result = {
      benchmark: "webhook-ingest",
      date: new Date().toISOString(),
      machine: machine(),
      /** Other work on the machine while it ran (1-minute load average, start and end). */
      loadAverage: { start: load0, end: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
      setup: {
        server: "passerelle run (child process), SQLite WAL, inbox commits with synchronous=FULL",
        loadGenerator:
          "autocannon in a separate process, one distinct signed orders/create delivery per request",
        connections: CONNECTIONS,
        seconds,
      },
      ingest: {
        acknowledged: r["2xx"],
        non2xx: r.non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
        perSecond: Math.round(r["2xx"] / seconds),
        latencyMs: {
          p50: r.latency.p50,
          p90: r.latency.p90,
          p99: r.latency.p99,
          max: r.latency.max,
          mean: r.latency.average,
        },
        serverCpuMs: Math.round(serverCpuMs),
        serverCpuUsPerAck: Math.round((serverCpuMs * 1000) / Math.max(1, r["2xx"])),
        loadGeneratorCpuUsPerRequest: Math.round((loadCpuMs * 1000) / Math.max(1, r.requests.total)),
        storedInInbox: stored,
        everyAckStored: stored >= acked.length,
        stopExitCode: stopCode,
      },
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
      met: r["2xx"] / seconds >= 3000 && r.latency.p99 <= 25,
    };
    mkdirSync(join(ROOT, "bench/results"), { recursive: true });
    writeFileSync(join(ROOT, "bench/results/webhook-ingest.json"), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    if (missing > 0) {
      console.error(`FAIL: ${missing} acknowledged events are not in the inbox after SIGKILL`);
      process.exitCode = 1;
    }
    if (stored < acked.length) {
      console.error(`FAIL: ${acked.length} acknowledged but only ${stored} stored`);
      process.exitCode = 1;
    }
    if (args.profile) console.error(`CPU profile in ${join(dir, "prof")} (kept)`);
  } finally {
    if (!args.profile) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
