/**
 * Scale-out throughput on PostgreSQL: shop orders synced into the ERP by 1, 2, 4 and 8 real
 * `passerelle run --role worker` processes (plus one `--role web` and one `--role scheduler`, as in
 * test/e2e/scale-out.test.ts), the ERP emulator adding 80 ms to every call and no rate limit. A flow has one
 * writer at a time (its lease), so the orders are cut into 16 flows by order number (shardedOrders in
 * test/e2e/helpers.ts): 8 workers × 2 jobs each can all write at once. Then one run where the vendor's
 * budget binds (a 429 limit on the ERP and the shared governor set to it), to show where adding workers
 * stops helping.
 *
 * Each configuration gets a fresh world (emulators, PostgreSQL schema, catalogue synced), `ORDERS` orders
 * placed, the processes started, and is timed until every order is confirmed in the ERP; every order is then
 * checked to be there exactly once. Throughput is taken over the steady part (from 10 % to 90 % of the
 * orders confirmed: process start-up and the last stragglers left out) and over the whole run; ratios are
 * against the 1-worker run of the same invocation. The emulators run in this process.
 *
 *   npm run bench:scale                          # 400 orders; SCALE_BENCH_ORDERS, SCALE_BENCH_WORKERS=1,2,4
 */

import pg from "pg";
import { type LiveCli, shardedOrders, startCli, startWorld } from "../test/e2e/helpers.ts";
import { TEST_PG_URL } from "../test/helpers/postgres.ts";
import { load1, loadAverages, ratio, saveResult } from "./lib/measure.ts";

const ORDERS = Number(process.env.SCALE_BENCH_ORDERS ?? 400);
const WORKERS = (process.env.SCALE_BENCH_WORKERS ?? "1,2,4,8").split(",").map(Number);
const SHARDS = 16;
const DELAY_MS = 80;
/** The vendor budget of the bound run: requests a second (the ERP's 429 limit and the governor's). */
const BUDGET = Number(process.env.SCALE_BENCH_BUDGET ?? 40);
const STALL_MS = 180_000;

interface Outcome {
  workers: number;
  budget: number | null;
  orders: number;
  /** Orders a second from 10 % to 90 % confirmed. */
  steadyPerS: number;
  /** Orders a second from the processes' start to the last order confirmed. */
  wholePerS: number;
  wholeS: number;
  erpCalls: number;
  erpCallsPerOrder: number;
  refused: number;
  load1AtStart: number;
  load1AtEnd: number;
}

async function dropSchemas(names: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    for (const s of names) await client.query(`drop schema if exists "${s}" cascade`);
  } finally {
    await client.end();
  }
}

