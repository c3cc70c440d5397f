import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { shopify } from "../connectors/shopify/index.ts";
import type { WebhookInbox } from "../ports/inbox.ts";
import type { Store } from "../ports/store.ts";
import { openStore } from "../store/index.ts";
import { type RunningServer, startServer, type WebhookEndpoint } from "./app.ts";
import { bigCommerceReceiver } from "./verify/bigcommerce.ts";
import { businessCentralReceiver } from "./verify/business-central.ts";
import { wooCommerceReceiver } from "./verify/woocommerce.ts";

const SHOP_SECRET = "shpss_test_secret";
const WC_SECRET = "wc-secret-123";
const BC_SECRET = Buffer.from("bigcommerce-client-secret-0123456789").toString("base64");
const BC365_STATE = "client-state-abc";

interface Conf {
  secret?: string;
}
const b64 = (secret: string, body: string) => createHmac("sha256", secret).update(body).digest("base64");

const dir = mkdtempSync(join(tmpdir(), "passerelle-server-"));
let store: Store;
let inbox: WebhookInbox;
let server: RunningServer;
const stored: string[] = [];

function endpoints(): Map<string, WebhookEndpoint> {
  const shopConfig = shopify.configSchema.parse({
    shop: "demo.myshopify.com",
    accessToken: "x",
    webhookSecret: SHOP_SECRET,
  });
  return new Map<string, WebhookEndpoint>([
    ["shop", { receiver: shopify.webhooks as WebhookEndpoint["receiver"], config: shopConfig }],
    [
      "woo",
      {
        receiver: wooCommerceReceiver<Conf>((c) => c.secret) as WebhookEndpoint["receiver"],
        config: { secret: WC_SECRET },
      },
    ],
    [
      "bigc",
      {
        receiver: bigCommerceReceiver<Conf>((c) => c.secret) as WebhookEndpoint["receiver"],
        config: { secret: BC_SECRET },
      },
    ],
    [
      "bc365",
      {
        receiver: businessCentralReceiver<Conf>((c) => c.secret) as WebhookEndpoint["receiver"],
        config: { secret: BC365_STATE },
      },
    ],
    ["erp", { receiver: null, config: {} }],
  ]);
}

before(async () => {
  store = await openStore(`sqlite:${join(dir, "s.db")}`);
  await store.migrate();
  inbox = store.openInbox();
  server = await startServer({
    host: "127.0.0.1",
    port: 0,
    endpoints: endpoints(),
    inbox,
    bodyLimit: 4096,
    onStored: (c, events) => stored.push(...events.map((e) => `${c}:${e.dedupeKey}`)),
  });
});
after(async () => {
  await server.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: string, headers: Record<string, string>) {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers, body });
  const text = await res.text();
  return { status: res.status, text };
}

function shopHeaders(body: string, secret = SHOP_SECRET, id = "evt-1"): Record<string, string> {
  return {
    "content-type": "application/json",
    "x-shopify-hmac-sha256": b64(secret, body),
    "x-shopify-topic": "orders/updated",
    "x-shopify-shop-domain": "demo.myshopify.com",
    "x-shopify-api-version": "2026-10",
    "x-shopify-webhook-id": `wh-${id}`,
    "x-shopify-event-id": id,
  };
}

