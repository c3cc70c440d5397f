import "@shopify/shopify-api/adapters/node";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { test } from "node:test";
import { ApiVersion, LogSeverity, shopifyApi } from "@shopify/shopify-api";
import { NoDeprecatedCustomRule, parse, validate } from "graphql";
import { shopifySchema, validateOperation } from "./schema.ts";
import { receiveShopifyWebhook, topicHeader, WEBHOOK_OPERATIONS } from "./webhooks.ts";

const SECRET = "shpss_app_client_secret";
const SHOP = "demo.myshopify.com";

test("webhook subscription operations validate against the official schema, without deprecated fields", () => {
  for (const [name, source] of Object.entries(WEBHOOK_OPERATIONS)) {
    assert.deepEqual(
      validateOperation(source).map((e) => `${name}: ${e.message}`),
      [],
    );
    assert.deepEqual(
      validate(shopifySchema(), parse(source), [NoDeprecatedCustomRule]).map((e) => `${name}: ${e.message}`),
      [],
    );
  }
  assert.equal(topicHeader("ORDERS_CREATE"), "orders/create");
  assert.equal(topicHeader("CUSTOMERS_MARKETING_CONSENT_UPDATE"), "customers/marketing_consent_update");
});

function headers(body: string, secret: string, extra: Record<string, string | undefined> = {}) {
  const all: Record<string, string | undefined> = {
    "content-type": "application/json",
    "x-shopify-hmac-sha256": createHmac("sha256", secret).update(body).digest("base64"),
    "x-shopify-topic": "orders/paid",
    "x-shopify-shop-domain": SHOP,
    "x-shopify-api-version": "2026-10",
    "x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    "x-shopify-event-id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
    ...extra,
  };
  return Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
}

test("accepts and rejects exactly the deliveries @shopify/shopify-api's own validator does", async () => {
  const api = shopifyApi({
    apiKey: "key",
    apiSecretKey: SECRET,
    scopes: [],
    hostName: "localhost",
    apiVersion: ApiVersion.October25,
    isEmbeddedApp: false,
    logger: { level: LogSeverity.Error, log: async () => {} },
  });
  const verdicts: { official: boolean; ours: boolean; reason: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      void api.webhooks
        .validate({ rawBody: raw.toString("utf8"), rawRequest: req, rawResponse: res })
        .then((official) => {
          const h = Object.fromEntries(
            Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]),
          );
          const ours = receiveShopifyWebhook({ rawBody: raw, headers: h, query: {} }, SECRET, SHOP);
          verdicts.push({
            official: official.valid,
            ours: ours.kind === "events",
            reason: ours.kind === "reject" ? ours.reason : "",
          });
          res.end("ok");
        });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  assert.ok(addr && typeof addr === "object");
  const body = JSON.stringify({
    id: 820982911946154500,
    admin_graphql_api_id: "gid://shopify/Order/820982911946154508",
    name: "#9999",
  });
  const cases: { name: string; body: string; headers: Record<string, string> }[] = [
    { name: "valid", body, headers: headers(body, SECRET) },
    { name: "tampered body", body: body.replace("9999", "9998"), headers: headers(body, SECRET) },
    { name: "wrong secret", body, headers: headers(body, "another-secret") },
    {
      name: "missing signature",
      body,
      headers: headers(body, SECRET, { "x-shopify-hmac-sha256": undefined }),
    },
    {
      name: "hex instead of base64",
      body,
      headers: headers(body, SECRET, {
        "x-shopify-hmac-sha256": createHmac("sha256", SECRET).update(body).digest("hex"),
      }),
    },
    { name: "missing topic", body, headers: headers(body, SECRET, { "x-shopify-topic": undefined }) },
    {
      name: "missing webhook id",
      body,
      headers: headers(body, SECRET, { "x-shopify-webhook-id": undefined }),
    },
    {
      name: "unicode body",
      body: JSON.stringify({ id: 1, note: "crème brûlée ✓" }),
      headers: headers(JSON.stringify({ id: 1, note: "crème brûlée ✓" }), SECRET),
    },
  ];
  try {
    for (const c of cases) {
      const res = await fetch(`http://127.0.0.1:${addr.port}/webhooks`, {
        method: "POST",
        headers: c.headers,
        body: c.body,
      });
      await res.text();
    }
  } finally {
    server.close();
  }
  assert.equal(verdicts.length, cases.length);
  for (const [i, v] of verdicts.entries()) {
    assert.equal(
      v.ours,
      v.official,
      `${cases[i]?.name}: ours ${v.ours} (${v.reason}), official ${v.official}`,
    );
  }
  assert.deepEqual(
    verdicts.map((v) => v.ours),
    [true, false, false, false, false, false, false, true],
  );
});

