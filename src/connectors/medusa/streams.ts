/**
 * Customers (registered ones: a guest's details travel with its orders) and orders read from Medusa. Medusa
 * has no webhooks in core: both streams poll by `updated_at[$gte]`, sorted by updated_at. Medusa sorts on one
 * field only and answers times in milliseconds, so the stream keeps a keyset on (updated_at, id) itself: each
 * page is re-sorted by (updated_at, id), the page's last millisecond is left for the next call (which starts
 * at it, inclusively), and the records at or before the cursor are dropped; a millisecond holding more
 * records than a page asks a bigger page. The streams are sorted, so a sync resumes from its cursor.
 */
import Big from "big.js";
import { z } from "zod";
import { type Cursor, compareCursors } from "../../core/cursor.ts";
import { SyncError } from "../../core/errors.ts";
import type { Address, CanonicalInputByEntity, OrderLine, TaxLine } from "../../core/model.ts";
import type { ListRequest, Stream } from "../../ports/connector.ts";
import { type MedusaClient, q } from "./client.ts";
import {
  CUSTOMER_FIELDS,
  type MedusaAddress,
  MedusaCustomer,
  MedusaOrder,
  money,
  ORDER_FIELDS,
} from "./native.ts";

interface Row {
  id: string;
  updated_at: string;
}

const cursorOf = (r: Row): Cursor => ({ updatedAt: r.updated_at, id: r.id });

async function* keyset<T extends Row>(
  client: MedusaClient,
  path: string,
  key: string,
  schema: z.ZodType<T>,
  params: Record<string, string>,
  req: ListRequest,
): AsyncIterable<T[]> {
  const pageSize = Math.max(1, req.pageSize);
  let since: Cursor | null = req.since;
  let limit = pageSize;
  for (;;) {
    const answer = await client.get(
      `${path}?${q({ ...params, order: "updated_at", limit, offset: 0, ...(since ? { "updated_at[$gte]": since.updatedAt } : {}) })}`,
      z.object({ [key]: z.array(schema) }),
      `${key} changed since`,
    );
    const rows = [...(answer[key] as T[])].sort((a, b) => compareCursors(cursorOf(a), cursorOf(b)));
    const exhausted = rows.length < limit;
    let batch = rows;
    if (!exhausted) {
      // The last millisecond may go on beyond this page: it is read whole by the next call.
      const last = Date.parse((rows[rows.length - 1] as T).updated_at);
      batch = rows.filter((r) => Date.parse(r.updated_at) < last);
      const fresh = batch.filter((r) => !since || compareCursors(cursorOf(r), since) > 0);
      if (fresh.length === 0) {
        limit *= 2;
        continue;
      }
    }
    const fresh = batch.filter((r) => !since || compareCursors(cursorOf(r), since) > 0);
    for (let i = 0; i < fresh.length; i += pageSize) yield fresh.slice(i, i + pageSize);
    if (exhausted) return;
    since = cursorOf(batch[batch.length - 1] as T);
    limit = pageSize;
  }
}

function address(a: MedusaAddress | null | undefined, type: Address["type"]): Address | undefined {
  if (!a?.address_1 || !a.city || !/^[a-z]{2}$/i.test(a.country_code)) return undefined;
  const name = [a.first_name, a.last_name].filter(Boolean).join(" ");
  return {
    type,
    ...(name ? { name } : {}),
    ...(a.company ? { company: a.company } : {}),
    line1: a.address_1,
    ...(a.address_2 ? { line2: a.address_2 } : {}),
    city: a.city,
    ...(a.postal_code ? { postalCode: a.postal_code } : {}),
    ...(a.province ? { region: a.province } : {}),
    country: a.country_code.toUpperCase(),
    ...(a.phone ? { phone: a.phone } : {}),
  };
}

export function customerStream(name: string, client: MedusaClient): Stream<"customer", MedusaCustomer> {
  return {
    entity: "customer",
    sorted: true,
    list: (req) =>
      keyset(
        client,
        "/admin/customers",
        "customers",
        MedusaCustomer,
        { fields: CUSTOMER_FIELDS, has_account: "true" },
        req,
      ),
    async get(id) {
      const got = await client.find(
        `/admin/customers/${encodeURIComponent(id)}?${q({ fields: CUSTOMER_FIELDS })}`,
        z.object({ customer: MedusaCustomer }),
        "customer",
      );
      return got?.customer ?? null;
    },
    idOf: (c) => c.id,
    updatedAtOf: (c) => c.updated_at,
    toCanonical(c): CanonicalInputByEntity["customer"] {
      const addresses = (c.addresses ?? [])
        .map((a) =>
          address(
            a,
            a.is_default_billing && !a.is_default_shipping
              ? "billing"
              : a.is_default_shipping && !a.is_default_billing
                ? "shipping"
                : "both",
          ),
        )
        .filter((a): a is Address => a !== undefined);
      const lastName = c.last_name || (c.addresses ?? []).find((a) => a.last_name)?.last_name;
      if (!lastName) {
        throw new SyncError("data", `Medusa customer ${c.id} (${c.email}) has no last_name`, {
          system: name,
          field: "last_name",
        });
      }
      const group = (c.groups ?? [])[0]?.name;
      return {
        source: name,
        sourceId: c.id,
        updatedAt: c.updated_at,
        key: c.email.toLowerCase(),
        email: c.email.toLowerCase(),
        ...(c.first_name ? { firstName: c.first_name } : {}),
        lastName,
        ...(c.phone ? { phone: c.phone } : {}),
        ...(c.company_name ? { company: c.company_name } : {}),
        ...(group ? { group } : {}),
        addresses,
      };
    },
  };
}

