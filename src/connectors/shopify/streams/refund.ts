/**
 * Shopify refunds → canonical Refund, one record per refund that gave money back: at least one REFUND
 * transaction of status SUCCESS (a refund whose transactions are pending or failed has given nothing back
 * yet, and a restock-only refund never does). Keyed `<connection>:refund:<refund number>` (the GID's
 * numeric tail); a refund whose note ends with a refund mark keeps the key it names (core/refund.ts
 * refundMark), as every reading side does.
 *
 * Incremental on the order: the Admin API lists no refunds of their own, and Shopify moves an order's
 * updatedAt when it is refunded, so each run reads the orders updated since the cursor with their refunds.
 * A record's cursor is (its order's updatedAt, the refund's id). Orders come sorted by (updatedAt, order
 * id), refunds by (updatedAt, refund id), so the refunds of the orders at a page's last instant are held
 * back until a later instant (or the end) shows that no other order of that instant is still to come.
 *
 * Amount: what the successful refund transactions gave back, in the shop's money (as the order stream
 * reads its totals). Breakdown, when the refund names line items or shipping: items and shipping as
 * Shopify recorded them (taxes added unless the order's prices include them), and as adjustment the rest
 * of the amount, which is what Shopify calls an order adjustment (the difference between the calculated
 * and the actual refund: a discrepancy, refunded duties).
 */
import Big from "big.js";
import { z } from "zod";
import { compareCursors, isBefore } from "../../../core/cursor.ts";
import { SyncError } from "../../../core/errors.ts";
import type { Refund } from "../../../core/model.ts";
import { refundKeyOfReason } from "../../../core/refund.ts";
import type { ListRequest, Stream } from "../../../ports/connector.ts";
import type { ShopifyClient } from "../client.ts";
import { connectionOf } from "../native.ts";
import { byUpdatedThenId, pages } from "./paging.ts";

/** Refund line items and transactions fetched with each refund; a refund with more is completed. */
export const REFUND_LINES_INLINE = 10;
export const REFUND_TRANSACTIONS_INLINE = 5;
/** Shipping lines of one refund: an order has a few at most (the order stream reads 2). */
export const REFUND_SHIPPING_LINES = 5;
/**
 * Orders per call: keeps the requested cost under Shopify's 1,000-point cap without the cost plans
 * (refund.test.ts checks it against the schema).
 */
export const REFUND_ORDERS_PER_PAGE = 9;

const MONEY = `fragment RefundMoney on MoneyBag { shopMoney { amount currencyCode } }`;

const LINE_FIELDS = `quantity subtotalSet { ...RefundMoney } totalTaxSet { ...RefundMoney } lineItem { sku }`;
const TRANSACTION_FIELDS = `id kind status gateway amountSet { ...RefundMoney }`;

const REFUND_FIELDS = `fragment RefundFields on Refund {
  id createdAt processedAt updatedAt note
  refundLineItems(first: ${REFUND_LINES_INLINE}) {
    pageInfo { hasNextPage endCursor }
    nodes { ${LINE_FIELDS} }
  }
  refundShippingLines(first: ${REFUND_SHIPPING_LINES}) {
    pageInfo { hasNextPage }
    nodes { subtotalAmountSet { ...RefundMoney } taxAmountSet { ...RefundMoney } }
  }
  transactions(first: ${REFUND_TRANSACTIONS_INLINE}) {
    pageInfo { hasNextPage endCursor }
    nodes { ${TRANSACTION_FIELDS} }
  }
}
${MONEY}`;

const ORDER_FIELDS = "id name updatedAt currencyCode taxesIncluded";

export const REFUND_ORDERS = `query RefundOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ${ORDER_FIELDS} refunds { ...RefundFields } }
  }
}
${REFUND_FIELDS}`;

export const REFUND = `query Refund($id: ID!) {
  refund(id: $id) { ...RefundFields order { ${ORDER_FIELDS} } }
}
${REFUND_FIELDS}`;

export const REFUND_LINES = `query RefundLines($id: ID!, $after: String) {
  refund(id: $id) {
    refundLineItems(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { ${LINE_FIELDS} } }
  }
}
${MONEY}`;

export const REFUND_TRANSACTIONS = `query RefundTransactions($id: ID!, $after: String) {
  refund(id: $id) {
    transactions(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { ${TRANSACTION_FIELDS} } }
  }
}
${MONEY}`;

/** Every document the stream sends, for the schema checks in refund.test.ts. */
export const REFUND_OPERATIONS: Record<string, string> = {
  REFUND_ORDERS,
  REFUND,
  REFUND_LINES,
  REFUND_TRANSACTIONS,
};

