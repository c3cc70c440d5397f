/**
 * Fresh install (not part of CI): a clean clone of this repository's current branch into a temp folder,
 * then `npm ci` timed (it runs the `prepare` script, the build, as a user's install does), the installed
 * size (`du` of node_modules), and `npm start` (the demo) timed from spawn to the first synced record: the
 * first row in the demo store's `links` table (a record written to its target and linked), polled every
 * 50 ms, with the time the demo first printed a line beside it.
 *
 * The npm cache: by default the user's (~/.npm), as on a machine that installed Node packages before;
 * `--cold-cache` gives npm an empty cache folder, so every package is downloaded from the registry.
 * Baseline in the same run: `npm ci --ignore-scripts` of the same clone, after the first (the download and
 * unpack alone), and `node -e 0` for the start.
 *
 * better-sqlite3's install script downloads a prebuilt binary from GitHub and compiles SQLite from source
 * when it cannot (this machine reaches only the npm registry). `--prebuilt-local` puts, for this run only,
 * the binary this checkout already built into npm's cache where that script looks before downloading,
 * under the name it would download: the install then goes as on a machine that reaches GitHub, minus the
 * download of that one file (a few MB). The file is removed afterwards unless it was there before.
 *
 *   npm run bench:install
 *   npm run bench:install -- --cold-cache --branch main
 *   npm run bench:install -- --prebuilt-local
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { loadAverages, ratio, saveResult } from "./lib/measure.ts";

const ROOT = new URL("..", import.meta.url).pathname;

export const installBenchOptions = {
  branch: { type: "string" },
  "cold-cache": { type: "boolean", default: false },
  "prebuilt-local": { type: "boolean", default: false },
  "start-timeout": { type: "string", default: "120" },
  keep: { type: "boolean", default: false },
} as const;

export function parseInstallBenchArgs(argv: string[]): {
  branch: string | undefined;
  coldCache: boolean;
  prebuiltLocal: boolean;
  startTimeoutS: number;
  keep: boolean;
} {
  const { values } = parseArgs({ args: argv, options: installBenchOptions, strict: true });
  const startTimeoutS = Number(values["start-timeout"]);
  if (!Number.isFinite(startTimeoutS) || startTimeoutS <= 0)
    throw new Error(
      `--start-timeout must be a positive number of seconds, got ${JSON.stringify(values["start-timeout"])}`,
    );
  return {
    branch: values.branch,
    coldCache: values["cold-cache"],
    prebuiltLocal: values["prebuilt-local"],
    startTimeoutS,
    keep: values.keep,
  };
}

function timed(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const ms = Math.round(performance.now() - t0);
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${out.slice(-3000)}`);
  return { ms, out };
}

function duMb(path: string): number {
  const kb = Number(execFileSync("du", ["-sk", path], { encoding: "utf8" }).split(/\s/)[0]);
  return Math.round(kb / 1024);
}

function linksIn(dbPath: string): number {
  if (!existsSync(dbPath)) return 0;
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("select count(*) as n from links").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created or not migrated yet
  }
}

/**
 * Puts this checkout's compiled better-sqlite3 binary into the npm cache `cache` where prebuild-install
 * looks before downloading (its own naming, from its own modules); returns how to take it away again.
 */
function stagePrebuilt(cache: string): { file: string; remove: () => void } {
  const pkgDir = join(ROOT, "node_modules", "better-sqlite3");
  const binary = join(pkgDir, "build", "Release", "better_sqlite3.node");
  if (!existsSync(binary))
    throw new Error(`--prebuilt-local: no compiled binary at ${binary}; run npm ci first`);
  const req = createRequire(join(pkgDir, "package.json"));
  const pkg = req("./package.json");
  const rc = req("prebuild-install/rc")(pkg);
  const util = req("prebuild-install/util");
  const url: string = util.getDownloadUrl({ ...rc, pkg });
  const file = join(cache, "_prebuilds", basename(util.cachedPrebuild(url)));
  if (existsSync(file)) return { file, remove: () => undefined };
  mkdirSync(dirname(file), { recursive: true });
  execFileSync("tar", ["-czf", file, "-C", pkgDir, "build/Release/better_sqlite3.node"]);
  return { file, remove: () => rmSync(file, { force: true }) };
}

