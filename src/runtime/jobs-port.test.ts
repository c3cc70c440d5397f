/**
 * The jobs port's contract, run on both implementations: the embedded queue over a SQLite store and
 * pg-boss on PostgreSQL. Plus pg-boss installing its schema when three processes start on it at once.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { onPostgres, TEST_PG_URL } from "../../test/helpers/postgres.ts";
import { SyncError } from "../core/errors.ts";
import type { JobAttempt, Jobs } from "../ports/jobs.ts";
import type { Store } from "../ports/store.ts";
import { openStore } from "../store/index.ts";
import { bossSchema, deadLetterQueue, openBossJobs } from "./boss-jobs.ts";
import { EmbeddedJobs } from "./jobs.ts";

const BOSS_JOBS = resolve(dirname(fileURLToPath(import.meta.url)), "boss-jobs.ts");

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Impl {
  open(): Promise<Jobs>;
  /** How many jobs of `queue` were given up (embedded: dead rows; pg-boss: in the dead-letter queue). */
  dead(jobs: Jobs, queue: string): Promise<number>;
  close(): Promise<void>;
}

function contract(name: string, impl: () => Impl): void {
  describe(`jobs port contract: ${name}`, () => {
    const it = impl();
    after(() => it.close());

    test("runs a queued job with its payload; one queued job per singleton key", async () => {
      const jobs = await it.open();
      const seen: { payload: unknown; job: JobAttempt }[] = [];
      const first = await jobs.enqueue({ queue: "alpha", payload: { n: 1 }, singletonKey: "k" });
      assert.notEqual(first, null);
      assert.equal(await jobs.enqueue({ queue: "alpha", payload: { n: 2 }, singletonKey: "k" }), null);
      assert.notEqual(await jobs.enqueue({ queue: "alpha", payload: [3] }), null);
      assert.equal(await jobs.pending("alpha"), 2);
      const runner = jobs.runner(
        { alpha: async (payload, job) => void seen.push({ payload, job }) },
        { id: "w1", pollMs: 50 },
      );
      runner.start();
      runner.wake();
      await until("both jobs", () => seen.length === 2);
      await runner.stop();
      assert.deepEqual(seen.map((s) => s.payload).sort(), [[3], { n: 1 }].sort());
      assert.equal(seen[0]?.job.queue, "alpha");
      assert.equal(seen[0]?.job.attempts, 1);
      await until("nothing pending", async () => (await jobs.pending("alpha")) === 0);
    });

    test("a retryable error is retried; any other error is given up without a retry", async () => {
      const jobs = await it.open();
      const attempts: Record<string, number> = {};
      await jobs.enqueue({ queue: "beta", payload: "flaky" });
      await jobs.enqueue({ queue: "beta", payload: "broken" });
      const runner = jobs.runner(
        {
          beta: async (payload, job) => {
            const key = String(payload);
            attempts[key] = job.attempts;
            if (key === "flaky" && job.attempts === 1)
              throw new SyncError("retryable", "503 from the vendor");
            if (key === "broken") throw new SyncError("data", "no such SKU");
          },
        },
        { id: "w2", pollMs: 50 },
      );
      runner.start();
      await until("the retry", () => attempts.flaky === 2);
      await until("the broken job given up", async () => (await it.dead(jobs, "beta")) === 1);
      await runner.stop();
      assert.equal(attempts.broken, 1, "a data error was retried");
    });

    test("depth counts the jobs waiting per queue, not those done", async () => {
      const jobs = await it.open();
      await jobs.enqueue({ queue: "epsilon", payload: 1 });
      await jobs.enqueue({ queue: "epsilon", payload: 2 });
      await jobs.enqueue({ queue: "zeta", payload: 3 });
      const depth = await jobs.depth();
      assert.equal(depth.get("epsilon"), 2);
      assert.equal(depth.get("zeta"), 1);
      const runner = jobs.runner({ zeta: async () => {} }, { id: "w5", pollMs: 50 });
      runner.start();
      await until("zeta drained", async () => !(await jobs.depth()).get("zeta"));
      await runner.stop();
      assert.equal((await jobs.depth()).get("epsilon"), 2);
    });

    test("a job due later is not run before its time", async () => {
      const jobs = await it.open();
      const ran: number[] = [];
      const at = Date.now() + 1_500;
      await jobs.enqueue({ queue: "gamma", payload: null, runAt: new Date(at) });
      const runner = jobs.runner({ gamma: async () => void ran.push(Date.now()) }, { id: "w3", pollMs: 50 });
      runner.start();
      await until("the delayed job", () => ran.length === 1);
      await runner.stop();
      assert.ok((ran[0] ?? 0) >= at - 50, `ran ${at - (ran[0] ?? 0)} ms early`);
    });

    test("stop aborts a running handler's signal", async () => {
      const jobs = await it.open();
      let aborted = false;
      let started = false;
      await jobs.enqueue({ queue: "delta", payload: null });
      const runner = jobs.runner(
        {
          delta: (_p, _j, signal) =>
            new Promise<void>((_done, fail) => {
              started = true;
              signal.addEventListener("abort", () => {
                aborted = true;
                fail(new SyncError("retryable", "stopped"));
              });
            }),
        },
        { id: "w4", pollMs: 50 },
      );
      runner.start();
      await until("the handler", () => started);
      const { abandoned } = await runner.stop({ reason: "test stop" });
      assert.equal(aborted, true);
      assert.deepEqual(abandoned, []);
    });
  });
}

