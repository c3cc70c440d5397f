#!/usr/bin/env node
/**
 * A real WooCommerce 7.9 shop (WordPress 6.1, PHP 8.2's built-in server, MariaDB) for tests, from the kit
 * in ../shared/real/woocommerce (relative to the repository root; WOO_KIT overrides it). It installs
 * nothing itself beyond what the kit's setup.sh installs (Debian packages, when missing and run as root).
 *
 *   import { setupWoo, startWoo } from "./scripts/real/woocommerce.mjs";
 *   setupWoo();                       // once: builds the shop and its database snapshot (idempotent)
 *   const shop = await startWoo();    // reset to the snapshot, served on a free port
 *   // { url, username, applicationPassword, consumerKey, consumerSecret, home, timings, stop() }
 *   await shop.stop();
 *
 * CLI: `node scripts/real/woocommerce.mjs [--setup-only]` sets up (printing the time), then starts one
 * shop, prints its connection as `export` lines and keeps it running until Ctrl-C.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const WOO_KIT = process.env.WOO_KIT ?? resolve(ROOT, "..", "shared", "real", "woocommerce");
/** The shop's work dir and database: its own, so it never meets a shop someone else started. */
export const WOO_HOME = process.env.PASSERELLE_WOO_HOME ?? join(tmpdir(), "passerelle-woo");
export const WOO_DB_NAME = process.env.PASSERELLE_WOO_DB ?? "passerelle_woo";

/**
 * One shop per test file that runs at the same time as another (node --test runs two files at once): each
 * instance has its own work dir and database, set up on first use (~7 s). No instance: the default shop.
 */
function where(instance) {
  if (!instance) return { home: WOO_HOME, db: WOO_DB_NAME };
  if (!/^[a-z0-9_]+$/.test(instance))
    throw new Error(`WooCommerce instance must match [a-z0-9_]+, got ${JSON.stringify(instance)}`);
  return { home: `${WOO_HOME}-${instance}`, db: `${WOO_DB_NAME}_${instance}` };
}

/** Whether the kit is there and PHP and MariaDB are (or setup.sh may install them, as root). */
export function wooAvailable() {
  if (!existsSync(join(WOO_KIT, "setup.sh")))
    return { ok: false, missing: `the WooCommerce kit is not at ${WOO_KIT} (set WOO_KIT)` };
  const have = (bin) => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const missing = ["php", "mariadb"].filter((b) => !have(b));
  if (missing.length > 0 && !root)
    return { ok: false, missing: `${missing.join(", ")} not found, and setup.sh needs root to install them` };
  return { ok: true, missing: null };
}

function run(script, env, at, args = []) {
  const t0 = Date.now();
  const r = spawnSync("bash", [join(WOO_KIT, script), ...args], {
    env: { ...process.env, WOO_HOME: at.home, WOO_DB_NAME: at.db, ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    throw new Error(`${script} failed (exit ${r.status}): ${(r.stderr || r.stdout || "").slice(-2000)}`);
  }
  return { out: r.stdout, ms: Date.now() - t0 };
}

/** Builds the shop once (setup.sh skips what exists and keeps valid credentials). Returns its time. */
export function setupWoo({ log = () => {}, instance = "" } = {}) {
  const at = where(instance);
  const { ms } = run("setup.sh", {}, at);
  log(`WooCommerce shop set up in ${ms} ms at ${at.home}`);
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

/**
 * Resets the shop's database to the snapshot setup.sh made and serves it on a free loopback port.
 * Runs setupWoo first when the shop was never set up.
 */
export async function startWoo({ log = () => {}, webhooksSync = false, instance = "" } = {}) {
  const available = wooAvailable();
  if (!available.ok) throw new Error(available.missing);
  const at = where(instance);
  const WOO_HOME = at.home;
  let setupMs = null;
  if (!existsSync(join(WOO_HOME, "template.sql"))) setupMs = setupWoo({ log, instance }).setupMs;
  run("stop.sh", {}, at, [WOO_HOME]);
  const reset = run("reset.sh", {}, at, [WOO_HOME]);
  const port = await freePort();
  const start = run(
    "start.sh",
    { WOO_PORT: String(port), ...(webhooksSync ? { WOO_WEBHOOKS_SYNC: "1" } : {}) },
    at,
    [WOO_HOME],
  );
  const url = /WOO_URL=(\S+)/.exec(start.out)?.[1] ?? `http://127.0.0.1:${port}`;
  const creds = JSON.parse(readFileSync(join(WOO_HOME, "credentials.json"), "utf8"));
  log(`WooCommerce ${creds.woocommerce_version} at ${url} (reset ${reset.ms} ms, start ${start.ms} ms)`);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", reap);
    run("stop.sh", {}, at, [WOO_HOME]);
  };
  // A test runner that dies must not leave the PHP server behind.
  const reap = () => {
    if (!stopped)
      spawnSync("bash", [join(WOO_KIT, "stop.sh"), WOO_HOME], {
        stdio: "ignore",
        env: { ...process.env, WOO_HOME, WOO_DB_NAME: at.db },
      });
  };
  process.once("exit", reap);
  return {
    url,
    home: WOO_HOME,
    username: creds.admin_user,
    applicationPassword: creds.application_password,
    basicAuth: creds.basic_auth,
    consumerKey: creds.consumer_key,
    consumerSecret: creds.consumer_secret,
    version: creds.woocommerce_version,
    timings: { setupMs, resetMs: reset.ms, startMs: start.ms },
    /** Runs due Action Scheduler jobs (webhook deliveries) now; the kit's must-use plugin answers it. */
    async runQueue() {
      const res = await fetch(`${url}/wp-json/woo-test/v1/run-queue`, {
        method: "POST",
        headers: { authorization: creds.basic_auth },
      });
      if (!res.ok) throw new Error(`run-queue answered HTTP ${res.status}`);
      return res.json();
    },
    stop,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  setupWoo({ log: (m) => console.error(m) });
  if (!process.argv.includes("--setup-only")) {
    const shop = await startWoo({ log: (m) => console.error(m) });
    console.log(`export WOO_URL=${shop.url}`);
    console.log(`export WOO_USERNAME=${shop.username}`);
    console.log(`export WOO_APPLICATION_PASSWORD='${shop.applicationPassword}'`);
    const stop = async () => {
      await shop.stop();
      process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    if (process.argv.includes("--once")) await stop();
  }
}
