/**
 * Which processes keep Prometheus metrics: those that serve /metrics (web, all). A worker or scheduler has no
 * server, so it builds none (docs/api.md, Metrics).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
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
