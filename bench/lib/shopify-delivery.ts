/** The delivery the webhook benches send: a signed Shopify orders/create webhook for order `id`. */
import { createHmac, randomUUID } from "node:crypto";

export interface SignedDelivery {
  eventId: string;
  body: string;
  headers: Record<string, string>;
}

/** Order `id`'s orders/create delivery with a new event id, signed with `secret` for `shop`. */
export function ordersCreateDelivery(id: number, shop: { domain: string; secret: string }): SignedDelivery {
  const eventId = randomUUID();
  const body = JSON.stringify({
    id,
    admin_graphql_api_id: `gid://shopify/Order/${id}`,
    name: `#${1000 + id}`,
    updated_at: new Date().toISOString(),
    financial_status: "paid",
  });
  return {
    eventId,
    body,
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": "orders/create",
      "x-shopify-hmac-sha256": createHmac("sha256", shop.secret).update(body).digest("base64"),
      "x-shopify-shop-domain": shop.domain,
      "x-shopify-api-version": "2026-10",
      "x-shopify-webhook-id": eventId,
      "x-shopify-event-id": eventId,
    },
  };
}
