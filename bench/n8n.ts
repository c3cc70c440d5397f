/**
 * Side by side with n8n (not part of CI): the same job run by n8n's CLI (`n8n import:workflow` outside the
 * measure, then `n8n execute --id`: in n8n 2.x `execute --file` is deprecated and runs nothing) and by
 * Passerelle's CLI (`passerelle sync`, the generic REST connector on both ends), one after the other in one
 * run, against one mock JSON API this bench serves (node:http):
 *
 *   GET  /customers?page=N&per_page=100   the records, page by page (X-Total-Pages, an empty page at the end)
 *   POST /contacts                         one mapped record; answers 201 with it and an id
 *   POST /contacts/batch                   every mapped record in one body (n8n's workflow only, see below)
 *
 * The job: read every page, map 5 fields (email lower-cased, first name, last name, company, phone), POST
 * each record, then (n8n) one batch POST of all of them. Passerelle has no step that sends a whole run in one
 * request, so its side does the reads and the per-record POSTs only; the batch POST is one request of the
 * n8n side's 10,000 + 1. Each side starts with a fresh data folder (n8n's SQLite database, Passerelle's
 * store), as a first run does.
 *
 * A third side, the baseline (bench/lib/rest-copy-baseline.mjs), does the same reads and per-record POSTs
 * from a plain Node script through undici at Passerelle's default concurrency (4), with no store: the floor
 * any Node tool pays for these HTTP calls on this machine, taken in the same run, so both tools are also
 * reported against it. It runs unless `--only n8n`.
 *
 * Per side: wall time of the process (spawn → exit) and of the job as the mock API saw it (first GET → last
 * POST), records/s on both, the POSTs received (every record must arrive exactly once), and the peak RSS of
 * the whole process tree (the sum of VmRSS over the process and its descendants, sampled every 50 ms from
 * /proc) and the largest single VmHWM. Ratios are Passerelle against n8n in the same run.
 *
 * n8n is installed with npm into a temp folder (never this project's package.json or lockfile):
 *
 *   npm run bench:n8n                                   # npm install n8n@2 into a mkdtemp folder, 10,000 records
 *   npm run bench:n8n -- --n8n-version 1 --records 10000
 *   npm run bench:n8n -- --n8n-dir /tmp/n8n-install     # reuse a folder where n8n is already installed
 *   npm run bench:n8n -- --only passerelle --profile /tmp/prof   # Passerelle and the floor, V8 CPU profiles in /tmp/prof
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadAverages, ratio, saveResult } from "./lib/measure.ts";

const ROOT = new URL("..", import.meta.url).pathname;

export const n8nBenchOptions = {
  records: { type: "string", default: "10000" },
  "page-size": { type: "string", default: "100" },
  "n8n-version": { type: "string", default: "2" },
  "n8n-dir": { type: "string" },
  keep: { type: "boolean", default: false },
  only: { type: "string" },
  profile: { type: "string" },
} as const;

export function parseN8nBenchArgs(argv: string[]): {
  records: number;
  pageSize: number;
  n8nVersion: string;
  n8nDir: string | undefined;
  keep: boolean;
  only: "n8n" | "passerelle" | undefined;
  /** A folder for V8 CPU profiles of Passerelle's processes (--cpu-prof); none when undefined. */
  profile: string | undefined;
} {
  const { values } = parseArgs({ args: argv, options: n8nBenchOptions, strict: true });
  const records = Number(values.records);
  if (!Number.isInteger(records) || records < 1)
    throw new Error(`--records must be a positive integer, got ${JSON.stringify(values.records)}`);
  const pageSize = Number(values["page-size"]);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
    throw new Error(
      `--page-size must be an integer from 1 to 1000, got ${JSON.stringify(values["page-size"])}`,
    );
  if (values.only !== undefined && values.only !== "n8n" && values.only !== "passerelle")
    throw new Error(`--only must be n8n or passerelle, got ${JSON.stringify(values.only)}`);
  return {
    records,
    pageSize,
    n8nVersion: values["n8n-version"],
    n8nDir: values["n8n-dir"],
    keep: values.keep,
    only: values.only as "n8n" | "passerelle" | undefined,
    profile: values.profile,
  };
}