const Money = z.object({ shopMoney: z.object({ amount: z.string(), currencyCode: z.string() }) });
const PageInfo = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() });
const RefundLine = z.object({
  quantity: z.number().int(),
  subtotalSet: Money,
  totalTaxSet: Money,
  lineItem: z.object({ sku: z.string().nullable() }),
});
const Transaction = z.object({
  id: z.string(),
  kind: z.string(),
  status: z.string(),
  gateway: z.string().nullable(),
  amountSet: Money,
});
const LinePage = z.object({ pageInfo: PageInfo, nodes: z.array(RefundLine) });
const TransactionPage = z.object({ pageInfo: PageInfo, nodes: z.array(Transaction) });

export const ShopifyRefund = z.object({
  id: z.string(),
  createdAt: z.string().nullable(),
  processedAt: z.string(),
  updatedAt: z.string(),
  note: z.string().nullable(),
  refundLineItems: LinePage,
  refundShippingLines: z.object({
    pageInfo: z.object({ hasNextPage: z.boolean() }),
    nodes: z.array(z.object({ subtotalAmountSet: Money, taxAmountSet: Money })),
  }),
  transactions: TransactionPage,
});
export type ShopifyRefund = z.infer<typeof ShopifyRefund>;

const RefundOrder = z.object({
  id: z.string(),
  name: z.string(),
  updatedAt: z.string(),
  currencyCode: z.string(),
  taxesIncluded: z.boolean(),
});
export type RefundOrder = z.infer<typeof RefundOrder>;

const OrderWithRefunds = RefundOrder.extend({ refunds: z.array(ShopifyRefund) });

/** One refund with the order it was made on. */
export interface RefundNative {
  order: RefundOrder;
  refund: ShopifyRefund;
}

const amountOf = (m: z.infer<typeof Money>): Big => new Big(m.shopMoney.amount);

/** The transactions that gave money back: kind REFUND, status SUCCESS. */
export function givenBack(refund: ShopifyRefund): z.infer<typeof Transaction>[] {
  return refund.transactions.nodes.filter((t) => t.kind === "REFUND" && t.status === "SUCCESS");
}

/** The refund with every line item and transaction, fetching the pages the first answer left out. */
async function completeRefund(
  client: ShopifyClient,
  refund: ShopifyRefund,
  signal?: AbortSignal,
): Promise<ShopifyRefund> {
  let out = refund;
  let lines = refund.refundLineItems;
  while (lines.pageInfo.hasNextPage && lines.pageInfo.endCursor !== null) {
    const data = await client.request(
      REFUND_LINES,
      { id: refund.id, after: lines.pageInfo.endCursor },
      z.object({ refund: z.object({ refundLineItems: LinePage }).nullable() }),
      signal,
    );
    if (data.refund === null) break;
    lines = data.refund.refundLineItems;
    out = {
      ...out,
      refundLineItems: { pageInfo: lines.pageInfo, nodes: [...out.refundLineItems.nodes, ...lines.nodes] },
    };
  }
  let txs = refund.transactions;
  while (txs.pageInfo.hasNextPage && txs.pageInfo.endCursor !== null) {
    const data = await client.request(
      REFUND_TRANSACTIONS,
      { id: refund.id, after: txs.pageInfo.endCursor },
      z.object({ refund: z.object({ transactions: TransactionPage }).nullable() }),
      signal,
    );
    if (data.refund === null) break;
    txs = data.refund.transactions;
    out = {
      ...out,
      transactions: { pageInfo: txs.pageInfo, nodes: [...out.transactions.nodes, ...txs.nodes] },
    };
  }
  return out;
}

const cursorOrder = (a: RefundNative, b: RefundNative) =>
  compareCursors(
    { updatedAt: a.order.updatedAt, id: a.refund.id },
    { updatedAt: b.order.updatedAt, id: b.refund.id },
  );

function* chunks<T>(items: T[], size: number): Iterable<T[]> {
  for (let i = 0; i < items.length; i += Math.max(1, size)) yield items.slice(i, i + Math.max(1, size));
}

/** The numeric tail of a GID (`gid://shopify/Refund/123` → `123`). */
function numberOf(gid: string): string {
  return gid.slice(gid.lastIndexOf("/") + 1);
}

