/**
 * Microsoft Dynamics 365 Business Central API subscriptions. On creation (and on every renewal) Business
 * Central calls the notification URL with `?validationToken=…` and expects the token echoed as the body with
 * 200. Notifications carry no signature; each entry repeats the `clientState` given at subscription, which
 * is compared in constant time with the configured one. A notification lists changes; each becomes one
 * event, deduplicated by subscription (1 to 255 printable ASCII characters), resource, change type and
 * modification time. The clientState is a secret: it is left out of the payload that is stored.
 */
import type { EntityName } from "../../core/model.ts";
import type { InboundEvent, WebhookOutcome, WebhookReceiver, WebhookRequest } from "../../ports/connector.ts";
import { idProblem, jsonBody, reject, safeEqual, stringOf } from "../../ports/webhook-verify.ts";

const RESOURCE_ENTITIES: [RegExp, EntityName][] = [
  [/\/customers(\(|$)/i, "customer"],
  [/\/items(\(|$)/i, "product"],
  [/\/salesOrders(\(|$)/i, "order"],
  [/\/salesInvoices(\(|$)/i, "invoice"],
];

const TOKEN = /^[\x21-\x7e]{1,1024}$/;

function idOf(resource: string): string | null {
  const m = /\(([^()]*)\)\s*$/.exec(resource);
  return m?.[1] ?? null;
}

function withoutClientState(entry: Record<string, unknown>): Record<string, unknown> {
  const { clientState: _secret, ...rest } = entry;
  return rest;
}

export function businessCentralReceiver<C>(
  clientStateOf: (config: C) => string | undefined,
): WebhookReceiver<C> {
  return {
    receive(req: WebhookRequest, config: C): WebhookOutcome {
      const token = req.query.validationToken;
      if (token !== undefined) {
        if (!TOKEN.test(token)) return reject(400, "validationToken must be 1 to 1024 printable characters");
        return { kind: "reply", status: 200, body: token, contentType: "text/plain; charset=utf-8" };
      }
      const expected = clientStateOf(config);
      if (!expected) return reject(401, "no clientState is configured for this connection");
      const body = jsonBody(req);
      if (!body.ok) return body.outcome;
      const value = body.value.value;
      if (!Array.isArray(value) || value.length === 0)
        return reject(400, "body.value must be a non-empty array");
      const events: InboundEvent[] = [];
      for (const [i, n] of value.entries()) {
        const entry = (n ?? {}) as Record<string, unknown>;
        const state = stringOf(entry.clientState);
        if (state === null || !safeEqual(state, expected))
          return reject(401, `body.value[${i}].clientState does not match`);
        const subscription = stringOf(entry.subscriptionId) ?? undefined;
        const badId = idProblem(`body.value[${i}].subscriptionId`, subscription);
        if (badId) return badId;
        const resource = stringOf(entry.resource) ?? "";
        const changeType = stringOf(entry.changeType) ?? "";
        const modified = stringOf(entry.lastModifiedDateTime);
        events.push({
          dedupeKey: `bc365:${subscription}:${resource}:${changeType}:${modified ?? ""}`,
          topic: changeType,
          entity:
            RESOURCE_ENTITIES.find(([re]) =>
              re.test(resource.replace(/\?.*$/, "").replace(/\([^()]*\)\s*$/, "")),
            )?.[1] ?? null,
          recordId: changeType === "collection" ? null : idOf(resource),
          occurredAt: modified,
          payload: withoutClientState(entry),
        });
      }
      return { kind: "events", events };
    },
  };
}