interface MockApi {
  url: string;
  server: Server;
  reset(): void;
  stats(): {
    gets: number;
    posts: number;
    distinctPosted: number;
    batchPosts: number;
    batchRecords: number;
    firstAt: number;
    lastAt: number;
    badBodies: number;
  };
}

/** The source records: deterministic, with mixed-case e-mails so the mapping has something to do. */
function sourceRecord(i: number): Record<string, unknown> {
  return {
    id: i + 1,
    email: `Customer.${i + 1}@Example.COM`,
    first_name: `First${i % 97}`,
    last_name: `Last${i}`,
    company: i % 3 === 0 ? `Company ${i % 50}` : "",
    phone: `+33 1 ${String(10_000_000 + i).slice(0, 8)}`,
    notes: "x".repeat(40),
    created_at: "2026-11-01T10:00:00Z",
    updated_at: "2026-11-02T10:00:00Z",
  };
}

async function startMockApi(records: number): Promise<MockApi> {
  const data = Array.from({ length: records }, (_, i) => sourceRecord(i));
  let gets = 0;
  let posts = 0;
  let batchPosts = 0;
  let batchRecords = 0;
  let badBodies = 0;
  let firstAt = 0;
  let lastAt = 0;
  let posted = new Set<string>();
  const server = createServer((req, res) => {
    const now = performance.now();
    if (firstAt === 0) firstAt = now;
    const url = new URL(req.url ?? "/", "http://mock");
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      lastAt = performance.now();
      if (req.method === "GET" && url.pathname === "/customers") {
        gets++;
        const per = Math.min(1000, Math.max(1, Number(url.searchParams.get("per_page") ?? 100)));
        const page = Math.max(1, Number(url.searchParams.get("page") ?? 1));
        const slice = data.slice((page - 1) * per, page * per);
        res.writeHead(200, {
          "content-type": "application/json",
          "x-total-pages": String(Math.ceil(data.length / per)),
        });
        res.end(JSON.stringify(slice));
        return;
      }
      if (req.method === "POST" && url.pathname === "/contacts") {
        posts++;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
          if (typeof body.email !== "string" || body.email !== body.email.toLowerCase()) badBodies++;
          posted.add(String(body.email));
          res.writeHead(201, { "content-type": "application/json" });
          res.end(JSON.stringify({ id: posts, ...body }));
        } catch {
          badBodies++;
          res.writeHead(400).end();
        }
        return;
      }
      if (req.method === "POST" && url.pathname === "/contacts/batch") {
        batchPosts++;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
          const list = Array.isArray(body) ? body : (body as { records?: unknown[] }).records;
          batchRecords += Array.isArray(list) ? list.length : 0;
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ received: Array.isArray(list) ? list.length : 0 }));
        } catch {
          badBodies++;
          res.writeHead(400).end();
        }
        return;
      }
      res.writeHead(404).end();
    });
  });
  server.keepAliveTimeout = 600_000; // a client stalled for a while (n8n under load) reuses its socket safely
  // Node's server closes a connection whose request began more than requestTimeout (300 s) ago; a slow
  // client's keep-alive session must not be cut by the mock.
  server.requestTimeout = 0;
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    reset() {
      gets = posts = batchPosts = batchRecords = badBodies = 0;
      firstAt = lastAt = 0;
      posted = new Set();
    },
    stats: () => ({
      gets,
      posts,
      distinctPosted: posted.size,
      batchPosts,
      batchRecords,
      firstAt,
      lastAt,
      badBodies,
    }),
  };
}

