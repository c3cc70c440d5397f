/**
 * WooCommerce webhook deliveries: `X-WC-Webhook-Signature` is base64(HMAC-SHA256(raw body, webhook
 * secret)). The ping WooCommerce sends when a webhook is created (form-encoded `webhook_id=N`, no X-WC
 * headers) is answered 200 and stores nothing. Events are deduplicated on X-WC-Webhook-Delivery-ID; the
 * body is a notice that a record changed (the stream's `get` reads it afresh).
 */
import type { EntityName } from "../../core/model.ts";
import type { WebhookOutcome, WebhookReceiver, WebhookRequest } from "../../ports/connector.ts";
import { base64HmacMatches, idProblem, jsonBody, reject, stringOf } from "../../ports/webhook-verify.ts";
import type { WooCommerceConfig } from "./config.ts";

const RESOURCES: Record<string, EntityName> = { order: "order", customer: "customer", product: "product" };

export const wooWebhooks: WebhookReceiver<WooCommerceConfig> = {
  receive(req: WebhookRequest, config: WooCommerceConfig): WebhookOutcome {
    const signature = req.headers["x-wc-webhook-signature"];
    if (signature === undefined && /^webhook_id=\d+$/.test(req.rawBody.toString("utf8").trim())) {
      return { kind: "reply", status: 200, body: "", contentType: "text/plain" };
    }
    if (!config.webhookSecret) return reject(403, "no webhookSecret is configured for this connection");
    if (signature === undefined) return reject(401, "missing x-wc-webhook-signature");
    if (!base64HmacMatches(signature, config.webhookSecret, req.rawBody)) {
      return reject(401, "x-wc-webhook-signature does not match the body");
    }
    const topic = req.headers["x-wc-webhook-topic"];
    if (!topic) return reject(400, "missing x-wc-webhook-topic");
    const delivery = req.headers["x-wc-webhook-delivery-id"];
    const bad = idProblem("x-wc-webhook-delivery-id", delivery);
    if (bad) return bad;
    const body = jsonBody(req);
    if (!body.ok) return body.outcome;
    const resource = req.headers["x-wc-webhook-resource"] ?? topic.split(".")[0] ?? "";
    const modified = stringOf(body.value.date_modified_gmt);
    return {
      kind: "events",
      events: [
        {
          dedupeKey: `${req.headers["x-wc-webhook-source"] ?? ""}#${delivery}`,
          topic,
          entity: RESOURCES[resource] ?? null,
          recordId: stringOf(body.value.id),
          occurredAt: modified ? (modified.endsWith("Z") ? modified : `${modified}Z`) : null,
          payload: body.value,
        },
      ],
    };
  },
};
