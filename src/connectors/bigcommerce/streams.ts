/**
 * Customers (v3) and orders (v2) read by their modification time. Both page by `page`/`limit`, an offset:
 * a record changed while paging moves to the end and shifts the others back. So every list here asks the
 * first page of what changed at or after the last record seen (`date_modified:min`, `min_date_modified`),
 * sorted by date_modified, and moves on from the last record of each page; records of that same second
 * come again and are dropped by id. BigCommerce's timestamps are to the second; v2 ones are RFC 2822.
 * An order's lines and shipping addresses are its sub-resources, read per order.
 */
import Big from "big.js";
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { Address, CanonicalInputByEntity, OrderLine } from "../../core/model.ts";
import { round } from "../../core/money.ts";
import type { ListRequest, Stream } from "../../ports/connector.ts";
import { type BigCommerceClient, toIso } from "./client.ts";
import type { BigCommerceLookups } from "./lookup.ts";
import { BcCustomer, type BcOrder, BcOrderAddress, BcOrderHead, BcOrderProduct } from "./native.ts";

const plusSecond = (iso: string) => new Date(Date.parse(iso) + 1000).toISOString().replace(".000Z", "Z");

/**
 * Orders (v2) after the cursor, keyset by (date_modified, id), each call the first page of its filter: the
 * rest of the cursor's second by id (`min_date_modified` = `max_date_modified` = that second, `min_id`),
 * then what changed from the next second on, by date_modified. v2 pages by offset and sorts by one field,
 * so this keeps a change made while reading from shifting a record past a page boundary.
 */
async function* orderHeads(client: BigCommerceClient, req: ListRequest): AsyncIterable<BcOrderHead[]> {
  const size = Math.max(1, Math.min(req.pageSize, client.config.pageSize));
  const list = async (query: string, what: string) =>
    (await client.find(`/v2/orders?${query}&page=1&limit=${size}`, z.array(BcOrderHead), what, [])) ?? [];
  let cursor: { time: string; id: number } | null = req.since
    ? { time: toIso(req.since.updatedAt), id: /^\d+$/.test(req.since.id) ? Number(req.since.id) : 0 }
    : null;
  for (;;) {
    if (cursor) {
      const t = encodeURIComponent(cursor.time);
      const same = await list(
        `min_date_modified=${t}&max_date_modified=${t}&min_id=${cursor.id + 1}&sort=id`,
        "orders in the cursor's second",
      );
      if (same.length > 0) {
        yield same;
        cursor = { time: cursor.time, id: (same[same.length - 1] as BcOrderHead).id };
        if (same.length === size) continue;
      }
    }
    const later = await list(
      `${cursor ? `min_date_modified=${encodeURIComponent(plusSecond(cursor.time))}&` : ""}sort=date_modified`,
      "orders changed since",
    );
    if (later.length === 0) return;
    yield later;
    const last = later[later.length - 1] as BcOrderHead;
    cursor = { time: toIso(last.date_modified), id: last.id };
    if (later.length < size) return;
  }
}

function customerAddress(
  a: z.infer<typeof BcCustomer>["addresses"] extends (infer A)[] | null | undefined ? A : never,
): Address | undefined {
  if (!a.address1 || !a.city || !/^[A-Z]{2}$/i.test(a.country_code)) return undefined;
  const name = [a.first_name, a.last_name].filter(Boolean).join(" ");
  return {
    type: "both",
    ...(name ? { name } : {}),
    ...(a.company ? { company: a.company } : {}),
    line1: a.address1,
    ...(a.address2 ? { line2: a.address2 } : {}),
    city: a.city,
    ...(a.postal_code ? { postalCode: a.postal_code } : {}),
    ...(a.state_or_province ? { region: a.state_or_province } : {}),
    country: a.country_code.toUpperCase(),
    ...(a.phone ? { phone: a.phone } : {}),
  };
}

