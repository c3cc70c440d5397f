/**
 * Which processes keep Prometheus metrics: those that serve /metrics (web, all), and a worker or scheduler
 * given a metrics listener (server.metrics, --metrics-port). Without one it has no server, so it builds
 * none (docs/api.md, Metrics).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { SyncError } from "../core/errors.ts";
import { type Context, openContext } from "./context.ts";
import { startService } from "./service.ts";

let dir: string;
let ctx: Context;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "passerelle-service-metrics-"));
  const config = join(dir, "passerelle.yaml");
  writeFileSync(
    config,
    `version: 1
store: { url: "sqlite:${join(dir, "s.db")}" }
connections:
  odoo: { type: odoo, url: "http://127.0.0.1:1", db: d, username: u, password: "service-metrics-pw" }
  shopify: { type: shopify, shop: m.myshopify.com, accessToken: "shpat_service_metrics", endpoint: "http://127.0.0.1:1/graphql" }
flows:
  products:
    source: { connection: odoo, entity: product }
    target: { connection: shopify, entity: product }
`,
  );
  ctx = await openContext(config);
});

after(async () => {
  await ctx?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a worker and a scheduler keep no metrics; a web process serves them", async () => {
  for (const role of ["worker", "scheduler"] as const) {
    const s = await startService(ctx, { role });
    try {
      assert.equal(s.server, null, role);
      assert.equal(s.metrics, null, role);
    } finally {
      await s.stop();
    }
  }
  const web = await startService(ctx, { role: "web", host: "127.0.0.1", port: 0 });
  try {
    assert.ok(web.metrics);
    assert.match((await web.metrics.text()).body, /passerelle_runs_total/);
  } finally {
    await web.stop();
  }
});

test("a worker or scheduler with a metrics listener keeps them and serves them there", async () => {
  for (const role of ["worker", "scheduler"] as const) {
    const s = await startService(ctx, { role, metricsListen: { port: 0 }, noAuthOnLoopback: true });
    try {
      assert.equal(s.server, null, role);
      assert.ok(s.metrics, role);
      assert.ok(s.metricsServer, role);
      assert.match(s.metricsServer.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${s.metricsServer.url}/metrics`);
      assert.equal(res.status, 200, role);
      assert.match(await res.text(), /passerelle_api_calls\{connection="odoo"\} 0/);
      assert.deepEqual(await (await fetch(`${s.metricsServer.url}/healthz`)).json(), { status: "ok", role });
    } finally {
      await s.stop();
    }
    await assert.rejects(fetch(`${s.metricsServer.url}/healthz`), role);
  }
});

test("--metrics-port for a role with a server is refused: it serves /metrics on its own port", async () => {
  for (const role of ["web", "all"] as const) {
    await assert.rejects(
      startService(ctx, { role, host: "127.0.0.1", port: 0, metricsListen: { port: 0 } }),
      (e: unknown) =>
        e instanceof SyncError &&
        e.kind === "config" &&
        e.message.includes(
          `are for --role worker or scheduler; role ${role} serves /metrics on its own server`,
        ),
    );
  }
});
