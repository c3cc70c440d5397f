/**
 * The management API on the emulators: every route, role enforcement, the loopback bypass, tokens stored
 * hashed, the audit log, the OpenAPI document's completeness, bad input, and metrics after a real sync.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type DemoSystems, startDemoSystems } from "@passerelle/emulators";
import type { FastifyInstance } from "fastify";
import { prepare } from "../engine/sync.ts";
import { requireStream } from "../ports/connector.ts";
import { type Context, openContext } from "../runtime/context.ts";
import { JobQueue } from "../runtime/jobs.ts";
import { Metrics } from "../runtime/metrics.ts";
import { runFlow } from "../runtime/run-flow.ts";
import type { KyselyStore } from "../store/kysely-store.ts";
import { createToken, hashToken } from "./api/auth.ts";
import { buildServer } from "./app.ts";

let systems: DemoSystems;
let ctx: Context;
let dir: string;
let app: FastifyInstance;
let open: FastifyInstance;
const routes: { method: string; url: string }[] = [];
const tokens: Record<"viewer" | "operator" | "admin", string> = { viewer: "", operator: "", admin: "" };
let runId = 0;
let productKey = "";
let odooId = "";

const REMOTE = "10.1.2.3";

function call(
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  opts: {
    as?: keyof typeof tokens;
    body?: unknown;
    raw?: string;
    from?: string;
    server?: FastifyInstance;
  } = {},
) {
  const headers: Record<string, string> = {};
  if (opts.as) headers.authorization = `Bearer ${tokens[opts.as]}`;
  if (opts.body !== undefined || opts.raw !== undefined) headers["content-type"] = "application/json";
  return (opts.server ?? app).inject({
    method,
    url,
    headers,
    remoteAddress: opts.from ?? REMOTE,
    ...(opts.raw !== undefined
      ? { payload: opts.raw }
      : opts.body !== undefined
        ? { payload: JSON.stringify(opts.body) }
        : {}),
  });
}

async function addFailure(): Promise<number> {
  const flow = ctx.flow("products");
  const stream = requireStream(flow.source, "product");
  const native = await stream.get(odooId);
  const p = await prepare(flow, stream, native);
  assert.ok(p.mapped, "the product maps");
  const run = await ctx.store.startRun("products", "sync");
  await ctx.store.commitPage({
    flow: "products",
    runId: run.id,
    links: [],
    events: [],
    failures: [
      {
        flow: "products",
        entity: "product",
        key: p.key,
        sourceSystem: "odoo",
        sourceId: p.sourceId,
        sourcePayload: native,
        mappedPayload: p.mapped,
        errorKind: "retryable",
        errorMessage: "shopify: 503 Service Unavailable",
        errorDetail: null,
      },
    ],
    resolvedKeys: [],
    completedIntents: [],
    counts: { failed: 1 },
  });
  await ctx.store.finishRun(run.id, "partial");
  const [f] = await ctx.store.listFailures({ flow: "products", status: "open" });
  assert.ok(f);
  return f.id;
}

before(async () => {
  systems = await startDemoSystems({ products: 3 });
  dir = mkdtempSync(join(tmpdir(), "passerelle-api-"));
  Object.assign(process.env, systems.env);
  const config = join(dir, "passerelle.yaml");
  writeFileSync(
    config,
    `version: 1
store: { url: "sqlite:${join(dir, "s.db")}" }
budgets:
  odoo: { callsPerDay: 5000 }
connections:
  odoo: { type: odoo, url: "\${env:ODOO_URL}", db: "\${env:ODOO_DB}", username: "\${env:ODOO_USER}", password: "\${env:ODOO_PASSWORD}" }
  shopify: { type: shopify, shop: "\${env:SHOPIFY_SHOP}", accessToken: "\${env:SHOPIFY_ACCESS_TOKEN}", endpoint: "\${env:SHOPIFY_ENDPOINT}" }
flows:
  products:
    source: { connection: odoo, entity: product }
    target: { connection: shopify, entity: product }
    mapping:
      title: { expr: "$uppercase(title)" }
  customers:
    source: { connection: shopify, entity: customer }
    target: { connection: odoo, entity: customer }
    trigger: { type: schedule, cron: "*/5 * * * *" }
