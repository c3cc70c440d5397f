/**
 * Webhook subscriptions and deliveries of the Shopify emulator. Subscriptions are created, listed and
 * deleted through the Admin GraphQL fields Shopify has (webhookSubscriptionCreate / webhookSubscriptions /
 * webhookSubscriptionDelete). After every state change, `scan()` compares orders, customers and products
 * with what it saw last and queues one delivery per subscribed topic: a POST with Shopify's headers and
 * the real signature (base64 HMAC-SHA256 of the body with the app secret).
 *
 * Delivery faults, for tests of the receiving side: `duplicate` sends each delivery twice (same ids, as a
 * retry does), `reorder` sends each batch newest first, and `drop` loses the deliveries it returns true for.
 *
 * Failed deliveries: Shopify retries one 8 times over 4 hours and, when every retry failed, deletes the
 * subscription if it was created through the Admin API (shopify.dev changelog "Updates to webhook retry
 * mechanism", 2024-09, and the webhook troubleshooting docs). With `retries` set (8 for Shopify's rule; 0, the
 * default, sends once as before), a delivery answered outside 2xx or not answered is sent again at once up to
 * `retries` times (the hours between are Shopify's, not the emulator's) and, when all failed, its
 * subscription is deleted: nothing more of that topic reaches the address until it is subscribed again.
 */
import { createHmac, randomUUID } from "node:crypto";
import { z } from "zod";
import { connection, type PageArgs } from "./connection.ts";
import type { ExecContext } from "./mutations.ts";
import { API_VERSION } from "./schema.ts";
import type { CustomerRec, OrderRec, ProductRec, RefundRec, ShopData } from "./store.ts";

export interface SubscriptionRec {
  id: string;
  topic: string;
  uri: string;
  createdAt: string;
  updatedAt: string;
}

export interface Delivery {
  topic: string;
  uri: string;
  body: string;
  headers: Record<string, string>;
  recordId: string;
}

export interface DeliveryLog {
  topic: string;
  recordId: string;
  eventId: string;
  status: number | "dropped" | "error";
  /** When the POST started and when its answer (or failure) came, ms since the epoch (benchmarks). */
  sentAt?: number;
  answeredAt?: number;
}

export interface DeliveryFaults {
  duplicate?: boolean;
  reorder?: boolean;
  drop?: (d: Delivery) => boolean;
}

const TOPICS = new Set([
  "ORDERS_CREATE",
  "ORDERS_UPDATED",
  "ORDERS_PAID",
  "ORDERS_CANCELLED",
  "CUSTOMERS_CREATE",
  "CUSTOMERS_UPDATE",
  "PRODUCTS_CREATE",
  "PRODUCTS_UPDATE",
  "REFUNDS_CREATE",
]);

const CreateArgs = z.object({
  topic: z.string(),
  webhookSubscription: z.object({ uri: z.string().nullish(), callbackUrl: z.string().nullish() }),
});

const numeric = (gid: string) => Number(gid.slice(gid.lastIndexOf("/") + 1));

export class WebhookHub {
  readonly subscriptions = new Map<string, SubscriptionRec>();
  readonly log: DeliveryLog[] = [];
  faults: DeliveryFaults = {};
  /** Retries of a failed delivery before its subscription is deleted (Shopify: 8); 0 sends once, deletes nothing. */
  retries = 0;
  #seen = new Map<string, string>();
  /** Scans were skipped while nothing was subscribed: `#seen` is rebased before the next subscription. */
  #stale = false;
  #outbox: Delivery[] = [];
  #sending: Promise<void> | null = null;
  #counter = 0;

  constructor(
    private readonly data: ShopData,
    readonly secret: string,
    private readonly shop: string,
  ) {
    this.#remember();
  }