function orderAddress(
  a: z.infer<typeof BcOrderAddress> | null | undefined,
  type: Address["type"],
): Address | undefined {
  if (!a?.street_1 || !a.city || !/^[A-Z]{2}$/i.test(a.country_iso2)) return undefined;
  const name = [a.first_name, a.last_name].filter(Boolean).join(" ");
  return {
    type,
    ...(name ? { name } : {}),
    ...(a.company ? { company: a.company } : {}),
    line1: a.street_1,
    ...(a.street_2 ? { line2: a.street_2 } : {}),
    city: a.city,
    ...(a.zip ? { postalCode: a.zip } : {}),
    ...(a.state ? { region: a.state } : {}),
    country: a.country_iso2.toUpperCase(),
    ...(a.phone ? { phone: a.phone } : {}),
  };
}

const CustomerPage = z.object({
  data: z.array(BcCustomer),
  meta: z
    .object({
      cursor_pagination: z
        .object({
          end_cursor: z.string().nullish(),
          links: z.object({ next: z.string().nullish() }).loose().nullish(),
        })
        .loose()
        .nullish(),
    })
    .loose()
    .nullish(),
});

export function customerStream(
  name: string,
  client: BigCommerceClient,
  lookups: BigCommerceLookups,
): Stream<"customer", BcCustomer> {
  return {
    entity: "customer",
    sorted: true,
    async *list(req) {
      // One filter (date_modified:min), followed by its cursor pages (`after`): keyset paging, stable under
      // changes made while reading.
      const size = Math.max(1, Math.min(req.pageSize, client.config.pageSize));
      const base = `/v3/customers?${req.since ? `date_modified:min=${encodeURIComponent(toIso(req.since.updatedAt))}&` : ""}sort=date_modified:asc&include=addresses&limit=${size}`;
      let after: string | null = null;
      for (;;) {
        const r: z.infer<typeof CustomerPage> = await client.get(
          after ? `${base}&after=${encodeURIComponent(after)}` : base,
          CustomerPage,
          "customers changed since",
        );
        if (r.data.length > 0) yield r.data;
        const next = r.meta?.cursor_pagination;
        if (!next?.end_cursor || !next.links?.next || r.data.length < size) return;
        after = next.end_cursor;
      }
    },
    async get(id) {
      if (!/^\d+$/.test(id)) return null;
      const r = await client.get(`/v3/customers?id:in=${id}&include=addresses`, CustomerPage, "customer");
      return r.data[0] ?? null;
    },
    idOf: (c) => String(c.id),
    updatedAtOf: (c) => toIso(c.date_modified),
    async toCanonical(c): Promise<CanonicalInputByEntity["customer"]> {
      if (!c.last_name)
        throw new SyncError("data", `BigCommerce customer ${c.id} (${c.email}) has no last_name`, {
          system: name,
          field: "last_name",
        });
      const group = c.customer_group_id ? await lookups.groupName(c.customer_group_id) : undefined;
      return {
        source: name,
        sourceId: String(c.id),
        updatedAt: toIso(c.date_modified),
        key: c.email.toLowerCase(),
        email: c.email.toLowerCase(),
        ...(c.first_name ? { firstName: c.first_name } : {}),
        lastName: c.last_name,
        ...(group ? { group } : {}),
        addresses: (c.addresses ?? []).map(customerAddress).filter((a): a is Address => a !== undefined),
      };
    },
  };
}

/** BigCommerce order statuses that mean the order is withdrawn. */
const CANCELLED = new Set([5, 6]);

export async function withLines(client: BigCommerceClient, head: BcOrderHead): Promise<BcOrder> {
  const lines: z.infer<typeof BcOrderProduct>[] = [];
  for (let page = 1; ; page++) {
    const got =
      (await client.find(
        `/v2/orders/${head.id}/products?page=${page}&limit=250`,
        z.array(BcOrderProduct),
        "order products",
        [],
      )) ?? [];
    lines.push(...got);
    if (got.length < 250) break;
  }
  const shippingAddresses =
    (await client.find(
      `/v2/orders/${head.id}/shipping_addresses`,
      z.array(BcOrderAddress),
      "order shipping addresses",
      [],
    )) ?? [];
  return { ...head, lines, shippingAddresses };
}

