/**
 * Vendure refunds → canonical Refund, one record per settled refund (Order.payments[].refunds, made by the
 * Admin API's `refundOrder` and settled by its payment handler or `settleRefund`), keyed
 * `<connection>:refund:<refund id>`; a refund Passerelle made from an ERP credit note keeps the key it had, which
 * ends its reason (core/refund.ts refundMark), so the ERP's writer knows its own credit note coming back. A pending refund has not given money back yet and is read once
 * settled; a failed one never is.
 *
 * Not incremental: Vendure saves a refund without touching its order (the order's `updatedAt` stays as it
 * was; measured on Vendure 3.7, see test/real/refunds-tryton-vendure.test.ts), and the Admin API lists no
 * refunds of its own. So each run pages through every placed order (one call per page) and the engine's
 * content hashes let through only refunds that are new or changed; the stream is unsorted, so no cursor
 * is kept that would skip a refund made on an old order.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Refund } from "../../../core/model.ts";
import { refundKeyOfReason } from "../../../core/refund.ts";
import type { Stream } from "../../../ports/connector.ts";
import { fromMinor, type VendureClient } from "../client.ts";
import { listOf } from "../native.ts";
import { keysetPages } from "./paging.ts";

const REFUND_FIELDS =
  "id createdAt updatedAt total items shipping adjustment state reason transactionId lines { orderLineId quantity }";
const ORDER_REFUND_FIELDS = `id code updatedAt orderPlacedAt currencyCode
  lines { id productVariant { sku } }
  payments { id refunds { ${REFUND_FIELDS} } }`;

export const REFUND_ORDERS = `query RefundOrders($options: OrderListOptions) {
  orders(options: $options) { items { ${ORDER_REFUND_FIELDS} } totalItems }
}`;
export const REFUND_ORDER = `query RefundOrder($id: ID!) { order(id: $id) { ${ORDER_REFUND_FIELDS} } }`;

const VendureRefund = z.object({
  id: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  total: z.number().int(),
  items: z.number().int(),
  shipping: z.number().int(),
  adjustment: z.number().int(),
  state: z.string(),
  reason: z.string().nullable(),
  transactionId: z.string().nullable(),
  lines: z.array(z.object({ orderLineId: z.string(), quantity: z.number().int() })),
});

export const VendureRefundOrder = z.object({
  id: z.string(),
  code: z.string(),
  updatedAt: z.string(),
  orderPlacedAt: z.string().nullable(),
  currencyCode: z.string(),
  lines: z.array(z.object({ id: z.string(), productVariant: z.object({ sku: z.string() }) })),
  payments: z.array(z.object({ id: z.string(), refunds: z.array(VendureRefund) })).nullable(),
});
export type VendureRefundOrder = z.infer<typeof VendureRefundOrder>;

/** One refund with the order it was made on. */
export interface RefundNative {
  order: VendureRefundOrder;
  refund: z.infer<typeof VendureRefund>;
}

/** The stream's id of a refund: `<order id>/<refund id>` (an order is one read; refunds have no query). */
export function refundNativeId(n: RefundNative): string {
  return `${n.order.id}/${n.refund.id}`;
}

/** The settled refunds of an order, oldest first. */
export function settledRefunds(order: VendureRefundOrder): RefundNative[] {
  return (order.payments ?? [])
    .flatMap((p) => p.refunds)
    .filter((r) => r.state === "Settled")
    .sort((a, b) => Number(a.id) - Number(b.id) || a.id.localeCompare(b.id))
    .map((refund) => ({ order, refund }));
}

export function refundToCanonical(system: string, n: RefundNative): Refund {
  const { order, refund } = n;
  const currency = order.currencyCode;
  const skuOf = new Map(order.lines.map((l) => [l.id, l.productVariant.sku]));
  const lines = refund.lines.map((l, i) => {
    const sku = skuOf.get(l.orderLineId);
    if (!sku) {
      throw new SyncError(
        "data",
        `Vendure refund ${refund.id} of order ${order.code}: lines[${i}].orderLineId ${JSON.stringify(l.orderLineId)} is not a line of the order`,
        { system, field: `lines[${i}].orderLineId` },
      );
    }
    return { sku, quantity: l.quantity };
  });
  // A refund of an amount (the Admin API's `amount`) leaves items, shipping and adjustment at 0.
  const broken = refund.items !== 0 || refund.shipping !== 0 || refund.adjustment !== 0;
  const marked = refundKeyOfReason(refund.reason);
  const reason = marked
    ? (refund.reason as string).slice(0, (refund.reason as string).lastIndexOf("[")).trim()
    : refund.reason;
  return {
    source: system,
    sourceId: refundNativeId(n),
    updatedAt: refund.updatedAt,
    key: marked ?? `${system}:refund:${refund.id}`,
    orderKey: `${system}:${order.code}`,
    orderNumber: order.code,
    ...(refund.transactionId ? { transactionId: refund.transactionId } : {}),
    currency,
    amount: fromMinor(refund.total, currency),
    ...(broken
      ? {
          breakdown: {
            items: fromMinor(refund.items, currency),
            shipping: fromMinor(refund.shipping, currency),
            adjustment: fromMinor(refund.adjustment, currency),
          },
        }
      : {}),
    lines,
    ...(reason ? { reason } : {}),
    createdAt: refund.createdAt,
  };
}

export function refundStream(
  system: string,
  client: VendureClient,
  maxPage: number,
): Stream<"refund", RefundNative> {
  const query = {
    document: REFUND_ORDERS,
    field: "orders",
    answer: listOf("orders", VendureRefundOrder),
    filter: { orderPlacedAt: { isNull: false } },
    updatedAt: (o: VendureRefundOrder) => o.updatedAt,
    id: (o: VendureRefundOrder) => o.id,
  };
  return {
    entity: "refund",
    sorted: false,
    async *list(req) {
      // Every placed order, whatever the cursor: a refund does not move its order's updatedAt.
      for await (const orders of keysetPages(client, query, { ...req, since: null }, maxPage)) {
        const page = orders.flatMap(settledRefunds);
        if (page.length > 0) yield page;
      }
    },
    async get(id) {
      const [orderId, refundId] = id.split("/");
      if (!orderId || !refundId) return null;
      const { order } = await client.request(
        REFUND_ORDER,
        { id: orderId },
        z.object({ order: VendureRefundOrder.nullable() }),
      );
      return order ? (settledRefunds(order).find((n) => n.refund.id === refundId) ?? null) : null;
    },
    idOf: refundNativeId,
    updatedAtOf: (n) => n.refund.updatedAt,
    toCanonical: (n) => refundToCanonical(system, n),
  };
}
