import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SyncError } from "../core/errors.ts";
import { StoreError } from "./errors.ts";
import { openStore } from "./index.ts";
import { KyselyStore } from "./kysely-store.ts";
import { connectionLost, StoreGate } from "./resilience.ts";

const refused = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
const WHERE = "postgres://app:***@db:5432/shop";

/** A gate on a fake clock: sleeping advances it, so budgets are exact and nothing waits. */
function fakeGate(budgetMs: number) {
  let clock = 0;
  const sleeps: number[] = [];
  const logs: { level: string; msg: string; obj: object }[] = [];
  const logger = {
    info: (obj: object, msg: string) => logs.push({ level: "info", msg, obj }),
    warn: (obj: object, msg: string) => logs.push({ level: "warn", msg, obj }),
  };
  const gate = new StoreGate(null as never, {
    dialect: "postgres",
    where: WHERE,
    budgetMs,
    logger,
    now: () => clock,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
  });
  return { gate, sleeps, logs };
}

/** Work that fails with `errors` one after the other, then returns "done". */
function failing(...errors: Error[]) {
  let calls = 0;
  const work = async () => {
    const e = errors[calls++];
    if (e) throw e;
    return "done";
  };
  return { work, calls: () => calls };
}

describe("connectionLost", () => {
  it("recognises a dropped or refused connection, however it is wrapped", () => {
    const terminated = new Error("Connection terminated unexpectedly");
    for (const err of [
      refused(),
      Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
      Object.assign(new Error("the database system is starting up"), { code: "57P03" }),
      Object.assign(new Error("connection failure"), { code: "08006" }),
      terminated,
      new Error("Client has encountered a connection error and is not queryable"),
      new StoreError("commitPage: upsert links", terminated),
      Object.assign(new AggregateError([refused(), refused()], ""), { code: "ECONNREFUSED" }),
      new AggregateError([refused()], ""),
    ]) {
      assert.equal(connectionLost(err), true, String(err));
    }
  });

  it("leaves every other error alone", () => {
    for (const err of [
      Object.assign(new Error("duplicate key value violates unique constraint"), { code: "23505" }),
      Object.assign(new Error('relation "links" does not exist'), { code: "42P01" }),
      new Error("commitPage: run 7 does not exist"),
      "a string",
      null,
    ]) {
      assert.equal(connectionLost(err), false, String(err));
    }
  });
});

describe("StoreGate.repeatable", () => {
  it("tries again with growing waits until the database answers, and says so in the log", async () => {
    const { gate, sleeps, logs } = fakeGate(60_000);
    const work = failing(refused(), refused(), refused());
    assert.equal(await gate.repeatable("getCursor: select cursors", work.work), "done");
    assert.equal(work.calls(), 4);
    assert.deepEqual(sleeps, [75, 150, 300]);
    assert.deepEqual(
      logs.map((l) => `${l.level} ${l.msg}`),
      [
        "warn store connection lost; retrying",
        "info store still unreachable; retrying",
        "info store still unreachable; retrying",
        "warn store reachable again",
      ],
    );
  });

  it("gives up when the next wait would pass retry_ms, naming the store (password masked), the call and the cause", async () => {
    const { gate, sleeps } = fakeGate(1_000);
    const work = failing(...Array.from({ length: 50 }, refused));
    const err = await gate.repeatable("getCursor: select cursors", work.work).then(
      () => assert.fail("expected the call to give up"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SyncError, String(err));
    assert.equal(err.kind, "retryable");
    assert.equal(err.details.system, "store");
    assert.match(
      err.message,
      /^store postgres:\/\/app:\*\*\*@db:5432\/shop unreachable: getCursor: select cursors failed after \d+ attempt\(s\) over \d+ s \(retry_ms=1000\): connect ECONNREFUSED 127\.0\.0\.1:5432$/,
    );
    assert.ok(sleeps.reduce((a, b) => a + b, 0) <= 1_000, `waited ${sleeps.join("+")} ms`);
  });

  it("after giving up, tries once without waiting until a call succeeds, then waits again", async () => {
    const { gate, sleeps } = fakeGate(500);
    await assert.rejects(gate.repeatable("a", failing(...Array.from({ length: 50 }, refused)).work));
    const slept = sleeps.length;
    const once = failing(refused(), refused());
    await assert.rejects(
      gate.repeatable("finishRun: update runs", once.work),
      /^SyncError: store postgres:\/\/app:\*\*\*@db:5432\/shop still unreachable \(for 0 s; retry_ms=500 passed\): finishRun: update runs failed: connect ECONNREFUSED/,
    );
    assert.equal(once.calls(), 1);
    assert.equal(sleeps.length, slept, "a call waited while the store was known to be down");
    assert.equal(await gate.repeatable("b", async () => "back"), "back");
    const again = failing(refused());
    assert.equal(await gate.repeatable("c", again.work), "done");
    assert.equal(again.calls(), 2);
  });

  it("throws any other error at once, naming the operation", async () => {
    const { gate, sleeps } = fakeGate(60_000);
    const dup = Object.assign(new Error("duplicate key value"), { code: "23505" });
    const work = failing(dup);
    await assert.rejects(gate.repeatable("updateFailure: update failed_records", work.work), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.message, "store updateFailure: update failed_records failed: duplicate key value");
      return true;
    });
    assert.equal(work.calls(), 1);
    assert.deepEqual(sleeps, []);
  });

  it("with retry_ms=0 fails at the first lost connection", async () => {
    const { gate } = fakeGate(0);
    const work = failing(refused());
    await assert.rejects(
      gate.repeatable("x", work.work),
      /failed after 1 attempt\(s\) over 0 s \(retry_ms=0\)/,
    );
    assert.equal(work.calls(), 1);
  });
});

describe("retry_ms in the store URL", () => {
  it("rejects a value that is not a whole number of milliseconds, naming it", async () => {
    await assert.rejects(
      openStore("postgres://app:pw@127.0.0.1:1/shop?retry_ms=soon"),
      /store url "postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/shop\?retry_ms=soon": retry_ms must be a whole number of milliseconds \(0 or more\), got "soon"/,
    );
  });

  it("is not needed by SQLite, whose calls run once", async () => {
    const store = await openStore("sqlite::memory:");
    assert.ok(store instanceof KyselyStore);
    await store.migrate();
    assert.equal(await store.getCursor("none"), null);
    await store.close();
  });
});