describe("POST /webhooks/<connection>", () => {
  test("Shopify: stored then acknowledged; a redelivery is acknowledged and dropped", async () => {
    const body = JSON.stringify({ id: 7, admin_graphql_api_id: "gid://shopify/Order/7" });
    const first = await post("/webhooks/shop", body, shopHeaders(body));
    assert.deepEqual([first.status, JSON.parse(first.text)], [200, { stored: 1, duplicates: 0 }]);
    const again = await post("/webhooks/shop", body, shopHeaders(body));
    assert.deepEqual([again.status, JSON.parse(again.text)], [200, { stored: 0, duplicates: 1 }]);
    const ev = await inbox.byKey("shop", "shopify:orders/updated:evt-1");
    assert.equal(ev?.recordId, "gid://shopify/Order/7");
    assert.ok(stored.includes("shop:shopify:orders/updated:evt-1"));
  });

  test("Shopify: tampered body, wrong secret, missing header are refused and nothing is stored", async () => {
    const before = await inbox.count();
    const body = JSON.stringify({ id: 8 });
    const tampered = await post(
      "/webhooks/shop",
      body.replace("8", "9"),
      shopHeaders(body, SHOP_SECRET, "e2"),
    );
    const wrong = await post("/webhooks/shop", body, shopHeaders(body, "nope", "e3"));
    const { "x-shopify-hmac-sha256": _, ...unsigned } = shopHeaders(body, SHOP_SECRET, "e4");
    const missing = await post("/webhooks/shop", body, unsigned);
    assert.deepEqual(
      [tampered, wrong, missing].map((r) => [r.status, JSON.parse(r.text).error]),
      [
        [401, "invalid X-Shopify-Hmac-Sha256"],
        [401, "invalid X-Shopify-Hmac-Sha256"],
        [401, "missing X-Shopify-Hmac-Sha256 header"],
      ],
    );
    assert.equal(await inbox.count(), before);
  });

  test("WooCommerce: signature accepted/refused; the unsigned creation ping answers 200 and stores nothing", async () => {
    const before = await inbox.count();
    const body = JSON.stringify({ id: 42, date_modified_gmt: "2026-03-01T10:00:00" });
    const h = (sig: string, delivery = "d1") => ({
      "content-type": "application/json",
      "x-wc-webhook-signature": sig,
      "x-wc-webhook-topic": "order.updated",
      "x-wc-webhook-resource": "order",
      "x-wc-webhook-id": "3",
      "x-wc-webhook-delivery-id": delivery,
    });
    const ok = await post("/webhooks/woo", body, h(b64(WC_SECRET, body)));
    assert.equal(ok.status, 200);
    assert.equal((await inbox.byKey("woo", "wc:3:d1"))?.recordId, "42");
    assert.equal((await post("/webhooks/woo", `${body} `, h(b64(WC_SECRET, body), "d2"))).status, 401);
    assert.equal((await post("/webhooks/woo", body, h(b64("other", body), "d3"))).status, 401);
    const { "x-wc-webhook-signature": _, ...unsigned } = h("x", "d4");
    assert.equal((await post("/webhooks/woo", body, unsigned)).status, 401);
    const ping = await post("/webhooks/woo", "webhook_id=3", {
      "content-type": "application/x-www-form-urlencoded",
    });
    assert.equal(ping.status, 200);
    assert.equal(await inbox.count(), before + 1);
  });

  test("BigCommerce (Standard Webhooks): valid accepted; tampered, wrong secret, missing header, replayed timestamp refused", async () => {
    const before = await inbox.count();
    const body = JSON.stringify({
      scope: "store/order/updated",
      store_id: "1",
      data: { type: "order", id: 250 },
      hash: "h1",
      created_at: 1_767_225_600,
    });
    const sign = (secret: string, at: Date, id = "msg_1", payload = body) => ({
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign(id, at, payload),
    });
    const ok = await post("/webhooks/bigc", body, sign(BC_SECRET, new Date()));
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await inbox.byKey("bigc", "bc:h1"))?.recordId, "250");
    const tampered = await post(
      "/webhooks/bigc",
      body.replace("250", "251"),
      sign(BC_SECRET, new Date(), "msg_2"),
    );
    const wrong = await post(
      "/webhooks/bigc",
      body,
      sign(Buffer.from("another-secret-xxxxxxxx").toString("base64"), new Date(), "msg_3"),
    );
    const { "webhook-signature": _, ...unsigned } = sign(BC_SECRET, new Date(), "msg_4");
    const missing = await post("/webhooks/bigc", body, unsigned);
    const replayed = await post(
      "/webhooks/bigc",
      body,
      sign(BC_SECRET, new Date(Date.now() - 10 * 60_000), "msg_5"),
    );
    assert.deepEqual(
      [tampered, wrong, missing, replayed].map((r) => r.status),
      [401, 401, 401, 401],
    );
    assert.match(JSON.parse(replayed.text).error, /timestamp/i);
    assert.equal(await inbox.count(), before + 1);
  });

  test("Business Central: validationToken echoed; notifications need the clientState", async () => {
    const hs = await fetch(`${server.url}/webhooks/bc365?validationToken=tok-123`, { method: "POST" });
    assert.deepEqual([hs.status, await hs.text()], [200, "tok-123"]);
    const note = (state: string) =>
      JSON.stringify({
        value: [
          {
            subscriptionId: "sub1",
            clientState: state,
            resource: "api/v2.0/companies(c1)/salesOrders(so-9)",
            changeType: "updated",
            lastModifiedDateTime: "2026-03-01T10:00:00Z",
          },
        ],
      });
    const ok = await post("/webhooks/bc365", note(BC365_STATE), { "content-type": "application/json" });
    assert.equal(ok.status, 200, ok.text);
    const ev = await inbox.byKey(
      "bc365",
      "bc365:sub1:api/v2.0/companies(c1)/salesOrders(so-9):updated:2026-03-01T10:00:00Z",
    );
    assert.deepEqual([ev?.entity, ev?.recordId], ["order", "so-9"]);
    assert.equal(
      (await post("/webhooks/bc365", note("forged"), { "content-type": "application/json" })).status,
      401,
    );
  });
});

