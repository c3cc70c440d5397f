/**
 * WooCommerce webhooks: `X-WC-Webhook-Signature` is base64(HMAC-SHA256(raw body, webhook secret)). When a
 * webhook is created WooCommerce pings the delivery URL once with the form body `webhook_id=N` and no
 * signature; it must be answered 200 (else the webhook counts a failure), and nothing is stored. The
 * delivery and webhook ids (the dedupe key) must be 1 to 255 printable ASCII characters.
 */
import type { EntityName } from "../../core/model.ts";
import type { InboundEvent, WebhookOutcome, WebhookReceiver, WebhookRequest } from "../../ports/connector.ts";
import { base64HmacMatches, idProblem, jsonBody, reject, stringOf } from "../../ports/webhook-verify.ts";

const RESOURCE_ENTITIES: Record<string, EntityName> = {
  order: "order",
  product: "product",
  customer: "customer",
};

const PING = /^webhook_id=\d+$/;

export function wooCommerceReceiver<C>(secretOf: (config: C) => string | undefined): WebhookReceiver<C> {
  return {
    receive(req: WebhookRequest, config: C): WebhookOutcome {
      const signature = req.headers["x-wc-webhook-signature"];
      if (signature === undefined) {
        const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
        if (type === "application/x-www-form-urlencoded" && PING.test(req.rawBody.toString("utf8").trim())) {
          return { kind: "reply", status: 200, body: "", contentType: "text/plain" };
        }
        return reject(401, "missing X-WC-Webhook-Signature header");
      }
      const secret = secretOf(config);
      if (!secret) return reject(401, "no webhook secret is configured for this connection");
      if (!base64HmacMatches(signature, secret, req.rawBody))
        return reject(401, "invalid X-WC-Webhook-Signature");
      const body = jsonBody(req);
      if (!body.ok) return body.outcome;
      const delivery = req.headers["x-wc-webhook-delivery-id"];
      const webhookId = req.headers["x-wc-webhook-id"];
      const badId =
        idProblem("X-WC-Webhook-Delivery-ID", delivery) ??
        (webhookId === undefined ? null : idProblem("X-WC-Webhook-ID", webhookId));
      if (badId) return badId;
      const topic = req.headers["x-wc-webhook-topic"] ?? "";
      const resource = req.headers["x-wc-webhook-resource"] ?? topic.split(".")[0] ?? "";
      const event: InboundEvent = {
        dedupeKey: `wc:${webhookId ?? ""}:${delivery}`,
        topic,
        entity: RESOURCE_ENTITIES[resource] ?? null,
        recordId: stringOf(body.value.id),
        occurredAt: stringOf(body.value.date_modified_gmt)
          ? `${String(body.value.date_modified_gmt)}Z`
          : null,
        payload: body.value,
      };
      return { kind: "events", events: [event] };
    },
  };
}
