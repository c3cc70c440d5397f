/**
 * The benchmark scripts of issue 22 (bench/order-latency.ts, bench/n8n.ts, bench/install.ts) parse their
 * flags and refuse bad ones naming the flag and the value; the n8n bench's Passerelle configuration is a
 * valid passerelle.yaml and its n8n workflow connects every node it has. No timings are checked here.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseInstallBenchArgs } from "../bench/install.ts";
import { n8nWorkflow, parseN8nBenchArgs, passerelleConfig } from "../bench/n8n.ts";
import { odooStampMs, parseOrderLatencyArgs } from "../bench/order-latency.ts";
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
      startTimeoutS: 120,
      keep: false,
    });
    assert.throws(
      () => parseInstallBenchArgs(["--start-timeout", "0"]),
      /--start-timeout must be a positive number.*"0"/,
    );
  });
});
