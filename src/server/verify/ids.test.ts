/**
 * Every verifier refuses a delivery whose id (what the inbox deduplicates on) is empty, longer than 255
 * characters or not printable ASCII, with a 400 naming the field and showing the value; the signatures
 * are valid, so only the id is at fault. (app.test.ts and test/e2e/server.test.ts show that a refusal
 * stores nothing.)
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { Webhook } from "standardwebhooks";
import type { WebhookOutcome } from "../../ports/connector.ts";
import { bigCommerceReceiver } from "./bigcommerce.ts";
import { businessCentralReceiver } from "./business-central.ts";
import { wooCommerceReceiver } from "./woocommerce.ts";

const NOW = new Date();
const LONG = "x".repeat(256);
const LONG_REASON = `must be at most 255 characters, got 256: "${"x".repeat(40)}…"`;
const json = { "content-type": "application/json" };

function woo(delivery: string | undefined, webhookId = "3"): WebhookOutcome {
  const secret = "wc-secret";
  const body = JSON.stringify({ id: 43 });
  const headers: Record<string, string | undefined> = {
    ...json,
    "x-wc-webhook-signature": createHmac("sha256", secret).update(body).digest("base64"),
    "x-wc-webhook-topic": "order.updated",
    "x-wc-webhook-id": webhookId,
    "x-wc-webhook-delivery-id": delivery,
  };
  return wooCommerceReceiver<string>((s) => s).receive(
    { rawBody: Buffer.from(body), headers, query: {} },
    secret,
    NOW,
  );
}

function bigCommerce(id: string, hash: string): WebhookOutcome {
  const secret = Buffer.from("bigcommerce-client-secret-0123456789").toString("base64");
  const body = JSON.stringify({ scope: "store/order/updated", data: { type: "order", id: 251 }, hash });
  const headers = {
    ...json,
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(NOW.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(id, NOW, body),
  };
  return bigCommerceReceiver<string>((s) => s).receive(
    { rawBody: Buffer.from(body), headers, query: {} },
    secret,
    NOW,
  );
}

function businessCentral(subscriptionId: string | undefined): WebhookOutcome {
  const state = "client-state";
  const body = JSON.stringify({
    value: [
      {
        subscriptionId,
        clientState: state,
        resource: "api/v2.0/companies(c1)/customers(c-1)",
        changeType: "updated",
        lastModifiedDateTime: "2026-03-01T10:00:00Z",
      },
    ],
  });
  return businessCentralReceiver<string>((s) => s).receive(
    { rawBody: Buffer.from(body), headers: json, query: {} },
    state,
    NOW,
  );
}

const refused = (o: WebhookOutcome) => (o.kind === "reject" ? [o.status, o.reason] : [o.kind]);

test("valid ids pass, the longest allowed included", () => {
  for (const o of [
    woo("d1"),
    woo("d".repeat(255)),
    bigCommerce("msg_1", "h1"),
    bigCommerce("m".repeat(255), "h".repeat(255)),
    businessCentral("sub1"),
  ])
    assert.equal(o.kind, "events", JSON.stringify(o));
});

test("WooCommerce: delivery and webhook ids", () => {
  assert.deepEqual([woo(LONG), woo("d\u00e9l"), woo(""), woo(undefined), woo("d2", "3 4")].map(refused), [
    [400, `X-WC-Webhook-Delivery-ID ${LONG_REASON}`],
    [400, 'X-WC-Webhook-Delivery-ID must be printable ASCII without spaces (0x21-0x7E), got "d\\u00e9l"'],
    [400, "X-WC-Webhook-Delivery-ID is empty"],
    [400, "missing X-WC-Webhook-Delivery-ID"],
    [400, 'X-WC-Webhook-ID must be printable ASCII without spaces (0x21-0x7E), got "3 4"'],
  ]);
});

test("BigCommerce: webhook-id and the payload's hash", () => {
  assert.deepEqual(
    [bigCommerce(LONG, "h2"), bigCommerce("msg_2", LONG), bigCommerce("msg_3", "h\u0000")].map(refused),
    [
      [400, `webhook-id ${LONG_REASON}`],
      [400, `body.hash ${LONG_REASON}`],
      [400, 'body.hash must be printable ASCII without spaces (0x21-0x7E), got "h\\u0000"'],
    ],
  );
});

test("Business Central: each notification's subscriptionId", () => {
  assert.deepEqual(
    [businessCentral(LONG), businessCentral(undefined), businessCentral("sub 1")].map(refused),
    [
      [400, `body.value[0].subscriptionId ${LONG_REASON}`],
      [400, "missing body.value[0].subscriptionId"],
      [400, 'body.value[0].subscriptionId must be printable ASCII without spaces (0x21-0x7E), got "sub 1"'],
    ],
  );
});
