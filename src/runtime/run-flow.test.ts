/** The flow lease every entry point takes, and interrupted runs, on SQLite and (when reachable) PostgreSQL. */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { onPostgres, pgStores } from "../../test/helpers/postgres.ts";
import type { Store } from "../ports/store.ts";
import { openStore } from "../store/index.ts";
import { acquireLease, holderProcessGone, leaseHolder, processHolder, releaseLease } from "./leases.ts";
import { abandonHeldFlows, FlowBusyError, withFlowLease } from "./run-flow.ts";

const dir = mkdtempSync(join(tmpdir(), "passerelle-run-flow-test-"));
const opened: Store[] = [];
after(async () => {
  for (const s of opened) await s.close();
  rmSync(dir, { recursive: true, force: true });
});
const pgs = pgStores("passerelle_run_flow");

/** The pid of a process that ran on this host and is gone, as after kill -9. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(String(child.stdout));
}

async function openSqlite(): Promise<Store> {
  const s = await openStore(`sqlite:${join(dir, `r${opened.length}.db`)}`);
  await s.migrate();
  opened.push(s);
  return s;
}

async function openPg(): Promise<Store> {
  const s = await pgs.open();
  opened.push(s);
  return s;
}

function suite(name: string, open: () => Promise<Store>): void {
  describe(name, () => {
    test("a flow held elsewhere is not run: FlowBusyError names the flow and the holder", async () => {
      const store = await open();
      await acquireLease(store, "flow:orders", "worker-host-42#1", 60_000);
      let ran = false;
      const err = await withFlowLease(store, "orders", { holder: "sync-host-7" }, async () => {
        ran = true;
      }).catch((e: unknown) => e);
      assert.equal(ran, false);
      assert.ok(err instanceof FlowBusyError);
      assert.equal(err.holder, "worker-host-42#1");
      assert.match(
        err.message,
        /flow orders is running elsewhere \(lease flow:orders held by worker-host-42#1\)/,
      );
    });

    test("two passes of one process exclude each other, and the lease is released after", async () => {
      const store = await open();
      let release: () => void = () => undefined;
      const first = withFlowLease(
        store,
        "stock",
        { holder: "run-host-1" },
        () => new Promise<void>((done) => (release = done)),
      );
      await new Promise((r) => setTimeout(r, 50));
      await assert.rejects(
        withFlowLease(store, "stock", { holder: "run-host-1" }, async () => undefined),
        FlowBusyError,
      );
      release();
      await first;
      assert.equal(await leaseHolder(store, "flow:stock"), null);
    });

    test("waits for a busy flow up to waitMs, and runs once it is free", async () => {
      const store = await open();
      await acquireLease(store, "flow:prices", "other#1", 60_000);
      const told: (string | null)[] = [];
      const waiting = withFlowLease(
        store,
        "prices",
        { holder: "me", waitMs: 60_000, pollMs: 20, onBusy: (h) => told.push(h) },
        async () => "ran",
      );
      await new Promise((r) => setTimeout(r, 100));
      await releaseLease(store, "flow:prices", "other#1");
      assert.equal(await waiting, "ran");
      assert.deepEqual(told, ["other#1"], "told once who it waits for");
    });

    test("a lease whose holder process on this host is gone (kill -9) is taken over after the settle, not after its expiry", async () => {
      const store = await open();
      const dead = `sync-${hostname()}-${deadPid()}#1`;
      assert.ok(holderProcessGone(dead));
      await acquireLease(store, "flow:categories", dead, 60_000);
      const run = await store.startRun("categories", "sync");
      const took: string[] = [];
      const started = Date.now();
      const value = await withFlowLease(
        store,
        "categories",
        { holder: processHolder("sync"), deadHolderSettleMs: 50, onTakeOver: (h) => took.push(h) },
        async () => leaseHolder(store, "flow:categories"),
      );
      assert.deepEqual(took, [dead]);
      assert.ok(Date.now() - started >= 50, "waited for the settle");
      assert.match(String(value), new RegExp(`^sync-${hostname()}-${process.pid}#\\d+$`));
      const [last] = await store.lastRuns("categories", 1);
      assert.equal(last?.id, run.id);
      assert.equal(last?.status, "interrupted", "the dead holder's run is recorded as interrupted");
      assert.equal(await leaseHolder(store, "flow:categories"), null, "released after");
    });

    test("a holder still alive, on another host, or of another shape is waited for, never taken over", async () => {
      const store = await open();
      const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
      try {
        for (const holder of [
          `sync-${hostname()}-${sleeper.pid}#1`,
          `sync-${hostname()}-${process.pid}#999`,
          `sync-elsewhere-${hostname()}x-${deadPid()}#1`,
          `worker-host-${deadPid()}`,
          "other#1",
        ]) {
          assert.equal(holderProcessGone(holder), false, holder);
          await acquireLease(store, "flow:warehouses", holder, 60_000);
          await assert.rejects(
            withFlowLease(
              store,
              "warehouses",
              { holder: "me", deadHolderSettleMs: 0 },
              async () => undefined,
            ),
            FlowBusyError,
            holder,
          );
          await releaseLease(store, "flow:warehouses", holder);
        }
      } finally {
        sleeper.kill("SIGKILL");
      }
    });

    test("the next holder marks the runs a dead holder left running as interrupted; dry runs are left alone", async () => {
      const store = await open();
      const dead = await store.startRun("products", "sync");
      const plan = await store.startRun("products", "plan");
      const other = await store.startRun("stock", "sync");
      const found: number[] = [];
      await withFlowLease(
        store,
        "products",
        { holder: "worker-b", onInterrupted: (runs) => found.push(...runs.map((r) => r.id)) },
        async () => undefined,
      );
      assert.deepEqual(found, [dead.id]);
      const runs = new Map((await store.lastRuns(undefined, 10)).map((r) => [r.id, r]));
      assert.equal(runs.get(dead.id)?.status, "interrupted");
      assert.match(runs.get(dead.id)?.error ?? "", /stopped before the end .*found by worker-b#\d+ at /);
      assert.ok(runs.get(dead.id)?.finishedAt);
      assert.equal(runs.get(plan.id)?.status, "running", "a dry run takes no lease");
      assert.equal(runs.get(other.id)?.status, "running", "another flow's run");
    });

    test("interruptRuns only touches runs started before the given time", async () => {
      const store = await open();
      const old = await store.startRun("customers", "sync");
      const cut = new Date(Date.now() + 5).toISOString();
      await new Promise((r) => setTimeout(r, 20));
      const fresh = await store.startRun("customers", "retry");
      const gone = await store.interruptRuns("customers", "interrupted: test", { startedBefore: cut });
      assert.deepEqual(
        gone.map((r) => [r.id, r.status]),
        [[old.id, "interrupted"]],
      );
      assert.equal((await store.lastRuns("customers", 1))[0]?.id, fresh.id);
      assert.equal((await store.lastRuns("customers", 1))[0]?.status, "running");
    });

    test("abandonHeldFlows records the runs of flows this process holds as interrupted", async () => {
      const store = await open();
      let started: () => void = () => undefined;
      const inFlight = new Promise<void>((done) => (started = done));
      void withFlowLease(store, "shipments", { holder: "worker-c" }, async () => {
        await store.startRun("shipments", "sync");
        started();
        await new Promise(() => undefined); // a write that never returns
      });
      await inFlight;
      const runs = await abandonHeldFlows("SIGTERM: the grace period of 1 s ran out");
      assert.deepEqual(
        runs.map((r) => [r.flow, r.status, r.error]),
        [["shipments", "interrupted", "interrupted: SIGTERM: the grace period of 1 s ran out"]],
      );
      assert.match(
        String(await leaseHolder(store, "flow:shipments")),
        /^worker-c#\d+$/,
        "kept until it expires",
      );
    });
  });
}

suite("flow leases on SQLite", openSqlite);

await onPostgres("flow leases on PostgreSQL", () => {
  after(pgs.cleanup);
  suite("flow leases on PostgreSQL", openPg);
});