  #remember(): Map<string, string> {
    const before = this.#seen;
    const now = new Map<string, string>();
    for (const o of this.data.orders.values()) {
      now.set(o.id, `${o.updatedAt}|${o.financialStatus}|${o.cancelledAt ?? ""}`);
      for (const r of o.refunds) now.set(r.id, r.updatedAt);
    }
    for (const c of this.data.customers.values()) now.set(c.id, c.updatedAt);
    for (const p of this.data.products.values()) now.set(p.id, p.updatedAt);
    this.#seen = now;
    return before;
  }

  queries(): Record<string, unknown> {
    return {
      webhookSubscriptions: (a: PageArgs & { uri?: string | null; callbackUrl?: string | null }) => {
        const uri = a.uri ?? a.callbackUrl ?? null;
        const items = [...this.subscriptions.values()].filter((s) => uri === null || s.uri === uri);
        return connection(items, a, (s) => ({ ...s, callbackUrl: s.uri }));
      },
      webhookSubscription: (a: { id: string }) => {
        const s = this.subscriptions.get(a.id);
        return s ? { ...s, callbackUrl: s.uri } : null;
      },
    };
  }

  mutations(): Record<string, unknown> {
    return {
      webhookSubscriptionCreate: (raw: unknown, ctx: ExecContext) => {
        const a = CreateArgs.parse(raw);
        const uri = a.webhookSubscription.uri ?? a.webhookSubscription.callbackUrl ?? "";
        if (!TOPICS.has(a.topic)) {
          return {
            webhookSubscription: null,
            userErrors: [{ field: ["topic"], message: `Topic ${a.topic} is not supported by this emulator` }],
          };
        }
        if (!/^https?:\/\//.test(uri)) {
          return {
            webhookSubscription: null,
            userErrors: [{ field: ["webhookSubscription", "uri"], message: "Address is invalid" }],
          };
        }
        if ([...this.subscriptions.values()].some((s) => s.topic === a.topic && s.uri === uri)) {
          return {
            webhookSubscription: null,
            userErrors: [
              {
                field: ["webhookSubscription", "callbackUrl"],
                message: "Address for this topic has already been taken",
              },
            ],
          };
        }
        const now = this.data.now();
        const sub: SubscriptionRec = {
          id: this.data.gid("WebhookSubscription"),
          topic: a.topic,
          uri,
          createdAt: now,
          updatedAt: now,
        };
        // Changes made while nothing was subscribed are not delivered (as when every scan ran).
        if (this.#stale) {
          this.#remember();
          this.#stale = false;
        }
        this.subscriptions.set(sub.id, sub);
        ctx.wrote = true;
        return { webhookSubscription: { ...sub, callbackUrl: uri }, userErrors: [] };
      },
      webhookSubscriptionDelete: (raw: unknown, ctx: ExecContext) => {
        const { id } = z.object({ id: z.string() }).parse(raw);
        if (!this.subscriptions.delete(id)) {
          return {
            deletedWebhookSubscriptionId: null,
            userErrors: [{ field: ["id"], message: "Webhook subscription does not exist" }],
          };
        }
        ctx.wrote = true;
        return { deletedWebhookSubscriptionId: id, userErrors: [] };
      },
    };
  }

  /** Queues deliveries for every record changed since the last scan; sends them in the background. */
  scan(): void {
    // Nothing to deliver to: skip the comparison, which reads every order, customer and product and would
    // make a catalogue load quadratic (one scan per write).
    if (this.subscriptions.size === 0) {
      this.#stale = true;
      this.#kick();
      return;
    }
    const before = this.#remember();
    const fire = (topic: string, recordId: string, payload: Record<string, unknown>) => {
      for (const s of this.subscriptions.values()) {
        if (s.topic !== topic) continue;
        const body = JSON.stringify(payload);
        const eventId = randomUUID();
        this.#counter += 1;
        this.#outbox.push({
          topic,
          uri: s.uri,
          body,
          recordId,
          headers: {
            "content-type": "application/json",
            "x-shopify-topic": topicHeader(topic),
            "x-shopify-hmac-sha256": createHmac("sha256", this.secret).update(body).digest("base64"),
            "x-shopify-shop-domain": this.shop,
            "x-shopify-api-version": API_VERSION,
            "x-shopify-webhook-id": randomUUID(),
            "x-shopify-event-id": eventId,
            "x-shopify-triggered-at": new Date().toISOString(),
          },
        });
      }
    };
    for (const o of this.data.orders.values()) {
      const was = before.get(o.id);
      const now = this.#seen.get(o.id);
      if (was === now) continue;
      const payload = orderPayload(o);
      if (was === undefined) fire("ORDERS_CREATE", o.id, payload);
      else fire("ORDERS_UPDATED", o.id, payload);
      const paidNow = o.financialStatus === "PAID" && (was === undefined || !was.includes("|PAID|"));
      if (paidNow) fire("ORDERS_PAID", o.id, payload);
      if (o.cancelledAt && !(was ?? "").endsWith(o.cancelledAt)) fire("ORDERS_CANCELLED", o.id, payload);
      for (const r of o.refunds) if (!before.has(r.id)) fire("REFUNDS_CREATE", r.id, refundPayload(o, r));
    }
    for (const c of this.data.customers.values()) {
      const was = before.get(c.id);
      if (was === this.#seen.get(c.id)) continue;
      fire(was === undefined ? "CUSTOMERS_CREATE" : "CUSTOMERS_UPDATE", c.id, customerPayload(c));
    }
    for (const p of this.data.products.values()) {
      const was = before.get(p.id);
      if (was === this.#seen.get(p.id)) continue;
      fire(was === undefined ? "PRODUCTS_CREATE" : "PRODUCTS_UPDATE", p.id, productPayload(p));
    }
    this.#kick();
  }

  /** Starts sending the outbox unless a send is running; a send that ends looks again for deliveries queued meanwhile. */
  #kick(): void {
    if (this.#outbox.length === 0 || this.#sending !== null) return;
    const sending = this.#send().finally(() => {
      if (this.#sending === sending) this.#sending = null;
      this.#kick();
    });
    this.#sending = sending;
  }

  async #send(): Promise<void> {
    while (this.#outbox.length > 0) {
      let batch = this.#outbox.splice(0);
      if (this.faults.reorder) batch = batch.reverse();
      if (this.faults.duplicate) batch = batch.flatMap((d) => [d, d]);
      for (const d of batch) {
        const eventId = d.headers["x-shopify-event-id"] as string;
        if (this.faults.drop?.(d)) {
          this.log.push({ topic: d.topic, recordId: d.recordId, eventId, status: "dropped" });
          continue;
        }
        let ok = false;
        for (let attempt = 0; attempt <= this.retries && !ok; attempt++) ok = await this.#post(d, eventId);
        if (!ok && this.retries > 0) {
          for (const [id, sub] of this.subscriptions)
            if (sub.topic === d.topic && sub.uri === d.uri) this.subscriptions.delete(id);
        }
      }
    }
  }

  /** One POST of a delivery, logged; true when answered 2xx. */
  async #post(d: Delivery, eventId: string): Promise<boolean> {
    const sentAt = Date.now();
    try {
      const res = await fetch(d.uri, {
        method: "POST",
        headers: d.headers,
        body: d.body,
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer();
      this.log.push({
        topic: d.topic,
        recordId: d.recordId,
        eventId,
        status: res.status,
        sentAt,
        answeredAt: Date.now(),
      });
      return res.status >= 200 && res.status < 300;
    } catch {
      this.log.push({
        topic: d.topic,
        recordId: d.recordId,
        eventId,
        status: "error",
        sentAt,
        answeredAt: Date.now(),
      });
      return false;
    }
  }

  /** Resolves once every queued delivery has been sent (or dropped). */
  async settle(): Promise<void> {
    while (this.#sending !== null) await this.#sending;
  }
}

/** A subset of Shopify's REST-shaped webhook payload: enough to name the record and its state. */
function orderPayload(o: OrderRec): Record<string, unknown> {
  return {
    id: numeric(o.id),
    admin_graphql_api_id: o.id,
    name: o.name,
    email: o.email,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
    cancelled_at: o.cancelledAt,
    financial_status: o.financialStatus.toLowerCase(),
    currency: o.currency,
  };
}

function refundPayload(o: OrderRec, r: RefundRec): Record<string, unknown> {
  return {
    id: numeric(r.id),
    admin_graphql_api_id: r.id,
    order_id: numeric(o.id),
    created_at: r.createdAt,
    note: r.note,
    refund_line_items: r.lines.map((l) => ({
      id: numeric(l.id),
      line_item_id: numeric(l.lineItemId),
      quantity: l.quantity,
      restock_type: l.restockType.toLowerCase(),
      subtotal: l.subtotal,
      total_tax: l.tax,
    })),
    transactions: r.transactionIds.flatMap((id) => {
      const t = o.transactions.find((x) => x.id === id);
      return t
        ? [
            {
              id: numeric(t.id),
              kind: t.kind.toLowerCase(),
              status: t.status.toLowerCase(),
              gateway: t.gateway,
              amount: t.amount,
            },
          ]
        : [];
    }),
  };
}

function customerPayload(c: CustomerRec): Record<string, unknown> {
  return {
    id: numeric(c.id),
    admin_graphql_api_id: c.id,
    email: c.email,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  };
}

function productPayload(p: ProductRec): Record<string, unknown> {
  return {
    id: numeric(p.id),
    admin_graphql_api_id: p.id,
    title: p.title,
    handle: p.handle,
    updated_at: p.updatedAt,
  };
}

/** ORDERS_CREATE → orders/create: Shopify's X-Shopify-Topic header names the topic in this form. */
export function topicHeader(topic: string): string {
  const lower = topic.toLowerCase();
  const i = lower.indexOf("_");
  return i < 0 ? lower : `${lower.slice(0, i)}/${lower.slice(i + 1)}`;
}
