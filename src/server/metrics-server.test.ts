/**
 * The metrics listener of workers and schedulers: /metrics behind the API's token gate (network addresses
 * always need a token; loopback too unless --no-auth-on-loopback), /healthz open, nothing else served;
 * where it listens (command line over server.metrics, off when neither); server.metrics validated.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ConfigError } from "../config/errors.ts";
import { parseConfig } from "../config/load.ts";
import { connectorDefinitions } from "../connectors/index.ts";
import { SyncError } from "../core/errors.ts";
import { type Context, openContext } from "../runtime/context.ts";
import { Metrics } from "../runtime/metrics.ts";
import { createToken } from "./api/auth.ts";
import type { RunningServer } from "./app.ts";
import { metricsAddress, startMetricsServer } from "./metrics-server.ts";

const REMOTE = "10.1.2.3";
const CONFIG = (dir: string, server = "") => `version: 1
store: { url: "sqlite:${join(dir, "s.db")}" }
connections:
  odoo: { type: odoo, url: "http://127.0.0.1:1", db: d, username: u, password: "metrics-server-pw" }
  shopify: { type: shopify, shop: m.myshopify.com, accessToken: "shpat_metrics_server", endpoint: "http://127.0.0.1:1/graphql" }
flows:
  products:
    source: { connection: odoo, entity: product }
    target: { connection: shopify, entity: product }
${server}`;

let dir: string;
let ctx: Context;
let strict: RunningServer;
let open: RunningServer;
let viewer = "";

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "passerelle-metrics-server-"));
  const config = join(dir, "passerelle.yaml");
  writeFileSync(config, CONFIG(dir));
  ctx = await openContext(config);
  const metrics = new Metrics(ctx);
  const common = { host: "127.0.0.1", port: 0, metrics, access: ctx.store.access(), role: "worker" };
  strict = await startMetricsServer({ ...common, noAuthOnLoopback: false });
  open = await startMetricsServer({ ...common, noAuthOnLoopback: true });
  viewer = (await createToken(ctx.store.access(), { name: "scraper", role: "viewer" })).token;
});

after(async () => {
  await strict?.close();
  await open?.close();
  await ctx?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (server: RunningServer, url: string, opts: { from?: string; token?: string } = {}) =>
  server.app.inject({
    method: "GET",
    url,
    remoteAddress: opts.from ?? REMOTE,
    headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
  });

describe("the metrics listener", () => {
  test("a network address without a valid token gets 401, whatever the loopback setting", async () => {
    for (const server of [strict, open]) {
      const res = await get(server, "/metrics");
      assert.equal(res.statusCode, 401);
      assert.match(res.json().error, /missing bearer token/);
      assert.equal(res.headers["www-authenticate"], 'Bearer realm="passerelle"');
      const wrong = await get(server, "/metrics", { token: "psr_revoked" });
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().error, "unknown or revoked token");
    }
  });

  test("a token of any role reads the Prometheus text", async () => {
    const res = await get(strict, "/metrics", { token: viewer });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /# TYPE passerelle_records_total counter/);
    assert.match(res.body, /passerelle_queue_depth/);
  });

  test("loopback without a token: 401, unless it was started with --no-auth-on-loopback", async () => {
    assert.equal((await get(strict, "/metrics", { from: "127.0.0.1" })).statusCode, 401);
    assert.equal((await get(open, "/metrics", { from: "127.0.0.1" })).statusCode, 200);
    assert.equal((await get(open, "/metrics", { from: "::1" })).statusCode, 200);
  });

  test("/healthz needs no token; nothing else is served", async () => {
    const health = await get(strict, "/healthz");
    assert.equal(health.statusCode, 200);
    assert.deepEqual(health.json(), { status: "ok", role: "worker" });
    for (const url of ["/api/v1/flows", "/webhooks/shopify", "/"]) {
      const res = await get(strict, url, { token: viewer });
      assert.equal(res.statusCode, 404, url);
    }
  });

  test("it listens on a real socket, on loopback, with no plain-HTTP warning there", async () => {
    assert.match(strict.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(strict.warnings, []);
    const res = await fetch(`${strict.url}/metrics`, { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /passerelle_runs_total/);
  });
});

test("a port already taken (two workers, one server.metrics) is refused naming the address and the fix", async () => {
  const taken = Number(new URL(strict.url).port);
  await assert.rejects(
    startMetricsServer({
      host: "127.0.0.1",
      port: taken,
      metrics: new Metrics(ctx),
      access: ctx.store.access(),
      role: "worker",
      noAuthOnLoopback: false,
    }),
    (e: unknown) =>
      e instanceof SyncError &&
      e.kind === "config" &&
      e.message ===
        `the metrics listener cannot listen on 127.0.0.1:${taken} (EADDRINUSE): another process has that port; give each process on this host its own --metrics-port`,
  );
});

describe("where it listens", () => {
  const none = { server: { host: "127.0.0.1", port: 8470 } };
  const configured = { server: { ...none.server, metrics: { host: "10.0.0.5", port: 9464 } } };

  test("off unless the command line or server.metrics gives a port", () => {
    assert.equal(metricsAddress(none), null);
    assert.equal(metricsAddress(none, {}), null);
  });

  test("the command line over server.metrics, field by field; host 127.0.0.1 by default", () => {
    assert.deepEqual(metricsAddress(none, { port: 9100 }), { host: "127.0.0.1", port: 9100 });
    assert.deepEqual(metricsAddress(configured), { host: "10.0.0.5", port: 9464 });
    assert.deepEqual(metricsAddress(configured, { port: 9101 }), { host: "10.0.0.5", port: 9101 });
    assert.deepEqual(metricsAddress(configured, { host: "127.0.0.1" }), { host: "127.0.0.1", port: 9464 });
  });

  test("a host with no port anywhere is refused, naming the flag and its value", () => {
    assert.throws(
      () => metricsAddress(none, { host: "0.0.0.0" }),
      (e: unknown) =>
        e instanceof SyncError &&
        e.kind === "config" &&
        /--metrics-host "0\.0\.0\.0" needs a port: --metrics-port, or server\.metrics\.port/.test(e.message),
    );
  });

  test("server.metrics in the configuration: host defaults to loopback; a bad port names the field and the value", () => {
    const parse = (server: string) => parseConfig(CONFIG(dir, server), connectorDefinitions).config;
    assert.deepEqual(parse("server:\n  metrics: { port: 9464 }\n").server.metrics, {
      host: "127.0.0.1",
      port: 9464,
    });
    for (const [bad, shown] of [
      ["70000", /server\.metrics\.port: .*65535.*\(got 70000\)/],
      ['"9464"', /server\.metrics\.port: .*number.*\(got "9464"\)/],
    ] as const) {
      assert.throws(
        () => parse(`server:\n  metrics: { port: ${bad} }\n`),
        (e: unknown) => e instanceof ConfigError && shown.test(e.message),
        bad,
      );
    }
    assert.throws(
      () => parse("server:\n  metrics: { host: 127.0.0.1 }\n"),
      (e: unknown) => e instanceof ConfigError && /server\.metrics\.port: missing/.test(e.message),
    );
    assert.throws(
      () => parse("server:\n  metrics: { port: 9464, path: /prom }\n"),
      (e: unknown) => e instanceof ConfigError && /server\.metrics.*path/.test(e.message),
    );
  });
});