const money = (s: string, currency: string) => round(new Big(s).toFixed(), currency);

export function orderStream(name: string, client: BigCommerceClient): Stream<"order", BcOrder> {
  return {
    entity: "order",
    sorted: true,
    async *list(req) {
      for await (const heads of orderHeads(client, req)) {
        const out: BcOrder[] = [];
        for (const h of heads) out.push(await withLines(client, h));
        yield out;
      }
    },
    async get(id) {
      if (!/^\d+$/.test(id)) return null;
      const head = await client.find(`/v2/orders/${id}`, BcOrderHead, "order");
      return head ? withLines(client, head) : null;
    },
    idOf: (o) => String(o.id),
    updatedAtOf: (o) => toIso(o.date_modified),
    toCanonical(o): CanonicalInputByEntity["order"] {
      const currency = o.currency_code.toUpperCase();
      const m = (s: string) => money(s, currency);
      const lines: OrderLine[] = o.lines.map((l) => {
        const unit = new Big(l.price_ex_tax);
        const tax = new Big(l.total_tax);
        const base = new Big(l.total_ex_tax);
        return {
          sku: l.sku,
          ...(l.name ? { title: l.name } : {}),
          quantity: l.quantity,
          unitPrice: m(l.price_ex_tax),
          discount: m(unit.times(l.quantity).minus(base).abs().toFixed()),
          taxes: tax.gt(0)
            ? [
                {
                  title: "Tax",
                  rate: base.gt(0) ? tax.div(base).round(4).toFixed() : "0",
                  amount: m(l.total_tax),
                },
              ]
            : [],
        };
      });
      const billing = orderAddress(o.billing_address, "billing");
      const shipping = orderAddress(o.shippingAddresses[0], "shipping");
      const email = (o.billing_address?.email ?? "").toLowerCase();
      const buyer = [o.billing_address?.first_name, o.billing_address?.last_name].filter(Boolean).join(" ");
      const cancelled = CANCELLED.has(o.status_id);
      const refunded = new Big(o.refunded_amount);
      const total = new Big(o.total_inc_tax);
      const paid = ["captured", "paid", "partially refunded", "refunded"].includes(
        o.payment_status.toLowerCase(),
      );
      const shippedQty = o.lines.reduce((n, l) => n + (l.quantity_shipped ?? 0), 0);
      const dueQty = o.lines.reduce((n, l) => n + l.quantity, 0);
      const shipCost = new Big(o.shipping_cost_ex_tax);
      return {
        source: name,
        sourceId: String(o.id),
        updatedAt: toIso(o.date_modified),
        key: `${name}:${o.id}`,
        number: String(o.id),
        placedAt: toIso(o.date_created),
        currency,
        customer: { key: email, email, ...(buyer ? { name: buyer } : {}) },
        ...(billing ? { billingAddress: billing } : {}),
        ...(shipping ? { shippingAddress: shipping } : {}),
        lines,
        ...(shipCost.gt(0)
          ? { shipping: { title: "Shipping", amount: m(o.shipping_cost_ex_tax), taxes: [] } }
          : {}),
        discounts: [],
        taxesIncluded: o.is_tax_inclusive_pricing === true,
        totalTax: m(o.total_tax),
        total: m(o.total_inc_tax),
        financialStatus: cancelled
          ? "voided"
          : refunded.gt(0)
            ? refunded.gte(total)
              ? "refunded"
              : "partially_refunded"
            : paid
              ? "paid"
              : "pending",
        fulfillmentStatus: shippedQty <= 0 ? "unfulfilled" : shippedQty >= dueQty ? "fulfilled" : "partial",
        payments:
          paid && total.gt(0)
            ? [{ gateway: o.payment_method || "bigcommerce", amount: m(o.total_inc_tax) }]
            : [],
        ...(refunded.gt(0) ? { refunds: [{ amount: m(o.refunded_amount) }] } : {}),
        cancelled,
      };
    },
  };
}