test("a verified delivery becomes one event keyed by topic and event id, naming the record", () => {
  const body = JSON.stringify({
    id: 5,
    admin_graphql_api_id: "gid://shopify/Order/5",
    updated_at: "2026-01-02T03:04:05Z",
  });
  const out = receiveShopifyWebhook(
    { rawBody: Buffer.from(body), headers: headers(body, SECRET), query: {} },
    SECRET,
    SHOP,
  );
  assert.equal(out.kind, "events");
  assert.ok(out.kind === "events");
  assert.deepEqual(
    out.events.map((e) => [e.dedupeKey, e.entity, e.recordId, e.occurredAt]),
    [
      [
        "shopify:orders/paid:98880550-7158-44d4-b7cd-2c97c8a091b5",
        "order",
        "gid://shopify/Order/5",
        "2026-01-02T03:04:05Z",
      ],
    ],
  );
  // Without an event id, the webhook id (the same across Shopify's retries) is the key.
  const noEvent = receiveShopifyWebhook(
    {
      rawBody: Buffer.from(body),
      headers: headers(body, SECRET, { "x-shopify-event-id": undefined }),
      query: {},
    },
    SECRET,
    SHOP,
  );
  assert.ok(noEvent.kind === "events");
  assert.equal(noEvent.events[0]?.dedupeKey, "shopify:orders/paid:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
  // Signed but not JSON: refused after the signature check, with a reason.
  const notJson = receiveShopifyWebhook(
    { rawBody: Buffer.from("{oops"), headers: headers("{oops", SECRET), query: {} },
    SECRET,
    SHOP,
  );
  assert.deepEqual(notJson, { kind: "reject", status: 400, reason: "body is not valid JSON" });
  // No secret configured: every delivery is refused.
  assert.equal(
    receiveShopifyWebhook(
      { rawBody: Buffer.from(body), headers: headers(body, SECRET), query: {} },
      undefined,
      SHOP,
    ).kind,
    "reject",
  );
});

/** A delivery signed with the right secret whose headers differ from a valid one by `extra`. */
function signedWith(extra: Record<string, string | undefined>) {
  const body = JSON.stringify({ id: 5, admin_graphql_api_id: "gid://shopify/Order/5" });
  return receiveShopifyWebhook(
    { rawBody: Buffer.from(body), headers: headers(body, SECRET, extra), query: {} },
    SECRET,
    SHOP,
  );
}

test("X-Shopify-Shop-Domain must name the connection's shop: another shop's signed delivery is refused", () => {
  // The same shop however a proxy may have dressed it up.
  for (const domain of ["demo.myshopify.com", "DEMO.myshopify.com", "https://demo.myshopify.com/"]) {
    assert.equal(signedWith({ "x-shopify-shop-domain": domain }).kind, "events", domain);
  }
  // One app secret signs every shop that installed the app: the signature alone cannot tell them apart.
  for (const domain of ["other.myshopify.com", "demo.myshopify.com.evil.example", "demo", "::"]) {
    const out = signedWith({ "x-shopify-shop-domain": domain });
    assert.equal(out.kind, "reject", domain);
    assert.ok(out.kind === "reject");
    assert.equal(out.status, 403, domain);
    assert.equal(
      out.reason,
      `X-Shopify-Shop-Domain ${JSON.stringify(domain)} is not this connection's shop demo.myshopify.com`,
    );
    assert.ok(!out.reason.includes(SECRET));
  }
});

test("ids the dedupe key is made of must be 1 to 255 printable ASCII characters", () => {
  const ok = "a".repeat(255);
  for (const h of ["x-shopify-event-id", "x-shopify-webhook-id"]) {
    const out = signedWith({ [h]: ok });
    assert.equal(out.kind, "events", `${h} of 255 characters`);
  }
  const cases: [string, string, RegExp][] = [
    [
      "x-shopify-event-id",
      "e".repeat(256),
      /^X-Shopify-Event-Id must be at most 255 characters, got 256: "e{40}…"$/,
    ],
    ["x-shopify-event-id", "", /^X-Shopify-Event-Id is empty$/],
    [
      "x-shopify-event-id",
      "evt 1",
      /^X-Shopify-Event-Id must be printable ASCII without spaces \(0x21-0x7E\), got "evt 1"$/,
    ],
    ["x-shopify-event-id", "evt\t1", /got "evt\\u00091"$/],
    ["x-shopify-event-id", "évt-1", /got "\\u00e9vt-1"$/],
    [
      "x-shopify-webhook-id",
      "w".repeat(300),
      /^X-Shopify-Webhook-Id must be at most 255 characters, got 300/,
    ],
    ["x-shopify-webhook-id", "wh\u00001", /^X-Shopify-Webhook-Id must be printable ASCII.*got "wh\\u00001"$/],
    ["x-shopify-topic", "orders/create\u0007", /^X-Shopify-Topic must be printable ASCII/],
  ];
  for (const [h, value, reason] of cases) {
    const out = signedWith({ [h]: value });
    assert.ok(out.kind === "reject", `${h}=${JSON.stringify(value)} is refused`);
    assert.equal(out.status, 400);
    assert.match(out.reason, reason);
    assert.ok(out.reason.length < 200 && !/[\n\r]/.test(out.reason), out.reason);
  }
});
