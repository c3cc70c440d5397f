/**
 * Shopify orders → canonical Order. Keyed `<connection>:<order name>` (e.g. `shopify:#1001`). Order-level
 * discount codes are allocated onto the lines by Shopify, so they arrive as line discounts and the
 * canonical `discounts` list stays empty (listing them again would count them twice).
 */
import Big from "big.js";
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Order } from "../../../core/model.ts";
import type { ListRequest, Stream } from "../../../ports/connector.ts";
import type { ShopifyClient } from "../client.ts";
import { connectionOf, type LineItem, LineItemPage, ShopifyOrder } from "../native.ts";
import { ORDER, ORDER_LINES, ORDERS } from "../operations.ts";
import { toCanonicalAddress } from "./customer.ts";
import { byUpdatedThenId, pages } from "./paging.ts";

const FINANCIAL: Record<string, Order["financialStatus"]> = {
  PAID: "paid",
  PENDING: "pending",
  PARTIALLY_PAID: "pending",
  AUTHORIZED: "authorized",
  PARTIALLY_REFUNDED: "partially_refunded",
  REFUNDED: "refunded",
  VOIDED: "voided",
  EXPIRED: "voided",
};

const FULFILLMENT: Record<string, Order["fulfillmentStatus"]> = {
  FULFILLED: "fulfilled",
  PARTIALLY_FULFILLED: "partial",
};

const amount = (m: { shopMoney: { amount: string } } | null): string =>
  new Big(m?.shopMoney.amount ?? "0").toString();

const taxes = (lines: LineItem["taxLines"]) =>
  lines.map((t) => ({ title: t.title, rate: new Big(t.rate ?? 0).toString(), amount: amount(t.priceSet) }));

/** An order with more lines than the first page carries is completed here, so no line is ever dropped. */
async function completeLines(
  client: ShopifyClient,
  order: ShopifyOrder,
  signal?: AbortSignal,
): Promise<ShopifyOrder> {
  let page = order.lineItems;
  const lines = [...page.nodes];
  while (page.pageInfo.hasNextPage && page.pageInfo.endCursor !== null) {
    const data = await client.request(
      ORDER_LINES,
      { id: order.id, after: page.pageInfo.endCursor },
      z.object({ order: z.object({ lineItems: LineItemPage }).nullable() }),
      signal,
    );
    if (data.order === null) break;
    page = data.order.lineItems;
    lines.push(...page.nodes);
  }
  return { ...order, lineItems: { pageInfo: { hasNextPage: false, endCursor: null }, nodes: lines } };
}

export function orderStream(system: string, client: ShopifyClient): Stream<"order", ShopifyOrder> {
  const sort = byUpdatedThenId<ShopifyOrder>(
    (o) => o.updatedAt,
    (o) => o.id,
  );
  const answer = z.object({ orders: connectionOf(ShopifyOrder) });
  return {
    entity: "order",
    sorted: true,
    async *list(req: ListRequest) {
      for await (const page of pages(client, ORDERS, "orders", answer, req, sort)) {
        const full: ShopifyOrder[] = [];
        for (const o of page) full.push(await completeLines(client, o, req.signal));
        yield full;
      }
    },
    async get(id) {
      const data = await client.request(ORDER, { id }, z.object({ order: ShopifyOrder.nullable() }));
      return data.order === null ? null : completeLines(client, data.order);
    },
    idOf: (o) => o.id,
    updatedAtOf: (o) => o.updatedAt,
    toCanonical(o): Order {
      const email = (o.email ?? o.customer?.defaultEmailAddress?.emailAddress)?.toLowerCase();
      if (!email) {
        throw new SyncError("data", `Shopify order ${o.name} has no customer e-mail address`, {
          system,
          field: "email",
        });
      }
      const lines = o.lineItems.nodes.map((l, i) => {
        if (!l.sku) {
          throw new SyncError("data", `Shopify order ${o.name} line ${i + 1} ("${l.title}") has no SKU`, {
            system,
            field: `lineItems[${i}].sku`,
          });
        }
        return {
          sku: l.sku,
          title: l.title,
          quantity: l.quantity,
          unitPrice: amount(l.originalUnitPriceSet),
          discount: amount(l.totalDiscountSet),
          taxes: taxes(l.taxLines),
        };
      });
      const ship = o.shippingLines.nodes;
      const name = [o.customer?.firstName, o.customer?.lastName].filter(Boolean).join(" ");
      const billing = o.billingAddress ? toCanonicalAddress(o.billingAddress, "billing") : null;
      const shipping = o.shippingAddress ? toCanonicalAddress(o.shippingAddress, "shipping") : null;
      const received = new Big(amount(o.totalReceivedSet));
      return {
        source: system,
        sourceId: o.id,
        updatedAt: o.updatedAt,
        key: `${system}:${o.name}`,
        number: o.name,
        placedAt: o.processedAt,
        currency: o.currencyCode,
        customer: { key: email, email, name: name || undefined },
        billingAddress: billing ?? undefined,
        shippingAddress: shipping ?? undefined,
        lines,
        shipping:
          ship.length === 0
            ? undefined
            : {
                title: ship.map((s) => s.title).join(" + "),
                amount: ship.reduce((s, x) => s.plus(amount(x.originalPriceSet)), new Big(0)).toString(),
                taxes: ship.flatMap((s) => taxes(s.taxLines)),
              },
        discounts: [],
        taxesIncluded: o.taxesIncluded,
        totalTax: amount(o.totalTaxSet),
        total: amount(o.totalPriceSet),
        financialStatus: FINANCIAL[o.displayFinancialStatus ?? ""] ?? "pending",
        fulfillmentStatus: FULFILLMENT[o.displayFulfillmentStatus] ?? "unfulfilled",
        payments: received.gt(0)
          ? [{ gateway: o.paymentGatewayNames[0] ?? "unknown", amount: received.toString() }]
          : [],
        cancelled: o.cancelledAt !== null,
      };
    },
  };
}
