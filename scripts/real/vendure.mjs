/**
 * Real Vendure for the end-to-end suite and the real demo, as a child process on a free loopback port.
 *
 *   const vendure = await startVendure({ dir });   // { url, adminUser, adminPassword, stop }
 *
 * The first call seeds a database with Vendure's own `populate` and keeps it as a golden copy under
 * node_modules/.cache/passerelle/vendure/ (keyed by the Vendure version and these scripts); every start
 * copies it into `dir`, so each suite begins from the same shop in milliseconds. Telemetry is off, and
 * nothing leaves the loopback interface.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SUPERADMIN } from "./vendure-config.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const SERVER = join(HERE, "vendure-server.mjs");
const CACHE = join(ROOT, "node_modules/.cache/passerelle/vendure");

/** A port nothing listens on right now (the kernel's pick on 127.0.0.1). */
export function freePort() {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => done(port));
    });
  });
}

/** Whether @vendure/core can be loaded (it is a development dependency). */
export function vendureVersion() {
  try {
    const require = createRequire(import.meta.url);
    return require("@vendure/core/package.json").version;
  } catch {
    return null;
  }
}

function goldenKey() {
  const h = createHash("sha256");
  h.update(vendureVersion() ?? "none");
  for (const f of ["vendure-config.mjs", "vendure-server.mjs"]) h.update(readFileSync(join(HERE, f)));
  return h.digest("hex").slice(0, 16);
}

function runChild(args, logFile, env = {}) {
  const log = openSync(logFile, "a");
  return spawn(process.execPath, [SERVER, ...args], {
    cwd: ROOT,
    env: { ...process.env, VENDURE_DISABLE_TELEMETRY: "true", ...env },
    stdio: ["ignore", log, log],
  });
}

function exited(child) {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode ?? -1);
    else child.once("exit", (code) => done(code ?? -1));
  });
}

function tail(file) {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "";
  }
}

/** Seeds the golden database once; returns its path and how long seeding took (0 when cached). */
export async function goldenDatabase() {
  const file = join(CACHE, `vendure-${goldenKey()}.sqlite`);
  if (existsSync(file)) return { file, seedMs: 0 };
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  const logFile = join(CACHE, "seed.log");
  const started = Date.now();
  const code = await exited(runChild(["seed", tmp, String(await freePort())], logFile));
  if (code !== 0 || !existsSync(tmp)) {
    rmSync(tmp, { force: true });
    throw new Error(`seeding Vendure failed (exit ${code}); ${logFile}:\n${tail(logFile)}`);
  }
  renameSync(tmp, file);
  return { file, seedMs: Date.now() - started };
}

async function waitHealthy(url, child, logFile, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `Vendure exited with code ${child.exitCode} while starting; ${logFile}:\n${tail(logFile)}`,
      );
    }
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `Vendure did not answer ${url}/health within ${timeoutMs} ms; ${logFile}:\n${tail(logFile)}`,
  );
}

/**
 * Starts Vendure on a copy of the golden database in `dir`.
 * @param {{ dir: string, timeoutMs?: number }} opts
 */
export async function startVendure({ dir, timeoutMs = 120_000 }) {
  if (vendureVersion() === null) throw new Error("@vendure/core is not installed (npm install brings it)");
  mkdirSync(dir, { recursive: true });
  const golden = await goldenDatabase();
  const dbFile = join(dir, "vendure.sqlite");
  copyFileSync(golden.file, dbFile);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(dir, "vendure.log");
  const started = Date.now();
  const child = runChild(["serve", dbFile, String(port)], logFile);
  try {
    await waitHealthy(url, child, logFile, timeoutMs);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  const startMs = Date.now() - started;
  return {
    url,
    adminApi: `${url}/admin-api`,
    shopApi: `${url}/shop-api`,
    adminUser: SUPERADMIN.identifier,
    adminPassword: SUPERADMIN.password,
    dbFile,
    logFile,
    timings: { seedMs: golden.seedMs, startMs },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}
