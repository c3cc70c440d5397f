/**
 * The shared rate governor with real worker processes: four `passerelle run --role worker` processes and a
 * scheduler on one PostgreSQL store sync shop orders into an Odoo emulator that allows 10 requests a second
 * (a token bucket of 10; 429 beyond), with `governor: { odoo: { requestsPerSecond: 10 } }`. The orders are
 * cut into four flows (shardedOrders), so four runs write to the ERP at once, from different processes.
 *
 * Acceptance (issue 18): no 429, and at least 90 % of the limit used. The rate is the emulator's accepted
 * calls over the window in which every shard had work: from the moment each of the four flows has an order
 * in the ERP to the moment the first of them has all of its own in. Outside that window fewer flows have
 * work (start-up, the tail), which says nothing of the governor. The control run, without the governor,
 * gets 429s from the same set-up, so the test can tell the difference.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { onPostgres, TEST_PG_URL } from "../helpers/postgres.ts";
import { type LiveCli, orderShard, shardedOrders, startCli, startWorld, type World } from "./helpers.ts";

const SCHEMA = `governor_workers_${process.pid}_${Date.now().toString(36)}`;
const LIMIT = 10;
const SHARDS = 4;
const ORDERS = Number(process.env.GOVERNOR_ORDERS ?? 160);
/** Given up when no call has been accepted for this long (a stall, not a deadline). */
const STALL_MS = 120_000;

async function query<T>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Polls until `done()`; fails when `progress()` has not moved for STALL_MS. */
async function until(what: string, done: () => boolean, progress: () => number, logs: () => string) {
  let seen = progress();
  let movedAt = Date.now();
  while (!done()) {
    await new Promise((r) => setTimeout(r, 50));
    if (progress() !== seen) {
      seen = progress();
      movedAt = Date.now();
    } else if (Date.now() - movedAt > STALL_MS) {
      assert.fail(`stalled waiting for ${what}\n${logs()}`);
    }
  }
}

await onPostgres("shared rate governor: 4 worker processes", () => {
  describe("shared rate governor: 4 worker processes", () => {
    let world: World;
    const procs: LiveCli[] = [];
    const stopAll = async () => {
      for (const p of procs) p.kill("SIGTERM");
      await Promise.all(procs.map((p) => p.exited));
      procs.length = 0;
    };

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

    test(`4 workers, ${ORDERS} orders, a 10 req/s ERP: no 429, at least 90 % of the limit used while busy`, async () => {
      const { placed, confirmed, confirmedIn } = await shardedOrders(world, {
        shards: SHARDS,
        orders: ORDERS,
        seed: 1810,
        batchSize: 25,
        governor: LIMIT,
      });
      const perShard = Array.from(
        { length: SHARDS },
        (_, s) => placed.filter((p) => orderShard(p.name, SHARDS) === s).length,
      );
      assert.ok(Math.min(...perShard) > 0, `a shard has no orders: ${perShard}`);
      const { odoo } = world.systems;
      odoo.limiter.configure({ perSecond: LIMIT });
      const stats = odoo.limiter.stats;

      const env = { ...world.env, PASSERELLE_LOG_LEVEL: "warn" };
      const workers = [1, 2, 3, 4].map(() => startCli(["run", "--role", "worker"], env));
      procs.push(...workers, startCli(["run", "--role", "scheduler"], env));
      const logs = () => workers.map((w) => w.stderr().slice(-1500)).join("\n---\n");
      const shardsIn = () => perShard.map((_, s) => confirmedIn(s));

      await until("every shard underway", () => shardsIn().every((n) => n > 0), confirmed, logs);
      const from = { at: Date.now(), accepted: stats.accepted };
      await until(
        "a shard finished",
        () => shardsIn().some((n, s) => n >= (perShard[s] ?? 0)),
        confirmed,
        logs,
      );
      const to = { at: Date.now(), accepted: stats.accepted };
      await until("every order in", () => confirmed() >= ORDERS, confirmed, logs);
      await stopAll();
      const total = { accepted: stats.accepted, refused: stats.refused };
      odoo.limiter.configure({});

      const seconds = (to.at - from.at) / 1000;
      const rate = (to.accepted - from.accepted) / seconds;
      console.log(
        `governed workers: ${to.accepted - from.accepted} calls in ${seconds.toFixed(1)} s busy = ${rate.toFixed(2)} req/s of ${LIMIT}; ` +
          `${total.accepted} accepted, ${total.refused} refused in all; orders per shard ${perShard}`,
      );
      assert.equal(total.refused, 0, `the ERP answered ${total.refused} requests with 429`);
      assert.ok(seconds >= 3, `the busy window lasted ${seconds.toFixed(1)} s: too short to measure a rate`);
      assert.ok(rate >= 0.9 * LIMIT, `${rate.toFixed(2)} req/s used of ${LIMIT} while every shard had work`);
      for (const p of placed) {
        const n = odoo.data
          .rows("sale.order")
          .filter((o) => o.client_order_ref === `shopify:${p.name}`).length;
        assert.equal(n, 1, `order ${p.name} is in the ERP ${n} times`);
      }
    });

    test("control: the same workers without the governor get 429s", async () => {
      world.systems.odoo.limiter.configure({});
      // shardedOrders writes the configuration from the repository's file again: no governor this time.
      const { confirmed } = await shardedOrders(world, {
        shards: SHARDS,
        orders: ORDERS,
        seed: 1811,
        batchSize: 25,
      });
      const { odoo } = world.systems;
      odoo.limiter.configure({ perSecond: LIMIT });
      const env = { ...world.env, PASSERELLE_LOG_LEVEL: "error" };
      const workers = [1, 2, 3, 4].map(() => startCli(["run", "--role", "worker"], env));
      procs.push(...workers, startCli(["run", "--role", "scheduler"], env));
      const start = confirmed();
      await until(
        "a 429 or every order in",
        () => odoo.limiter.stats.refused > 0 || confirmed() >= start + ORDERS,
        () => odoo.limiter.stats.accepted,
        () => workers.map((w) => w.stderr().slice(-1500)).join("\n---\n"),
      );
      await stopAll();
      assert.ok(odoo.limiter.stats.refused > 0, "no 429 without the governor: the test could not fail");
    });
  });
});
