/** The job queue and worker, on SQLite and (when reachable) PostgreSQL. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { onPostgres, pgStores } from "../../test/helpers/postgres.ts";
import { SyncError } from "../core/errors.ts";
import type { JobAttempt } from "../ports/jobs.ts";
import type { Store } from "../ports/store.ts";
import { openStore } from "../store/index.ts";
import { jobsDb } from "../store/jobs.ts";
import { JobQueue, Worker } from "./jobs.ts";

/** A clock tests move by hand. */
function manualClock(start = "2026-01-01T00:00:00.000Z") {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    advance: (ms: number) => {
      t += ms;
    },
  };
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Open = () => Promise<Store>;

function suite(name: string, open: Open): void {
  describe(name, () => {
    test("enqueue, claim, complete; a future job waits for its time", async () => {
      const store = await open();
      const clock = manualClock();
      const q = new JobQueue(store, { now: clock.now });
      const later = await q.enqueue({
        queue: "sync",
        payload: { flow: "b" },
        runAt: new Date(clock.now().getTime() + 60_000),
      });
      const id = await q.enqueue({ queue: "sync", payload: { flow: "a" } });
      assert.ok(typeof id === "number" && typeof later === "number");
      assert.equal(await q.claim("w1", ["other"], 1000), null);
      const job = await q.claim("w1", ["sync"], 1000);
      assert.deepEqual(job, { id, queue: "sync", payload: { flow: "a" }, attempts: 1 });
      assert.equal(await q.claim("w1", ["sync"], 1000), null, "the later job is not due yet");
      assert.equal(await q.complete(id as number, "w1"), true);
      assert.equal((await q.get(id as number))?.status, "done");
      clock.advance(60_000);
      assert.equal((await q.claim("w2", ["sync"], 1000))?.id, later);
    });

    test("a singleton key admits one live job; free again once it is done", async () => {
      const store = await open();
      const q = new JobQueue(store);
      const first = await q.enqueue({ queue: "sync", payload: 1, singletonKey: "flow:orders" });
      assert.equal(typeof first, "number");
      assert.equal(await q.enqueue({ queue: "sync", payload: 2, singletonKey: "flow:orders" }), null);
      assert.equal(
        typeof (await q.enqueue({ queue: "sync", payload: 3, singletonKey: "flow:stock" })),
        "number",
      );
      const job = await q.claim("w1", ["sync"], 10_000);
      assert.equal(job?.id, first);
      assert.equal(
        await q.enqueue({ queue: "sync", payload: 4, singletonKey: "flow:orders" }),
        null,
        "running",
      );
      await q.complete(first as number, "w1");
      assert.equal(
        typeof (await q.enqueue({ queue: "sync", payload: 5, singletonKey: "flow:orders" })),
        "number",
      );
    });

    test("a dead worker's job is reclaimed after its lease expires; the old holder can no longer touch it", async () => {
      const store = await open();
      const clock = manualClock();
      const q = new JobQueue(store, { now: clock.now });
      const id = (await q.enqueue({ queue: "sync", payload: { flow: "orders" } })) as number;
      assert.equal((await q.claim("crashed", ["sync"], 5_000))?.id, id);
      clock.advance(4_000);
      assert.equal(await q.claim("w2", ["sync"], 5_000), null, "lease still valid");
      assert.equal(await q.heartbeat(id, "crashed", 5_000), true, "heartbeat extends the lease");
      clock.advance(4_000);
      assert.equal(await q.claim("w2", ["sync"], 5_000), null, "extended lease still valid");
      clock.advance(2_000);
      const again = await q.claim("w2", ["sync"], 5_000);
      assert.deepEqual(again, { id, queue: "sync", payload: { flow: "orders" }, attempts: 2 });
      assert.equal(await q.heartbeat(id, "crashed", 5_000), false);
      assert.equal(await q.complete(id, "crashed"), false);
      assert.equal(await q.fail(id, "crashed", new Error("late"), null), false);
      assert.equal((await q.get(id))?.lockedBy, "w2");
      assert.equal(await q.complete(id, "w2"), true);
    });

    test("fail re-queues for retryAt or marks the job dead", async () => {
      const store = await open();
      const clock = manualClock();
      const q = new JobQueue(store, { now: clock.now });
      const id = (await q.enqueue({ queue: "sync", payload: null })) as number;
      await q.claim("w", ["sync"], 1000);
      await q.fail(id, "w", new SyncError("retryable", "odoo 503"), new Date(clock.now().getTime() + 30_000));
      const queued = await q.get(id);
      assert.equal(queued?.status, "queued");
      assert.equal(queued?.lastError, "odoo 503");
      assert.equal(await q.claim("w", ["sync"], 1000), null);
      clock.advance(30_000);
      assert.equal((await q.claim("w", ["sync"], 1000))?.attempts, 2);
      await q.fail(id, "w", new Error("bad payload"), null);
      assert.equal((await q.get(id))?.status, "dead");
      assert.equal(await q.claim("w", ["sync"], 1000), null);
    });

    test("a corrupt or truncated payload is marked dead with a clear error; the next job still runs", async () => {
      const store = await open();
      const q = new JobQueue(store);
      const db = jobsDb(store);
      const now = new Date().toISOString();
      const bad = await db
        .insertInto("jobs")
        .values({
          queue: "sync",
          payload: '{"flow":"ord',
          status: "queued",
          run_at: now,
          locked_by: null,
          locked_until: null,
          last_error: null,
          created_at: now,
          singleton_key: null,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      const good = await q.enqueue({ queue: "sync", payload: { flow: "orders" } });
      const seen: string[] = [];
      q.onBadRow = (_id, message) => seen.push(message);
      const job = await q.claim("w", ["sync"], 1000);
      assert.equal(job?.id, good);
      const dead = await q.get(Number(bad.id));
      assert.equal(dead?.status, "dead");
      assert.match(
        dead?.lastError ?? "",
        new RegExp(`^job ${bad.id} \\(queue sync\\): payload is not valid JSON`),
      );
      assert.match(dead?.lastError ?? "", /\{\\"flow\\":\\"ord/);
      assert.equal(seen.length, 1);
    });

    test("the worker runs handlers, retries retryable failures, buries permanent ones", async () => {
      const store = await open();
      const q = new JobQueue(store);
      let flaky = 0;
      const ran: unknown[] = [];
      const worker = new Worker(
        q,
        {
          ok: async (payload) => void ran.push(payload),
          flaky: async () => {
            flaky++;
            if (flaky < 3) throw new SyncError("retryable", `flake ${flaky}`);
          },
          broken: async () => {
            throw new SyncError("permanent", "rejected: unknown product SKU-X");
          },
        },
        { pollMs: 20, leaseMs: 10_000, retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 5 } },
      );
      const ok = (await q.enqueue({ queue: "ok", payload: { n: 1 } })) as number;
      const fl = (await q.enqueue({ queue: "flaky", payload: null })) as number;
      const br = (await q.enqueue({ queue: "broken", payload: null })) as number;
      worker.start();
      try {
        await until("all jobs settled", async () => {
          const states = await Promise.all([ok, fl, br].map(async (id) => (await q.get(id))?.status));
          return states[0] === "done" && states[1] === "done" && states[2] === "dead";
        });
      } finally {
        await worker.stop();
      }
      assert.deepEqual(ran, [{ n: 1 }]);
      assert.equal(flaky, 3);
      assert.equal((await q.get(fl))?.attempts, 3);
      assert.equal((await q.get(br))?.attempts, 1);
      assert.match((await q.get(br))?.lastError ?? "", /unknown product SKU-X/);
    });

    test("a job abandoned by a crashed worker is picked up by a live one; a crash loop is given up", async () => {
      const store = await open();
      const clock = manualClock();
      const q = new JobQueue(store, { now: clock.now });
      const id = (await q.enqueue({ queue: "sync", payload: { flow: "orders" } })) as number;
      const loop = (await q.enqueue({ queue: "sync", payload: { flow: "poison" } })) as number;
      // Both claimed by a process that then died (it never heartbeats, never completes)...
      await q.claim("dead-1", ["sync"], 200);
      await q.claim("dead-1", ["sync"], 200);
      clock.advance(1_000);
      // ...and the poison one again by its successor, which died the same way.
      assert.equal((await q.claim("dead-2", ["sync"], 200))?.id, id);
      await q.complete(id, "dead-2").then((ok) => assert.equal(ok, true));
      const id2 = (await q.enqueue({ queue: "sync", payload: { flow: "orders" } })) as number;
      await q.claim("dead-2", ["sync"], 200); // the poison job (due first)
      await q.claim("dead-2", ["sync"], 200); // id2
      clock.advance(1_000);
      const seen: JobAttempt[] = [];
      const worker = new Worker(
        q,
        { sync: async (_payload, job) => void seen.push(job) },
        { pollMs: 20, leaseMs: 10_000, maxAttempts: 2 },
      );
      worker.start();
      try {
        await until("both jobs settled", async () => {
          const a = await q.get(id2);
          const b = await q.get(loop);
          return a?.status === "done" && b?.status === "dead";
        });
      } finally {
        await worker.stop();
      }
      assert.deepEqual(
        seen.map((j) => [j.id, j.attempts]),
        [[id2, 2]],
        "the crash-looping job never reaches its handler again",
      );
      assert.match((await q.get(loop))?.lastError ?? "", /given up after 2 attempts/);
    });

    test("stop() aborts running handlers and puts their jobs back", async () => {
      const store = await open();
      const q = new JobQueue(store);
      const id = (await q.enqueue({ queue: "long", payload: null })) as number;
      let started = false;
      const worker = new Worker(
        q,
        {
          long: (_p, _j, signal) =>
            new Promise<void>((_resolve, reject) => {
              started = true;
              signal.addEventListener("abort", () => reject(signal.reason));
            }),
        },
        { pollMs: 20 },
      );
      worker.start();
      await until("handler started", async () => started);
      await worker.stop();
      const job = await q.get(id);
      assert.equal(job?.status, "queued");
      assert.equal(job?.lockedBy, null);
    });

    test("stop() with a cut: a handler that does not stop in time is abandoned and its job handed back", async () => {
      const store = await open();
      const q = new JobQueue(store);
      const id = (await q.enqueue({ queue: "stuck", payload: null })) as number;
      let started = false;
      let askedToStop: unknown = null;
      const worker = new Worker(
        q,
        {
          // A write that ignores the stop request and never returns.
          stuck: (_p, _j, signal) =>
            new Promise<void>(() => {
              started = true;
              signal.addEventListener("abort", () => {
                askedToStop = signal.reason;
              });
            }),
        },
        { pollMs: 20, leaseMs: 60_000 },
      );
      worker.start();
      await until("handler started", async () => started);
      const cut = new AbortController();
      const stopping = worker.stop({ reason: "SIGTERM received", cut: cut.signal });
      await until("the handler asked to stop", async () => askedToStop !== null);
      assert.equal((askedToStop as Error).message, "SIGTERM received");
      assert.equal((await q.get(id))?.status, "running", "still waiting for the handler");
      cut.abort(new Error("grace period over"));
      assert.deepEqual(await stopping, { abandoned: [id] });
      const job = await q.get(id);
      assert.equal(
        job?.status,
        "queued",
        "handed back: the next start takes it without waiting for its lease",
      );
      assert.equal(job?.lockedBy, null);
    });

    test("bad specs are refused with the field named", async () => {
      const store = await open();
      const q = new JobQueue(store);
      await assert.rejects(q.enqueue({ queue: "", payload: 1 }), /job queue must be a non-empty string/);
      await assert.rejects(q.enqueue({ queue: "x", payload: 1, runAt: new Date("nope") }), /runAt/);
    });

    // On PostgreSQL the claimers race on separate pooled connections; on SQLite they interleave on one.
    test("concurrent claimers never take the same job", async () => {
      const store = await open();
      const q = new JobQueue(store);
      for (let i = 0; i < 40; i++) await q.enqueue({ queue: "c", payload: i });
      const taken: number[] = [];
      await Promise.all(
        ["a", "b", "c", "d"].map(async (w) => {
          for (;;) {
            const job = await q.claim(w, ["c"], 60_000);
            if (!job) {
              // SKIP LOCKED may pass over a row another claimer holds; check nothing is left.
              if ((await q.list({ queue: "c", status: "queued" })).length === 0) return;
              continue;
            }
            taken.push(job.payload as number);
            await q.complete(job.id, w);
          }
        }),
      );
      assert.equal(taken.length, 40);
      assert.equal(new Set(taken).size, 40);
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), "passerelle-jobs-test-"));
const opened: Store[] = [];
let n = 0;
after(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});
suite("jobs on SQLite", async () => {
  const s = await openStore(`sqlite:${join(dir, `j${++n}.db`)}`);
  await s.migrate();
  opened.push(s);
  return s;
});

await onPostgres("jobs on PostgreSQL", () => {
  const pgs = pgStores("passerelle_jobs");
  after(pgs.cleanup);
  suite("jobs on PostgreSQL", async () => {
    const s = await pgs.open();
    opened.push(s);
    return s;
  });
});