export function refundToCanonical(system: string, n: RefundNative): Refund {
  const { order, refund } = n;
  const what = `Shopify refund ${refund.id} of order ${order.name}`;
  const given = givenBack(refund);
  if (given.length === 0) {
    const seen = refund.transactions.nodes.map((t) => `${t.kind} ${t.status}`).join(", ") || "none";
    throw new SyncError("data", `${what} has no successful REFUND transaction (transactions: ${seen})`, {
      system,
      field: "transactions",
    });
  }
  const amount = given.reduce((s, t) => s.plus(amountOf(t.amountSet)), new Big(0));
  const lines = refund.refundLineItems.nodes.map((l, i) => {
    if (!l.lineItem.sku) {
      throw new SyncError(
        "data",
        `${what}: refundLineItems[${i}].lineItem.sku is ${JSON.stringify(l.lineItem.sku)}; a refunded line needs a SKU`,
        { system, field: `refundLineItems[${i}].lineItem.sku` },
      );
    }
    return { sku: l.lineItem.sku, quantity: l.quantity };
  });
  if (refund.refundShippingLines.pageInfo.hasNextPage) {
    throw new SyncError(
      "data",
      `${what} has more than ${REFUND_SHIPPING_LINES} refunded shipping lines, more than the stream reads`,
      { system, field: "refundShippingLines" },
    );
  }
  // Prices that include taxes carry them already; otherwise the taxes come on top, as the customer paid.
  const gross = (net: z.infer<typeof Money>, tax: z.infer<typeof Money>) =>
    order.taxesIncluded ? amountOf(net) : amountOf(net).plus(amountOf(tax));
  const items = refund.refundLineItems.nodes.reduce(
    (s, l) => s.plus(gross(l.subtotalSet, l.totalTaxSet)),
    new Big(0),
  );
  const shipping = refund.refundShippingLines.nodes.reduce(
    (s, l) => s.plus(gross(l.subtotalAmountSet, l.taxAmountSet)),
    new Big(0),
  );
  const broken = refund.refundLineItems.nodes.length > 0 || refund.refundShippingLines.nodes.length > 0;
  const marked = refundKeyOfReason(refund.note);
  const reason = marked
    ? (refund.note as string).slice(0, (refund.note as string).lastIndexOf("[")).trim()
    : refund.note?.trim();
  return {
    source: system,
    sourceId: refund.id,
    updatedAt: refund.updatedAt,
    key: marked ?? `${system}:refund:${numberOf(refund.id)}`,
    orderKey: `${system}:${order.name}`,
    orderNumber: order.name,
    transactionId: given.map((t) => t.id).join(", "),
    currency: order.currencyCode,
    amount: amount.toString(),
    ...(broken
      ? {
          breakdown: {
            items: items.toString(),
            shipping: shipping.toString(),
            adjustment: amount.minus(items).minus(shipping).toString(),
          },
        }
      : {}),
    lines,
    ...(reason ? { reason } : {}),
    createdAt: refund.createdAt ?? refund.processedAt,
  };
}

export function refundStream(system: string, client: ShopifyClient): Stream<"refund", RefundNative> {
  const sort = byUpdatedThenId<z.infer<typeof OrderWithRefunds>>(
    (o) => o.updatedAt,
    (o) => o.id,
  );
  const answer = z.object({ orders: connectionOf(OrderWithRefunds) });
  const refundsOf = async (o: z.infer<typeof OrderWithRefunds>, signal?: AbortSignal) => {
    const { refunds, ...order } = o;
    const out: RefundNative[] = [];
    for (const r of refunds) {
      const refund = await completeRefund(client, r, signal);
      if (givenBack(refund).length > 0) out.push({ order, refund });
    }
    return out;
  };
  return {
    entity: "refund",
    sorted: true,
    async *list(req: ListRequest) {
      const calls = { ...req, pageSize: Math.min(req.pageSize, REFUND_ORDERS_PER_PAGE) };
      // Refunds of the orders at the last instant read so far: another order of that instant may follow.
      let held: RefundNative[] = [];
      for await (const orders of pages(client, REFUND_ORDERS, "orders", answer, calls, sort)) {
        const last = orders[orders.length - 1];
        if (last === undefined) continue;
        const read = [...held];
        for (const o of orders) read.push(...(await refundsOf(o, req.signal)));
        read.sort(cursorOrder);
        held = read.filter((n) => !isBefore(n.order.updatedAt, last.updatedAt));
        yield* chunks(
          read.filter((n) => isBefore(n.order.updatedAt, last.updatedAt)),
          req.pageSize,
        );
      }
      yield* chunks(held, req.pageSize);
    },
    async get(id) {
      const data = await client.request(
        REFUND,
        { id },
        z.object({ refund: ShopifyRefund.extend({ order: RefundOrder }).nullable() }),
      );
      if (data.refund === null) return null;
      const { order, ...rest } = data.refund;
      const refund = await completeRefund(client, rest);
      return givenBack(refund).length > 0 ? { order, refund } : null;
    },
    idOf: (n) => n.refund.id,
    updatedAtOf: (n) => n.order.updatedAt,
    toCanonical: (n) => refundToCanonical(system, n),
  };
}
