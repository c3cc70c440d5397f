/**
 * The end-to-end world: both demo emulators running in this test process, a temp folder holding a copy of
 * the repository's passerelle.yaml (store pointed into the folder), and the real CLI spawned as a child
 * process against them. The child is awaited asynchronously: the emulators live in this process's event
 * loop, so a blocking spawnSync would leave them unable to answer.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type DemoSystems,
  placeOrders,
  type RateLimitOptions,
  startDemoSystems,
} from "@passerelle/emulators";
import { parseDocument } from "yaml";
import { rng } from "../../src/core/prng.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(ROOT, "bin/passerelle-src.mjs");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Added to (and overriding) the world's environment. */
  env?: Record<string, string>;
  /** Variables removed from the environment, e.g. to test a missing secret. */
  unset?: string[];
}

/** Spawns `node bin/passerelle-src.mjs ...args` (the CLI from its sources) from the repository root and collects its output. */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", fail);
    child.on("close", (code) =>
      done({
        // A child killed by a signal has no exit code; -1 makes every exit-code assertion fail loudly.
        code: code ?? -1,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
}

/** A CLI command running in the background (a worker, `passerelle run`, a long sync), to be signalled. */
export interface LiveCli {
  pid: number;
  /** What it printed so far, stdout and stderr. */
  stdout(): string;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when it exits (code -1 when killed by a signal). */
  exited: Promise<CliResult>;
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv): LiveCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env,
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
  const exited = new Promise<CliResult>((done, fail) => {
    child.on("error", fail);
    child.on("close", (code) => done({ code: code ?? -1, stdout: out, stderr: err }));
  });
  return {
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    kill: (signal) => child.kill(signal),
    exited,
  };
}

/** Polls `probe` until it returns something other than null/false; fails naming `what` after `deadlineMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | null | false | Promise<T | null | false>,
  deadlineMs = 120_000,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface World {
  systems: DemoSystems;
  dir: string;
  /** The copy of passerelle.yaml the CLI reads (PASSERELLE_CONFIG). */
  configPath: string;
  /** The store every configuration of this world points at. */
  storeUrl: string;
  /** process.env + the emulators' variables + PASSERELLE_CONFIG. */
  env: NodeJS.ProcessEnv;
  /** Values that must never appear in the CLI's output. */
  secrets: string[];
  cli(args: readonly string[], opts?: RunOptions): Promise<CliResult>;
  /**
   * Writes a variant of the repository's configuration into the world's folder and returns its path;
   * `edit` changes the parsed YAML document in place (comments kept).
   */
  writeConfig(name: string, edit?: (doc: ReturnType<typeof parseDocument>) => void): string;
  close(): Promise<void>;
}

