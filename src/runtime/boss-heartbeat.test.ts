/**
 * Long jobs on pg-boss: a job whose worker is alive is never expired and run a second time, however long it
 * runs (the runner's heartbeat moves its expiry), while a job whose worker was SIGKILLed is run again once
 * its expiry has passed. The expiry is 2 s here, so a 7 s job outlives it three times over.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { onPostgres, TEST_PG_URL } from "../../test/helpers/postgres.ts";
import type { JobAttempt } from "../ports/jobs.ts";
import { type BossJobs, bossSchema, openBossJobs } from "./boss-jobs.ts";

const BOSS_JOBS = resolve(dirname(fileURLToPath(import.meta.url)), "boss-jobs.ts");
const run = `boss_beat_${process.pid}_${Date.now().toString(36)}`;
const EXPIRE_S = 2;

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await onPostgres("pg-boss long jobs: heartbeat and expiry", () => {
  describe("pg-boss long jobs: heartbeat and expiry", () => {
    const opened: BossJobs[] = [];
    const schemas: string[] = [];
    const open = (storeSchema: string) =>
      openBossJobs({
        connectionString: TEST_PG_URL,
        storeSchema,
        queues: ["long"],
        expireS: EXPIRE_S,
        maintenanceS: 1,
        retryDelayS: 1,
      }).then((j) => {
        opened.push(j);
        return j;
      });
    const state = async (jobs: BossJobs, id: string) => {
      const { rows } = await jobs.boss
        .getDb()
        .executeSql(`SELECT state, retry_count FROM ${jobs.schema}.job WHERE id = $1`, [id]);
      return rows[0] as { state: string; retry_count: number } | undefined;
    };

    after(async () => {
      for (const j of opened) await j.close().catch(() => undefined);
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        for (const s of schemas) await client.query(`drop schema if exists "${s}" cascade`);
      } finally {
        await client.end();
      }
    });

    test("a job running three times its expiry on a live worker runs once, with another worker polling", async () => {
      const storeSchema = `${run}_alive`;
      schemas.push(bossSchema(storeSchema));
      // Two workers, each with its own pg-boss (pool and maintenance), as two processes would have.
      const [a, b] = [await open(storeSchema), await open(storeSchema)];
      const runs: { worker: string; job: JobAttempt }[] = [];
      const long = (worker: string) => async (_p: unknown, job: JobAttempt) => {
        runs.push({ worker, job });
        await sleep(3.5 * EXPIRE_S * 1000);
      };
      const id = await a.enqueue({ queue: "long", payload: { n: 1 } });
      assert.ok(typeof id === "string");
      const first = a.runner({ long: long("a") }, { id: "a", pollMs: 50 });
      first.start();
      await until("the job started", () => runs.length === 1);
      const second = b.runner({ long: long("b") }, { id: "b", pollMs: 50 });
      second.start();
      await until("the job completed", async () => (await state(a, id))?.state === "completed");
      // A second run would have started within a retry delay of the expiry; give it that long to show.
      await sleep((EXPIRE_S + 2) * 1000);
      await Promise.all([first.stop(), second.stop()]);
      assert.deepEqual(
        runs.map((r) => `${r.worker}:${r.job.attempts}`),
        ["a:1"],
        "the job was run again while its worker was alive",
      );
      assert.equal((await state(a, id))?.retry_count, 0);
    });

    test("a SIGKILLed worker's job is run again by another worker once its expiry has passed", async () => {
      const storeSchema = `${run}_killed`;
      schemas.push(bossSchema(storeSchema));
      const jobs = await open(storeSchema);
      const id = await jobs.enqueue({ queue: "long", payload: { n: 2 } });
      assert.ok(typeof id === "string");
      // A worker in a process of its own that says when it has the job, then works forever.
      const script = `const { openBossJobs } = await import(${JSON.stringify(BOSS_JOBS)});
const jobs = await openBossJobs({ connectionString: ${JSON.stringify(TEST_PG_URL)}, storeSchema: ${JSON.stringify(storeSchema)}, queues: ["long"], expireS: ${EXPIRE_S}, maintenanceS: 1, retryDelayS: 1 });
jobs.runner({ long: async (_p, job) => { process.stdout.write("started " + job.id + "\\n"); await new Promise(() => {}); } }, { id: "doomed", pollMs: 50 }).start();
setInterval(() => {}, 1000);`;
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
      });
      child.stderr.on("data", (c: Buffer) => {
        err += c.toString();
      });
      const exited = new Promise((done) => child.on("close", done));
      try {
        await until(`the child worker took the job (stderr: ${err})`, () => out.includes(`started ${id}`));
        // Alive, it keeps the job beyond its expiry: nobody else may take it meanwhile.
        const runs: JobAttempt[] = [];
        const here = jobs.runner(
          { long: async (_p, job) => void runs.push(job) },
          { id: "here", pollMs: 50 },
        );
        here.start();
        await sleep((EXPIRE_S + 2) * 1000);
        assert.equal(runs.length, 0, "the job was taken from a live worker");
        assert.equal((await state(jobs, id))?.state, "active");
        child.kill("SIGKILL");
        await exited;
        await until("the job run again here", () => runs.length === 1);
        await until("the job completed", async () => (await state(jobs, id))?.state === "completed");
        await here.stop();
        assert.equal(runs[0]?.id, id);
        assert.equal(runs[0]?.attempts, 2, "the rerun is the job's second attempt");
      } finally {
        child.kill("SIGKILL");
      }
    });
  });
});
