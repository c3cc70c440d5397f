/**
 * `/metrics`' queue depth comes from the jobs port: on PostgreSQL the jobs wait in pg-boss's queues, not in
 * the store's `jobs` table (the embedded queue's, empty there), so the gauge must ask pg-boss.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import pg from "pg";
import { onPostgres, TEST_PG_URL } from "../../test/helpers/postgres.ts";
import { bossSchema } from "./boss-jobs.ts";
import { type Context, openContext } from "./context.ts";
import { type Service, startService } from "./service.ts";

const SCHEMA = `metrics_depth_${process.pid}_${Date.now().toString(36)}`;

await onPostgres("queue depth on PostgreSQL", () => {
  describe("queue depth on PostgreSQL", () => {
    const dir = mkdtempSync(join(tmpdir(), "passerelle-metrics-depth-"));
    let ctx: Context | undefined;
    let service: Service | undefined;

    after(async () => {
      await service?.stop();
      await ctx?.close();
      rmSync(dir, { recursive: true, force: true });
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        for (const s of [SCHEMA, bossSchema(SCHEMA)])
          await client.query(`drop schema if exists "${s}" cascade`);
      } finally {
        await client.end();
      }
    });

    test("passerelle_queue_depth counts the jobs waiting in pg-boss, per queue", async () => {
      const url = new URL(TEST_PG_URL);
      url.searchParams.set("schema", SCHEMA);
      const config = join(dir, "passerelle.yaml");
      writeFileSync(
        config,
        `version: 1
store: { url: "${url.toString()}" }
connections:
  odoo: { type: odoo, url: "http://127.0.0.1:1", db: d, username: u, password: "metrics-depth-pw" }
  shopify: { type: shopify, shop: metrics.myshopify.com, accessToken: "shpat_metrics_depth", endpoint: "http://127.0.0.1:1/graphql" }
flows:
  products:
    source: { connection: odoo, entity: product }
    target: { connection: shopify, entity: product }
`,
      );
      ctx = await openContext(config);
      // A web process runs no job: what is queued stays queued.
      service = await startService(ctx, { role: "web", host: "127.0.0.1", port: 0 });
      assert.equal(service.jobs.kind, "pg-boss");
      await service.jobs.enqueue({ queue: "sync", payload: { flow: "products" } });
      await service.jobs.enqueue({ queue: "sync", payload: { flow: "products" }, singletonKey: "other" });
      await service.jobs.enqueue({ queue: "retry-failures", payload: { flow: "products" } });
      assert.ok(service.metrics, "a web process has metrics");
      const { body } = await service.metrics.text();
      assert.match(body, /^passerelle_queue_depth\{queue="sync"\} 2$/m);
      assert.match(body, /^passerelle_queue_depth\{queue="retry-failures"\} 1$/m);
    });
  });
});