/** The pids of `root` and every descendant (from /proc's parent ids). */
function processTree(root: number): number[] {
  const parent = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = parent.get(ppid) ?? [];
      list.push(Number(name));
      parent.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(parent.get(pid) ?? []));
  }
  return out;
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

interface Measured {
  wallMs: number;
  code: number | null;
  peakTreeRssMb: number;
  peakSingleHwmMb: number;
  processes: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, sampling its process tree's memory every 50 ms. */
async function runMeasured(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<Measured> {
  const t0 = performance.now();
  const child: ChildProcess = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  let peakTree = 0;
  const hwm = new Map<number, number>();
  const sample = () => {
    if (child.pid === undefined) return;
    let sum = 0;
    for (const pid of processTree(child.pid)) {
      sum += statusKb(pid, "VmRSS");
      hwm.set(pid, Math.max(hwm.get(pid) ?? 0, statusKb(pid, "VmHWM")));
    }
    peakTree = Math.max(peakTree, sum);
  };
  const timer = setInterval(sample, 50);
  const code = await new Promise<number | null>((done) => child.on("exit", (c) => done(c)));
  clearInterval(timer);
  return {
    wallMs: Math.round(performance.now() - t0),
    code,
    peakTreeRssMb: Math.round(peakTree / 1024),
    peakSingleHwmMb: Math.round(Math.max(0, ...hwm.values()) / 1024),
    processes: hwm.size,
    stdout,
    stderr,
  };
}

/** The id the workflow is imported under (n8n 2.x runs `execute --id`; `--file` is deprecated and does nothing). */
export const N8N_WORKFLOW_ID = "PasserelleBench1";

/** The n8n workflow: manual trigger → paged GET → Set (5 fields) → POST each → aggregate → one batch POST. */
export function n8nWorkflow(api: string, pageSize: number): Record<string, unknown> {
  const node = (name: string, type: string, typeVersion: number, x: number, parameters: unknown) => ({
    id: name.toLowerCase().replace(/\W+/g, "-"),
    name,
    type,
    typeVersion,
    position: [x, 0],
    parameters,
  });
  return {
    id: N8N_WORKFLOW_ID,
    name: "passerelle-bench",
    active: false,
    settings: { executionOrder: "v1", saveDataSuccessExecution: "none", saveManualExecutions: false },
    nodes: [
      node("Start", "n8n-nodes-base.manualTrigger", 1, 0, {}),
      node("Read pages", "n8n-nodes-base.httpRequest", 4.2, 200, {
        method: "GET",
        url: `${api}/customers`,
        sendQuery: true,
        queryParameters: { parameters: [{ name: "per_page", value: String(pageSize) }] },
        options: {
          pagination: {
            pagination: {
              parameters: { parameters: [{ type: "qs", name: "page", value: "={{ $pageCount + 1 }}" }] },
              paginationCompleteWhen: "responseIsEmpty",
              limitPagesFetched: false,
              requestInterval: 0,
            },
          },
        },
      }),
      node("Map 5 fields", "n8n-nodes-base.set", 3.4, 400, {
        mode: "manual",
        includeOtherFields: false,
        assignments: {
          assignments: [
            { id: "a1", name: "email", type: "string", value: "={{ $json.email.toLowerCase() }}" },
            { id: "a2", name: "first_name", type: "string", value: "={{ $json.first_name }}" },
            { id: "a3", name: "last_name", type: "string", value: "={{ $json.last_name }}" },
            { id: "a4", name: "company", type: "string", value: "={{ $json.company }}" },
            { id: "a5", name: "phone", type: "string", value: "={{ $json.phone }}" },
          ],
        },
        options: {},
      }),
      node("POST each", "n8n-nodes-base.httpRequest", 4.2, 600, {
        method: "POST",
        url: `${api}/contacts`,
        sendBody: true,
        specifyBody: "json",
        jsonBody: "={{ JSON.stringify($json) }}",
        options: {},
      }),
      node("All records", "n8n-nodes-base.aggregate", 1, 800, {
        aggregate: "aggregateAllItemData",
        destinationFieldName: "records",
        options: {},
      }),
      node("Batch POST", "n8n-nodes-base.httpRequest", 4.2, 1000, {
        method: "POST",
        url: `${api}/contacts/batch`,
        sendBody: true,
        specifyBody: "json",
        jsonBody: "={{ JSON.stringify({ records: $json.records }) }}",
        options: {},
      }),
    ],
    connections: {
      Start: { main: [[{ node: "Read pages", type: "main", index: 0 }]] },
      "Read pages": { main: [[{ node: "Map 5 fields", type: "main", index: 0 }]] },
      "Map 5 fields": { main: [[{ node: "POST each", type: "main", index: 0 }]] },
      "POST each": { main: [[{ node: "All records", type: "main", index: 0 }]] },
      "All records": { main: [[{ node: "Batch POST", type: "main", index: 0 }]] },
    },
  };
}

/** The Passerelle configuration of the same job: REST source (pages) → REST target (POST each). */
export function passerelleConfig(api: string, pageSize: number, storePath: string): string {
  return `version: 1
store:
  url: sqlite:${storePath}
connections:
  source:
    type: rest
    baseUrl: ${api}
    entities:
      customer:
        list:
          path: /customers
          pagination: { style: page, sizeParam: per_page, totalPagesHeader: X-Total-Pages }
          maxPageSize: ${pageSize}
        updatedAt: updated_at
        fields:
          email: { from: email, format: lower }
          firstName: first_name
          lastName: last_name
          company: company
          phone: phone
  target:
    type: rest
    baseUrl: ${api}
    entities:
      customer:
        list: { path: /contacts }
        updatedAt: updated_at
        fields:
          email: email
          lastName: last_name
        write:
          create: { path: /contacts }
          update: { method: PUT, path: "/contacts/{id}" }
          fields:
            email: email
            first_name: firstName
            last_name: lastName
            company: company
            phone: phone
flows:
  customers:
    source: { connection: source, entity: customer }
    target: { connection: target, entity: customer }
    batchSize: ${pageSize}
`;
}

/** Installs n8n@<version> with npm into `dir`; returns the install's wall time and n8n's version. */
function installN8n(dir: string, version: string): { ms: number; version: string; log: string } {
  // n8n depends on xlsx as a tarball on cdn.sheetjs.com; where only the npm registry is reachable that
  // fails (ENOTFOUND), so the temp folder pins the registry's last xlsx instead (the workflow here never
  // reads a spreadsheet). This folder's package.json only: the project's files are never touched.
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ name: "n8n-bench-install", private: true, overrides: { xlsx: "0.18.5" } })}\n`,
  );
  const t0 = performance.now();
  const r = spawnSync("npm", ["install", `n8n@${version}`, "--no-audit", "--no-fund"], {
    cwd: dir,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  let log = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0)
    throw new Error(`npm install n8n@${version} failed (exit ${r.status}):\n${log.slice(-3000)}`);
  // npm 11 no longer runs a dependency's install script unless the project allows it (allowScripts), so
  // sqlite3, the driver of n8n's own database, arrives without its native binding; n8n then cannot start.
  // Built here (node-gyp; its prebuilt binary is on GitHub), counted in the install's time.
  if (!existsSync(join(dir, "node_modules/sqlite3/build/Release/node_sqlite3.node"))) {
    const b = spawnSync("npm", ["rebuild", "sqlite3", "--foreground-scripts"], {
      cwd: dir,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    log += `\n${b.stdout}\n${b.stderr}`;
    if (b.status !== 0)
      throw new Error(
        `npm rebuild sqlite3 (n8n's database driver) failed (exit ${b.status}):\n${log.slice(-3000)}`,
      );
  }
  const ms = Math.round(performance.now() - t0);
  return { ms, version: installedN8nVersion(dir), log };
}

