#!/usr/bin/env node
/**
 * A real Medusa 2.21 server (PostgreSQL, no Redis) for tests, from the kit in ../shared/real/medusa (relative
 * to the repository root; MEDUSA_KIT overrides it). The kit installs Medusa in its own work dir
 * ($MEDUSA_HOME, default ${TMPDIR:-/tmp}/medusa-shop), never in this project's dependencies.
 *
 *   import { setupMedusa, startMedusa } from "./scripts/real/medusa.mjs";
 *   setupMedusa();                          // once: npm ci, build, template database (idempotent, ~0.2 s when done)
 *   const shop = await startMedusa();       // a fresh clone of the template, served on a free port
 *   // { url, adminEmail, adminPassword, secretKey, publishableKey, seed, database, timings, stop() }
 *   await shop.stop();                      // stops the server and drops its database
 *
 * CLI: `node scripts/real/medusa.mjs [--setup-only]` sets up (printing the time), then starts one server,
 * prints its connection as `export` lines and keeps it running until Ctrl-C.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const MEDUSA_KIT = process.env.MEDUSA_KIT ?? resolve(ROOT, "..", "shared", "real", "medusa");
/** The kit's work dir (its default), where setup.sh builds the server and writes seed.json. */
export const MEDUSA_HOME = process.env.MEDUSA_HOME ?? join(process.env.TMPDIR ?? tmpdir(), "medusa-shop");

/** Whether the kit is there and PostgreSQL answers (setup.sh needs its client tools and a CREATEDB role). */
export function medusaAvailable() {
  if (!existsSync(join(MEDUSA_KIT, "setup.sh")))
    return { ok: false, missing: `the Medusa kit is not at ${MEDUSA_KIT} (set MEDUSA_KIT)` };
  const have = (bin) => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
  const missing = ["psql", "createdb", "dropdb", "pg_isready", "curl"].filter((b) => !have(b));
  if (missing.length > 0)
    return { ok: false, missing: `${missing.join(", ")} not found (PostgreSQL client tools)` };
  const host = process.env.MEDUSA_DB_HOST ?? "127.0.0.1";
  const port = process.env.MEDUSA_DB_PORT ?? "5432";
  if (spawnSync("pg_isready", ["-q", "-h", host, "-p", port], { stdio: "ignore" }).status !== 0)
    return { ok: false, missing: `PostgreSQL does not answer on ${host}:${port}` };
  return { ok: true, missing: null };
}

function run(script, args = []) {
  const t0 = Date.now();
  const r = spawnSync("bash", [join(MEDUSA_KIT, script), ...args], {
    env: { ...process.env, MEDUSA_HOME },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    throw new Error(
      `${script} ${args.join(" ")} failed (exit ${r.status}): ${`${r.stderr}\n${r.stdout}`.slice(-2000)}`,
    );
  }
  return { out: r.stdout, err: r.stderr, ms: Date.now() - t0 };
}

/** Builds the server and its template database once (setup.sh skips what is up to date). Returns its time. */
export function setupMedusa({ log = () => {} } = {}) {
  const { ms } = run("setup.sh");
  log(`Medusa set up in ${ms} ms at ${MEDUSA_HOME}`);
  return { setupMs: ms };
}

export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? done(address.port) : fail(new Error("no port")),
      );
    });
  });
}

let started = 0;

/**
 * Clones the template into a database of its own (unique per start: instance, process and a counter) and
 * serves it on a free loopback port. Runs setupMedusa first when the server was never built.
 */
export async function startMedusa({ log = () => {}, instance = "" } = {}) {
  const available = medusaAvailable();
  if (!available.ok) throw new Error(available.missing);
  if (instance && !/^[a-z0-9_]+$/.test(instance))
    throw new Error(`Medusa instance must match [a-z0-9_]+, got ${JSON.stringify(instance)}`);
  let setupMs = null;
  if (
    !existsSync(join(MEDUSA_HOME, "seed.json")) ||
    !existsSync(join(MEDUSA_HOME, "app", ".medusa", "server"))
  )
    setupMs = setupMedusa({ log }).setupMs;
  const database = `passerelle_medusa_${instance ? `${instance}_` : ""}${process.pid}_${++started}`;
  let port = 0;
  let start;
  // Another process may take the free port between the probe and the server's listen: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      start = run("start.sh", [String(port), database]);
      break;
    } catch (err) {
      if (attempt >= 3 || !/already in use/.test(String(err))) {
        spawnSync("bash", [join(MEDUSA_KIT, "stop.sh"), String(port), "--drop", database], {
          stdio: "ignore",
          env: { ...process.env, MEDUSA_HOME },
        });
        throw err;
      }
    }
  }
  const url = /MEDUSA_URL=(\S+)/.exec(start.out)?.[1] ?? `http://127.0.0.1:${port}`;
  const seed = JSON.parse(readFileSync(join(MEDUSA_HOME, "seed.json"), "utf8"));
  log(`Medusa at ${url} (database ${database}, start ${start.ms} ms)`);
  let stopped = false;
  const reap = () => {
    if (!stopped)
      spawnSync("bash", [join(MEDUSA_KIT, "stop.sh"), String(port), "--drop", database], {
        stdio: "ignore",
        env: { ...process.env, MEDUSA_HOME },
      });
  };
  // A test runner that dies must not leave the server (~0.5 GB) or its database behind.
  process.once("exit", reap);
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", reap);
    run("stop.sh", [String(port), "--drop", database]);
  };
  return {
    url,
    port,
    database,
    adminEmail: seed.admin_email,
    adminPassword: seed.admin_password,
    secretKey: seed.secret_key,
    publishableKey: seed.publishable_key,
    seed,
    timings: { setupMs, startMs: start.ms },
    stop,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const available = medusaAvailable();
  if (!available.ok) {
    console.error(`Medusa cannot run here: ${available.missing}`);
    process.exit(1);
  }
  setupMedusa({ log: (m) => console.error(m) });
  if (!process.argv.includes("--setup-only")) {
    const shop = await startMedusa({ log: (m) => console.error(m) });
    console.log(`export MEDUSA_URL=${shop.url}`);
    console.log(`export MEDUSA_SECRET_KEY=${shop.secretKey}`);
    console.log(`export MEDUSA_PUBLISHABLE_KEY=${shop.publishableKey}`);
    const stop = async () => {
      await shop.stop();
      process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    if (process.argv.includes("--once")) await stop();
  }
}
