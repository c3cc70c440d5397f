/**
 * The jobs thread's start and stop as the service sees them (the whole path through the CLI, with a sync and
 * webhooks, is test/e2e/jobs-thread.test.ts): a thread that cannot open the configuration fails the start
 * with its reason instead of leaving a process that serves but never runs a job; a started one stops when
 * asked, and the main thread's /metrics shows the thread's connectors; a thread that dies is logged and
 * started again under a holder of its own; deliveries are acknowledged while the thread waits on the store's
 * write lock, the thread queuing their drain.
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import type { Logger } from "pino";
import { SyncError } from "../core/errors.ts";
import { type Context, openContext } from "./context.ts";
import { EVENTS_QUEUE } from "./events.ts";
import { checkJobsThreadStore, JobsThread } from "./jobs-thread.ts";
import { startService } from "./service.ts";

const WEBHOOK_SECRET = "shpss_jobs_thread";

let dir: string;
let config: string;
let ctx: Context;

const yaml = (store: string) => `version: 1
store: { url: "${store}" }
server: { jobsThread: true }
connections:
  odoo: { type: odoo, url: "http://127.0.0.1:1", db: d, username: u, password: "jobs-thread-pw" }
  shopify: { type: shopify, shop: m.myshopify.com, accessToken: "shpat_jobs_thread", endpoint: "http://127.0.0.1:1/graphql", webhookSecret: "${WEBHOOK_SECRET}" }
flows:
  products:
    source: { connection: odoo, entity: product }
    target: { connection: shopify, entity: product }
`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "passerelle-jobs-thread-"));
  config = join(dir, "passerelle.yaml");
  writeFileSync(config, yaml(`sqlite:${join(dir, "s.db")}`));
  ctx = await openContext(config);
});

after(async () => {
  await ctx?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a started jobs thread serves the main thread's /metrics with its connectors, and stops when asked", async () => {
  const s = await startService(ctx, { host: "127.0.0.1", port: 0 });
  try {
    assert.equal(s.role, "all");
    assert.ok(s.worker && "interrupted" in s.worker, "the runner is the jobs thread");
    assert.ok(s.metrics);
    // The thread reports its connectors' counters at start; /metrics has a gauge per connection.
    assert.match((await s.metrics.text()).body, /passerelle_api_calls\{connection="shopify"\} 0/);
  } finally {
    const { abandoned } = await s.stop({ reason: "test over" });
    assert.deepEqual(abandoned, []);
  }
});

test("a thread that cannot open the configuration fails the start, saying why", async () => {
  const broken = join(dir, "broken.yaml");
  writeFileSync(broken, yaml(`sqlite:${join(dir, "b.db")}`));
  const c = await openContext(broken);
  try {
    // The main thread has read it; the thread reads it afresh and finds it broken.
    writeFileSync(broken, "version: 1\nflows: [not, a, map]\n");
    await assert.rejects(startService(c, { host: "127.0.0.1", port: 0 }), (e: unknown) => {
      assert.ok(e instanceof SyncError, String(e));
      assert.match(e.message, /^the jobs thread could not start: .*flows/s);
      return true;
    });
  } finally {
    await c.close();
  }
});

test("sqlite::memory: is refused for the jobs thread, naming the setting", () => {
  assert.throws(
    () => checkJobsThreadStore("sqlite::memory:"),
    /server\.jobsThread: true needs a store both threads can open; "sqlite::memory:"/,
  );
  checkJobsThreadStore(`sqlite:${join(dir, "s.db")}`);
  checkJobsThreadStore("postgres://u@127.0.0.1/db");
});

test("a thread that dies is logged and started again under a new lease holder", async () => {
  const errors: string[] = [];
  const logger = {
    error: (_o: unknown, msg: string) => errors.push(msg),
    warn: () => {},
    info: () => {},
  } as unknown as Logger;
  const holders: string[] = [];
  const thread = new JobsThread({
    configPath: config,
    storeUrl: `sqlite:${join(dir, "s.db")}`,
    holder: "worker-test-1",
    service: {},
    logger,
    onPass: (_kind, s) => holders.push(s.flow),
    entry: new URL("../../test/fixtures/jobs-thread-crashing.mjs", import.meta.url),
  });
  thread.start();
  await thread.ready();
  const deadline = Date.now() + 30_000;
  while (!holders.includes("worker-test-1#2")) {
    assert.ok(Date.now() < deadline, `not started again: ${JSON.stringify({ holders, errors })}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(holders, ["worker-test-1#1", "worker-test-1#2"]);
  assert.ok(
    errors.some((m) => /jobs thread stopped unexpectedly; starting it again/.test(m)),
    JSON.stringify(errors),
  );
  assert.deepEqual(await thread.stop({ reason: "test over" }), { abandoned: [] });
});

test("deliveries are acknowledged while the store's write lock is held elsewhere; the thread queues their drain", async () => {
  // The main thread does not write the drain job itself: on SQLite that write would wait, event loop and
  // all, for a lock the thread's page commit holds, and every acknowledgement with it.
  const s = await startService(ctx, { host: "127.0.0.1", port: 0, sweepMs: 600_000 });
  const other = new Database(join(dir, "s.db"));
  let release: NodeJS.Timeout | undefined;
  try {
    const deliver = async (id: number): Promise<number> => {
      const body = JSON.stringify({
        id,
        admin_graphql_api_id: `gid://shopify/Order/${id}`,
        name: `#${id}`,
        updated_at: new Date().toISOString(),
      });
      const eventId = randomUUID();
      const res = await fetch(s.webhookUrl("shopify"), {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-shopify-topic": "orders/create",
          "x-shopify-hmac-sha256": createHmac("sha256", WEBHOOK_SECRET).update(body).digest("base64"),
          "x-shopify-shop-domain": "m.myshopify.com",
          "x-shopify-api-version": "2026-10",
          "x-shopify-webhook-id": eventId,
          "x-shopify-event-id": eventId,
        },
      });
      await res.arrayBuffer();
      return res.status;
    };
    // Another connection takes the store's write lock, as a page commit does, for 2 s: under the store's
    // busy_timeout (5 s), so a main thread waiting on it would still be waiting when it is let go.
    other.exec("BEGIN IMMEDIATE");
    let held = true;
    release = setTimeout(() => {
      other.exec("ROLLBACK");
      held = false;
    }, 2_000);
    // The first delivery asks for its group's drain; the second comes after that request's 50 ms window.
    const first = await deliver(1);
    const firstWhileHeld = held;
    await new Promise((r) => setTimeout(r, 100));
    const second = await deliver(2);
    const secondWhileHeld = held;
    assert.deepEqual([first, second], [200, 200]);
    assert.ok(firstWhileHeld && secondWhileHeld, "both acknowledged while the lock was held");
    // Once the lock is free, the thread's request goes through: the group's drain is in the job queue.
    while (held) await new Promise((r) => setTimeout(r, 50));
    const deadline = Date.now() + 20_000;
    while ((await ctx.store.jobs().list({ queue: EVENTS_QUEUE })).length === 0) {
      assert.ok(Date.now() < deadline, "no drain queued for the deliveries");
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    clearTimeout(release);
    if (other.inTransaction) other.exec("ROLLBACK");
    other.close();
    await s.stop({ reason: "test over" });
  }
});