const FINANCIAL: Record<string, CanonicalInputByEntity["order"]["financialStatus"]> = {
  not_paid: "pending",
  awaiting: "pending",
  requires_action: "pending",
  authorized: "authorized",
  partially_authorized: "authorized",
  partially_captured: "authorized",
  captured: "paid",
  partially_refunded: "partially_refunded",
  refunded: "refunded",
  canceled: "voided",
};

const FULFILMENT: Record<string, CanonicalInputByEntity["order"]["fulfillmentStatus"]> = {
  partially_fulfilled: "partial",
  partially_shipped: "partial",
  partially_delivered: "partial",
  fulfilled: "fulfilled",
  shipped: "fulfilled",
  delivered: "fulfilled",
};

/** Medusa's tax rate is a percentage (19 = 19 %); the canonical rate is a fraction. */
const fraction = (percent: string): string =>
  new Big(percent)
    .div(100)
    .toFixed()
    .replace(/\.?0+$/, "") || "0";

export function orderStream(name: string, client: MedusaClient): Stream<"order", MedusaOrder> {
  return {
    entity: "order",
    sorted: true,
    list: (req) => keyset(client, "/admin/orders", "orders", MedusaOrder, { fields: ORDER_FIELDS }, req),
    async get(id) {
      const got = await client.find(
        `/admin/orders/${encodeURIComponent(id)}?${q({ fields: ORDER_FIELDS })}`,
        z.object({ order: MedusaOrder }),
        "order",
      );
      return got?.order ?? null;
    },
    idOf: (o) => o.id,
    updatedAtOf: (o) => o.updated_at,
    toCanonical(o): CanonicalInputByEntity["order"] {
      const currency = o.currency_code.toUpperCase();
      const m = (a: string) => money(a, currency);
      const field = (f: string, message: string) =>
        new SyncError("data", `Medusa order #${o.display_id}: ${message}`, { system: name, field: f });
      const taxes = (
        lines:
          | { code: string; description: string; rate: string; total?: string | null | undefined }[]
          | null
          | undefined,
        base: string,
      ): TaxLine[] =>
        (lines ?? []).map((t) => ({
          title: t.description || t.code || "tax",
          rate: fraction(t.rate),
          amount: m(t.total ?? new Big(base).times(t.rate).div(100).toFixed()),
        }));
      // Medusa answers an order's items in no fixed order: sorted by id (ULIDs, so in the order they were
      // added), the same order reads the same lines twice and its content hash does not move.
      const items = [...o.items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const lines: OrderLine[] = items.map((l, i) => {
        if (!l.variant_sku) throw field(`items[${i}].variant_sku`, `line "${l.title}" has no SKU`);
        const discount = l.discount_total ?? "0";
        return {
          sku: l.variant_sku,
          ...(l.title ? { title: l.title } : {}),
          quantity: Number(l.quantity),
          unitPrice: m(l.unit_price),
          discount: m(discount),
          taxes: taxes(l.tax_lines, new Big(l.subtotal).minus(discount).toFixed()),
        };
      });
      const email = (o.email || o.customer?.email || "").toLowerCase();
      if (!email) throw field("email", "has no e-mail");
      const billing = address(o.billing_address, "billing");
      const shippingAddress = address(o.shipping_address, "shipping");
      const buyer =
        [o.customer?.first_name, o.customer?.last_name].filter(Boolean).join(" ") ||
        [o.billing_address?.first_name, o.billing_address?.last_name].filter(Boolean).join(" ");
      const inclusive = new Set(o.items.map((l) => l.is_tax_inclusive === true));
      if (inclusive.size > 1)
        throw field("items.is_tax_inclusive", "mixes lines with and without tax in their price");
      const methods = o.shipping_methods ?? [];
      const shippingAmount = methods.reduce((s, x) => s.plus(x.amount), new Big(0)).toFixed();
      const financialStatus = FINANCIAL[o.payment_status ?? ""] ?? "pending";
      const payments = (o.payment_collections ?? []).flatMap((c) =>
        (c.payments ?? []).map((p) => ({
          gateway: p.provider_id || "medusa",
          amount: m(p.amount),
          reference: p.id,
        })),
      );
      return {
        source: name,
        sourceId: o.id,
        updatedAt: o.updated_at,
        key: `${name}:${o.display_id}`,
        number: String(o.display_id),
        placedAt: o.created_at,
        currency,
        customer: { key: email, email, ...(buyer ? { name: buyer } : {}) },
        ...(billing ? { billingAddress: billing } : {}),
        ...(shippingAddress ? { shippingAddress } : {}),
        lines,
        ...(methods.length > 0
          ? {
              shipping: {
                title: methods.map((x) => x.name).join(", "),
                amount: m(shippingAmount),
                taxes: methods.flatMap((x) => taxes(x.tax_lines, x.amount)),
              },
            }
          : {}),
        discounts: [],
        // Medusa says per line whether its price includes tax (the region's or price's setting).
        taxesIncluded: inclusive.has(true),
        totalTax: m(o.tax_total),
        total: m(o.total),
        financialStatus,
        fulfillmentStatus: FULFILMENT[o.fulfillment_status ?? ""] ?? "unfulfilled",
        payments: financialStatus === "pending" || financialStatus === "voided" ? [] : payments,
        cancelled: o.status === "canceled",
      };
    },
  };
}
