/**
 * Shopify webhooks: verification and parsing of deliveries, and the subscription lifecycle through the
 * Admin GraphQL API (webhookSubscriptionCreate / webhookSubscriptions / webhookSubscriptionDelete).
 *
 * A delivery is signed with base64(HMAC-SHA256(raw body, app client secret)) in X-Shopify-Hmac-Sha256.
 * Shopify may deliver twice and out of order, and may not deliver at all: events are deduplicated on
 * X-Shopify-Event-Id (X-Shopify-Webhook-Id when absent; either must be 1 to 255 printable ASCII
 * characters), and the body is treated as a notice that a record changed. The record itself is read
 * afresh from the API when the event is processed, so a late "created" arriving after "paid" cannot roll
 * the record back, and the reconciliation poll catches what never arrived.
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { EntityName } from "../../core/model.ts";
import type {
  InboundEvent,
  WebhookManager,
  WebhookOutcome,
  WebhookReceiver,
  WebhookRequest,
  WebhookSubscription,
} from "../../ports/connector.ts";
import { base64HmacMatches, idProblem, jsonBody, reject, stringOf } from "../../ports/webhook-verify.ts";
import type { ShopifyClient } from "./client.ts";
import type { ShopifyConfig } from "./config.ts";

const SUBSCRIPTION_FIELDS = "id topic uri";

export const WEBHOOK_SUBSCRIPTIONS = `query WebhookSubscriptions($first: Int!, $after: String, $uri: String) {
  webhookSubscriptions(first: $first, after: $after, uri: $uri) {
    pageInfo { hasNextPage endCursor }
    nodes { ${SUBSCRIPTION_FIELDS} }
  }
}`;

export const WEBHOOK_SUBSCRIPTION_CREATE = `mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { ${SUBSCRIPTION_FIELDS} }
    userErrors { field message }
  }
}`;

export const WEBHOOK_SUBSCRIPTION_DELETE = `mutation WebhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}`;

export const WEBHOOK_OPERATIONS = {
  WEBHOOK_SUBSCRIPTIONS,
  WEBHOOK_SUBSCRIPTION_CREATE,
  WEBHOOK_SUBSCRIPTION_DELETE,
};

/** What the connector's streams read, shop → ERP: orders and customers. */
export const DEFAULT_TOPICS = [
  "ORDERS_CREATE",
  "ORDERS_UPDATED",
  "ORDERS_PAID",
  "ORDERS_CANCELLED",
  "CUSTOMERS_CREATE",
  "CUSTOMERS_UPDATE",
] as const;

const TOPIC_ENTITIES: Record<string, { entity: EntityName; type: string }> = {
  orders: { entity: "order", type: "Order" },
  customers: { entity: "customer", type: "Customer" },
  products: { entity: "product", type: "Product" },
};

/** ORDERS_CREATE → orders/create, the form of the X-Shopify-Topic header. */
export function topicHeader(topic: string): string {
  const lower = topic.toLowerCase();
  const i = lower.indexOf("_");
  return i < 0 ? lower : `${lower.slice(0, i)}/${lower.slice(i + 1)}`;
}

const REQUIRED = [
  "x-shopify-topic",
  "x-shopify-shop-domain",
  "x-shopify-api-version",
  "x-shopify-webhook-id",
];

/**
 * The host an X-Shopify-Shop-Domain value names, lower-cased ("demo.myshopify.com"); Shopify sends the bare
 * domain, but a scheme, port or path added on the way must not make the same shop look like another.
 * Null when it names no host.
 */
function shopHost(value: string): string | null {
  const v = value.trim();
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `https://${v}`).hostname || null;
  } catch {
    return null;
  }
}

/** At most 80 characters of a header value, quoted, for a one-line reason. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/**
 * Verifies and parses one delivery for the connection's `shop`. The secret is the app's client secret
 * (`webhookSecret`). That secret signs the deliveries of every shop that installed the app, so a valid
 * signature proves the app, not the shop: X-Shopify-Shop-Domain must also name the connection's shop, or
 * another shop's orders would be synced as this one's.
 */
