import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type DemoSystems, startDemoSystems } from "@passerelle/emulators";
import type { RunSummary } from "../engine/sync.ts";
import type { WebhookReceiver } from "../ports/connector.ts";
import type { WebhookInbox } from "../ports/inbox.ts";
import { type RunningServer, startServer } from "../server/app.ts";
import { type Context, definitionFor, openContext } from "./context.ts";
import { EVENT_WINDOW_MARGIN_MS, EventRuntime, massWindowStart } from "./events.ts";
import { SYNC_QUEUE } from "./flow-jobs.ts";
import { JobQueue } from "./jobs.ts";
import { FlowBusyError, runFlow } from "./run-flow.ts";
import { Scheduler } from "./scheduler.ts";

const SECRET = "shpss_events_test";
let systems: DemoSystems;
let ctx: Context;
let dir: string;
let inbox: WebhookInbox;
let server: RunningServer;
let runtime: EventRuntime;
let passes: { kind: string; summary: RunSummary }[] = [];
const settings = {
  coalesceMs: 0,
  massThreshold: 1000,
  reconcile: { cron: "*/15 * * * *", overlapSeconds: 60 },
};

before(async () => {
  systems = await startDemoSystems({ products: 3 });
  systems.shopify.webhooks.faults = {};
  dir = mkdtempSync(join(tmpdir(), "passerelle-events-"));
  const config = join(dir, "passerelle.yaml");
  const env = { ...systems.env, SHOPIFY_WEBHOOK_SECRET: SECRET };
  Object.assign(process.env, env);
  // The emulator signs with its own secret; the connection must be configured with the same one.
  (systems.shopify.webhooks as { secret: string }).secret = SECRET;
  writeFileSync(
    config,
    `version: 1
store: { url: "sqlite:${join(dir, "s.db")}" }
connections:
  odoo: { type: odoo, url: "\${env:ODOO_URL}", db: "\${env:ODOO_DB}", username: "\${env:ODOO_USER}", password: "\${env:ODOO_PASSWORD}" }
  shopify: { type: shopify, shop: "\${env:SHOPIFY_SHOP}", accessToken: "\${env:SHOPIFY_ACCESS_TOKEN}", endpoint: "\${env:SHOPIFY_ENDPOINT}", webhookSecret: "\${env:SHOPIFY_WEBHOOK_SECRET}" }
flows:
  customers:
    source: { connection: shopify, entity: customer }
    target: { connection: odoo, entity: customer }
    trigger: { type: events, coalesceMs: 0 }
`,
  );
  ctx = await openContext(config);
  inbox = ctx.store.openInbox();
  const shopDef = definitionFor("shopify");
  const { type: _t, ...shopSettings } = ctx.config.connections.shopify as { type: string };
  server = await startServer({
    host: "127.0.0.1",
    port: 0,
    inbox,
    endpoints: new Map([
      [
        "shopify",
        {
          receiver: shopDef.webhooks as WebhookReceiver<unknown>,
          config: shopDef.configSchema.parse(shopSettings),
        },
      ],
    ]),
  });
  runtime = new EventRuntime({
    store: ctx.store,
    engine: ctx.engine,
    inbox,
    queue: new JobQueue(ctx.store),
    eventFlows: [{ flow: ctx.flow("customers"), settings }],
    holder: "test",
    onPass: (kind, summary) => passes.push({ kind, summary }),
  });
  const manager = ctx.connectors.get("shopify")?.webhooks;
  assert.ok(manager);
  await manager.register(`${server.url}/webhooks/shopify`, ["CUSTOMERS_CREATE", "CUSTOMERS_UPDATE"]);
  // Everything the shop has now reaches the ERP once, by the first reconciliation window.
  const first = await runtime.reconcile("customers");
  assert.equal(first?.status, "succeeded");
});

after(async () => {
  await server.close();
  await ctx.close();
  await systems.close();
  rmSync(dir, { recursive: true, force: true });
});

const customers = () => [...systems.shopify.data.customers.values()];