export interface WorldOptions {
  products?: number;
  /** Sales the ERP holds that never came from the shop (see startDemoSystems). */
  erpSales?: number;
  /** Store URL; default a SQLite file in the world's folder. */
  storeUrl?: string;
  /** The shop's API budget (startDemoSystems' default: a Plus plan's); `{ enabled: false, … }` for none. */
  shopRateLimit?: RateLimitOptions;
  /**
   * Keep the repository's `categories` flow (default: dropped). With it, the products flow puts products in
   * their collections and a product whose category is not in the shop yet fails until the categories flow
   * ran; the tests of other behaviours sync the products flow alone, so their world has no category flow.
   * The demo (test/e2e/demo.test.ts) and the whole loop (loop.test.ts) keep it.
   */
  categories?: boolean;
}

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const systems = await startDemoSystems({
    products: opts.products ?? 40,
    erpSales: opts.erpSales ?? 0,
    ...(opts.shopRateLimit ? { rateLimit: opts.shopRateLimit } : {}),
  });
  // The emulator's default password is "admin", the same as its login: a leak of it could not be told
  // from the login in a message. A distinctive one makes the "no secret in the output" checks mean something.
  const password = `odoo-pw-${randomBytes(6).toString("hex")}`;
  systems.odoo.changePassword(password);
  const dir = mkdtempSync(join(tmpdir(), "passerelle-e2e-"));
  const storeUrl = opts.storeUrl ?? `sqlite:${join(dir, "passerelle.sqlite")}`;
  const template = readFileSync(join(ROOT, "passerelle.yaml"), "utf8");

  const writeConfig: World["writeConfig"] = (name, edit) => {
    const doc = parseDocument(template);
    doc.setIn(["store", "url"], storeUrl);
    if (!opts.categories) doc.deleteIn(["flows", "categories"]);
    edit?.(doc);
    const path = join(dir, name);
    writeFileSync(path, String(doc));
    return path;
  };
  const configPath = writeConfig("passerelle.yaml");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...systems.env,
    ODOO_PASSWORD: password,
    PASSERELLE_CONFIG: configPath,
  };
  // A developer's debug flag would print stack traces and break the "no stack trace" assertions.
  delete env.PASSERELLE_DEBUG;
  return {
    systems,
    dir,
    configPath,
    storeUrl,
    env,
    secrets: [password, systems.shopify.accessToken],
    cli(args, runOpts = {}) {
      const childEnv = { ...env, ...runOpts.env };
      for (const name of runOpts.unset ?? []) delete childEnv[name];
      return spawnCli(args, childEnv);
    },
    writeConfig,
    async close() {
      await systems.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { closedPort } from "../helpers/net.ts";

/** The parsed JSON a `--json` command printed on stdout; the error names the command's output when it is not JSON. */
export function json(res: CliResult): unknown {
  try {
    return JSON.parse(res.stdout);
  } catch {
    throw new Error(
      `expected JSON on stdout (exit ${res.code})\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`,
    );
  }
}

/** Shown in assertion messages, so a failing exit code says what the CLI printed. */
export function explain(res: CliResult): string {
  return `exit ${res.code}\nstdout:\n${res.stdout.slice(0, 4000)}\nstderr:\n${res.stderr.slice(0, 4000)}`;
}

/** A V8 stack frame line: "    at fn (file:line:col)" or "    at file:line:col". */
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

export function hasStackTrace(text: string): boolean {
  return STACK_FRAME.test(text);
}

/** The secrets found in the text, if any. */
export function leakedSecrets(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((s) => s.length > 0 && text.includes(s));
}

/**
 * The orders flow on a cron tick every second, with a short job expiry and the given batch size, the
 * catalogue and stock synced, and the shop's stock made endless, then `orders` orders placed: the set-up of
 * the multi-process tests. `confirmed()` counts the ERP's confirmed sales that came from the shop.
 */
export async function ordersEverySecond(
  world: World,
  opts: { batchSize: number; orders: number; seed: number },
): Promise<{ placed: ReturnType<typeof placeOrders>; confirmed: () => number }> {
  world.writeConfig("passerelle.yaml", (doc) => {
    doc.setIn(["flows", "orders", "trigger"], doc.createNode({ type: "schedule", cron: "* * * * * *" }));
    doc.setIn(["store", "jobExpireSeconds"], 10);
    doc.setIn(["flows", "orders", "batchSize"], opts.batchSize);
  });
  const setup = await world.cli(["sync", "products", "stock"]);
  if (setup.code !== 0) throw new Error(`catalogue set-up failed: ${explain(setup)}`);
  const { shopify, odoo } = world.systems;
  for (const item of shopify.data.inventoryItems.values()) {
    for (const level of item.levels.values()) {
      level.available = 1_000_000;
      level.on_hand = 1_000_000;
    }
  }
  const placed = placeOrders(shopify, opts.orders, rng(opts.seed));
  const confirmed = () =>
    odoo.data.rows("sale.order").filter((o) => o.state === "sale" && typeof o.client_order_ref === "string")
      .length;
  return { placed, confirmed };
}

/** The shard (0 … shards - 1) of a shop order by its number (`#1042` → 1042 % shards), as `shardedOrders`' filters cut. */
export function orderShard(name: string, shards: number): number {
  return Number(name.replace(/\D/g, "")) % shards;
}

/**
 * The shop's orders cut into `shards` flows (`orders_0` …, each with a filter on the order number and a cron
 * tick every second) in place of the one `orders` flow, the catalogue and stock synced and the shop's stock
 * made endless, then `orders` orders placed: the set-up of the multi-worker tests and benchmark. A flow's
 * records are written by one holder at a time (its lease), so the shards are what lets several workers write
 * at once. `governor` adds a shared budget on the ERP connection. `confirmed()` counts the ERP's confirmed
 * sales that came from the shop; `confirmedIn(s)` those of shard `s`.
 */
export async function shardedOrders(
  world: World,
  opts: { shards: number; orders: number; seed: number; batchSize: number; governor?: number },
): Promise<{
  placed: ReturnType<typeof placeOrders>;
  confirmed: () => number;
  confirmedIn: (shard: number) => number;
}> {
  world.writeConfig("passerelle.yaml", (doc) => {
    const orders = doc.getIn(["flows", "orders"]);
    doc.deleteIn(["flows", "orders"]);
    for (let s = 0; s < opts.shards; s++) {
      const flow = doc.createNode({
        source: { connection: "shopify", entity: "order" },
        target: { connection: "odoo", entity: "order" },
        batchSize: opts.batchSize,
        filter: `$number($replace(number, /[^0-9]/, "")) % ${opts.shards} = ${s}`,
        trigger: { type: "schedule", cron: "* * * * * *" },
      });
      doc.setIn(["flows", `orders_${s}`], flow);
    }
    if (!orders) throw new Error("passerelle.yaml has no orders flow to shard");
    doc.setIn(["store", "jobExpireSeconds"], 10);
    if (opts.governor)
      doc.setIn(["governor"], doc.createNode({ odoo: { requestsPerSecond: opts.governor } }));
  });
  const setup = await world.cli(["sync", "products", "stock"]);
  if (setup.code !== 0) throw new Error(`catalogue set-up failed: ${explain(setup)}`);
  const { shopify, odoo } = world.systems;
  for (const item of shopify.data.inventoryItems.values()) {
    for (const level of item.levels.values()) {
      level.available = 1_000_000;
      level.on_hand = 1_000_000;
    }
  }
  const placed = placeOrders(shopify, opts.orders, rng(opts.seed));
  const confirmedRefs = () =>
    odoo.data
      .rows("sale.order")
      .filter((o) => o.state === "sale" && typeof o.client_order_ref === "string")
      .map((o) => String(o.client_order_ref));
  return {
    placed,
    confirmed: () => confirmedRefs().length,
    confirmedIn: (shard) => confirmedRefs().filter((ref) => orderShard(ref, opts.shards) === shard).length,
  };
}
