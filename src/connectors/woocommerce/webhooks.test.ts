/** WooCommerce webhook verification and the connection settings' errors (no shop needed). */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { WooCommerceConfig } from "./config.ts";
import { wooWebhooks } from "./webhooks.ts";

const config = WooCommerceConfig.parse({
  url: "http://127.0.0.1:8089",
  username: "admin",
  applicationPassword: "abcd efgh ijkl",
  webhookSecret: "hook-secret",
});
const body = Buffer.from(
  JSON.stringify({ id: 42, status: "processing", date_modified_gmt: "2026-12-03T07:46:48" }),
);
const headers = (signature: string) => ({
  "content-type": "application/json",
  "x-wc-webhook-source": "http://127.0.0.1:8089/",
  "x-wc-webhook-topic": "order.created",
  "x-wc-webhook-resource": "order",
  "x-wc-webhook-signature": signature,
  "x-wc-webhook-delivery-id": "3a953ba739ddd8e0f79a0f1288c3cf84",
  "x-wc-webhook-id": "1",
});
const sign = (raw: Buffer, secret = "hook-secret") =>
  createHmac("sha256", secret).update(raw).digest("base64");

test("a signed delivery is an order event deduplicated on its delivery id", () => {
  const out = wooWebhooks.receive(
    { rawBody: body, headers: headers(sign(body)), query: {} },
    config,
    new Date(),
  );
  assert.equal(out.kind, "events");
  assert.deepEqual(out.kind === "events" ? out.events[0] : null, {
    dedupeKey: "wc:1:3a953ba739ddd8e0f79a0f1288c3cf84",
    topic: "order.created",
    entity: "order",
    recordId: "42",
    occurredAt: "2026-12-03T07:46:48Z",
    payload: JSON.parse(body.toString()),
  });
});

test("a wrong signature, another secret or a changed body is refused with 401", () => {
  for (const signature of [sign(body, "other-secret"), sign(Buffer.from(`${body} `)), "not base64!"]) {
    const out = wooWebhooks.receive(
      { rawBody: body, headers: headers(signature), query: {} },
      config,
      new Date(),
    );
    assert.equal(out.kind, "reject");
    assert.equal(out.kind === "reject" ? out.status : 0, 401);
  }
});

test("the ping sent when a webhook is created is answered and stores nothing", () => {
  const out = wooWebhooks.receive(
    {
      rawBody: Buffer.from("webhook_id=7"),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      query: {},
    },
    config,
    new Date(),
  );
  assert.equal(out.kind, "reply");
});

test("without a webhookSecret nothing is accepted", () => {
  const { webhookSecret: _, ...bare } = config;
  const out = wooWebhooks.receive(
    { rawBody: body, headers: headers(sign(body)), query: {} },
    WooCommerceConfig.parse(bare),
    new Date(),
  );
  assert.equal(out.kind, "reject");
});

test("consumer keys over http are refused naming the field and the value, never the secret", () => {
  const r = WooCommerceConfig.safeParse({
    url: "http://shop.example.com",
    consumerKey: "ck_0123456789",
    consumerSecret: "cs_topsecret99",
  });
  assert.ok(!r.success);
  assert.match(r.error.message, /url/);
  assert.match(r.error.message, /http:\/\/shop\.example\.com/);
  assert.ok(!r.error.message.includes("cs_topsecret99"));
  assert.ok(
    WooCommerceConfig.safeParse({
      url: "https://shop.example.com",
      consumerKey: "ck_0123456789",
      consumerSecret: "cs_topsecret99",
    }).success,
  );
  const page = WooCommerceConfig.safeParse({ ...config, pageSize: 500 });
  assert.ok(!page.success);
  assert.match(page.error.message, /pageSize|100/);
});

test("credentials: one complete pair, each problem naming its field", () => {
  const url = "https://shop.example.com";
  const none = WooCommerceConfig.safeParse({ url });
  assert.ok(!none.success);
  assert.deepEqual(none.error.issues[0]?.path, ["applicationPassword"]);
  const half = WooCommerceConfig.safeParse({ url, username: "admin" });
  assert.ok(!half.success);
  assert.deepEqual(half.error.issues[0]?.path, ["applicationPassword"]);
  const both = WooCommerceConfig.safeParse({
    url,
    username: "admin",
    applicationPassword: "x",
    consumerKey: "ck_1",
    consumerSecret: "cs_2",
  });
  assert.ok(!both.success);
  assert.match(both.error.message, /not both/);
  const badKey = WooCommerceConfig.safeParse({ url, consumerKey: "key", consumerSecret: "cs_2" });
  assert.ok(!badKey.success);
  assert.deepEqual(badKey.error.issues[0]?.path, ["consumerKey"]);
});