/** Changes a shop customer as the admin would, and lets the emulator deliver the webhooks. */
async function rename(index: number, lastName: string): Promise<string> {
  const c = customers()[index];
  assert.ok(c);
  c.lastName = lastName;
  c.updatedAt = new Date().toISOString();
  systems.shopify.webhooks.scan();
  await systems.shopify.webhooks.settle();
  await inbox.drain();
  return c.email as string;
}

function erpName(email: string): string {
  const ids = systems.odoo.data.search("res.partner", [["email", "=", email]]);
  assert.equal(ids.length, 1, `one partner for ${email}`);
  const [p] = systems.odoo.data.read("res.partner", ids, ["name"]);
  return String(p?.name);
}

async function drain(): Promise<void> {
  passes = [];
  await runtime.drain("shopify", "customer");
}

describe("event-driven flow", () => {
  test("a duplicated delivery is stored once and processed once", async () => {
    systems.shopify.webhooks.faults = { duplicate: true };
    const logged = systems.shopify.webhooks.log.length;
    const email = await rename(0, "Duplicate");
    systems.shopify.webhooks.faults = {};
    const sent = systems.shopify.webhooks.log.slice(logged);
    assert.equal(sent.length, 2);
    assert.equal(sent[0]?.eventId, sent[1]?.eventId);
    // Each delivery's log line says when its POST started and was answered (the order-latency bench reads it).
    for (const l of sent) {
      assert.equal(typeof l.sentAt, "number");
      assert.ok((l.sentAt ?? 0) <= (l.answeredAt ?? -1), JSON.stringify(l));
    }
    assert.equal(await inbox.count({ status: "pending" }), 1);
    await drain();
    assert.equal(passes.length, 1);
    assert.equal(passes[0]?.summary.counts.updated, 1);
    assert.match(erpName(email), /Duplicate/);
    assert.equal(await inbox.count({ status: "pending" }), 0);
  });

  test("a burst on one record, delivered newest first, coalesces into one read and ends in the last state", async () => {
    systems.shopify.webhooks.faults = { reorder: true };
    const c = customers()[1];
    assert.ok(c);
    for (const name of ["First", "Second", "Third", "Final"]) {
      // Each change gets its own timestamp, as successive edits do.
      const before = c.updatedAt;
      while (new Date().toISOString() === before) await new Promise((r) => setTimeout(r, 1));
      c.lastName = name;
      c.updatedAt = new Date().toISOString();
      systems.shopify.webhooks.scan();
    }
    await systems.shopify.webhooks.settle();
    await inbox.drain();

    systems.shopify.webhooks.faults = {};
    assert.equal(await inbox.count({ status: "pending" }), 4);
    await drain();
    assert.equal(passes.length, 1);
    assert.equal(passes[0]?.summary.counts.read, 1, "four events, one record read");
    assert.equal(passes[0]?.summary.counts.updated, 1, "and one write");
    assert.match(erpName(c.email as string), /Final/);
  });

  test("a dropped webhook is recovered by the reconciliation window", async () => {
    systems.shopify.webhooks.faults = { drop: () => true };
    const email = await rename(2, "Dropped");
    systems.shopify.webhooks.faults = {};
    assert.equal(systems.shopify.webhooks.log.at(-1)?.status, "dropped");
    await drain();
    assert.equal(passes.length, 0);
    assert.doesNotMatch(erpName(email), /Dropped/);
    const s = await runtime.reconcile("customers");
    assert.equal(s?.counts.updated, 1, "only the changed record is written; the rest are unchanged");
    assert.match(erpName(email), /Dropped/);
  });

  test("above the mass threshold the flow runs one batch pass instead of per-record reads", async () => {
    const mass = new EventRuntime({
      store: ctx.store,
      engine: ctx.engine,
      inbox,
      queue: new JobQueue(ctx.store),
      eventFlows: [{ flow: ctx.flow("customers"), settings: { ...settings, massThreshold: 3 } }],
      holder: "test-mass",
      onPass: (kind, summary) => passes.push({ kind, summary }),
    });
    // Customers changed 30 s ago and already synced: inside a reconciliation-wide window (60 s of
    // overlap here), outside one that starts at the pending events' own shop timestamps.
    const earlier = customers().slice(20, 35);
    assert.equal(earlier.length, 15, "the emulator seeds enough customers");
    for (const c of earlier) {
      c.lastName = `Earlier ${c.id}`;
      c.updatedAt = new Date(Date.now() - 30_000).toISOString();
    }
    systems.shopify.webhooks.scan();
    await systems.shopify.webhooks.settle();
    await inbox.drain();
    await drain();
    assert.equal(await inbox.count({ connection: "shopify", status: "pending" }), 0);
    for (let i = 10; i < 15; i++) await rename(i, `Mass${i}`);
    passes = [];
    await mass.drain("shopify", "customer");
    assert.deepEqual(
      passes.map((p) => p.kind),
      ["batch"],
    );
    assert.equal(passes[0]?.summary.counts.updated, 5);
    const read = passes[0]?.summary.counts.read ?? 0;
    assert.ok(
      read >= 5 && read < 5 + earlier.length,
      `the batch pass read ${read} customers: the 15 synced 30 s before the events were read again`,
    );
    for (let i = 10; i < 15; i++)
      assert.match(erpName(customers()[i]?.email as string), new RegExp(`Mass${i}`));
  });

  test("a mass-change pass starts at the oldest event's shop timestamp minus the margin; an event without one widens it to the overlap", () => {
    const now = new Date("2026-12-04T10:00:00.000Z");
    const ev = (occurredAt: string | null, receivedAt: string) => ({ occurredAt, receivedAt });
    assert.equal(
      massWindowStart(
        [
          ev("2026-12-04T09:59:58Z", "2026-12-04T09:59:59.500Z"),
          ev("2026-12-04T09:59:50+01:00", "2026-12-04T09:59:59.900Z"),
        ],
        300,
        now,
      ),
      new Date(Date.parse("2026-12-04T08:59:50Z") - EVENT_WINDOW_MARGIN_MS).toISOString(),
    );
    assert.equal(
      massWindowStart(
        [ev("2026-12-04T09:59:58Z", "2026-12-04T09:59:59Z"), ev(null, "2026-12-04T09:59:59Z")],
        300,
        now,
      ),
      "2026-12-04T09:54:59.000Z",
    );
    assert.equal(massWindowStart([], 300, now), now.toISOString());
  });

  test("an event whose record cannot be read stays pending, backs off, and is marked failed after N passes", async () => {
    let t = Date.now();
    const now = () => new Date(t);
    const clocked = ctx.store.openInbox({ now });
    const retrying = new EventRuntime({
      store: ctx.store,
      engine: ctx.engine,
      inbox: clocked,
      queue: new JobQueue(ctx.store, { now }),
      eventFlows: [{ flow: ctx.flow("customers"), settings }],
      holder: "test-retry",
      now,
      maxEventAttempts: 3,
      eventRetryBaseMs: 1_000,
    });
    const email = await rename(3, "Unreadable");
    systems.shopify.faults.configure({ rates: { "5xx": 1 } });
    try {
      const [event] = await clocked.list({ status: "pending" });
      assert.ok(event);
      await retrying.drain("shopify", "customer");
      let e = await clocked.byKey("shopify", event.dedupeKey);
      assert.equal(e?.status, "pending", "not settled: its record was not synced");
      assert.equal(e?.attempts, 1);
      assert.match(e?.note ?? "", /^pass 1 could not sync the record: .*HTTP 503/);
      assert.equal(e?.retryAt, new Date(t + 1_000).toISOString());
      await retrying.drain("shopify", "customer");
      assert.equal((await clocked.byKey("shopify", event.dedupeKey))?.attempts, 1, "not before its backoff");
      t += 1_000;
      await retrying.drain("shopify", "customer");
      e = await clocked.byKey("shopify", event.dedupeKey);
      assert.equal(e?.attempts, 2);
      assert.equal(e?.retryAt, new Date(t + 2_000).toISOString(), "the wait doubles");
      t += 2_000;
      await retrying.drain("shopify", "customer");
      e = await clocked.byKey("shopify", event.dedupeKey);
      assert.equal(e?.status, "failed", "given up after maxEventAttempts, visibly");
      assert.match(e?.note ?? "", /^pass 3 could not sync the record/);
      assert.doesNotMatch(erpName(email), /Unreadable/);
    } finally {
      systems.shopify.faults.configure({});
    }
  });

  test("a flow never runs twice at once: a second pass while one holds the flow is skipped", async () => {
    // Two processes (two lease holders) asked to run the same flow at the same moment.
    const other = new EventRuntime({
      store: ctx.store,
      engine: ctx.engine,
      inbox,
      queue: new JobQueue(ctx.store),
      eventFlows: [{ flow: ctx.flow("customers"), settings }],
      holder: "other-process",
    });
    const scheduled = runFlow(ctx, ctx.flow("customers"), { kind: "cursor" }, { holder: "test" }).catch(
      (e: unknown) => {
        if (e instanceof FlowBusyError) return null;
        throw e;
      },
    );
    const [a, b] = await Promise.all([scheduled, other.reconcile("customers")]);
    assert.equal([a, b].filter((x) => x === null).length, 1, "exactly one of the two ran");
  });
});

