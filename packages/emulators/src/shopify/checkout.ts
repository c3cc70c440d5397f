/**
 * A storefront checkout: what a shopper's order looks like once Shopify has priced, taxed and paid it.
 * Not part of the Admin API; tests call it directly, and a user by hand through `POST /emulator/orders`
 * (storefront.ts).
 */
import Big from "big.js";
import type { LineItemRec, OrderRec, ShopData } from "./store.ts";
import { orderTotals } from "./views.ts";

export interface PlaceOrderInput {
  email: string;
  lines: { sku: string; quantity: number }[];
  /** A discount code; its amount is `discountAmount`, or 10 % of the lines when omitted. */
  discountCode?: string;
  discountAmount?: string;
  /** Adds the standard 4.90 shipping line (taxed like the goods). */
  shipping?: boolean;
}

export const TAX_RATE = "0.2";
export const SHIPPING_PRICE = "4.90";

const cents = (v: Big): Big => v.round(2, Big.roundHalfUp);

export function placeOrder(d: ShopData, input: PlaceOrderInput): OrderRec {
  if (input.lines.length === 0) throw new Error("placeOrder: lines must not be empty");
  const now = d.now();
  const customer = [...d.customers.values()].find((c) => c.email === input.email.toLowerCase()) ?? null;
  const priced = input.lines.map((l, i) => {
    if (!Number.isInteger(l.quantity) || l.quantity <= 0)
      throw new Error(`placeOrder: lines[${i}].quantity must be a positive integer, got ${l.quantity}`);
    const variant = d.variantBySku(l.sku);
    if (!variant) throw new Error(`placeOrder: lines[${i}].sku "${l.sku}" matches no variant`);
    return { variant, quantity: l.quantity, gross: new Big(variant.price).times(l.quantity) };
  });
  const subtotal = priced.reduce((s, p) => s.plus(p.gross), new Big(0));
  const discount =
    input.discountCode === undefined
      ? new Big(0)
      : cents(input.discountAmount !== undefined ? new Big(input.discountAmount) : subtotal.times("0.1"));
  if (discount.gt(subtotal))
    throw new Error(`placeOrder: discountAmount ${discount} exceeds the subtotal ${subtotal}`);
  // The code's amount is spread over the lines pro rata; the last line takes the rounding remainder.
  let left = discount;
  const lines: LineItemRec[] = priced.map((p, i) => {
    const share =
      i === priced.length - 1
        ? left
        : subtotal.eq(0)
          ? new Big(0)
          : cents(discount.times(p.gross).div(subtotal));
    left = left.minus(share);
    const net = p.gross.minus(share);
    const product = d.products.get(p.variant.productId);
    return {
      id: d.gid("LineItem"),
      variantId: p.variant.id,
      sku: p.variant.sku,
      title: product?.title ?? p.variant.sku ?? "",
      quantity: p.quantity,
      unitPrice: p.variant.price,
      discount: share.toString(),
      taxLines: [{ title: "VAT", rate: Number(TAX_RATE), amount: cents(net.times(TAX_RATE)).toString() }],
    };
  });
  const location = [...d.locations.keys()][0] ?? "";
  const order: OrderRec = {
    id: d.gid("Order"),
    name: `#${d.nextOrderNumber}`,
    number: d.nextOrderNumber - 1000,
    email: input.email.toLowerCase(),
    customerId: customer?.id ?? null,
    currency: d.currency,
    taxesIncluded: false,
    lines,
    shipping: input.shipping
      ? {
          title: "Standard",
          price: SHIPPING_PRICE,
          taxLines: [
            {
              title: "VAT",
              rate: Number(TAX_RATE),
              amount: cents(new Big(SHIPPING_PRICE).times(TAX_RATE)).toString(),
            },
          ],
        }
      : null,
    discountCodes: input.discountCode === undefined ? [] : [input.discountCode],
    financialStatus: "PAID",
    gateway: "shopify_payments",
    transactions: [],
    refunds: [],
    billingAddress: customer?.addresses[0] ?? null,
    shippingAddress: customer?.addresses[0] ?? null,
    fulfillmentOrders: [],
    fulfillments: [],
    cancelledAt: null,
    createdAt: now,
    updatedAt: now,
  };
  d.nextOrderNumber += 1;
  // Paid at checkout: one successful sale of the order's total, what refunds give money back from.
  order.transactions.push({
    id: d.gid("OrderTransaction"),
    kind: "SALE",
    status: "SUCCESS",
    gateway: order.gateway,
    amount: orderTotals(order).total.toString(),
    parentId: null,
    createdAt: now,
  });
  // Stock is committed at the first location that has enough; the fulfillment order is assigned there.
  for (const [i, l] of lines.entries()) {
    const variant = priced[i]?.variant;
    const item = variant ? d.inventoryItems.get(variant.inventoryItemId) : undefined;
    const at = item
      ? [...d.locations.keys()].find((loc) => (item.levels.get(loc)?.available ?? 0) >= l.quantity)
      : undefined;
    const loc = at ?? location;
    const level = item?.levels.get(loc);
    if (item && level) {
      level.available -= l.quantity;
      level.committed += l.quantity;
      item.updatedAt = now;
    }
    let fo = order.fulfillmentOrders.find((f) => f.locationId === loc);
    if (!fo) {
      fo = {
        id: d.gid("FulfillmentOrder"),
        status: "OPEN",
        locationId: loc,
        lineItems: [],
        createdAt: now,
        updatedAt: now,
      };
      order.fulfillmentOrders.push(fo);
    }
    fo.lineItems.push({
      id: d.gid("FulfillmentOrderLineItem"),
      lineItemId: l.id,
      totalQuantity: l.quantity,
      remainingQuantity: l.quantity,
    });
  }
  d.orders.set(order.id, order);
  return order;
}
