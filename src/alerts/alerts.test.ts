/**
 * The alerter against a real store (SQLite, and PostgreSQL when reachable), a controlled clock and a real
 * webhook receiver (node:http) in the test: flow-stale and order-missing fire and clear, one notification
 * per incident even with two alerters evaluating at once, a failed delivery is tried again at the next
 * evaluation without repeating what was sent, and no secret reaches the store or the log. The deprecation
 * rule is driven by the Shopify emulator's X-Shopify-API-Deprecated-Reason header through the connector.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import { z } from "zod";
import { onPostgres, pgStores } from "../../test/helpers/postgres.ts";
import { Alerts, type AlertsConfig } from "../config/alerts.ts";
import type { FlowConfig } from "../config/schema.ts";
import { createShopifyConnector } from "../connectors/shopify/index.ts";
import type { Connector } from "../ports/connector.ts";
import type { Store } from "../ports/store.ts";
import { openStore } from "../store/index.ts";
import { Alerter } from "./alerter.ts";

const T0 = Date.parse("2026-11-02T08:00:00.000Z");
const MIN = 60_000;

interface Hook {
  url: string;
  bodies: Record<string, unknown>[];
  headers: Record<string, string | string[] | undefined>[];
  /** Answers with this status while > 0 (then counts down). */
  failNext: number;
  server: Server;
}

