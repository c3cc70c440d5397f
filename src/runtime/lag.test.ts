/**
 * A flow's lag (runtime/lag.ts) is the time since it last caught up with its source, not the age of its
 * cursor's last record: a quiet source whose last change is years old lags by minutes once the flow ran; a
 * flow whose runs keep failing lags more and more; a run stopped by maxPages is no catch-up; pending
 * webhook events of an event flow bound it. The API's `lagSeconds` and `/metrics` read the same number.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../server/app.ts";
import { type Context, openContext } from "./context.ts";
import { JobQueue } from "./jobs.ts";
import { flowLag } from "./lag.ts";
import { Metrics } from "./metrics.ts";

let dir: string;
let ctx: Context;
let app: FastifyInstance;
let metrics: Metrics;

/** An old cursor: the last record the source holds changed in 2023. */
const OLD = { updatedAt: "2023-01-02T03:04:05.000Z", id: "17" };

async function run(flow: string, status: "succeeded" | "failed" | "partial", error: string | null = null) {
  const r = await ctx.store.startRun(flow, "sync");
  await ctx.store.commitPage({
    flow,
    runId: r.id,
    ...(status === "failed" ? {} : { cursor: OLD }),
    links: [],
    events: [],
    failures: [],
    resolvedKeys: [],
    completedIntents: [],
    counts: {},
  });
  await ctx.store.finishRun(r.id, status, error ?? (status === "failed" ? "odoo: 503" : null));
  return r;
}

/** Lets the clock move on, so two stamps in a row differ (stamps are to the millisecond). */
const tick = () => new Promise((r) => setTimeout(r, 5));

const at = (iso: string, plusMs: number) => new Date(Date.parse(iso) + plusMs);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "passerelle-lag-"));
  const config = join(dir, "passerelle.yaml");
  writeFileSync(
    config,
    `version: 1
store: { url: "sqlite:${join(dir, "s.db")}" }
connections:
  odoo: { type: odoo, url: "http://127.0.0.1:1", db: d, username: u, password: "lag-test-pw" }
  shopify: { type: shopify, shop: lag.myshopify.com, accessToken: "shpat_lag_test", endpoint: "http://127.0.0.1:1/graphql" }
flows:
  quiet:
    source: { connection: odoo, entity: product }
    target: { connection: shopify, entity: product }
  broken:
    source: { connection: odoo, entity: price }
    target: { connection: shopify, entity: price }
  paged:
    source: { connection: odoo, entity: category }
    target: { connection: shopify, entity: category }
  orders:
    source: { connection: shopify, entity: order }
    target: { connection: odoo, entity: order }
    trigger: { type: events, reconcile: { cron: "0 * * * *" } }
  idle:
    source: { connection: odoo, entity: inventory }
    target: { connection: shopify, entity: inventory }
`,
  );
  ctx = await openContext(config);
  metrics = new Metrics(ctx);
  app = buildServer({
    endpoints: new Map(),
    inbox: ctx.store.openInbox(),
    api: { ctx, queue: new JobQueue(ctx.store), metrics, holder: "lag-test", noAuthOnLoopback: true },
  });
  await app.ready();
});

after(async () => {
  await app?.close();
  await ctx?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("flow lag", () => {
  test("a quiet flow that caught up a minute ago lags a minute, however old its last record", async () => {
    const r = await run("quiet", "succeeded");
    assert.deepEqual(await ctx.store.getCursor("quiet"), OLD);
    const lag = await flowLag(ctx, "quiet", at(r.startedAt, 60_000));
    assert.deepEqual(lag, { seconds: 60, since: r.startedAt, basis: "caught-up" });
    // A run with failed records read everything: those are open failures, not lag.
    const p = await run("quiet", "partial");
    assert.equal((await flowLag(ctx, "quiet", at(p.startedAt, 1000))).seconds, 1);
  });

  test("a flow whose runs keep failing lags from its last catch-up, more at every run", async () => {
    const ok = await run("broken", "succeeded");
    await run("broken", "failed");
    const a = await flowLag(ctx, "broken", at(ok.startedAt, 120_000));
    await run("broken", "failed");
    const b = await flowLag(ctx, "broken", at(ok.startedAt, 600_000));
    assert.equal(a.since, ok.startedAt);
    assert.equal(b.since, ok.startedAt);
    assert.deepEqual([a.seconds, b.seconds], [120, 600]);
  });

  test("a flow that never caught up lags from its first run; one that never ran has no lag", async () => {
    const first = await run("paged", "failed");
    await run("paged", "failed");
    assert.deepEqual(await flowLag(ctx, "paged", at(first.startedAt, 5000)), {
      seconds: 5,
      since: first.startedAt,
      basis: "first-run",
    });
    // A run stopped by maxPages carries a note: it is no catch-up either.
    await run("paged", "succeeded", "stopped after 1 page(s) (maxPages): the source may hold more");
    assert.equal((await flowLag(ctx, "paged", at(first.startedAt, 5000))).basis, "first-run");
    assert.deepEqual(await flowLag(ctx, "idle"), { seconds: null, since: null, basis: null });
  });

  test("an event flow lags from its oldest pending webhook event when that is older", async () => {
    const r = await run("orders", "succeeded");
    await tick();
    const inbox = ctx.store.openInbox();
    await inbox.add("shopify", [
      {
        dedupeKey: "lag-test-1",
        topic: "orders/updated",
        entity: "order",
        recordId: "gid://shopify/Order/1",
        occurredAt: null,
        payload: {},
      },
    ]);
    const [ev] = await inbox.list({ connection: "shopify", status: "pending" });
    assert.ok(ev);
    // Received after the last catch-up: the catch-up is older.
    assert.equal((await flowLag(ctx, "orders", at(r.startedAt, 60_000))).basis, "caught-up");
    await tick();
    const later = await run("orders", "succeeded");
    // Caught up since, but the event is still pending: it is the oldest change known to be unprocessed.
    const after = await flowLag(ctx, "orders", at(later.startedAt, 60_000));
    assert.equal(after.basis, "pending-event", "still pending after a later catch-up: the event bounds it");
    assert.equal(after.since, ev.receivedAt);
    await inbox.settle([ev.id], "processed");
    assert.equal((await flowLag(ctx, "orders", at(later.startedAt, 60_000))).basis, "caught-up");
  });

  test("the API and /metrics show the same lag: minutes, not the age of the last record", async () => {
    await run("quiet", "succeeded");
    const res = await app.inject({ method: "GET", url: "/api/v1/flows", remoteAddress: "127.0.0.1" });
    assert.equal(res.statusCode, 200);
    const quiet = (res.json().flows as { name: string; lagSeconds: number; lagBasis: string }[]).find(
      (f) => f.name === "quiet",
    );
    assert.ok(quiet);
    assert.equal(quiet.lagBasis, "caught-up");
    // The cursor's record is from 2023 (about 10^8 seconds ago); the flow caught up moments ago.
    assert.ok(quiet.lagSeconds < 3600, `lagSeconds ${quiet.lagSeconds}`);
    const { body } = await metrics.text();
    const m = /^passerelle_flow_lag_seconds\{flow="quiet"\} ([\d.e+]+)$/m.exec(body);
    assert.ok(m, body);
    assert.ok(Number(m[1]) < 3600, `metric ${m[1]}`);
    assert.doesNotMatch(body, /passerelle_flow_lag_seconds\{flow="idle"\}/);
  });
});