function installedN8nVersion(dir: string): string {
  const pkg = join(dir, "node_modules/n8n/package.json");
  if (!existsSync(pkg)) throw new Error(`no n8n installed in ${dir} (node_modules/n8n/package.json missing)`);
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
}

function sideResult(m: Measured, api: ReturnType<MockApi["stats"]>, records: number) {
  const jobMs = Math.round(api.lastAt - api.firstAt);
  return {
    exit: m.code,
    wallMs: m.wallMs,
    jobMs,
    recordsPerSWall: Math.round((records / m.wallMs) * 1000),
    recordsPerSJob: jobMs > 0 ? Math.round((records / jobMs) * 1000) : 0,
    peakTreeRssMb: m.peakTreeRssMb,
    peakSingleHwmMb: m.peakSingleHwmMb,
    processes: m.processes,
    api,
  };
}

async function main(): Promise<void> {
  const opts = parseN8nBenchArgs(process.argv.slice(2));
  const loadBefore = loadAverages();
  console.log(
    `n8n side by side: ${opts.records} records, pages of ${opts.pageSize}, load ${loadBefore.join(" ")}`,
  );
  const work = mkdtempSync(join(tmpdir(), "passerelle-n8n-bench-"));
  const n8nDir = opts.n8nDir ?? join(work, "n8n");
  let install: { ms: number; version: string } | null = null;
  if (!opts.n8nDir && opts.only !== "passerelle") {
    spawnSync("mkdir", ["-p", n8nDir]);
    console.log(`npm install n8n@${opts.n8nVersion} in ${n8nDir} …`);
    const r = installN8n(n8nDir, opts.n8nVersion);
    install = { ms: r.ms, version: r.version };
    const engine = /EBADENGINE[^\n]*\n(?:[^\n]*\n){0,4}/.exec(r.log)?.[0];
    console.log(
      `installed n8n ${r.version} in ${(r.ms / 1000).toFixed(1)} s${engine ? `; npm warned:\n${engine}` : ""}`,
    );
  }
  const api = await startMockApi(opts.records);
  const results: Record<string, ReturnType<typeof sideResult> & Record<string, unknown>> = {};
  try {
    if (opts.only !== "passerelle") {
      const version = installedN8nVersion(n8nDir);
      const flowPath = join(work, "workflow.json");
      writeFileSync(flowPath, JSON.stringify(n8nWorkflow(api.url, opts.pageSize), null, 2));
      const userFolder = join(work, "n8n-user");
      const n8nEnv = {
        ...process.env,
        N8N_USER_FOLDER: userFolder,
        N8N_ENCRYPTION_KEY: "bench-only-key-not-a-secret",
        N8N_DIAGNOSTICS_ENABLED: "false",
        N8N_VERSION_NOTIFICATIONS_ENABLED: "false",
        N8N_PERSONALIZATION_ENABLED: "false",
        N8N_LOG_LEVEL: "warn",
        N8N_BLOCK_ENV_ACCESS_IN_NODE: "true",
      };
      const bin = join(n8nDir, "node_modules/n8n/bin/n8n");
      // The set-up, outside the measure: n8n's database created and migrated, the workflow imported.
      const imported = await runMeasured(
        process.execPath,
        [bin, "import:workflow", `--input=${flowPath}`],
        n8nEnv,
        work,
      );
      if (imported.code !== 0)
        throw new Error(
          `n8n import:workflow failed:\n${imported.stdout.slice(-2000)}\n${imported.stderr.slice(-2000)}`,
        );
      api.reset();
      const m = await runMeasured(
        process.execPath,
        [bin, "execute", `--id=${N8N_WORKFLOW_ID}`],
        n8nEnv,
        work,
      );
      const s = api.stats();
      results.n8n = { version, ...sideResult(m, s, opts.records) };
      console.log(
        `n8n ${version}: exit ${m.code}, ${m.wallMs} ms wall, ${s.posts} POSTs (${s.distinctPosted} distinct), ` +
          `${s.batchPosts} batch POST of ${s.batchRecords}, peak tree RSS ${m.peakTreeRssMb} MB`,
      );
      if (m.code !== 0 || s.distinctPosted !== opts.records)
        console.log(`n8n output (tail):\n${m.stdout.slice(-2000)}\n${m.stderr.slice(-3000)}`);
    }
    if (opts.only !== "n8n") {
      const config = join(work, "passerelle.yaml");
      writeFileSync(config, passerelleConfig(api.url, opts.pageSize, join(work, "passerelle.sqlite")));
      api.reset();
      const m = await runMeasured(
        process.execPath,
        [
          ...(opts.profile ? ["--cpu-prof", `--cpu-prof-dir=${opts.profile}`] : []),
          join(ROOT, "bin/passerelle.mjs"),
          "--config",
          config,
          "sync",
          "customers",
          "--json",
        ],
        { ...process.env, PASSERELLE_LOG_LEVEL: "warn" },
        work,
      );
      const s = api.stats();
      results.passerelle = { ...sideResult(m, s, opts.records) };
      console.log(
        `passerelle: exit ${m.code}, ${m.wallMs} ms wall, ${s.posts} POSTs (${s.distinctPosted} distinct), ` +
          `peak tree RSS ${m.peakTreeRssMb} MB`,
      );
      if (m.code !== 0 || s.distinctPosted !== opts.records)
        console.log(`passerelle output (tail):\n${m.stdout.slice(-2000)}\n${m.stderr.slice(-3000)}`);
    }
    if (opts.only !== "n8n") {
      // The floor in Node of the same HTTP calls (no store, no lineage), in the same run: what the job
      // costs any tool that POSTs each record from Node, at Passerelle's default concurrency.
      api.reset();
      const m = await runMeasured(
        process.execPath,
        [join(ROOT, "bench/lib/rest-copy-baseline.mjs"), api.url, String(opts.pageSize), "4"],
        process.env,
        work,
      );
      const s = api.stats();
      results.baseline = { ...sideResult(m, s, opts.records) };
      console.log(
        `baseline (undici, no store): exit ${m.code}, ${m.wallMs} ms wall, ${s.posts} POSTs ` +
          `(${s.distinctPosted} distinct), peak tree RSS ${m.peakTreeRssMb} MB`,
      );
      if (m.code !== 0 || s.distinctPosted !== opts.records)
        console.log(`baseline output (tail):\n${m.stdout.slice(-2000)}\n${m.stderr.slice(-3000)}`);
    }
  } finally {
    api.server.closeAllConnections();
    api.server.close();
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
  }
  const loadAfter = loadAverages();
  const n = results.n8n;
  const p = results.passerelle;
  const b = results.baseline;
  const ratios =
    n || b
      ? {
          ...(n && p
            ? {
                recordsPerSWall: ratio(p.recordsPerSWall, n.recordsPerSWall),
                recordsPerSJob: ratio(p.recordsPerSJob, n.recordsPerSJob),
                peakTreeRss: ratio(p.peakTreeRssMb, n.peakTreeRssMb),
              }
            : {}),
          // Passerelle's job time against the Node floor's: 1 would be the HTTP calls alone.
          ...(b && p
            ? { jobTimeVsBaseline: ratio(p.jobMs, b.jobMs), wallVsBaseline: ratio(p.wallMs, b.wallMs) }
            : {}),
          ...(b && n ? { n8nJobTimeVsBaseline: ratio(n.jobMs, b.jobMs) } : {}),
        }
      : null;
  console.log(JSON.stringify({ loadBefore, loadAfter, install, ratios, ...results }, null, 2));
  const path = saveResult(`n8n-${opts.records}`, { loadBefore, loadAfter, install, ratios, ...results });
  console.log(`saved ${path}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