async function startHook(): Promise<Hook> {
  const hook: Hook = { url: "", bodies: [], headers: [], failNext: 0, server: createServer() };
  hook.server.on("request", (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (hook.failNext > 0) {
        hook.failNext -= 1;
        res.writeHead(503).end();
        return;
      }
      hook.bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
      hook.headers.push(req.headers);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => hook.server.listen(0, "127.0.0.1", done));
  const address = hook.server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  hook.url = `http://127.0.0.1:${address.port}/alerts`;
  return hook;
}

const flows: Record<string, FlowConfig> = {
  orders: {
    source: { connection: "shop", entity: "order" },
    target: { connection: "erp", entity: "order" },
    trigger: { type: "schedule", cron: "*/5 * * * *" },
  } as FlowConfig,
  stock: {
    source: { connection: "erp", entity: "inventory" },
    target: { connection: "shop", entity: "inventory" },
    trigger: { type: "schedule", cron: "*/5 * * * *" },
  } as FlowConfig,
};

const TOKEN = "hook-token-5f3a9c2e7b";

function alertsConfig(hookUrl: string, rules: unknown[]): AlertsConfig {
  return Alerts.parse({
    channels: {
      hook: { type: "webhook", url: hookUrl, headers: { authorization: `Bearer ${TOKEN}` }, attempts: 1 },
    },
    rules,
  });
}

function suite(name: string, backend: { open(now: () => Date): Promise<Store>; cleanup(): Promise<void> }) {
  describe(name, () => {
    let hook: Hook;
    let store: Store;
    let t = T0;
    const now = () => new Date(t);
    const logs: string[] = [];
    const logger = {
      info: (o: object, m: string) => logs.push(`${m} ${JSON.stringify(o)}`),
      warn: (o: object, m: string) => logs.push(`${m} ${JSON.stringify(o)}`),
    };
    const alerter = (rules: unknown[], connectors = new Map<string, Connector>()) =>
      new Alerter({
        store,
        alerts: alertsConfig(hook.url, rules),
        flows,
        connectors,
        secrets: [TOKEN],
        logger,
        now,
        channel: { sleep: async () => {} },
      });

    before(async () => {
      hook = await startHook();
    });
    beforeEach(async () => {
      t = T0;
      hook.bodies.length = 0;
      hook.headers.length = 0;
      logs.length = 0;
      store = await backend.open(now);
    });
    afterEach(async () => {
      await store.close();
    });
    after(async () => {
      await new Promise((done) => hook.server.close(done));
      await backend.cleanup();
    });

    it("flow-stale fires once the flow has not finished a run for notRunFor, and clears after a run", async () => {
      const a = alerter([{ name: "stock-stale", kind: "flow-stale", flow: "stock", notRunFor: "2h" }]);
      const run = await store.startRun("stock", "sync");
      await store.finishRun(run.id, "succeeded");
      t = T0 + 90 * MIN;
      assert.deepEqual((await a.evaluate()).firing, []);
      t = T0 + 121 * MIN;
      const fired = await a.evaluate();
      assert.equal(fired.firing.length, 1);
      assert.match(fired.firing[0]?.summary ?? "", /flow stock last finished a run 2h 1m ago/);
      assert.equal(hook.bodies.length, 1);
      assert.equal(hook.bodies[0]?.status, "firing");
      assert.equal(hook.bodies[0]?.rule, "stock-stale");
      assert.equal(hook.bodies[0]?.subject, "flow stock");
      assert.equal(hook.headers[0]?.authorization, `Bearer ${TOKEN}`);
      t += 5 * MIN;
      await a.evaluate();
      assert.equal(hook.bodies.length, 1, "one notification per incident");
      // A failed run does not count as having run.
      const failed = await store.startRun("stock", "sync");
      await store.finishRun(failed.id, "failed", "boom");
      assert.equal((await a.evaluate()).closed.length, 0);
      const ok = await store.startRun("stock", "sync");
      await store.finishRun(ok.id, "partial");
      const cleared = await a.evaluate();
      assert.equal(cleared.closed.length, 1);
      assert.equal(hook.bodies.length, 2);
      assert.equal(hook.bodies[1]?.status, "resolved");
      assert.equal(hook.bodies[1]?.incident, hook.bodies[0]?.incident);
      a.close();
    });

    it("a flow that never ran is measured from the first evaluation that looked at it", async () => {
      const a = alerter([{ name: "stale", kind: "flow-stale", notRunFor: "30m" }]);
      assert.deepEqual((await a.evaluate()).firing, []);
      t = T0 + 31 * MIN;
      const e = await a.evaluate();
      assert.deepEqual(e.firing.map((f) => f.subject).sort(), ["flow orders", "flow stock"]);
      assert.match(
        e.firing[0]?.summary ?? "",
        /has not finished a run since alerting started watching it 31m ago/,
      );
      a.close();
    });

    it("order-missing fires per order placed over `after` ago that the ERP does not hold, and clears when it does", async () => {
      const run = await store.startRun("orders", "sync");
      const read = (key: string, placedAt: string) => ({
        entity: "order" as const,
        key,
        system: "shop",
        externalId: key,
        kind: "read" as const,
        message: null,
        detail: { updatedAt: placedAt, placedAt },
      });
      const placed = new Date(T0 - 10 * MIN).toISOString();
      await store.commitPage({
        flow: "orders",
        runId: run.id,
        links: [
          {
            entity: "order",
            key: "shop:#1001",
            system: "erp",
            externalId: "SO1",
            lastHash: "h",
            version: null,
          },
        ],
        events: [
          read("shop:#1001", placed),
          { ...read("shop:#1001", placed), kind: "created", system: "erp", externalId: "SO1", detail: null },
          read("shop:#1002", placed),
          { ...read("shop:#1002", placed), kind: "failed", system: "erp", externalId: null, detail: null },
          read("shop:#1003", placed),
          { ...read("shop:#1003", placed), kind: "skipped", system: "erp", externalId: null, detail: null },
        ],
        failures: [],
        resolvedKeys: [],
        completedIntents: [],
        counts: {},
      });
      const a = alerter([{ name: "late-orders", kind: "order-missing", flow: "orders", after: "30m" }]);
      t = T0 + 15 * MIN;
      assert.deepEqual((await a.evaluate()).firing, [], "25 minutes after placing: not late yet");
      t = T0 + 21 * MIN;
      const e = await a.evaluate();
      assert.deepEqual(
        e.firing.map((f) => f.subject),
        ["order shop:#1002"],
        "the created one is in the ERP, the skipped one is meant not to be",
      );
      assert.match(e.firing[0]?.summary ?? "", /placed 31m ago .* is not in erp; it failed/);
      assert.equal(hook.bodies.length, 1);
      const later = await store.startRun("orders", "sync");
      await store.commitPage({
        flow: "orders",
        runId: later.id,
        links: [
          {
            entity: "order",
            key: "shop:#1002",
            system: "erp",
            externalId: "SO2",
            lastHash: "h",
            version: null,
          },
        ],
        events: [],
        failures: [],
        resolvedKeys: [],
        completedIntents: [],
        counts: {},
      });
      t += MIN;
      assert.equal((await a.evaluate()).closed.length, 1);
      assert.deepEqual(
        hook.bodies.map((b) => b.status),
        ["firing", "resolved"],
      );
      a.close();
    });

    it("two alerters evaluating at once open one incident and send one notification", async () => {
      const rules = [{ name: "stale", kind: "flow-stale", flow: "stock", notRunFor: "1h" }];
      const [a, b] = [alerter(rules), alerter(rules)];
      await a.evaluate();
      t = T0 + 2 * 60 * MIN;
      const [ea, eb] = await Promise.all([a.evaluate(), b.evaluate()]);
      assert.equal(ea.opened.length + eb.opened.length, 1);
      assert.equal(hook.bodies.length, 1);
      assert.equal((await store.alerts().openIncidents()).length, 1);
      a.close();
      b.close();
    });

    it("a delivery that fails is tried again at the next evaluation, and the token never leaves the request", async () => {
      const a = alerter([{ name: "stale", kind: "flow-stale", flow: "stock", notRunFor: "1h" }]);
      await a.evaluate();
      t = T0 + 2 * 60 * MIN;
      hook.failNext = 1;
      const first = await a.evaluate();
      assert.equal(first.deliveries.length, 1);
      assert.equal(first.deliveries[0]?.ok, false);
      assert.match(first.deliveries[0]?.error ?? "", /did not accept the alert: HTTP 503/);
      assert.equal(hook.bodies.length, 0);
      const [incident] = await store.alerts().openIncidents();
      assert.ok(incident);
      assert.deepEqual(
        (await store.alerts().notifications(incident.id)).map((n) => [n.kind, n.status]),
        [["fire", "failed"]],
      );
      t += MIN;
      const second = await a.evaluate();
      assert.deepEqual(
        second.deliveries.map((d) => d.ok),
        [true],
      );
      t += MIN;
      assert.deepEqual((await a.evaluate()).deliveries, [], "sent once");
      assert.equal(hook.bodies.length, 1);
      const [n] = await store.alerts().notifications(incident.id);
      assert.equal(n?.attempts, 2);
      assert.ok(!logs.join("\n").includes(TOKEN));
      a.close();
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), "passerelle-alerts-"));
let files = 0;
suite("alerts on SQLite", {
  async open(now) {
    const store = await openStore(`sqlite:${join(dir, `alerts-${++files}.sqlite`)}`, { now });
    await store.migrate();
    return store;
  },
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
});

await onPostgres("alerts on PostgreSQL", () => {
  let clock: () => Date = () => new Date();
  const pg = pgStores("alerts_test", () => ({ now: () => clock() }));
  suite("alerts on PostgreSQL", {
    open(now) {
      clock = now;
      return pg.open();
    },
    cleanup: () => pg.cleanup(),
  });
});

describe("deprecation notices from the Shopify emulator", () => {
  let emu: ShopifyEmulator;
  let store: Store;
  let hook: Hook;
  const d = mkdtempSync(join(tmpdir(), "passerelle-deprecation-"));
  before(async () => {
    emu = await startShopifyEmulator({ customers: 1 });
    hook = await startHook();
    store = await openStore(`sqlite:${join(d, "store.sqlite")}`);
    await store.migrate();
  });
  after(async () => {
    await store.close();
    await emu.close();
    await new Promise((done) => hook.server.close(done));
    rmSync(d, { recursive: true, force: true });
  });

  it("a call using a deprecated field is counted against its operation and raises the deprecation alert", async () => {
    const shop = createShopifyConnector("shop", {
      shop: emu.shop,
      accessToken: emu.accessToken,
      endpoint: emu.url,
      apiVersion: "2026-10",
      pageSize: 50,
      maxThrottleRetries: 5,
    });
    assert.equal(shop.apiVersion?.().supportedUntil, "2027-10-01");
    await shop.check(); // no deprecated field: no notice
    const client = (shop as unknown as { drainDeprecations(): unknown }).drainDeprecations();
    assert.deepEqual(client, []);
    // The connector's own documents use no deprecated member; a lookup by handle does (productByHandle).
    const legacy = `query LegacyLookup($handle: String!) { productByHandle(handle: $handle) { id } }`;
    const { ShopifyClient } = await import("../connectors/shopify/client.ts");
    const direct = new ShopifyClient("shop", {
      shop: emu.shop,
      accessToken: emu.accessToken,
      endpoint: emu.url,
      apiVersion: "2026-10",
      pageSize: 50,
      maxThrottleRetries: 5,
    });
    for (let i = 0; i < 3; i++) await direct.request(legacy, { handle: "nope" }, z.unknown());
    const seen = direct.deprecations.drain();
    assert.deepEqual(seen, [
      { site: "LegacyLookup", reason: "QueryRoot.productByHandle", sunset: null, count: 3 },
    ]);
    // The connection hands its notices to the alerter, which stores them and fires before the sunset.
    const connection = { ...shop, drainDeprecations: () => seen } as Connector;
    const a = new Alerter({
      store,
      alerts: Alerts.parse({
        channels: { hook: { type: "webhook", url: hook.url } },
        rules: [{ name: "deprecations", kind: "deprecation", before: "400d" }],
      }),
      flows: {},
      connectors: new Map([["shop", connection]]),
      secrets: [emu.accessToken],
      now: () => new Date("2026-12-01T00:00:00Z"),
    });
    const e = await a.evaluate();
    assert.deepEqual(e.firing.map((f) => f.subject).sort(), [
      "connection shop API version",
      "connection shop call LegacyLookup",
    ]);
    const call = e.firing.find((f) => f.subject.includes("LegacyLookup"));
    assert.match(
      call?.summary ?? "",
      /3 call\(s\) of LegacyLookup .*QueryRoot\.productByHandle; to be fixed before 2027-10-01/,
    );
    assert.deepEqual(await store.alerts().deprecations("shop"), [
      {
        connection: "shop",
        site: "LegacyLookup",
        reason: "QueryRoot.productByHandle",
        sunset: null,
        count: 3,
        firstSeen: "2026-12-01T00:00:00.000Z",
        lastSeen: "2026-12-01T00:00:00.000Z",
      },
    ]);
    assert.equal(hook.bodies.length, 2);
    a.close();
  });
});
