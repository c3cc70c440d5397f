/**
 * BigCommerce webhooks follow Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature`
 * (HMAC-SHA256 over "id.timestamp.body" with the base64 app secret), verified with the `standardwebhooks`
 * package, which refuses a timestamp more than five minutes away from now (replays). The payload is thin
 * (`{scope, data: {type, id}, hash}`); BigCommerce sends the same `hash` when a hook fires twice for one
 * event, so it is the dedupe key.
 */
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import type { EntityName } from "../../core/model.ts";
import type { WebhookOutcome, WebhookReceiver, WebhookRequest } from "../../ports/connector.ts";
import { idProblem, jsonBody, reject, stringOf } from "../../ports/webhook-verify.ts";

const SCOPE_ENTITIES: Record<string, EntityName> = {
  order: "order",
  product: "product",
  customer: "customer",
  inventory: "inventory",
};

export function bigCommerceReceiver<C>(secretOf: (config: C) => string | undefined): WebhookReceiver<C> {
  const verifiers = new Map<string, Webhook>();
  return {
    receive(req: WebhookRequest, config: C): WebhookOutcome {
      const id = req.headers["webhook-id"];
      const timestamp = req.headers["webhook-timestamp"];
      const signature = req.headers["webhook-signature"];
      if (!id || !timestamp || !signature) {
        return reject(401, "missing webhook-id, webhook-timestamp or webhook-signature header");
      }
      const secret = secretOf(config);
      if (!secret) return reject(401, "no webhook secret is configured for this connection");
      let verifier = verifiers.get(secret);
      if (!verifier) {
        verifier = new Webhook(secret);
        verifiers.set(secret, verifier);
      }
      try {
        verifier.verify(req.rawBody, {
          "webhook-id": id,
          "webhook-timestamp": timestamp,
          "webhook-signature": signature,
        });
      } catch (e) {
        if (e instanceof WebhookVerificationError) {
          // The library's own messages name only the check that failed ("Message timestamp too old").
          return reject(401, `invalid Standard Webhooks signature: ${e.message}`);
        }
        return reject(401, "invalid Standard Webhooks signature");
      }
      const body = jsonBody(req);
      if (!body.ok) return body.outcome;
      const hash = stringOf(body.value.hash);
      // The dedupe key is the hash, or the id when there is none; both reach the store and the logs.
      const badId = idProblem("webhook-id", id) ?? (hash === null ? null : idProblem("body.hash", hash));
      if (badId) return badId;
      const scope = stringOf(body.value.scope) ?? "";
      const data = body.value.data as { type?: unknown; id?: unknown } | undefined;
      const type = stringOf(data?.type) ?? scope.split("/")[1] ?? "";
      const createdAt = body.value.created_at;
      return {
        kind: "events",
        events: [
          {
            dedupeKey: `bc:${hash ?? id}`,
            topic: scope,
            entity: SCOPE_ENTITIES[type] ?? null,
            recordId: stringOf(data?.id),
            occurredAt: typeof createdAt === "number" ? new Date(createdAt * 1000).toISOString() : null,
            payload: body.value,
          },
        ],
      };
    },
  };
}