async function once(workers: number, budget: number | null, tag: string): Promise<Outcome> {
  const schema = `bench_scale_${process.pid}_${tag}`;
  const url = new URL(TEST_PG_URL);
  url.searchParams.set("schema", schema);
  // No rate limit on the shop either: every shard reads the whole order stream (and drops the others'),
  // so 16 flows cost the shop's API 16 times the reads; with the demo's Plus-plan budget that throttled.
  const world = await startWorld({
    products: 20,
    storeUrl: url.toString(),
    shopRateLimit: { enabled: false, maximumAvailable: 20_000, restoreRate: 1_000 },
  });
  const procs: LiveCli[] = [];
  try {
    const { placed, confirmed } = await shardedOrders(world, {
      shards: SHARDS,
      orders: ORDERS,
      seed: 4242,
      batchSize: 25,
      ...(budget ? { governor: budget } : {}),
    });
    const { odoo } = world.systems;
    odoo.limiter.configure({ delayMs: DELAY_MS, ...(budget ? { perSecond: budget } : {}) });
    const env = { ...world.env, PASSERELLE_LOG_LEVEL: "error" };
    const load1AtStart = load1();
    const started = performance.now();
    for (let i = 0; i < workers; i++) procs.push(startCli(["run", "--role", "worker"], env));
    procs.push(startCli(["run", "--role", "web", "--port", "0"], env));
    procs.push(startCli(["run", "--role", "scheduler"], env));

    const marks = new Map<number, number>();
    let seen = 0;
    let movedAt = performance.now();
    for (;;) {
      const n = confirmed();
      const now = performance.now();
      for (const f of [0.1, 0.9, 1]) if (!marks.has(f) && n >= f * ORDERS) marks.set(f, now);
      if (n >= ORDERS) break;
      if (n !== seen) {
        seen = n;
        movedAt = now;
      } else if (now - movedAt > STALL_MS) {
        const logs = procs.map((p) => p.stderr().slice(-1000)).join("\n---\n");
        throw new Error(`stalled at ${n} of ${ORDERS} orders with ${workers} workers\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const load1AtEnd = load1();
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.exited));

    const byRef = new Map<string, number>();
    for (const o of odoo.data.rows("sale.order")) {
      const ref = String(o.client_order_ref);
      byRef.set(ref, (byRef.get(ref) ?? 0) + 1);
    }
    const wrong = placed.filter((p) => byRef.get(`shopify:${p.name}`) !== 1).map((p) => p.name);
    if (wrong.length > 0)
      throw new Error(`orders not in the ERP exactly once: ${wrong.slice(0, 20).join(", ")}`);

    const t10 = marks.get(0.1) ?? started;
    const t90 = marks.get(0.9) ?? started;
    const end = marks.get(1) ?? performance.now();
    const { accepted, refused } = odoo.limiter.stats;
    return {
      workers,
      budget,
      orders: ORDERS,
      steadyPerS: Math.round(((0.8 * ORDERS) / ((t90 - t10) / 1000)) * 100) / 100,
      wholePerS: Math.round((ORDERS / ((end - started) / 1000)) * 100) / 100,
      wholeS: Math.round((end - started) / 100) / 10,
      erpCalls: accepted,
      erpCallsPerOrder: Math.round((accepted / ORDERS) * 10) / 10,
      refused,
      load1AtStart,
      load1AtEnd,
    };
  } finally {
    for (const p of procs) p.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
    await world.close();
    await dropSchemas([schema, `${schema}_pgboss`]);
  }
}

const loadBefore = loadAverages();
const runs: Outcome[] = [];
for (const w of WORKERS) {
  const o = await once(w, null, `w${w}`);
  runs.push(o);
  console.log(
    `${w} worker(s): ${o.steadyPerS} orders/s steady, ${o.wholePerS} whole (${o.wholeS} s), ` +
      `${o.erpCallsPerOrder} ERP calls/order, load ${o.load1AtStart} → ${o.load1AtEnd}`,
  );
}
const maxWorkers = Math.max(...WORKERS);
const bound = await once(maxWorkers, BUDGET, "bound");
console.log(
  `${maxWorkers} workers, budget ${BUDGET} req/s: ${bound.steadyPerS} orders/s steady (ceiling ` +
    `${(BUDGET / bound.erpCallsPerOrder).toFixed(2)} = ${BUDGET} / ${bound.erpCallsPerOrder} calls per order), ` +
    `${bound.refused} refused`,
);
const base = runs.find((r) => r.workers === 1) ?? runs[0];
const ratios = Object.fromEntries(
  runs.map((r) => [
    `${r.workers}`,
    { steady: ratio(r.steadyPerS, base?.steadyPerS ?? 0), whole: ratio(r.wholePerS, base?.wholePerS ?? 0) },
  ]),
);
console.log(`ratios against 1 worker: ${JSON.stringify(ratios)}`);
const path = saveResult(`scale-workers-${ORDERS}`, {
  orders: ORDERS,
  shards: SHARDS,
  erpDelayMs: DELAY_MS,
  loadBefore,
  loadAfter: loadAverages(),
  runs,
  ratios,
  bound: { ...bound, ceilingPerS: Math.round((BUDGET / bound.erpCallsPerOrder) * 100) / 100 },
});
console.log(`saved ${path}`);
