/**
 * Two `passerelle run --role scheduler` processes on one PostgreSQL store: every cron tick is fired by
 * exactly one of them (the holder of the scheduler lock); the other waits as a standby and takes over
 * when the leader is killed with SIGKILL. Each process logs every fire ("schedule fired", with the tick);
 * the test reads both logs.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { onPostgres, TEST_PG_URL } from "../helpers/postgres.ts";
import { type LiveCli, startCli, startWorld, type World, waitFor } from "./helpers.ts";

const SCHEMA = `scale_sched_${process.pid}_${Date.now().toString(36)}`;

interface Fire {
  pid: number;
  tick: string;
}

function fires(p: LiveCli): Fire[] {
  const out: Fire[] = [];
  for (const line of p.stderr().split("\n")) {
    if (!line.includes('"schedule fired"')) continue;
    const entry = JSON.parse(line) as { schedule: string; tick: string };
    if (entry.schedule === "flow:orders") out.push({ pid: p.pid, tick: entry.tick });
  }
  return out;
}

function duplicates(all: Fire[]): string[] {
  const seen = new Map<string, number>();
  for (const f of all) seen.set(f.tick, (seen.get(f.tick) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([t, n]) => `${t} ×${n}`);
}

await onPostgres("two schedulers on PostgreSQL", () => {
  describe("two schedulers on PostgreSQL", () => {
    let world: World;
    const procs: LiveCli[] = [];

    before(async () => {
      const url = new URL(TEST_PG_URL);
      url.searchParams.set("schema", SCHEMA);
      world = await startWorld({ products: 2, storeUrl: url.toString() });
      world.writeConfig("passerelle.yaml", (doc) => {
        doc.setIn(["flows", "orders", "trigger"], doc.createNode({ type: "schedule", cron: "* * * * * *" }));
      });
    });

    after(async () => {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => p.exited));
      await world.close();
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      for (const s of [SCHEMA, `${SCHEMA}_pgboss`])
        await client.query(`drop schema if exists "${s}" cascade`);
      await client.end();
    });

    test("each tick fires once; the standby takes over when the leader is killed", async () => {
      const env = { ...world.env, PASSERELLE_LOG_LEVEL: "info" };
      const a = startCli(["run", "--role", "scheduler"], env);
      const b = startCli(["run", "--role", "scheduler"], env);
      procs.push(a, b);
      await waitFor("six ticks fired", () => fires(a).length + fires(b).length >= 6, 60_000);
      const leader = fires(a).length > 0 ? a : b;
      const standby = leader === a ? b : a;
      assert.deepEqual(fires(standby), [], "the standby fired while the leader held the lock");
      assert.deepEqual(duplicates([...fires(a), ...fires(b)]), []);
      assert.match(standby.stderr(), /scheduler: standby/);

      leader.kill("SIGKILL");
      await leader.exited;
      const firedBefore = fires(leader);
      await waitFor("the standby firing three ticks", () => fires(standby).length >= 3, 30_000);
      const all = [...firedBefore, ...fires(standby)];
      assert.deepEqual(duplicates(all), [], "a tick fired twice");
      assert.match(standby.stderr(), /scheduler: leading/);
      // The standby's first tick comes after the leader's last: no tick fired by both around the hand-over.
      const lastOfLeader =
        firedBefore
          .map((f) => f.tick)
          .sort()
          .at(-1) ?? "";
      assert.ok(fires(standby).every((f) => f.tick > lastOfLeader));
    });
  });
});
