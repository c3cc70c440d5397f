/**
 * The Business Central receiver on its own: the handshake echoes the token as plain text, a notification
 * with several entries becomes one event each (a `collection` entry names no record), the clientState is
 * compared with the configured secret and left out of what is stored, and one forged entry refuses the
 * whole delivery.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { WebhookOutcome } from "../../ports/connector.ts";
import { businessCentralReceiver } from "./business-central.ts";

const SECRET = "bc-client-state-0123456789";
const NOW = new Date("2026-03-01T10:00:00Z");
const receiver = businessCentralReceiver<string>((s) => s);
const deliver = (body: unknown, query: Record<string, string> = {}): WebhookOutcome =>
  receiver.receive(
    { rawBody: Buffer.from(JSON.stringify(body)), headers: { "content-type": "application/json" }, query },
    SECRET,
    NOW,
  );
const entry = (over: Record<string, unknown> = {}) => ({
  subscriptionId: "9f2c7a51d3e84b0c9a6e1f4d2b7c8e01",
  clientState: SECRET,
  expirationDateTime: "2026-03-04T10:00:00Z",
  resource: "api/v2.0/companies(c1)/items(i-1)",
  changeType: "updated",
  lastModifiedDateTime: "2026-03-01T09:59:30.123Z",
  ...over,
});

test("the handshake echoes validationToken as plain text with 200", () => {
  const o = receiver.receive(
    { rawBody: Buffer.alloc(0), headers: {}, query: { validationToken: "a1-b2" } },
    SECRET,
    NOW,
  );
  assert.deepEqual(o, {
    kind: "reply",
    status: 200,
    body: "a1-b2",
    contentType: "text/plain; charset=utf-8",
  });
});

test("one event per entry, the clientState not in the stored payload", () => {
  const o = deliver({
    value: [
      entry(),
      entry({ resource: "api/v2.0/companies(c1)/customers(c-9)", changeType: "created" }),
      entry({
        resource:
          "api/v2.0/companies(c1)/salesInvoices?$filter=lastModifiedDateTime%20ge%202026-03-01T09:00:00Z",
        changeType: "collection",
      }),
    ],
  });
  assert.equal(o.kind, "events");
  if (o.kind !== "events") return;
  assert.deepEqual(
    o.events.map((e) => [e.entity, e.recordId, e.topic]),
    [
      ["product", "i-1", "updated"],
      ["customer", "c-9", "created"],
      ["invoice", null, "collection"],
    ],
  );
  assert.ok(!JSON.stringify(o.events).includes(SECRET));
  assert.equal(new Set(o.events.map((e) => e.dedupeKey)).size, 3);
});

test("one entry with another clientState refuses the whole delivery, naming the entry", () => {
  const o = deliver({ value: [entry(), entry({ clientState: "forged-state-0123456789" })] });
  assert.deepEqual(o.kind === "reject" ? [o.status, o.reason] : o.kind, [
    401,
    "body.value[1].clientState does not match",
  ]);
});