async function main(): Promise<void> {
  const opts = parseInstallBenchArgs(process.argv.slice(2));
  const branch =
    opts.branch ??
    execFileSync("git", ["rev-parse", "--abbrev-ref", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  const loadBefore = loadAverages();
  const work = mkdtempSync(join(tmpdir(), "passerelle-install-bench-"));
  const clone = join(work, "passerelle");
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_audit: "false", npm_config_fund: "false" };
  if (opts.coldCache) env.npm_config_cache = join(work, "npm-cache");
  delete env.PASSERELLE_CONFIG;
  const prebuilt = opts.prebuiltLocal ? stagePrebuilt(env.npm_config_cache ?? join(homedir(), ".npm")) : null;
  if (prebuilt) console.log(`better-sqlite3's prebuilt binary staged at ${prebuilt.file} (this run only)`);
  console.log(
    `fresh install of branch ${branch} in ${clone}, ${opts.coldCache ? "empty" : "the user's"} npm cache, load ${loadBefore.join(" ")}`,
  );
  let child: ChildProcess | null = null;
  try {
    const cloned = timed(
      "git",
      ["clone", "--quiet", "--branch", branch, "--single-branch", ROOT, clone],
      work,
      env,
    );
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: clone,
      encoding: "utf8",
    }).trim();
    const ci = timed("npm", ["ci"], clone, env);
    const installedMb = duMb(join(clone, "node_modules"));
    const packages = Number(
      execFileSync(
        "sh",
        [
          "-c",
          "find node_modules -name package.json -path '*node_modules/*/package.json' -not -path '*/node_modules/*/node_modules/*/*/package.json' | wc -l",
        ],
        {
          cwd: clone,
          encoding: "utf8",
        },
      ).trim(),
    );
    console.log(`npm ci: ${(ci.ms / 1000).toFixed(1)} s, node_modules ${installedMb} MB`);

    // The start: `npm start` (passerelle demo), to the first linked record in its store.
    const store = join(clone, ".passerelle", "demo.sqlite");
    const nodeFloor = timed(process.execPath, ["-e", "0"], clone, env).ms;
    const t0 = performance.now();
    const started: ChildProcess = spawn("npm", ["start"], {
      cwd: clone,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    child = started;
    let output = "";
    let firstLineMs: number | null = null;
    const onData = (c: Buffer) => {
      if (firstLineMs === null && /passerelle|Starting|emulators/i.test(c.toString("utf8")))
        firstLineMs = Math.round(performance.now() - t0);
      output += c.toString("utf8");
    };
    started.stdout?.on("data", onData);
    started.stderr?.on("data", onData);
    let firstRecordMs: number | null = null;
    const deadline = t0 + opts.startTimeoutS * 1000;
    while (performance.now() < deadline && started.exitCode === null) {
      if (linksIn(store) > 0) {
        firstRecordMs = Math.round(performance.now() - t0);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (firstRecordMs === null)
      console.log(`no synced record within ${opts.startTimeoutS} s; output:\n${output.slice(-3000)}`);
    else console.log(`npm start: first synced record after ${(firstRecordMs / 1000).toFixed(1)} s`);

    // Baseline: the same install without scripts (no build), from the cache the first one filled.
    rmSync(join(clone, "node_modules"), { recursive: true, force: true });
    const bare = timed("npm", ["ci", "--ignore-scripts"], clone, env);
    const loadAfter = loadAverages();
    const result = {
      branch,
      commit,
      coldCache: opts.coldCache,
      prebuiltLocal: opts.prebuiltLocal,
      loadBefore,
      loadAfter,
      cloneMs: cloned.ms,
      npmCiMs: ci.ms,
      npmCiIgnoreScriptsMs: bare.ms,
      installedMb,
      topLevelPackages: packages,
      firstOutputMs: firstLineMs,
      firstRecordMs,
      nodeStartMs: nodeFloor,
      ratios: {
        npmCiToIgnoreScripts: ratio(ci.ms, bare.ms),
        firstRecordToNodeStart: firstRecordMs === null ? null : ratio(firstRecordMs, nodeFloor),
      },
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(`saved ${saveResult(opts.prebuiltLocal ? "install-prebuilt-local" : "install", result)}`);
  } finally {
    if (child?.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM"); // npm and the node it started: the group this bench created
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    prebuilt?.remove();
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
