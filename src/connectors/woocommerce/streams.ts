/**
 * Customers and orders read from WooCommerce. The REST API sorts by id or by modification time with no
 * tie-breaker and has no "id after" filter, so a stable keyset on (date_modified_gmt, id) cannot be asked
 * of it: both streams page by id (stable: new records get higher ids) within the window
 * `modified_after` gives (orders; customers have no such filter and are filtered here), and declare
 * themselves unsorted, so the engine reads the whole window before it moves its cursor.
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { Address, CanonicalInputByEntity, OrderLine, TaxLine } from "../../core/model.ts";
import { round, sub } from "../../core/money.ts";
import type { ListRequest, Stream } from "../../ports/connector.ts";
import { q, type WooClient } from "./client.ts";
import { gmt, type WooAddress, WooCustomer, WooOrder } from "./native.ts";

const MAX_PAGE = 100;

/** One second before the cursor: `modified_after` is exclusive and WooCommerce keeps whole seconds. */
const windowStart = (since: ListRequest["since"]): string | undefined =>
  since ? new Date(Date.parse(since.updatedAt) - 1000).toISOString().replace(/\.\d+Z$/, "") : undefined;

async function* pages<T>(
  client: WooClient,
  path: string,
  params: Record<string, string | number | undefined>,
  schema: z.ZodType<T[]>,
  pageSize: number,
): AsyncIterable<T[]> {
  const perPage = Math.min(pageSize, MAX_PAGE);
  for (let page = 1; ; page++) {
    const { rows, totalPages } = await client.page(
      `${path}?${q({ ...params, per_page: perPage, page, orderby: "id", order: "asc" })}`,
      schema,
    );
    if (rows.length > 0) yield rows;
    if (rows.length < perPage || page >= totalPages) return;
  }
}

function address(a: WooAddress, type: Address["type"]): Address | undefined {
  if (!a.address_1 || !a.city || !/^[A-Z]{2}$/.test(a.country)) return undefined;
  const name = [a.first_name, a.last_name].filter(Boolean).join(" ");
  return {
    type,
    ...(name ? { name } : {}),
    ...(a.company ? { company: a.company } : {}),
    line1: a.address_1,
    ...(a.address_2 ? { line2: a.address_2 } : {}),
    city: a.city,
    ...(a.postcode ? { postalCode: a.postcode } : {}),
    ...(a.state ? { region: a.state } : {}),
    country: a.country,
    ...(a.phone ? { phone: a.phone } : {}),
  };
}

function customerUpdatedAt(c: WooCustomer): string {
  const t = c.date_modified_gmt ?? c.date_created_gmt;
  if (!t) throw new SyncError("data", `WooCommerce customer ${c.id} has no date_created_gmt`);
  return gmt(t);
}

export function customerStream(
  name: string,
  client: WooClient,
  pageSize: number,
  role = "customer",
): Stream<"customer", WooCustomer> {
  return {
    entity: "customer",
    sorted: false,
    async *list(req) {
      const since = req.since ? Date.parse(req.since.updatedAt) : null;
      for await (const rows of pages(
        client,
        "/customers",
        { role },
        z.array(WooCustomer),
        req.pageSize || pageSize,
      )) {
        const kept = since === null ? rows : rows.filter((c) => Date.parse(customerUpdatedAt(c)) >= since);
        const customers = kept.filter((c) => c.email);
        if (customers.length > 0) yield customers;
      }
    },
    get: (id) => client.find(`/customers/${encodeURIComponent(id)}`, WooCustomer),
    idOf: (c) => String(c.id),
    updatedAtOf: customerUpdatedAt,
    toCanonical(c): CanonicalInputByEntity["customer"] {
      // An account registered with an e-mail alone has no name: its username stands for the last name.
      const lastName = c.last_name || c.billing.last_name || c.shipping.last_name || c.username;
      if (!lastName) {
        throw new SyncError("data", `WooCommerce customer ${c.id} (${c.email}) has no last_name`, {
          system: name,
          field: "last_name",
        });
      }
      const billing = address(c.billing, "billing");
      const shipping = address(c.shipping, "shipping");
      const firstName = c.first_name || c.billing.first_name;
      return {
        source: name,
        sourceId: String(c.id),
        updatedAt: customerUpdatedAt(c),
        key: c.email.toLowerCase(),
        email: c.email.toLowerCase(),
        ...(firstName ? { firstName } : {}),
        lastName,
        ...(c.billing.phone ? { phone: c.billing.phone } : {}),
        ...(c.billing.company ? { company: c.billing.company } : {}),
        addresses: [billing, shipping].filter((a): a is Address => a !== undefined),
      };
    },
  };
}

const FINANCIAL: Record<string, CanonicalInputByEntity["order"]["financialStatus"]> = {
  pending: "pending",
  failed: "pending",
  "on-hold": "pending",
  "checkout-draft": "pending",
  processing: "paid",
  completed: "paid",
  cancelled: "voided",
  refunded: "refunded",
};

