/**
 * A flow's configured retry policy reaches every run of it: here the event passes of `passerelle run`
 * (EventRuntime), which used to run with the engine's default policy whatever the configuration said.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type DemoSystems, startDemoSystems } from "@passerelle/emulators";
import type { WebhookInbox } from "../ports/inbox.ts";
import { type Context, openContext } from "./context.ts";
import { EventRuntime } from "./events.ts";
import { JobQueue } from "./jobs.ts";

let systems: DemoSystems;
let ctx: Context;
let dir: string;
let inbox: WebhookInbox;

before(async () => {
  systems = await startDemoSystems({ products: 2 });
  dir = mkdtempSync(join(tmpdir(), "passerelle-flow-retry-"));
  const config = join(dir, "passerelle.yaml");
  Object.assign(process.env, systems.env);
  // The top-level policy would try 4 times; the flow's own says 2 tries, 1 ms apart.
  writeFileSync(
    config,
    `version: 1
store: { url: "sqlite:${join(dir, "s.db")}" }
retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 1 }
connections:
  odoo: { type: odoo, url: "\${env:ODOO_URL}", db: "\${env:ODOO_DB}", username: "\${env:ODOO_USER}", password: "\${env:ODOO_PASSWORD}" }
  shopify: { type: shopify, shop: "\${env:SHOPIFY_SHOP}", accessToken: "\${env:SHOPIFY_ACCESS_TOKEN}", endpoint: "\${env:SHOPIFY_ENDPOINT}" }
flows:
  customers:
    source: { connection: shopify, entity: customer }
    target: { connection: odoo, entity: customer }
    trigger: { type: events, coalesceMs: 0 }
    retry: { attempts: 2 }
`,
  );
  ctx = await openContext(config);
  inbox = ctx.store.openInbox();
});

after(async () => {
  await inbox?.close();
  await ctx?.close();
  await systems?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the flow resolved from the configuration carries its retry policy", () => {
  assert.deepEqual(ctx.flow("customers").retry, {
    attempts: 2,
    baseDelayMs: 1,
    maxDelayMs: 1,
    maxElapsedMs: 120_000,
  });
});

test("an event pass tries each call as often as the flow's retry says, not the default", async () => {
  const customer = [...systems.shopify.data.customers.values()][0];
  assert.ok(customer);
  const runtime = new EventRuntime({
    store: ctx.store,
    engine: ctx.engine,
    inbox,
    queue: new JobQueue(ctx.store),
    eventFlows: [
      {
        flow: ctx.flow("customers"),
        settings: {
          coalesceMs: 0,
          massThreshold: 1000,
          reconcile: { cron: "0 * * * *", overlapSeconds: 60 },
        },
      },
    ],
    holder: "test",
  });
  await inbox.add("shopify", [
    {
      dedupeKey: "retry-test-1",
      topic: "CUSTOMERS_UPDATE",
      entity: "customer",
      recordId: String(customer.id),
      occurredAt: new Date().toISOString(),
      payload: {},
    },
  ]);
  // Every call to the ERP fails with a 5xx: each is tried exactly `attempts` times, then given up.
  const odoo = systems.odoo.faults;
  odoo.configure({ rates: { "5xx": 1 } });
  const before = odoo.stats.injected["5xx"];
  try {
    await runtime.drain("shopify", "customer");
  } finally {
    odoo.configure({ rates: {} });
  }
  const failedCalls = odoo.stats.injected["5xx"] - before;
  // The pass stops at its first call to the ERP (the lookup), tried twice; the top-level policy would
  // have made it 4 tries, and the engine's default 4 as well.
  assert.equal(failedCalls, 2, `the ERP lookup tried twice, got ${failedCalls} failed requests`);
  const [event] = await inbox.list({ connection: "shopify" });
  assert.equal(event?.status, "pending", "the event waits for another pass");
});
