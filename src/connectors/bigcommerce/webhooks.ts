/**
 * BigCommerce webhooks: verification and parsing of deliveries, and subscriptions through `/v3/hooks`.
 *
 * A delivery is signed the Standard Webhooks way: `webhook-signature` holds one or more `v1,<base64>`
 * values, each HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<raw body>` keyed with the app's client
 * secret; a timestamp more than five minutes away from now is refused (a replayed delivery). The payload is
 * thin (`{scope, store_id, data: {type, id}, hash, created_at, producer}`): it says which record changed,
 * and the record is read afresh when the event is processed. BigCommerce sends the same `hash` for every
 * delivery of one event, so events are deduplicated on it.
 */
import { createHmac } from "node:crypto";
import { z } from "zod";
import type { EntityName } from "../../core/model.ts";
import type {
  InboundEvent,
  WebhookManager,
  WebhookOutcome,
  WebhookReceiver,
  WebhookRequest,
  WebhookSubscription,
} from "../../ports/connector.ts";
import { idProblem, jsonBody, reject, safeEqual, stringOf } from "../../ports/webhook-verify.ts";
import type { BigCommerceClient } from "./client.ts";
import type { BigCommerceConfig } from "./config.ts";

/** What the connector's streams read, store → ERP: orders (a shipment changes its order) and customers. */
export const DEFAULT_SCOPES = [
  "store/order/created",
  "store/order/updated",
  "store/order/statusUpdated",
  "store/shipment/created",
  "store/customer/created",
  "store/customer/updated",
] as const;

export const TOLERANCE_S = 300;

/** The HMAC key: the client secret's bytes (a `whsec_` secret is the base64 of the key, as Standard Webhooks writes it). */
const keyOf = (secret: string): Buffer =>
  secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");

export function receiveBigCommerceWebhook(
  req: WebhookRequest,
  secret: string | undefined,
  now: Date,
): WebhookOutcome {
  const id = req.headers["webhook-id"];
  const timestamp = req.headers["webhook-timestamp"];
  const signature = req.headers["webhook-signature"];
  if (!signature) return reject(401, "missing webhook-signature header");
  if (!secret) return reject(401, "no clientSecret is configured for this connection");
  const badId = idProblem("webhook-id", id);
  if (badId) return badId;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp))
    return reject(400, "webhook-timestamp must be seconds since the epoch");
  const age = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (age > TOLERANCE_S)
    return reject(401, `webhook-timestamp is ${Math.round(age)} s away from now (at most ${TOLERANCE_S})`);
  const expected = createHmac("sha256", keyOf(secret))
    .update(`${id}.${timestamp}.`)
    .update(req.rawBody)
    .digest();
  const matches = signature
    .split(" ")
    .map((s) => s.trim())
    .filter((s) => s.startsWith("v1,"))
    .some((s) => safeEqual(Buffer.from(s.slice(3), "base64"), expected));
  if (!matches) return reject(401, "invalid webhook-signature");
  const body = jsonBody(req);
  if (!body.ok) return body.outcome;
  const scope = stringOf(body.value.scope);
  if (!scope) return reject(400, "the payload has no scope");
  const data = (body.value.data ?? {}) as Record<string, unknown>;
  const [, resource] = scope.split("/");
  let entity: EntityName | null = null;
  let recordId: string | null = null;
  if (resource === "order") {
    entity = "order";
    recordId = stringOf(data.id);
  } else if (resource === "shipment") {
    entity = "order";
    recordId = stringOf(data.orderId);
  } else if (resource === "customer") {
    entity = "customer";
    recordId = stringOf(data.id);
  }
  const hash = stringOf(body.value.hash);
  const createdAt =
    typeof body.value.created_at === "number" ? new Date(body.value.created_at * 1000).toISOString() : null;
  const event: InboundEvent = {
    dedupeKey: `bigcommerce:${scope}:${hash ?? (id as string)}`,
    topic: scope,
    entity,
    recordId,
    occurredAt: createdAt,
    payload: body.value,
  };
  return { kind: "events", events: [event] };
}

export const bigcommerceWebhookReceiver: WebhookReceiver<BigCommerceConfig> = {
  receive: (req, config, now) => receiveBigCommerceWebhook(req, config.clientSecret, now),
};

const Hook = z.object({ id: z.number().int(), scope: z.string(), destination: z.string() }).loose();

export function bigcommerceWebhookManager(client: BigCommerceClient): WebhookManager {
  const list = async (): Promise<WebhookSubscription[]> =>
    (await client.all("/v3/hooks", Hook, "webhooks", 250)).map((h) => ({
      id: String(h.id),
      topic: h.scope,
      url: h.destination,
    }));
  return {
    topics: DEFAULT_SCOPES,
    list,
    async register(url, topics = DEFAULT_SCOPES) {
      const existing = (await list()).filter((s) => s.url === url);
      const created: WebhookSubscription[] = [];
      for (const scope of topics) {
        if (existing.some((s) => s.topic === scope)) continue;
        const made = await client.write(
          "POST",
          "/v3/hooks",
          { scope, destination: url, is_active: true },
          z.object({ data: Hook }),
          "webhook create",
        );
        created.push({ id: String(made.data.id), topic: made.data.scope, url: made.data.destination });
      }
      return { created, existing: existing.filter((s) => topics.includes(s.topic)) };
    },
    async unregister(url) {
      const gone = (await list()).filter((s) => url === undefined || s.url === url);
      for (const s of gone)
        await client.write("DELETE", `/v3/hooks/${s.id}`, undefined, z.unknown(), "webhook delete");
      return gone;
    },
  };
}
