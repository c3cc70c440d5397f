/**
 * Vendure orders → canonical Order, keyed `<connection>:<order code>`. Only placed orders are read (a
 * cart is not an order yet). Amounts are taken without tax: unit price and line price as listed, the line
 * discount as listed minus prorated price (item promotions and the line's share of order-level ones, which
 * Vendure spreads over the lines), and each line's tax as prorated-with-tax minus prorated, which is how
 * Vendure itself adds up `subTotalWithTax`. So lines − discounts + tax + shipping is Vendure's
 * `totalWithTax` to the cent, and the canonical `discounts` list stays empty (it would count them twice).
 * A cancelled order keeps its lines with quantity 0 and a zero total, as Vendure shows it; settled refunds
 * are carried so the ERP side can note them.
 */
import Big from "big.js";
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Address, Order, TaxLine } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import { fromMinor, type VendureClient } from "../client.ts";
import { listOf, ORDER_FIELDS, type OrderAddress, VendureOrder } from "../native.ts";
import { keysetStream } from "./paging.ts";

export const ORDERS = `query Orders($options: OrderListOptions) {
  orders(options: $options) { items { ${ORDER_FIELDS} } totalItems }
}`;
export const ORDER = `query Order($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;

const SHIPPED = new Set(["Shipped", "Delivered"]);
const PARTLY_SHIPPED = new Set(["PartiallyShipped", "PartiallyDelivered"]);

export function toCanonicalOrderAddress(a: OrderAddress | null, type: Address["type"]): Address | undefined {
  if (!a?.streetLine1 || !a.city || !a.countryCode) return undefined;
  return {
    type,
    name: a.fullName || undefined,
    company: a.company || undefined,
    line1: a.streetLine1,
    line2: a.streetLine2 || undefined,
    city: a.city,
    postalCode: a.postalCode || undefined,
    region: a.province || undefined,
    country: a.countryCode.toUpperCase(),
    phone: a.phoneNumber || undefined,
  };
}

/** Splits a line's tax over its tax lines by rate; the last takes the rounding remainder. */
function taxLines(
  lines: { description: string; taxRate: number }[],
  tax: number,
  currency: string,
): TaxLine[] {
  const total = lines.reduce((s, l) => s + l.taxRate, 0);
  if (lines.length === 0 || total === 0) {
    return tax === 0 ? [] : [{ title: "Tax", rate: "0", amount: fromMinor(tax, currency) }];
  }
  let left = tax;
  return lines.map((l, i) => {
    const part = i === lines.length - 1 ? left : Math.round((tax * l.taxRate) / total);
    left -= part;
    return {
      title: l.description,
      rate: new Big(l.taxRate).div(100).toString(),
      amount: fromMinor(part, currency),
    };
  });
}

/**
 * The Admin API gives shipping lines no tax rate; it is the order's tax rate (from its tax summary) that
 * yields the shipping tax on the shipping price, or the plain ratio when none does.
 */
function shippingRate(o: VendureOrder, tax: number): string {
  const match = o.taxSummary.find((t) => Math.round((o.shipping * t.taxRate) / 100) === tax);
  if (match) return new Big(match.taxRate).div(100).toString();
  return o.shipping === 0 ? "0" : new Big(tax).div(o.shipping).round(4).toString();
}

/** Refunds Vendure has settled, in minor units, each with its reason. */
function settledRefunds(o: VendureOrder): { total: number; reason: string | null }[] {
  return (o.payments ?? []).flatMap((p) => p.refunds.filter((r) => r.state === "Settled"));
}

function financialStatus(o: VendureOrder): Order["financialStatus"] {
  const payments = o.payments ?? [];
  const sum = (state: string) => payments.filter((p) => p.state === state).reduce((s, p) => s + p.amount, 0);
  const refunded = settledRefunds(o).reduce((s, r) => s + r.total, 0);
  if (refunded > 0) return refunded >= sum("Settled") ? "refunded" : "partially_refunded";
  // A cancelled order's total is zeroed while the payment stays settled: the money is still held.
  if (o.state === "Cancelled" && sum("Settled") > 0) return "paid";
  if (sum("Settled") >= o.totalWithTax && o.totalWithTax > 0) return "paid";
  if (sum("Authorized") + sum("Settled") >= o.totalWithTax && o.totalWithTax > 0) return "authorized";
  if (payments.some((p) => p.state === "Cancelled") && o.state === "Cancelled") return "voided";
  return "pending";
}

export function orderToCanonical(system: string, o: VendureOrder): Order {
  const currency = o.currencyCode;
  const email = o.customer?.emailAddress.toLowerCase();
  if (!email) {
    throw new SyncError("data", `Vendure order ${o.code} has no customer e-mail address`, {
      system,
      field: "customer.emailAddress",
    });
  }
  if (o.orderPlacedAt === null) {
    throw new SyncError("data", `Vendure order ${o.code} has not been placed yet (state ${o.state})`, {
      system,
      field: "orderPlacedAt",
    });
  }
  if (o.surcharges.length > 0) {
    throw new SyncError(
      "data",
      `Vendure order ${o.code} carries surcharges (${o.surcharges.map((s) => s.description).join(", ")}), which a canonical order cannot hold`,
      { system, field: "surcharges" },
    );
  }
  const lines = o.lines.map((l) => ({
    sku: l.productVariant.sku,
    title: l.productVariant.name,
    quantity: l.quantity,
    unitPrice: fromMinor(l.unitPrice, currency),
    discount: fromMinor(l.linePrice - l.proratedLinePrice, currency),
    taxes: taxLines(l.taxLines, l.proratedLinePriceWithTax - l.proratedLinePrice, currency),
  }));
  const shippingTax = o.shippingWithTax - o.shipping;
  const name = [o.customer?.firstName, o.customer?.lastName].filter(Boolean).join(" ");
  const settled = (o.payments ?? []).filter((p) => p.state === "Settled" || p.state === "Authorized");
  return {
    source: system,
    sourceId: o.id,
    updatedAt: o.updatedAt,
    key: `${system}:${o.code}`,
    number: o.code,
    placedAt: o.orderPlacedAt,
    currency,
    customer: { key: email, email, name: name || undefined },
    billingAddress: toCanonicalOrderAddress(o.billingAddress, "billing"),
    shippingAddress: toCanonicalOrderAddress(o.shippingAddress, "shipping"),
    lines,
    shipping:
      o.shippingLines.length === 0
        ? undefined
        : {
            title: o.shippingLines.map((s) => s.shippingMethod.name).join(" + "),
            amount: fromMinor(o.shipping, currency),
            taxes:
              shippingTax === 0
                ? []
                : [
                    {
                      title: "Shipping tax",
                      rate: shippingRate(o, shippingTax),
                      amount: fromMinor(shippingTax, currency),
                    },
                  ],
          },
    discounts: [],
    taxesIncluded: false,
    totalTax: fromMinor(o.totalWithTax - o.total, currency),
    total: fromMinor(o.totalWithTax, currency),
    financialStatus: financialStatus(o),
    fulfillmentStatus: SHIPPED.has(o.state)
      ? "fulfilled"
      : PARTLY_SHIPPED.has(o.state)
        ? "partial"
        : "unfulfilled",
    payments: settled.map((p) => ({
      gateway: p.method,
      amount: fromMinor(p.amount, currency),
      reference: p.transactionId ?? undefined,
    })),
    ...(settledRefunds(o).length > 0
      ? {
          refunds: settledRefunds(o).map((r) => ({
            amount: fromMinor(r.total, currency),
            ...(r.reason ? { reason: r.reason } : {}),
          })),
        }
      : {}),
    cancelled: o.state === "Cancelled",
  };
}

export function orderStream(
  system: string,
  client: VendureClient,
  maxPage: number,
): Stream<"order", VendureOrder> {
  const query = {
    document: ORDERS,
    field: "orders",
    answer: listOf("orders", VendureOrder),
    filter: { orderPlacedAt: { isNull: false } },
    updatedAt: (o: VendureOrder) => o.updatedAt,
    id: (o: VendureOrder) => o.id,
  };
  return keysetStream(
    "order",
    client,
    maxPage,
    query,
    async (id) => (await client.request(ORDER, { id }, z.object({ order: VendureOrder.nullable() }))).order,
    (o) => orderToCanonical(system, o),
  );
}
