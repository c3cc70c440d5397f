/**
 * The chaos run: orders placed in the shop emulator flow to the ERP emulator through `passerelle worker`, a
 * separate process, while the ERP injects 5xx, 429, timeouts and writes applied-then-dropped, and the worker
 * is killed with SIGKILL at random moments and restarted. The emulators live in this process, so they
 * survive the kills. At the end every shop order is checked against the ERP, record by record.
 *
 * Used by test/chaos/chaos.test.ts (CI size) and scripts/chaos.mjs (`npm run chaos -- --orders 10000`), which
 * both judge the run with verifyChaos.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import type { FaultStats } from "@passerelle/emulators";
import { placeOrders } from "@passerelle/emulators";
import Big from "big.js";
import { rng } from "../../src/core/prng.ts";
import { explain, ROOT, startWorld, type World } from "../e2e/helpers.ts";
import { odooSalesByRef, shopifyOrderLines, shopifyOrderTotal } from "../e2e/state.ts";

export interface ChaosOptions {
  orders: number;
  /** SIGKILLs of the worker (at least 5 for the suite). */
  kills: number;
  seed: number;
  /**
   * After the kills, the last worker runs until it is idle (every order synced, nothing left to retry).
   * It is given up as stalled when no further order has been confirmed in the ERP for this long.
   */
  stallMs?: number;
  /** Fault rates at the ERP (defaults: 5 % 5xx, 2 % timeouts, 1 % 429, 3 % write applied then dropped). */
  rates?: { "5xx": number; timeout: number; "429": number; drop: number };
  log?: (line: string) => void;
}

export const DEFAULT_STALL_MS = 120_000;

export interface ChaosReport {
  seed: number;
  orders: number;
  /** SIGKILLs asked for, and the fault rates the ERP was given. */
  expectedKills: number;
  rates: NonNullable<ChaosOptions["rates"]>;
  /** How the last worker ended: idle on its own (exit code), or given up as stalled. */
  ending: { idle: true; exitCode: number | null } | { idle: false; stalledForMs: number };
  /** From the first worker's start to the last one going idle. */
  syncMs: number;
  erpSales: number;
  exactlyOne: number;
  missing: string[];
  duplicated: string[];
  wrongTotal: string[];
  wrongLines: string[];
  notConfirmed: string[];
  kills: { atMs: number; erpSalesAtKill: number }[];
  faults: FaultStats["injected"];
  erpRequests: number;
  openFailures: number;
  durationMs: number;
}

const BIN = join(ROOT, "bin/passerelle-src.mjs");