contract("embedded (SQLite)", () => {
  const stores: Store[] = [];
  return {
    async open() {
      const store = await openStore("sqlite::memory:");
      await store.migrate();
      stores.push(store);
      return new EmbeddedJobs(store, { retry: { attempts: 5, baseDelayMs: 50, maxDelayMs: 100 } });
    },
    async dead(jobs, queue) {
      return (await (jobs as EmbeddedJobs).queue.list({ queue, status: "dead" })).length;
    },
    async close() {
      for (const s of stores) await s.close();
    },
  };
});

const run = `jobs_port_${process.pid}_${Date.now().toString(36)}`;

async function dropSchemas(names: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    for (const s of names) await client.query(`drop schema if exists "${s}" cascade`);
  } finally {
    await client.end();
  }
}

await onPostgres("jobs port contract: pg-boss (PostgreSQL)", () => {
  contract("pg-boss (PostgreSQL)", () => {
    const opened: Jobs[] = [];
    const schemas: string[] = [];
    return {
      async open() {
        const storeSchema = `${run}_${opened.length + 1}`;
        schemas.push(bossSchema(storeSchema));
        const jobs = await openBossJobs({
          connectionString: TEST_PG_URL,
          storeSchema,
          queues: [],
          retryDelayS: 1,
          maintenanceS: 5,
        });
        opened.push(jobs);
        return jobs;
      },
      async dead(jobs, queue) {
        return jobs.pending(deadLetterQueue(queue));
      },
      async close() {
        for (const j of opened) await j.close();
        await dropSchemas(schemas);
      },
    };
  });

  test("pg-boss: three processes starting at once on a new schema all succeed, installing it once", async () => {
    const storeSchema = `${run}_start`;
    const script = `const { openBossJobs } = await import(${JSON.stringify(BOSS_JOBS)});
const jobs = await openBossJobs({ connectionString: ${JSON.stringify(TEST_PG_URL)}, storeSchema: ${JSON.stringify(storeSchema)}, queues: ["sync", "events"] });
await jobs.enqueue({ queue: "sync", payload: { from: process.pid } });
await jobs.close();`;
    const child = () =>
      new Promise<{ code: number; stderr: string }>((done) => {
        const p = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
          stdio: ["ignore", "ignore", "pipe"],
        });
        let stderr = "";
        p.stderr.on("data", (c: Buffer) => {
          stderr += c.toString();
        });
        p.on("close", (code) => done({ code: code ?? -1, stderr }));
      });
    try {
      const outcomes = await Promise.all([child(), child(), child()]);
      for (const o of outcomes) assert.equal(o.code, 0, o.stderr);
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        const schema = bossSchema(storeSchema);
        const version = await client.query(`select count(*)::int as n from "${schema}".version`);
        assert.equal(version.rows[0].n, 1);
        const queues = await client.query(`select name from "${schema}".queue order by name`);
        assert.deepEqual(
          queues.rows.map((r: { name: string }) => r.name),
          ["events", "events__dead", "sync", "sync__dead"],
        );
        const sent = await client.query(`select count(*)::int as n from "${schema}".job where name = 'sync'`);
        assert.equal(sent.rows[0].n, 3);
      } finally {
        await client.end();
      }
    } finally {
      await dropSchemas([bossSchema(storeSchema)]);
    }
  });
});