/** A fraction from WooCommerce's percentage ("8.25" → "0.0825"), exact in decimal. */
const fraction = (percent: number): string => {
  const [int = "0", dec = ""] = String(percent).split(".");
  const digits = `${int.padStart(3, "0")}${dec}`;
  const s = `${digits.slice(0, -2 - dec.length)}.${digits.slice(-2 - dec.length)}`.replace(/^0+(?=\d)/, "");
  return s.replace(/\.?0+$/, "") || "0";
};

export function orderStream(name: string, client: WooClient, pageSize: number): Stream<"order", WooOrder> {
  return {
    entity: "order",
    sorted: false,
    list(req) {
      return pages(
        client,
        "/orders",
        { modified_after: windowStart(req.since), dates_are_gmt: req.since ? "true" : undefined },
        z.array(WooOrder),
        req.pageSize || pageSize,
      );
    },
    get: (id) => client.find(`/orders/${encodeURIComponent(id)}`, WooOrder),
    idOf: (o) => String(o.id),
    updatedAtOf: (o) => gmt(o.date_modified_gmt),
    toCanonical(o): CanonicalInputByEntity["order"] {
      const field = (f: string, message: string) =>
        new SyncError("data", `WooCommerce order ${o.number}: ${message}`, { system: name, field: f });
      if (o.fee_lines.length > 0) {
        throw field(
          "fee_lines",
          `has fees (${o.fee_lines.map((f) => `${f.name} ${f.total}`).join(", ")}), which the canonical order has no place for`,
        );
      }
      const rates = new Map(o.tax_lines.map((t) => [t.rate_id, t]));
      const taxes = (list: { id: number; total: string }[]): TaxLine[] =>
        list
          .filter((t) => t.total !== "" && Number(t.total) !== 0)
          .map((t) => {
            const rate = rates.get(t.id);
            return {
              title: rate?.label ?? `tax ${t.id}`,
              rate: rate?.rate_percent !== undefined ? fraction(rate.rate_percent) : "0",
              amount: round(t.total, o.currency),
            };
          });
      const lines: OrderLine[] = o.line_items.map((l, i) => {
        if (!l.sku)
          throw field(`line_items[${i}].sku`, `line "${l.name}" (product ${l.product_id}) has no SKU`);
        const unit =
          l.quantity > 0 ? (Number(l.subtotal) / l.quantity).toFixed(6).replace(/\.?0+$/, "") : "0";
        return {
          sku: l.sku,
          title: l.name,
          quantity: l.quantity,
          unitPrice: unit,
          discount: sub(l.subtotal, l.total),
          taxes: taxes(l.taxes),
        };
      });
      const email = (o.billing.email ?? "").toLowerCase();
      if (!email) throw field("billing.email", "has no billing e-mail");
      const buyer = [o.billing.first_name, o.billing.last_name].filter(Boolean).join(" ");
      const billing = address(o.billing, "billing");
      const shippingAddress = address(o.shipping, "shipping");
      const shippingTaxes = o.shipping_lines.flatMap((s) => taxes(s.taxes));
      let financialStatus = FINANCIAL[o.status] ?? "pending";
      if (o.refunds.length > 0 && financialStatus === "paid") financialStatus = "partially_refunded";
      return {
        source: name,
        sourceId: String(o.id),
        updatedAt: gmt(o.date_modified_gmt),
        key: `${name}:${o.number}`,
        number: o.number,
        placedAt: gmt(o.date_created_gmt),
        currency: o.currency,
        customer: { key: email, email, ...(buyer ? { name: buyer } : {}) },
        ...(billing ? { billingAddress: billing } : {}),
        ...(shippingAddress ? { shippingAddress } : {}),
        lines,
        ...(o.shipping_lines.length > 0
          ? {
              shipping: {
                title: o.shipping_lines.map((s) => s.method_title).join(", "),
                amount: o.shipping_total,
                taxes: shippingTaxes,
              },
            }
          : {}),
        discounts: [],
        // Line subtotals and shipping_total are net of tax in WooCommerce, whatever the shop displays.
        taxesIncluded: false,
        totalTax: o.total_tax,
        total: o.total,
        financialStatus,
        fulfillmentStatus: o.status === "completed" ? "fulfilled" : "unfulfilled",
        payments:
          financialStatus === "pending" || !o.payment_method
            ? []
            : [
                {
                  gateway: o.payment_method_title || o.payment_method,
                  amount: o.total,
                  ...(o.transaction_id ? { reference: o.transaction_id } : {}),
                },
              ],
        ...(o.refunds.length > 0
          ? {
              refunds: o.refunds.map((r) => ({
                amount: r.total.replace(/^-/, ""),
                ...(r.reason ? { reason: r.reason } : {}),
              })),
            }
          : {}),
        cancelled: o.status === "cancelled",
      };
    },
  };
}