function startWorker(world: World, logs: string[], untilIdle = false): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "worker",
      "orders",
      "--interval",
      "300",
      "--lease",
      "2000",
      "--auto-retries",
      "50",
      ...(untilIdle ? ["--until-idle"] : []),
    ],
    { cwd: ROOT, env: { ...world.env, PASSERELLE_LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const keep = (c: Buffer) => {
    logs.push(c.toString("utf8"));
    if (logs.length > 200) logs.splice(0, logs.length - 200);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits for a worker started with --until-idle to exit, or gives up once `progress` has not moved for stallMs. */
async function idleOrStalled(
  worker: ChildProcess,
  progress: () => number,
  stallMs: number,
): Promise<ChaosReport["ending"]> {
  let gone = false;
  const exit = exited(worker).then(() => {
    gone = true;
  });
  let seen = progress();
  let movedAt = Date.now();
  for (;;) {
    await Promise.race([exit, sleep(250)]);
    if (gone) return { idle: true, exitCode: worker.exitCode };
    const now = progress();
    if (now !== seen) {
      seen = now;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs) {
      return { idle: false, stalledForMs: Date.now() - movedAt };
    }
  }
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  const random = rng(opts.seed);
  const started = Date.now();
  const world = await startWorld({ products: 20 });
  const logs: string[] = [];
  let worker: ChildProcess | null = null;
  try {
    // Fast failure detection and short backoff keep the CI size quick; the fault rates stay as specified.
    world.writeConfig("passerelle.yaml", (doc) => {
      doc.setIn(["connections", "odoo", "timeoutMs"], 250);
      doc.setIn(
        ["retry"],
        doc.createNode({ attempts: 4, baseDelayMs: 20, maxDelayMs: 400, maxElapsedMs: 10_000 }),
      );
      doc.setIn(["flows", "orders", "batchSize"], 50);
    });
    const setupConfig = world.writeConfig("setup.yaml");
    const setup = await world.cli(["--config", setupConfig, "sync", "products", "stock"]);
    if (setup.code !== 0) throw new Error(`catalogue sync failed\n${explain(setup)}`);
    const { shopify, odoo } = world.systems;
    // Enough stock that every order can be placed.
    for (const item of shopify.data.inventoryItems.values()) {
      for (const level of item.levels.values()) {
        level.available = 1_000_000;
        level.on_hand = 1_000_000;
      }
    }
    const placed = placeOrders(shopify, opts.orders, rng(opts.seed + 1));
    log(
      `placed ${placed.length} orders in the shop emulator (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    const rates = opts.rates ?? { "5xx": 0.05, timeout: 0.02, "429": 0.01, drop: 0.03 };
    odoo.faults.configure({ rates, seed: opts.seed, retryAfterS: 0.2 });
    const syncStarted = Date.now();

    const refs = placed.map((p) => `shopify:${p.name}`);
    const confirmed = () =>
      odoo.data.rows("sale.order").filter((o) => o.state === "sale" && typeof o.client_order_ref === "string")
        .length;
    const kills: ChaosReport["kills"] = [];
    for (let k = 0; k < opts.kills; k++) {
      worker = startWorker(world, logs);
      // Kill it at a random moment while it works: once it is talking to the ERP again.
      const before = odoo.faults.stats.requests;
      while (
        odoo.faults.stats.requests < before + 10 &&
        worker.exitCode === null &&
        confirmed() < refs.length
      )
        await sleep(50);
      await sleep(random.int(100, 3_000));
      if (worker.exitCode !== null) throw new Error(`the worker exited on its own:\n${logs.join("")}`);
      worker.kill("SIGKILL");
      await exited(worker);
      kills.push({ atMs: Date.now() - started, erpSalesAtKill: confirmed() });
      log(`kill ${k + 1}: ${confirmed()} of ${refs.length} orders confirmed in the ERP so far`);
    }
    // The last worker runs until it is idle: what the ERP holds then is final, so it is checked as is.
    worker = startWorker(world, logs, true);
    const ending = await idleOrStalled(worker, confirmed, opts.stallMs ?? DEFAULT_STALL_MS);
    if (!ending.idle) log(`stalled: ${confirmed()} of ${refs.length} orders confirmed`);
    const syncMs = Date.now() - syncStarted;
    worker.kill("SIGTERM");
    await exited(worker);
    worker = null;
    odoo.faults.configure({});

    const report: ChaosReport = {
      seed: opts.seed,
      orders: refs.length,
      expectedKills: opts.kills,
      rates,
      ending,
      syncMs,
      erpSales: odoo.data.rows("sale.order").length,
      exactlyOne: 0,
      missing: [],
      duplicated: [],
      wrongTotal: [],
      wrongLines: [],
      notConfirmed: [],
      kills,
      faults: { ...odoo.faults.stats.injected },
      erpRequests: odoo.faults.stats.requests,
      openFailures: 0,
      durationMs: 0,
    };
    for (const p of placed) {
      const ref = `shopify:${p.name}`;
      const sales = odooSalesByRef(odoo, ref);
      if (sales.length === 0) {
        report.missing.push(ref);
        continue;
      }
      if (sales.length > 1) {
        report.duplicated.push(ref);
        continue;
      }
      report.exactlyOne++;
      const [sale] = sales;
      const order = [...shopify.data.orders.values()].find((o) => o.name === p.name);
      if (!sale || !order) continue;
      if (!new Big(sale.total).eq(shopifyOrderTotal(order).round(2, Big.roundHalfUp)))
        report.wrongTotal.push(ref);
      if (JSON.stringify(sale.lines) !== JSON.stringify(shopifyOrderLines(order)))
        report.wrongLines.push(ref);
      if (sale.state !== "sale") report.notConfirmed.push(ref);
    }
    const failures = await world.cli(["failures", "list", "--flow", "orders", "--json"]);
    try {
      const open = JSON.parse(failures.stdout) as {
        key: string;
        errorKind: string;
        errorMessage: string;
        attempts: number;
      }[];
      report.openFailures = open.length;
      for (const f of open.slice(0, 20))
        log(`open failure ${f.key} (${f.errorKind}, ${f.attempts} attempts): ${f.errorMessage}`);
    } catch {
      report.openFailures = -1;
    }
    for (const ref of report.notConfirmed.slice(0, 5)) {
      const trace = await world.cli(["trace", "order", ref]);
      log(`trace of ${ref}:\n${trace.stdout}`);
    }
    report.durationMs = Date.now() - started;
    return report;
  } catch (err) {
    if (logs.length > 0) log(`worker output (last lines):\n${logs.join("").slice(-4000)}`);
    throw err;
  } finally {
    if (worker) {
      worker.kill("SIGKILL");
      await exited(worker);
    }
    await world.close();
  }
}

/**
 * Every check of a chaos run, shared by the test and `npm run chaos`: empty when the run proves what it
 * should, else one line per problem. What it checks: the worker was killed as many times as asked and
 * every fault kind asked for was injected; the last worker went idle on its own (exit 0) rather than
 * stalling; every shop order is in the ERP exactly once, confirmed, with the shop's total and lines; the
 * ERP holds no other sale; and no failed record is left open.
 */
export function verifyChaos(r: ChaosReport): string[] {
  const problems: string[] = [];
  const some = (refs: string[]) => `${refs.slice(0, 10).join(", ")}${refs.length > 10 ? ", …" : ""}`;
  if (r.kills.length !== r.expectedKills)
    problems.push(`the worker was killed ${r.kills.length} times, not ${r.expectedKills}`);
  for (const kind of ["5xx", "timeout", "429", "drop"] as const) {
    if (r.rates[kind] > 0 && r.faults[kind] === 0)
      problems.push(`no ${kind} fault was injected (rate ${r.rates[kind]}): the run did not test it`);
  }
  if (!r.ending.idle)
    problems.push(
      `the last worker stalled: no order confirmed for ${(r.ending.stalledForMs / 1000).toFixed(0)} s`,
    );
  else if (r.ending.exitCode !== 0) problems.push(`the last worker exited with code ${r.ending.exitCode}`);
  const lists: [string, string[]][] = [
    ["missing from the ERP", r.missing],
    ["in the ERP more than once", r.duplicated],
    ["not confirmed in the ERP", r.notConfirmed],
    ["with another total in the ERP", r.wrongTotal],
    ["with other lines in the ERP", r.wrongLines],
  ];
  for (const [what, refs] of lists)
    if (refs.length > 0) problems.push(`${refs.length} orders ${what}: ${some(refs)}`);
  if (r.exactlyOne !== r.orders)
    problems.push(`${r.exactlyOne} of ${r.orders} shop orders have exactly one sale in the ERP`);
  if (r.erpSales !== r.orders)
    problems.push(`the ERP holds ${r.erpSales} sales for ${r.orders} shop orders (no other sale may exist)`);
  if (r.openFailures !== 0)
    problems.push(
      r.openFailures < 0
        ? "the failed records could not be listed"
        : `${r.openFailures} failed records left open`,
    );
  return problems;
}

/** The command that reruns a run with the same orders, faults and kill times. */
export function rerunCommand(r: Pick<ChaosReport, "orders" | "expectedKills" | "seed">): string {
  return `npm run chaos -- --orders ${r.orders} --kills ${r.expectedKills} --seed ${r.seed}`;
}

export function formatReport(r: ChaosReport): string {
  const f = r.faults;
  const ending = r.ending.idle
    ? `idle (exit code ${r.ending.exitCode})`
    : `stalled (no order confirmed for ${(r.ending.stalledForMs / 1000).toFixed(0)} s)`;
  return [
    `seed:                             ${r.seed} (rerun: ${rerunCommand(r)})`,
    `orders placed in the shop:        ${r.orders}`,
    `sale orders in the ERP:           ${r.erpSales}`,
    `exactly one sale per shop order:  ${r.exactlyOne}`,
    `missing:                          ${r.missing.length}`,
    `duplicated:                       ${r.duplicated.length}`,
    `total differs:                    ${r.wrongTotal.length}`,
    `lines differ:                     ${r.wrongLines.length}`,
    `not confirmed:                    ${r.notConfirmed.length}`,
    `open failed records:              ${r.openFailures}`,
    `worker SIGKILLs:                  ${r.kills.length} (at ${r.kills.map((k) => `${(k.atMs / 1000).toFixed(1)}s/${k.erpSalesAtKill}`).join(", ")})`,
    `last worker:                      ${ending}`,
    `ERP requests:                     ${r.erpRequests}`,
    `faults injected:                  5xx ${f["5xx"]}, 429 ${f["429"]}, timeout ${f.timeout}, write-then-drop ${f.drop}`,
    `sync (first worker to idle):      ${(r.syncMs / 1000).toFixed(1)} s, ${(r.orders / (r.syncMs / 1000)).toFixed(1)} orders/s`,
    `duration:                         ${(r.durationMs / 1000).toFixed(1)} s`,
  ].join("\n");
}
