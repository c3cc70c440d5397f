/**
 * The benchmark scripts of issue 22 (bench/order-latency.ts, bench/n8n.ts, bench/install.ts,
 * bench/webhook-with-sync.ts) parse their flags and refuse bad ones naming the flag and the value; the n8n
 * bench's Passerelle configuration is a valid passerelle.yaml and its n8n workflow connects every node it
 * has; the webhook-with-sync bench's configurations are valid and its sync coverage adds up. No timings are
 * checked here.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseInstallBenchArgs } from "../bench/install.ts";
import { n8nWorkflow, parseN8nBenchArgs, passerelleConfig } from "../bench/n8n.ts";
import { odooStampMs, parseOrderLatencyArgs } from "../bench/order-latency.ts";
import { parseWebhookSyncArgs, type RunRow, syncConfig, syncCoverage } from "../bench/webhook-with-sync.ts";
import { parseConfig } from "../src/config/load.ts";
import { connectorDefinitions } from "../src/connectors/index.ts";

describe("bench scripts", () => {
  test("order latency: defaults, flags, and a bad value named", () => {
    assert.deepEqual(parseOrderLatencyArgs([]), {
      seconds: 120,
      rate: 50,
      erpDelayMs: 80,
      drainSeconds: 300,
      products: 20,
    });
    assert.equal(parseOrderLatencyArgs(["--seconds", "10", "--rate", "5"]).rate, 5);
    assert.throws(() => parseOrderLatencyArgs(["--rate", "fast"]), /--rate must be a number.*"fast"/);
    assert.throws(() => parseOrderLatencyArgs(["--speed", "1"]), /speed/);
  });

  test("order latency: an Odoo create_date is read to the microsecond, in UTC", () => {
    assert.equal(odooStampMs("2026-12-04 00:10:11.123456"), Date.parse("2026-12-04T00:10:11.123Z") + 0.456);
    assert.equal(odooStampMs("2026-12-04 00:10:11"), Date.parse("2026-12-04T00:10:11Z"));
    assert.throws(() => odooStampMs("yesterday"), /not an Odoo datetime: "yesterday"/);
  });

  test("n8n: flags, the Passerelle side's configuration is valid, the workflow's nodes are all connected", () => {
    const opts = parseN8nBenchArgs(["--records", "500", "--only", "passerelle"]);
    assert.equal(opts.records, 500);
    assert.equal(opts.n8nVersion, "2");
    assert.equal(opts.profile, undefined);
    assert.equal(parseN8nBenchArgs(["--profile", "/tmp/prof"]).profile, "/tmp/prof");
    assert.throws(
      () => parseN8nBenchArgs(["--records=-1"]),
      /--records must be a positive integer, got "-1"/,
    );
    assert.throws(
      () => parseN8nBenchArgs(["--only", "zapier"]),
      /--only must be n8n or passerelle, got "zapier"/,
    );

    const loaded = parseConfig(
      passerelleConfig("http://127.0.0.1:9", 100, "/tmp/x.sqlite"),
      connectorDefinitions,
    );
    assert.deepEqual(Object.keys(loaded.config.flows), ["customers"]);

    const wf = n8nWorkflow("http://127.0.0.1:9", 100) as {
      nodes: { name: string }[];
      connections: Record<string, { main: { node: string }[][] }>;
    };
    const names = new Set(wf.nodes.map((n) => n.name));
    const targets = Object.values(wf.connections).flatMap((c) => c.main.flat().map((t) => t.node));
    for (const from of Object.keys(wf.connections)) assert.ok(names.has(from), from);
    for (const to of targets) assert.ok(names.has(to), to);
    assert.equal(targets.length, wf.nodes.length - 1, "every node but the trigger has an incoming edge");
  });

  test("install: flags", () => {
    assert.deepEqual(parseInstallBenchArgs(["--cold-cache", "--branch", "main"]), {
      branch: "main",
      coldCache: true,
      prebuiltLocal: false,
      startTimeoutS: 120,
      keep: false,
    });
    assert.equal(parseInstallBenchArgs(["--prebuilt-local"]).prebuiltLocal, true);
    assert.throws(
      () => parseInstallBenchArgs(["--start-timeout", "0"]),
      /--start-timeout must be a positive number.*"0"/,
    );
  });

  test("webhook with sync: flags, both configurations, and the share of the window a sync covered", () => {
    const opts = parseWebhookSyncArgs([]);
    assert.equal(opts.rate, 3000);
    assert.equal(opts.seconds, 20);
    assert.equal(opts.size, 60_000);
    assert.equal(opts.bin, "dist");
    assert.equal(parseWebhookSyncArgs(["--rate", "500", "--size", "10k"]).size, 10_000);
    assert.throws(() => parseWebhookSyncArgs(["--rate", "lots"]), /--rate must be a number.*"lots"/);
    assert.throws(() => parseWebhookSyncArgs(["--bin", "build"]), /--bin must be dist or src, got "build"/);
    assert.throws(() => parseWebhookSyncArgs(["--compare", "/nonexistent"]), /--compare .*"\/nonexistent"/);

    // What the emulator host hands the bench (bench/lib/host.ts) for passerelle.yaml's ${env:…} values.
    const emulatorEnv = {
      ODOO_URL: "http://127.0.0.1:9",
      ODOO_DB: "bench",
      ODOO_USER: "admin",
      ODOO_PASSWORD: "admin",
      SHOPIFY_SHOP: "bench.myshopify.com",
      SHOPIFY_ACCESS_TOKEN: "shpat_bench",
      SHOPIFY_ENDPOINT: "http://127.0.0.1:9/admin/api/2026-10/graphql.json",
      SHOPIFY_WEBHOOK_SECRET: "shpss_bench",
    };
    const dir = mkdtempSync(join(tmpdir(), "passerelle-wh-bench-"));
    try {
      for (const cron of [null, "*/10 * * * * *"]) {
        const text = readFileSync(syncConfig(dir, "sqlite:/tmp/x.sqlite", cron), "utf8");
        const { config } = parseConfig(text, connectorDefinitions, { env: emulatorEnv });
        assert.deepEqual(Object.keys(config.flows), ["products", "prices", "stock"]);
        for (const flow of Object.values(config.flows)) {
          assert.deepEqual(flow.trigger, cron === null ? { type: "manual" } : { type: "schedule", cron });
        }
        assert.equal(config.server.jobsThread, false);
      }
      const threaded = readFileSync(syncConfig(dir, "sqlite:/tmp/x.sqlite", "*/10 * * * * *", true), "utf8");
      assert.equal(
        parseConfig(threaded, connectorDefinitions, { env: emulatorEnv }).config.server.jobsThread,
        true,
      );
      assert.equal(parseWebhookSyncArgs(["--thread"]).thread, true);
      assert.equal(parseWebhookSyncArgs([]).nicedEmulators, false);
      assert.equal(parseWebhookSyncArgs(["--niced-emulators"]).nicedEmulators, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const at = (s: number) => new Date(Date.UTC(2026, 11, 5, 3, 0, s)).toISOString();
    const run = (flow: string, from: number, to: number | null, written: number): RunRow => ({
      flow,
      status: to === null ? "running" : "succeeded",
      started_at: at(from),
      finished_at: to === null ? null : at(to),
      read: written,
      created: written,
      updated: 0,
    });
    const t = (s: number) => Date.parse(at(s));
    // Window 10–30 s: products 5–18 s, an idle prices run 18–19 s (nothing read: not busy), stock 20–25 s
    // overlapping a second products run still going from 22 s: busy 10–18 and 20–30, 18 of 20 s.
    const c = syncCoverage(
      [
        run("products", 5, 18, 50),
        run("prices", 18, 19, 0),
        run("stock", 20, 25, 9),
        run("products", 22, null, 0),
        run("stock", 31, 32, 1),
      ],
      t(10),
      t(30),
      t(40),
    );
    assert.equal(c.share, 0.9);
    assert.deepEqual(
      c.runs.map((r) => r.flow),
      ["products", "prices", "stock", "products"],
    );
  });
});