describe("bad input: a short 4xx reason, no stack, nothing stored, the server keeps serving", () => {
  test("invalid JSON, wrong content type, unknown connection, a connection without webhooks", async () => {
    const before = await inbox.count();
    const bad = "{not json";
    const invalid = await post("/webhooks/shop", bad, shopHeaders(bad, SHOP_SECRET, "bad1"));
    const text = JSON.stringify({ id: 1 });
    const wrongType = await post("/webhooks/shop", text, {
      ...shopHeaders(text, SHOP_SECRET, "bad2"),
      "content-type": "text/plain",
    });
    const unknown = await post("/webhooks/nobody", text, shopHeaders(text));
    const noHooks = await post("/webhooks/erp", text, shopHeaders(text));
    const results = [invalid, wrongType, unknown, noHooks];
    assert.deepEqual(
      results.map((r) => r.status),
      [400, 415, 404, 404],
    );
    for (const r of results) {
      const parsed = JSON.parse(r.text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(parsed), ["error"]);
      assert.doesNotMatch(r.text, /\bat .*\.ts:\d+|stack/i);
    }
    assert.match(JSON.parse(unknown.text).error, /unknown connection "nobody"/);
    assert.equal(await inbox.count(), before);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  test("a delivery from another shop, signed with the app's secret, is refused 403 and not stored", async () => {
    const before = await inbox.count();
    const body = JSON.stringify({ id: 11, admin_graphql_api_id: "gid://shopify/Order/11" });
    const res = await post("/webhooks/shop", body, {
      ...shopHeaders(body, SHOP_SECRET, "other-shop-1"),
      "x-shopify-shop-domain": "other.myshopify.com",
    });
    assert.equal(res.status, 403, res.text);
    assert.deepEqual(JSON.parse(res.text), {
      error: `X-Shopify-Shop-Domain "other.myshopify.com" is not this connection's shop demo.myshopify.com`,
    });
    assert.ok(!res.text.includes(SHOP_SECRET));
    assert.equal(await inbox.count(), before);
    assert.equal(await inbox.byKey("shop", "shopify:orders/updated:other-shop-1"), null);
  });

  test("an oversized body is refused by Content-Length before it is read, and when streamed without one", async () => {
    const before = await inbox.count();
    const big = JSON.stringify({ id: 1, pad: "x".repeat(10_000) });
    const declared = await post("/webhooks/shop", big, shopHeaders(big, SHOP_SECRET, "big1"));
    assert.equal(declared.status, 413);
    assert.match(JSON.parse(declared.text).error, /larger than 4096 bytes/);
    // Chunked: no Content-Length, so the limit is enforced while streaming.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${server.url}/webhooks/shop`,
        {
          method: "POST",
          headers: { ...shopHeaders(big, SHOP_SECRET, "big2"), "transfer-encoding": "chunked" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      for (let i = 0; i < 10; i++) req.write("x".repeat(1000));
      req.end();
    });
    assert.equal(streamed, 413);
    assert.equal(await inbox.count(), before);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});

test("serves HTTPS when a certificate and key are configured", async (t) => {
  const tls = mkdtempSync(join(tmpdir(), "passerelle-tls-"));
  t.after(() => rmSync(tls, { recursive: true, force: true }));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(tls, "key.pem"),
      "-out",
      join(tls, "cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  const secure = await startServer({
    host: "127.0.0.1",
    port: 0,
    endpoints: endpoints(),
    inbox,
    tls: { cert: readFileSync(join(tls, "cert.pem")), key: readFileSync(join(tls, "key.pem")) },
  });
  t.after(() => secure.close());
  assert.match(secure.url, /^https:/);
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(
      `${secure.url}/healthz`,
      { ca: readFileSync(join(tls, "cert.pem")), servername: "127.0.0.1" },
      (res) => {
        let s = "";
        res.on("data", (c: Buffer) => {
          s += c.toString();
        });
        res.on("end", () => resolve(s));
      },
    );
    req.on("error", reject);
    req.end();
  });
  assert.deepEqual(JSON.parse(body), { status: "ok" });
});
