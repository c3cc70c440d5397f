/**
 * One job queue: the flow jobs `passerelle worker` queues are run by `passerelle run`'s service (and the
 * other way round: its scheduler queues the very same job), and a scheduled run an older version queued in
 * the `flow-run` queue still runs after an upgrade.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type DemoSystems, startDemoSystems } from "@passerelle/emulators";
import { jobsDb } from "../store/jobs.ts";
import { type Context, openContext } from "./context.ts";
import { LEGACY_FLOW_QUEUE, SYNC_QUEUE, syncJob } from "./flow-jobs.ts";
import { type JobInfo, JobQueue } from "./jobs.ts";
import { type Service, scheduleEntries, startService } from "./service.ts";

let systems: DemoSystems;
let ctx: Context;
let dir: string;
let service: Service | null = null;

before(async () => {
  systems = await startDemoSystems({ products: 2 });
  dir = mkdtempSync(join(tmpdir(), "passerelle-flow-jobs-"));
  const config = join(dir, "passerelle.yaml");
  Object.assign(process.env, systems.env, { SHOPIFY_WEBHOOK_SECRET: "shpss_flow_jobs_test" });
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
    trigger: { type: schedule, cron: "0 0 1 1 *" }
  products:
    source: { connection: odoo, entity: product }
    target: { connection: shopify, entity: product }
`,
  );
  ctx = await openContext(config);
});

after(async () => {
  await service?.stop();
  await ctx?.close();
  await systems?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function finished(queue: JobQueue, id: number): Promise<JobInfo> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const job = await queue.get(id);
    if (job && (job.status === "done" || job.status === "dead")) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job?.status} after 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("passerelle run's scheduler queues the same sync job as passerelle worker", () => {
  const scheduled = scheduleEntries(ctx).find((e) => e.name === "flow:customers");
  assert.deepEqual(scheduled?.job, syncJob("customers"));
  assert.deepEqual(syncJob("customers"), {
    queue: SYNC_QUEUE,
    payload: { flow: "customers" },
    singletonKey: "sync:customers",
  });
});

test("a sync job queued as the worker does, and a flow-run job left by an older version, run in passerelle run's service", async () => {
  const queue = new JobQueue(ctx.store);
  // Queued while no process runs jobs: the worker's job for one flow, an old scheduled run for the other.
  const fromWorker = await queue.enqueue(syncJob("products"));
  assert.ok(typeof fromWorker === "number");
  const now = new Date().toISOString();
  const legacy = await jobsDb(ctx.store)
    .insertInto("jobs")
    .values({
      queue: LEGACY_FLOW_QUEUE,
      payload: JSON.stringify({ flow: "customers" }),
      status: "queued",
      run_at: now,
      locked_by: null,
      locked_until: null,
      last_error: null,
      created_at: now,
      singleton_key: "flow:customers",
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  service = await startService(ctx, { host: "127.0.0.1", port: 0, pollMs: 20 });
  // The configuration's shop manages webhook subscriptions: the service renews them on a schedule.
  assert.ok(
    service.schedules.some((s) => s.name === "webhooks" && s.job.queue === "webhooks"),
    JSON.stringify(service.schedules.map((s) => s.name)),
  );
  for (const id of [fromWorker, Number(legacy.id)]) {
    const job = await finished(queue, id);
    assert.equal(job.status, "done", `job ${id} (${job.queue}): ${job.lastError}`);
  }
  const [products] = await ctx.store.lastRuns("products", 1);
  const [customers] = await ctx.store.lastRuns("customers", 1);
  assert.equal(products?.status, "succeeded");
  assert.equal(customers?.status, "succeeded");
  assert.ok(systems.shopify.data.products.size >= 2, "the ERP's products reached the shop");
  assert.ok(
    systems.odoo.data.search("res.partner", [["email", "!=", false]]).length >=
      systems.shopify.data.customers.size,
    "the shop's customers reached the ERP",
  );
});