`,
  );
  ctx = await openContext(config);
  const metrics = new Metrics(ctx);
  const api = {
    ctx,
    queue: new JobQueue(ctx.store),
    metrics,
    holder: "api-test",
    noAuthOnLoopback: false,
  };
  app = buildServer({ endpoints: new Map(), inbox: ctx.store.openInbox(), bodyLimit: 64 * 1024, api });
  app.addHook("onRoute", (r) => {
    for (const m of [r.method].flat()) if (m !== "HEAD") routes.push({ method: m, url: r.url });
  });
  open = buildServer({
    endpoints: new Map(),
    inbox: ctx.store.openInbox(),
    api: { ...api, noAuthOnLoopback: true },
  });
  for (const role of ["viewer", "operator", "admin"] as const)
    tokens[role] = (await createToken(ctx.store.access(), { name: `test-${role}`, role })).token;

  const s = await runFlow(ctx, ctx.flow("products"), { kind: "cursor" }, { holder: "api-test" });
  assert.equal(s.status, "succeeded");
  assert.ok(s.counts.created > 0);
  metrics.observeRun("schedule", s);
  runId = s.runId;
  const read = (await ctx.store.access().runEvents(runId, 100)).find((e) => e.kind === "read");
  assert.ok(read?.externalId);
  productKey = read.key;
  odooId = read.externalId;
  await app.ready();
  await open.ready();
});

after(async () => {
  await app?.close();
  await open?.close();
  await ctx?.close();
  await systems?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("auth", () => {
  test("no token from a network address: 401 on every API route and /metrics", async () => {
    for (const url of ["/api/v1/flows", "/api/v1/openapi.json", "/metrics", "/api/v1/failures"]) {
      const res = await call("GET", url);
      assert.equal(res.statusCode, 401, url);
      assert.match(res.json().error, /missing bearer token/);
      assert.equal(res.headers["www-authenticate"], 'Bearer realm="passerelle"');
    }
    assert.equal((await call("GET", "/healthz")).statusCode, 200, "/healthz stays open");
  });

  test("a wrong or malformed token: 401", async () => {
    const res = await app.inject({
      method: "GET",
      url: "/api/v1/flows",
      headers: { authorization: "Bearer psr_nope" },
      remoteAddress: REMOTE,
    });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error, "unknown or revoked token");
    const basic = await app.inject({
      method: "GET",
      url: "/api/v1/flows",
      headers: { authorization: "Basic abc" },
      remoteAddress: REMOTE,
    });
    assert.equal(basic.json().error, "Authorization header must be: Bearer <token>");
  });

  test("loopback without a token: 401 unless the server was started with --no-auth-on-loopback", async () => {
    assert.equal((await call("GET", "/api/v1/flows", { from: "127.0.0.1" })).statusCode, 401);
    assert.equal((await call("GET", "/api/v1/flows", { from: "127.0.0.1", server: open })).statusCode, 200);
    assert.equal((await call("GET", "/api/v1/flows", { from: "::1", server: open })).statusCode, 200);
    assert.equal((await call("GET", "/api/v1/flows", { from: REMOTE, server: open })).statusCode, 401);
  });

  test("tokens are stored as their SHA-256 hash, never as the token", async () => {
    const db = (ctx.store as KyselyStore).db;
    const rows = await db.selectFrom("api_tokens").selectAll().execute();
    const dump = JSON.stringify(rows);
    for (const t of Object.values(tokens)) {
      assert.ok(!dump.includes(t), "raw token in the store");
      assert.ok(rows.some((r) => r.token_hash === hashToken(t)));
    }
  });

  test("a viewer reads but cannot retry (403), and the refusal is audited", async () => {
    const id = await addFailure();
    assert.equal((await call("GET", `/api/v1/failures/${id}`, { as: "viewer" })).statusCode, 200);
    const res = await call("POST", `/api/v1/failures/${id}/retry`, { as: "viewer" });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error, "role viewer may not POST /api/v1/failures/:id/retry; it needs operator");
    const audit = await ctx.store.access().listAudit({ limit: 5 });
    assert.ok(
      audit.some(
        (a) =>
          a.action === "failures.retry" &&
          a.target === `failure ${id}` &&
          a.actor === "test-viewer" &&
          a.outcome.startsWith("refused"),
      ),
    );
    assert.equal((await call("GET", "/api/v1/audit", { as: "operator" })).statusCode, 403);
  });
});

describe("routes", () => {
  test("GET /api/v1/connections and /connections/:name: health, calls today per flow, throttles", async () => {
    const list = await call("GET", "/api/v1/connections", { as: "viewer" });
    assert.equal(list.statusCode, 200);
    const names = list.json().connections.map((c: { name: string }) => c.name);
    assert.deepEqual(names.sort(), ["odoo", "shopify"]);
    const one = await call("GET", "/api/v1/connections/odoo", { as: "viewer" });
    assert.equal(one.statusCode, 200);
    const c = one.json();
    assert.equal(c.health.ok, true);
    assert.deepEqual(c.flows, ["products", "customers"]);
    assert.ok(c.calls.todayByFlow.products > 0, "the products sync's calls to odoo are counted for today");
    assert.equal(typeof c.throttled, "number");
    assert.equal(c.budget.callsPerDay, 5000);
    assert.equal(c.budget.usedToday, c.calls.today);
    assert.equal(c.budget.remaining, 5000 - c.calls.today);
    assert.equal(c.budget.basis, "budgets.odoo.callsPerDay in the configuration");
    // Read by the health check this call ran: the server's version and the JSON-RPC removal date.
    assert.equal(c.apiVersion.version, "Odoo 17.0");
    assert.equal(c.apiVersion.supportedUntil, "2028-09-01");
    const shop = list.json().connections.find((x: { name: string }) => x.name === "shopify");
    assert.equal(shop.apiVersion.api, "Shopify Admin GraphQL API");
    assert.match(shop.apiVersion.version, /^\d{4}-\d{2}$/);
    assert.match(shop.apiVersion.supportedUntil, /^\d{4}-\d{2}-\d{2}/);
    const missing = await call("GET", "/api/v1/connections/nope", { as: "viewer" });
    assert.equal(missing.statusCode, 404);
    assert.match(missing.json().error, /no connection named "nope"; connections: odoo, shopify/);
  });

  test("GET /api/v1/usage: calls per day, connection and flow", async () => {
    const res = await call("GET", "/api/v1/usage?days=2", { as: "viewer" });
    assert.equal(res.statusCode, 200);
    const b = res.json();
    assert.ok(
      b.calls.some(
        (c: { connection: string; flow: string; calls: number }) =>
          c.connection === "shopify" && c.flow === "products" && c.calls > 0,
      ),
    );
    assert.ok(b.totals.odoo > 0);
    assert.equal((await call("GET", "/api/v1/usage?days=0", { as: "viewer" })).statusCode, 400);
  });

  test("GET /api/v1/flows and /flows/:name: state, last and next run, lag, counts", async () => {
    const res = await call("GET", "/api/v1/flows", { as: "viewer" });
    assert.equal(res.statusCode, 200);
    const flows = res.json().flows as {
      name: string;
      state: string;
      nextRun: string | null;
      lastRun: { counts: { created: number } } | null;
    }[];
    const products = flows.find((f) => f.name === "products");
    assert.ok(products?.lastRun, "products ran");
    assert.equal(products.state, "idle");
    assert.equal(products.nextRun, null, "a manual flow has no next run");
    const customers = flows.find((f) => f.name === "customers");
    assert.equal(customers?.state, "never-run");
    assert.ok(customers?.nextRun && Date.parse(customers.nextRun) > Date.now());
    const one = await call("GET", "/api/v1/flows/products", { as: "viewer" });
    assert.equal(one.statusCode, 200);
    assert.ok(one.json().recentRuns.length >= 1);
    assert.equal(typeof one.json().lagSeconds, "number");
    const missing = await call("GET", "/api/v1/flows/nope", { as: "viewer" });
    assert.equal(missing.statusCode, 404);
    assert.match(missing.json().error, /no flow named "nope"; flows: products, customers/);
  });

  test("GET /api/v1/runs (paged) and /runs/:id with its events", async () => {
    const page = await call("GET", "/api/v1/runs?flow=products&limit=1", { as: "viewer" });
    assert.equal(page.statusCode, 200);
    assert.equal(page.json().runs.length, 1);
    const one = await call("GET", `/api/v1/runs/${runId}`, { as: "viewer" });
    assert.equal(one.statusCode, 200);
    assert.equal(one.json().id, runId);
    assert.ok(one.json().events.some((e: { kind: string }) => e.kind === "created"));
    const missing = await call("GET", "/api/v1/runs/999999", { as: "viewer" });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error, "no run with id 999999");
    const bad = await call("GET", "/api/v1/runs/abc", { as: "viewer" });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /params\/id must be integer/);
    assert.equal((await call("GET", "/api/v1/runs?flow=nope", { as: "viewer" })).statusCode, 404);
  });

  test("GET /api/v1/trace/:entity/:ref by key or by a system's id", async () => {
    const byKey = await call("GET", `/api/v1/trace/product/${encodeURIComponent(productKey)}`, {
      as: "viewer",
    });
    assert.equal(byKey.statusCode, 200);
    assert.ok(byKey.json().links[productKey].some((l: { system: string }) => l.system === "shopify"));
    const byId = await call("GET", `/api/v1/trace/product/${encodeURIComponent(odooId)}`, { as: "viewer" });
    assert.equal(byId.statusCode, 200);
    assert.ok(byId.json().events.some((e: { key: string }) => e.key === productKey));
    assert.equal(
      (await call("GET", "/api/v1/trace/product/NO-SUCH-THING", { as: "viewer" })).statusCode,
      404,
    );
    // An order asked for by its shop name: the key is "<system>:<name>".
    const run = await ctx.store.startRun("products", "sync");
    await ctx.store.commitPage({
      flow: "products",
      runId: run.id,
      links: [
        {
          entity: "order",
          key: "shopify:#1001",
          system: "shopify",
          externalId: "gid://shopify/Order/9",
          lastHash: null,
          version: null,
        },
      ],
      events: [
        {
          entity: "order",
          key: "shopify:#1001",
          system: "shopify",
          externalId: "gid://shopify/Order/9",
          kind: "read",
          message: null,
          detail: null,
        },
      ],
      failures: [],
      resolvedKeys: [],
      completedIntents: [],
      counts: {},
    });
    await ctx.store.finishRun(run.id, "succeeded");
    const byName = await call("GET", "/api/v1/trace/order/%231001", { as: "viewer" });
    assert.equal(byName.statusCode, 200, byName.body);
    assert.deepEqual(Object.keys(byName.json().links), ["shopify:#1001"]);
    const bad = await call("GET", "/api/v1/trace/widget/1", { as: "viewer" });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /params\/entity must be equal to one of the allowed values/);
  });

  test("failures: list, show, retry, resync, skip, resolve, edit; audited", async () => {
    const id = await addFailure();
    const list = await call("GET", "/api/v1/failures?flow=products", { as: "viewer" });
    assert.ok(list.json().failures.some((f: { id: number }) => f.id === id));
    assert.equal((await call("GET", "/api/v1/failures?status=bogus", { as: "viewer" })).statusCode, 400);
    const retried = await call("POST", `/api/v1/failures/${id}/retry`, { as: "operator" });
    assert.equal(retried.statusCode, 200, retried.body);
    assert.equal(retried.json().ok, true);
    const after = await call("GET", `/api/v1/failures/${id}`, { as: "viewer" });
    assert.equal(after.json().status, "resolved");
    const again = await call("POST", `/api/v1/failures/${id}/retry`, { as: "operator" });
    assert.equal(again.statusCode, 400);
    assert.match(again.json().error, /already resolved; nothing to retry/);

    const id2 = await addFailure();
    const resynced = await call("POST", `/api/v1/failures/${id2}/resync`, { as: "operator" });
    assert.equal(resynced.statusCode, 200, resynced.body);
    assert.equal(resynced.json().ok, true);

    const id3 = await addFailure();
    const noReason = await call("POST", `/api/v1/failures/${id3}/skip`, { as: "operator", body: {} });
    assert.equal(noReason.statusCode, 400);
    assert.match(noReason.json().error, /body must have required property 'reason'/);
    const skipped = await call("POST", `/api/v1/failures/${id3}/skip`, {
      as: "operator",
      body: { reason: "discontinued" },
    });
    assert.equal(skipped.statusCode, 200);
    assert.equal(skipped.json().status, "skipped");

    const id4 = await addFailure();
    const resolved = await call("POST", `/api/v1/failures/${id4}/resolve`, {
      as: "operator",
      body: { reason: "fixed in Shopify" },
    });
    assert.equal(resolved.json().status, "resolved");
    assert.equal(resolved.json().reason, "fixed in Shopify");

    const id5 = await addFailure();
    const f5 = (await call("GET", `/api/v1/failures/${id5}`, { as: "viewer" })).json();
    const broken = { ...f5.mappedPayload, title: "" };
    const edited = await call("PUT", `/api/v1/failures/${id5}`, {
      as: "operator",
      body: { mappedPayload: broken },
    });
    assert.equal(edited.statusCode, 200, edited.body);
    assert.equal(edited.json().ok, false);
    assert.match(edited.json().message, /edited record is not a valid product: title/);
    const fixed = await call("PUT", `/api/v1/failures/${id5}`, {
      as: "operator",
      body: { mappedPayload: f5.mappedPayload },
    });
    assert.equal(fixed.json().ok, true);

    const missing = await call("POST", "/api/v1/failures/424242/retry", { as: "operator" });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error, "no failed record with id 424242");

    const audit = (await call("GET", "/api/v1/audit?limit=50", { as: "admin" })).json().entries as {
      action: string;
      target: string;
      outcome: string;
      actor: string;
      role: string;
    }[];
    for (const [action, target] of [
      ["failures.retry", `failure ${id}`],
      ["failures.resync", `failure ${id2}`],
      ["failures.skip", `failure ${id3}`],
      ["failures.resolve", `failure ${id4}`],
      ["failures.edit", `failure ${id5}`],
    ]) {
      const row = audit.find((a) => a.action === action && a.target === target && a.outcome === "ok");
      assert.ok(row, `${action} ${target} audited`);
      assert.equal(row.actor, "test-operator");
      assert.equal(row.role, "operator");
    }
    assert.ok(
      audit.some(
        (a) =>
          a.action === "failures.retry" &&
          a.target === `failure ${id}` &&
          a.outcome.startsWith("failed (400)"),
      ),
    );
    assert.ok(!JSON.stringify(audit).includes(tokens.operator));
  });

  test("POST /failures/:id/take: operator only, refused for a one-way flow's failure, audited", async () => {
    const id = await addFailure();
    const viewer = await call("POST", `/api/v1/failures/${id}/take`, {
      as: "viewer",
      body: { side: "odoo" },
    });
    assert.equal(viewer.statusCode, 403);
    const oneWay = await call("POST", `/api/v1/failures/${id}/take`, {
      as: "operator",
      body: { side: "odoo" },
    });
    assert.equal(oneWay.statusCode, 400, oneWay.body);
    assert.equal(
      oneWay.json().error,
      `failure ${id} belongs to the one-way flow products; use failures retry, edit or skip`,
    );
    const both = await call("POST", `/api/v1/failures/${id}/take`, {
      as: "operator",
      body: { side: "odoo", record: {} },
    });
    assert.equal(both.statusCode, 400);
    assert.match(both.json().error, /body must match exactly one schema in oneOf/);
    const none = await call("POST", `/api/v1/failures/${id}/take`, { as: "operator", body: {} });
    assert.equal(none.statusCode, 400);
    const missing = await call("POST", "/api/v1/failures/424242/take", {
      as: "operator",
      body: { side: "odoo" },
    });
    assert.equal(missing.statusCode, 404);
    assert.equal((await call("GET", `/api/v1/failures/${id}`, { as: "viewer" })).json().status, "open");
    const audit = await ctx.store.access().listAudit({ limit: 10 });
    assert.ok(
      audit.some(
        (a) =>
          a.action === "failures.take" &&
          a.target === `failure ${id}` &&
          a.outcome.startsWith("failed (400)"),
      ),
    );
  });

  test("bad input: malformed JSON 400, oversized body 413, unknown fields 400", async () => {
    const id = await addFailure();
    const bad = await call("POST", `/api/v1/failures/${id}/skip`, { as: "operator", raw: '{"reason": ' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /^body is not valid JSON/);
    const big = await call("POST", `/api/v1/failures/${id}/skip`, {
      as: "operator",
      body: { reason: "x".repeat(100_000) },
    });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error, "body larger than the server's body limit");
    const extra = await call("PUT", `/api/v1/failures/${id}`, {
      as: "operator",
      body: { mappedPayload: {}, other: 1 },
    });
    assert.equal(extra.statusCode, 400);
    assert.match(extra.json().error, /must NOT have additional properties/);
    for (const res of [bad, big, extra])
      assert.ok(!res.body.includes("\n") && !res.body.includes("at "), "no stack");
  });

  test("mapping preview: a sample, a live record, a draft mapping, a JSONata that does not compile", async () => {
    const native = await requireStream(ctx.connectors.get("odoo") as never, "product").get(odooId);
    const sample = await call("POST", "/api/v1/flows/products/preview", {
      as: "operator",
      body: { sample: native },
    });
    assert.equal(sample.statusCode, 200, sample.body);
    const s = sample.json();
    assert.equal(s.mapped.title, s.canonical.title.toUpperCase());
    assert.equal(s.plan.action, "skip", "already written with this content");
    assert.deepEqual(s.problems, []);
    assert.equal(s.fields[0].field, "title");

    const live = await call("POST", "/api/v1/flows/products/preview", {
      as: "operator",
      body: { live: { id: odooId } },
    });
    assert.equal(live.statusCode, 200, live.body);
    assert.equal(live.json().sourceId, odooId);

    const draft = await call("POST", "/api/v1/flows/products/preview", {
      as: "operator",
      body: { live: { id: odooId }, mapping: { title: { expr: "'New ' & title" } } },
    });
    assert.equal(draft.json().plan.action, "update", "a changed title would be written");
    assert.match(draft.json().mapped.title, /^New /);

    const broken = await call("POST", "/api/v1/flows/products/preview", {
      as: "operator",
      body: { live: { id: odooId }, mapping: { title: { expr: "$uppercase(" } } },
    });
    assert.equal(broken.statusCode, 400);
    assert.match(broken.json().error, /^mapping\.title: /);

    const neither = await call("POST", "/api/v1/flows/products/preview", { as: "operator", body: {} });
    assert.equal(neither.statusCode, 400);
    assert.match(neither.json().error, /give exactly one of sample/);
    const gone = await call("POST", "/api/v1/flows/products/preview", {
      as: "operator",
      body: { live: { id: "999999" } },
    });
    assert.equal(gone.statusCode, 404);
    assert.equal(
      (await call("POST", "/api/v1/flows/nope/preview", { as: "operator", body: { sample: {} } })).statusCode,
      404,
    );
    assert.equal(
      (await call("POST", "/api/v1/flows/products/preview", { as: "viewer", body: { sample: native } }))
        .statusCode,
      403,
    );
    const written = await ctx.store.access().listRuns({ flow: "products", limit: 50 });
    assert.ok(
      written.every((r) => r.mode !== "plan"),
      "a preview records no run",
    );
  });

  test("POST /api/v1/flows/:name/run queues a sync job once", async () => {
    assert.equal((await call("POST", "/api/v1/flows/customers/run", { as: "viewer" })).statusCode, 403);
    const first = await call("POST", "/api/v1/flows/customers/run", { as: "operator" });
    assert.equal(first.statusCode, 202);
    assert.equal(first.json().queued, true);
    const second = await call("POST", "/api/v1/flows/customers/run", { as: "operator" });
    assert.equal(second.json().queued, false);
    assert.equal((await call("POST", "/api/v1/flows/nope/run", { as: "operator" })).statusCode, 404);
  });

  test("tokens: an admin creates, lists and revokes; a revoked token gets 401", async () => {
    assert.equal((await call("GET", "/api/v1/tokens", { as: "operator" })).statusCode, 403);
    const made = await call("POST", "/api/v1/tokens", {
      as: "admin",
      body: { name: "dashboard", role: "viewer" },
    });
    assert.equal(made.statusCode, 201);
    const { token, info } = made.json();
    const list = await call("GET", "/api/v1/tokens", { as: "admin" });
    assert.ok(list.json().tokens.some((t: { name: string }) => t.name === "dashboard"));
    assert.ok(!list.body.includes(token));
    const ok = await app.inject({
      method: "GET",
      url: "/api/v1/flows",
      headers: { authorization: `Bearer ${token}` },
      remoteAddress: REMOTE,
    });
    assert.equal(ok.statusCode, 200);
    assert.equal((await call("DELETE", `/api/v1/tokens/${info.id}`, { as: "admin" })).statusCode, 200);
    const after = await app.inject({
      method: "GET",
      url: "/api/v1/flows",
      headers: { authorization: `Bearer ${token}` },
      remoteAddress: REMOTE,
    });
    assert.equal(after.statusCode, 401);
    assert.equal((await call("DELETE", `/api/v1/tokens/${info.id}`, { as: "admin" })).statusCode, 404);
    assert.equal(
      (await call("POST", "/api/v1/tokens", { as: "admin", body: { name: "x", role: "root" } })).statusCode,
      400,
    );
  });

  test("the OpenAPI document lists every /api/v1 route and /metrics with its responses", async () => {
    const res = await call("GET", "/api/v1/openapi.json", { as: "viewer" });
    assert.equal(res.statusCode, 200);
    const doc = res.json() as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    assert.equal(doc.openapi, "3.1.0");
    const api = routes.filter((r) => r.url.startsWith("/api/v1") || r.url === "/metrics");
    assert.ok(api.length >= 20, `found ${api.length} routes`);
    for (const r of api) {
      const path = r.url.replace(/:(\w+)/g, "{$1}");
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${r.url} is in the document`);
      assert.ok(
        Object.keys(op.responses).some((c) => c.startsWith("2")),
        `${r.method} ${r.url} has a 2xx response`,
      );
      assert.ok("401" in op.responses && "403" in op.responses, `${r.method} ${r.url} documents 401 and 403`);
    }
    assert.ok(
      !Object.keys(doc.paths).some((p) => p.startsWith("/webhooks")),
      "vendor webhooks are not part of it",
    );
  });

  test("GET /metrics after a real sync: records per flow and connection, API calls, queue depth, lag", async () => {
    const res = await call("GET", "/metrics", { as: "viewer" });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"] as string, /^text\/plain/);
    const text = res.body;
    const created =
      /passerelle_records_total\{flow="products",connection="shopify",outcome="created"\} (\d+)/.exec(text);
    assert.ok(created && Number(created[1]) > 0, text);
    assert.match(text, /passerelle_records_total\{flow="products",connection="odoo",outcome="read"\} [1-9]/);
    assert.match(text, /passerelle_runs_total\{flow="products",status="succeeded",kind="schedule"\} 1/);
    assert.match(text, /passerelle_api_calls\{connection="odoo"\} [1-9]/);
    assert.match(text, /passerelle_throttled\{connection="shopify"\} \d+/);
    assert.match(text, /passerelle_flow_lag_seconds\{flow="products"\} \d/);
    assert.match(text, /passerelle_queue_depth\{queue="sync"\} 1/);
    assert.match(text, /# TYPE passerelle_webhook_deliveries_total counter/);
  });
});
