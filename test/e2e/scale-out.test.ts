/**
 * Scale-out on PostgreSQL through the real CLI: three `passerelle run --role worker` processes, one
 * `--role web` and one `--role scheduler` share a PostgreSQL store and pg-boss's queues. Orders placed in
 * the shop emulator (2,000; SCALE_ORDERS to change) flow to the ERP emulator on a cron tick
 * every second. Mid-run, the worker holding the orders flow's lease is killed with SIGKILL; another takes
 * the flow over. In the end every shop order is in the ERP exactly once, confirmed, and once the scheduler
 * is stopped no job is left in the queues (the killed worker's job expired and was run again).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { onPostgres, TEST_PG_URL } from "../helpers/postgres.ts";
import {
  explain,
  type LiveCli,
  ordersEverySecond,
  startCli,
  startWorld,
  type World,
  waitFor,
} from "./helpers.ts";
import { odooSalesByRef } from "./state.ts";

/**
 * One flow's records are written by one holder at a time (its lease), so the run takes as long as one
 * process takes: 2,000 orders in about 80 s on an idle 2-core machine, several minutes on a loaded one
 * (the wait below gives up only when nothing moves for STALL_MS). SCALE_ORDERS changes the size.
 */
const ORDERS = Number(process.env.SCALE_ORDERS ?? 2000);
const SCHEMA = `scale_out_${process.pid}_${Date.now().toString(36)}`;
/** Given up when no order has been confirmed for this long (a stall, not a deadline). */
const STALL_MS = 120_000;

/** Waits until `count()` reaches `target`; fails only when it has not moved for STALL_MS. */
async function untilStalled(count: () => number, target: number, logs: () => string): Promise<void> {
  let seen = count();
  let movedAt = Date.now();
  while (count() < target) {
    await new Promise((r) => setTimeout(r, 250));
    if (count() !== seen) {
      seen = count();
      movedAt = Date.now();
    } else if (Date.now() - movedAt > STALL_MS) {
      assert.fail(`stalled at ${seen} of ${target} orders\n${logs()}`);
    }
  }
}

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

await onPostgres("scale-out: workers, web and scheduler on PostgreSQL", () => {
  describe("scale-out: workers, web and scheduler on PostgreSQL", () => {
    let world: World;
    const procs: LiveCli[] = [];

    before(async () => {
      const url = new URL(TEST_PG_URL);
      url.searchParams.set("schema", SCHEMA);
      world = await startWorld({ products: 20, storeUrl: url.toString() });
    });

    after(async () => {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => p.exited));
      await world.close();
      for (const s of [SCHEMA, `${SCHEMA}_pgboss`]) await query(`drop schema if exists "${s}" cascade`);
    });

    test(`${ORDERS} orders through 3 workers + web + scheduler, one worker SIGKILLed: exactly one ERP order each`, async () => {
      const { placed, confirmed } = await ordersEverySecond(world, {
        batchSize: 50,
        orders: ORDERS,
        seed: 18,
      });
      const { odoo } = world.systems;

      const env = { ...world.env, PASSERELLE_LOG_LEVEL: "warn" };
      const worker = () => startCli(["run", "--role", "worker"], env);
      const workers = [worker(), worker(), worker()];
      const web = startCli(["run", "--role", "web", "--port", "0"], env);
      const scheduler = startCli(["run", "--role", "scheduler"], env);
      procs.push(...workers, web, scheduler);
      const started = Date.now();

      // Kill the worker that holds the flow, once a third of the orders are in.
      await untilStalled(confirmed, ORDERS / 3, () =>
        workers.map((w) => w.stderr().slice(-2000)).join("\n---\n"),
      );
      const [lease] = await query<{ holder: string }>(
        `select holder from "${SCHEMA}".leases where name = 'flow:orders'`,
      );
      const holderPid = Number(/-(\d+)(#\d+)?$/.exec(lease?.holder ?? "")?.[1]);
      const victim = workers.find((w) => w.pid === holderPid);
      assert.ok(victim, `the flow's lease is held by ${lease?.holder}, not by one of the workers`);
      victim.kill("SIGKILL");
      await victim.exited;
      const atKill = confirmed();
      assert.ok(atKill < ORDERS, "every order was in before the kill: the kill tested nothing");

      // The rest of the orders come in (given up only if nothing moves for STALL_MS).
      await untilStalled(confirmed, ORDERS, () =>
        workers.map((w) => w.stderr().slice(-2000)).join("\n---\n"),
      );
      const syncS = (Date.now() - started) / 1000;

      // No more ticks: every job queued, running or killed must come to an end.
      scheduler.kill("SIGTERM");
      const stopped = await scheduler.exited;
      assert.equal(stopped.code, 0, explain(stopped));
      const left = () =>
        query<{
          name: string;
          state: string;
          retry_count: number;
          started_on: string | null;
          output: unknown;
        }>(
          `select name, state, retry_count, started_on, output from "${SCHEMA}_pgboss".job where state in ('created', 'retry', 'active')`,
        );
      await waitFor(
        "no job left queued, retrying or running",
        async () => (await left()).length === 0,
        60_000,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(await left())}`);
      });

      const missing: string[] = [];
      const duplicated: string[] = [];
      for (const p of placed) {
        const n = odooSalesByRef(odoo, `shopify:${p.name}`).length;
        if (n === 0) missing.push(p.name);
        if (n > 1) duplicated.push(p.name);
      }
      assert.deepEqual(missing, [], "orders missing from the ERP");
      assert.deepEqual(duplicated, [], "orders in the ERP more than once");
      assert.equal(odoo.data.rows("sale.order").length, ORDERS);
      const dead = await query<{ name: string; n: number }>(
        `select name, count(*)::int as n from "${SCHEMA}_pgboss".job where name like '%__dead' group by name`,
      );
      assert.deepEqual(dead, [], "jobs were given up");
      const failures = await world.cli(["failures", "list", "--flow", "orders", "--json"]);
      assert.deepEqual(JSON.parse(failures.stdout), [], "failed records left open");
      const runs = await query<{ holder: string; status: string; n: number }>(
        `select status, count(*)::int as n from "${SCHEMA}".runs where flow = 'orders' group by status`,
      );
      console.log(
        `scale-out: ${ORDERS} orders in ${syncS.toFixed(1)} s; killed ${victim.pid} at ${atKill}; runs ${JSON.stringify(runs)}`,
      );
      for (const p of [...workers.filter((w) => w !== victim), web]) p.kill("SIGTERM");
      for (const p of [...workers.filter((w) => w !== victim), web]) {
        const res = await p.exited;
        assert.equal(res.code, 0, explain(res));
      }
    });
  });
});
