/**
 * The store on a real PostgreSQL whose connections are cut at chosen moments: the server itself ends the
 * session (pg_terminate_backend, what a restart does to every session), before a statement, or after a
 * COMMIT has run but before its answer is read. Each page, intent and run is stored exactly once, and the
 * `error` event a killed connection raises does not end the process. Only this process's own sessions are
 * terminated, so the shared test server is safe.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { setTimeout as pause } from "node:timers/promises";
import pg from "pg";
import { onPostgres, pgStores, TEST_PG_URL } from "../../test/helpers/postgres.ts";
import type { PageCommit, Store } from "../ports/store.ts";

type Fault = "drop-before" | "drop-after";

/** The next query whose SQL `matches` loses its connection, before or after the server ran it. */
let armed: { matches: (sql: string) => boolean; fault: Fault; hits: number } | null = null;
let admin: pg.Client;

const originalQuery = pg.Client.prototype.query;

/**
 * Ends `client`'s session from the server side and waits until the server has let it go. No `error`
 * listener is added here: the store must survive the event a killed connection raises on its own.
 */
async function terminate(client: pg.Client): Promise<void> {
  const pid = (client as unknown as { processID: number }).processID;
  await admin.query("select pg_terminate_backend($1)", [pid]);
  while ((await admin.query("select 1 from pg_stat_activity where pid = $1", [pid])).rowCount)
    await pause(20);
}

function install(): void {
  pg.Client.prototype.query = async function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === "string" ? args[0] : "";
    const fault = armed;
    if (this === admin || fault === null || !fault.matches(text)) {
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    }
    armed = null;
    fault.hits++;
    if (fault.fault === "drop-before") {
      await terminate(this);
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    }
    await (originalQuery as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    await terminate(this);
    throw new Error("Connection terminated unexpectedly");
  } as typeof pg.Client.prototype.query;
}

function arm(matches: (sql: string) => boolean, fault: Fault) {
  const a = { matches, fault, hits: 0 };
  armed = a;
  return a;
}

function page(runId: number, keys: string[]): PageCommit {
  return {
    flow: "products",
    runId,
    cursor: { updatedAt: "2026-01-01T00:00:00.000Z", id: keys.at(-1) ?? "" },
    links: keys.map((key) => ({
      entity: "product" as const,
      key,
      system: "shop",
      externalId: `gid://shop/Product/${key}`,
      lastHash: "h",
      version: null,
    })),
    events: keys.map((key) => ({
      entity: "product" as const,
      key,
      system: "shop",
      externalId: `gid://shop/Product/${key}`,
      kind: "created" as const,
      message: null,
      detail: null,
    })),
    failures: [],
    resolvedKeys: [],
    completedIntents: [],
    counts: { read: keys.length, created: keys.length },
  };
}

await onPostgres("the store when PostgreSQL drops its connections", () => {
  // A generous bound so that a store which hangs on a dead connection fails instead of never ending.
  describe("the store when PostgreSQL drops its connections", { timeout: 120_000 }, () => {
    /** Log lines of the stores, as "message status" (status: a checked commit's outcome). */
    const logs: string[] = [];
    const log = (o: object, msg: string) =>
      logs.push(`${msg} ${(o as { status?: string }).status ?? ""}`.trim());
    const stores = pgStores("resilience", () => ({ logger: { info: log, warn: log } }));
    let store: Store;

    before(async () => {
      admin = new pg.Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      install();
    });
    after(async () => {
      pg.Client.prototype.query = originalQuery;
      await admin.end();
      await stores.cleanup();
    });
    afterEach(async () => {
      armed = null;
      logs.length = 0;
      await store?.close();
    });

    it("a connection killed inside a page's transaction: no crash, the page is committed once", async () => {
      store = await stores.open();
      const run = await store.startRun("products", "sync");
      const fault = arm((sql) => sql.startsWith('insert into "links"'), "drop-before");
      await store.commitPage(page(run.id, ["A", "B", "C"]));
      assert.equal(fault.hits, 1, "the fault never fired");
      const [stored] = await store.lastRuns("products");
      assert.equal(stored?.counts.read, 3);
      assert.equal(stored?.counts.created, 3);
      assert.equal((await store.getLinks("product", "shop", ["A", "B", "C"])).size, 3);
      assert.equal((await store.trace("product", "B")).length, 1);
      assert.deepEqual(await store.getCursor("products"), { updatedAt: "2026-01-01T00:00:00.000Z", id: "C" });
      assert.ok(logs.includes("store connection lost; retrying"), logs.join("\n"));
    });

    it("a COMMIT that committed but whose answer was lost is not run again", async () => {
      store = await stores.open();
      const run = await store.startRun("products", "sync");
      const fault = arm((sql) => sql === "commit", "drop-after");
      await store.commitPage(page(run.id, ["A", "B"]));
      assert.equal(fault.hits, 1, "the fault never fired");
      const [stored] = await store.lastRuns("products");
      assert.equal(stored?.counts.read, 2, "the page was counted twice");
      assert.equal((await store.trace("product", "A")).length, 1, "the page's events were stored twice");
      assert.ok(
        logs.includes("store commit outcome checked after a lost connection committed"),
        logs.join("\n"),
      );

      arm((sql) => sql === "commit", "drop-after");
      const intents = await store.recordIntents([
        { flow: "products", entity: "product", key: "A", system: "shop", externalRef: "ref-A" },
        { flow: "products", entity: "product", key: "B", system: "shop", externalRef: "ref-B" },
      ]);
      const pending = await store.pendingIntents("products");
      assert.deepEqual(
        pending.map((i) => [i.id, i.key]),
        intents.map((i) => [i.id, i.key]),
        "the intents were recorded twice, or the ids returned are not the stored ones",
      );

      arm((sql) => sql === "commit", "drop-after");
      await store.startRun("prices", "sync");
      assert.equal((await store.lastRuns("prices")).length, 1, "one run start recorded two runs");
    });

    it("a COMMIT lost before it reached the server is run again, once", async () => {
      store = await stores.open();
      const run = await store.startRun("products", "sync");
      const fault = arm((sql) => sql === "commit", "drop-before");
      await store.commitPage(page(run.id, ["A", "B"]));
      assert.equal(fault.hits, 1, "the fault never fired");
      const [stored] = await store.lastRuns("products");
      assert.equal(stored?.counts.read, 2);
      assert.equal((await store.getLinks("product", "shop", ["A", "B"])).size, 2);
      assert.equal((await store.trace("product", "B")).length, 1);
      // Asked while the server was still rolling it back, or after: never "committed".
      const outcomes = logs.filter((l) => l.startsWith("store commit outcome checked"));
      assert.ok(outcomes.length > 0, logs.join("\n"));
      assert.ok(
        outcomes.every((l) => /(aborted|in progress)$/.test(l)),
        outcomes.join("\n"),
      );
    });

    it("a read whose connection was killed is asked again", async () => {
      store = await stores.open();
      const fault = arm((sql) => sql.startsWith("select") && sql.includes('"cursors"'), "drop-before");
      assert.equal(await store.getCursor("nothing"), null);
      assert.equal(fault.hits, 1, "the fault never fired");
    });
  });
});