export function receiveShopifyWebhook(
  req: WebhookRequest,
  secret: string | undefined,
  shop: string,
): WebhookOutcome {
  const hmac = req.headers["x-shopify-hmac-sha256"];
  if (hmac === undefined || hmac === "") return reject(401, "missing X-Shopify-Hmac-Sha256 header");
  if (!secret) return reject(401, "no webhookSecret is configured for this connection");
  if (!base64HmacMatches(hmac, secret, req.rawBody)) return reject(401, "invalid X-Shopify-Hmac-Sha256");
  const missing = REQUIRED.filter((h) => !req.headers[h]);
  if (missing.length > 0) return reject(400, `missing header ${missing.join(", ")}`);
  const topic = req.headers["x-shopify-topic"] as string;
  const webhookId = req.headers["x-shopify-webhook-id"] as string;
  const eventId = req.headers["x-shopify-event-id"];
  // The dedupe key is made of these three; each ends up in the inbox's unique key and in log lines.
  const badId =
    idProblem("X-Shopify-Topic", topic) ??
    idProblem("X-Shopify-Webhook-Id", webhookId) ??
    (eventId === undefined ? null : idProblem("X-Shopify-Event-Id", eventId));
  if (badId) return badId;
  const domain = req.headers["x-shopify-shop-domain"] as string;
  if (shopHost(domain) !== shop.toLowerCase()) {
    return reject(403, `X-Shopify-Shop-Domain ${quoted(domain)} is not this connection's shop ${shop}`);
  }
  const body = jsonBody(req);
  if (!body.ok) return body.outcome;
  const resource = TOPIC_ENTITIES[topic.split("/")[0] ?? ""];
  const gid = stringOf(body.value.admin_graphql_api_id);
  const numeric = stringOf(body.value.id);
  const recordId = gid ?? (resource && numeric ? `gid://shopify/${resource.type}/${numeric}` : null);
  const event: InboundEvent = {
    dedupeKey: `shopify:${topic}:${eventId ?? webhookId}`,
    topic,
    entity: resource?.entity ?? null,
    recordId,
    occurredAt: stringOf(body.value.updated_at) ?? req.headers["x-shopify-triggered-at"] ?? null,
    payload: body.value,
  };
  return { kind: "events", events: [event] };
}

export const shopifyWebhookReceiver: WebhookReceiver<ShopifyConfig> = {
  receive: (req, config) => receiveShopifyWebhook(req, config.webhookSecret, config.shop),
};

const Subscription = z.object({ id: z.string(), topic: z.string(), uri: z.string() });
const ListAnswer = z.object({
  webhookSubscriptions: z.object({
    pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullish() }),
    nodes: z.array(Subscription),
  }),
});
const UserErrors = z.array(z.object({ field: z.array(z.string()).nullish(), message: z.string() }));
const CreateAnswer = z.object({
  webhookSubscriptionCreate: z
    .object({ webhookSubscription: Subscription.nullish(), userErrors: UserErrors })
    .nullish(),
});
const DeleteAnswer = z.object({
  webhookSubscriptionDelete: z
    .object({ deletedWebhookSubscriptionId: z.string().nullish(), userErrors: UserErrors })
    .nullish(),
});

const toSub = (s: z.infer<typeof Subscription>): WebhookSubscription => ({
  id: s.id,
  topic: s.topic,
  url: s.uri,
});

export function shopifyWebhookManager(system: string, client: ShopifyClient): WebhookManager {
  const list = async (uri?: string): Promise<WebhookSubscription[]> => {
    const out: WebhookSubscription[] = [];
    let after: string | null = null;
    for (;;) {
      const data: z.infer<typeof ListAnswer> = await client.request(
        WEBHOOK_SUBSCRIPTIONS,
        { first: 100, after, ...(uri ? { uri } : {}) },
        ListAnswer,
      );
      out.push(...data.webhookSubscriptions.nodes.map(toSub));
      if (!data.webhookSubscriptions.pageInfo.hasNextPage) return out;
      after = data.webhookSubscriptions.pageInfo.endCursor ?? null;
    }
  };
  return {
    topics: DEFAULT_TOPICS,
    list: () => list(),
    async register(url, topics = DEFAULT_TOPICS) {
      const existing = (await list(url)).filter((s) => s.url === url);
      const have = new Set(existing.map((s) => s.topic));
      const created: WebhookSubscription[] = [];
      for (const topic of topics) {
        if (have.has(topic)) continue;
        const data = await client.request(
          WEBHOOK_SUBSCRIPTION_CREATE,
          { topic, webhookSubscription: { uri: url, format: "JSON" } },
          CreateAnswer,
        );
        const payload = data.webhookSubscriptionCreate;
        const problem = payload?.userErrors[0];
        if (problem || !payload?.webhookSubscription) {
          throw new SyncError(
            "permanent",
            `${system}: webhookSubscriptionCreate ${topic} for ${url} was refused: ${problem?.message ?? "no subscription returned"}`,
            { system },
          );
        }
        created.push(toSub(payload.webhookSubscription));
      }
      return { created, existing: existing.filter((s) => topics.includes(s.topic)) };
    },
    async unregister(url) {
      const subs = (await list(url)).filter((s) => url === undefined || s.url === url);
      for (const s of subs) {
        const data = await client.request(WEBHOOK_SUBSCRIPTION_DELETE, { id: s.id }, DeleteAnswer);
        const problem = data.webhookSubscriptionDelete?.userErrors[0];
        if (problem) {
          throw new SyncError(
            "permanent",
            `${system}: webhookSubscriptionDelete ${s.id}: ${problem.message}`,
            {
              system,
            },
          );
        }
      }
      return subs;
    },
  };
}