describe("scheduler", () => {
  test("a schedule whose job is still queued or running is not queued again (cron overlap)", async () => {
    const queue = new JobQueue(ctx.store);
    const enqueued: (number | null)[] = [];
    const scheduler = new Scheduler({
      queue,
      marks: ctx.store.marks(),
      entries: [
        {
          name: "overlap",
          cron: "* * * * * *",
          job: { queue: SYNC_QUEUE, payload: { flow: "customers" }, singletonKey: "sync:overlap" },
        },
      ],
      onEnqueued: (_e, id) => enqueued.push(id as number | null),
    });
    await scheduler.start();
    const deadline = Date.now() + 20_000;
    while (enqueued.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    scheduler.stop();
    assert.ok(enqueued.length >= 3, `expected three fires, got ${enqueued.length}`);
    // Nobody claims the job in this test, so the first stays queued and every later fire is refused.
    assert.ok(typeof enqueued[0] === "number");
    assert.deepEqual(
      enqueued.slice(1),
      enqueued.slice(1).map(() => null),
    );
  });

  test("runs missed while down run once on start, not once per missed occurrence", async () => {
    const queue = new JobQueue(ctx.store);
    const now = new Date("2026-05-01T12:00:30Z");
    await ctx.store.marks().setMark("schedule:missed", "2026-05-01T07:00:00Z"); // five hourly runs missed
    const fired: string[] = [];
    const scheduler = new Scheduler({
      queue,
      marks: ctx.store.marks(),
      now: () => now,
      entries: [
        {
          name: "missed",
          cron: "0 * * * *",
          job: { queue: "test-missed", payload: {}, singletonKey: "missed" },
        },
      ],
      onEnqueued: (_e, _id, reason) => fired.push(reason),
    });
    await scheduler.start();
    scheduler.stop();
    assert.deepEqual(fired, ["missed"]);
    assert.equal(await ctx.store.marks().getMark("schedule:missed"), now.toISOString());
    // Started again right away: nothing was missed since.
    const again = new Scheduler({
      queue,
      marks: ctx.store.marks(),
      now: () => now,
      entries: [{ name: "missed", cron: "0 * * * *", job: { queue: "test-missed", payload: {} } }],
      onEnqueued: (_e, _id, reason) => fired.push(reason),
    });
    await again.start();
    again.stop();
    assert.deepEqual(fired, ["missed"]);
  });

  test("an atStart schedule fires at every start, with nothing missed", async () => {
    const queue = new JobQueue(ctx.store);
    const now = new Date("2026-05-01T12:00:30Z");
    const fired: string[] = [];
    const entry = {
      name: "at-start",
      cron: "0 */6 * * *",
      job: { queue: "test-at-start", payload: {} },
      atStart: true,
    };
    for (let i = 0; i < 2; i++) {
      const scheduler = new Scheduler({
        queue,
        marks: ctx.store.marks(),
        now: () => now,
        entries: [entry],
        onEnqueued: (_e, _id, reason) => fired.push(reason),
      });
      await scheduler.start();
      scheduler.stop();
    }
    assert.deepEqual(fired, ["start", "start"]);
    assert.equal(await ctx.store.marks().getMark("schedule:at-start"), now.toISOString());
  });
});
