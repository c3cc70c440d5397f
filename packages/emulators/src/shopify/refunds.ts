/**
 * Refunds of the Shopify emulator: the Admin API's `refundCreate(input: RefundInput!)` and the rules it
 * holds a refund to, shared with the test helper `ShopifyEmulator.refundOrder`.
 *
 * As Shopify documents it: a refund names the line items it gives back (by line item id and quantity, never
 * more than was bought and not yet refunded), the shipping it gives back (all of what is left, or an
 * amount), and the transactions that send the money, of kind REFUND against the order's sale; their total
 * may not exceed what the order was paid less what was already given back, unless `allowOverRefunding`.
 * The money given back is what the transactions say (the lines and shipping are what it is for; Shopify
 * records any difference as an order adjustment, which the emulator does not model). A refund without a
 * transaction (a restock-only refund) gives no money back. The order's financial status becomes
 * PARTIALLY_REFUNDED or REFUNDED, and its updatedAt moves. Since 2026-04 the mutation needs @idempotent.
 *
 * Not modelled: restocking (restockType is recorded, stock does not move), duties, refund methods (store
 * credit), presentment currencies other than the shop's, gateways that fail or answer later (every refund
 * transaction succeeds; a test sets another status on the record). Message wordings are UNVERIFIED.
 */
import Big from "big.js";
import { GraphQLError } from "graphql";
import { z } from "zod";
import type { ExecContext } from "./mutations.ts";
import type { OrderRec, RefundRec, ShopData } from "./store.ts";
import { received, refunded, type Src, type Views } from "./views.ts";

export interface RefundUserError {
  field: string[] | null;
  message: string;
}

const RESTOCK = z.enum(["NO_RESTOCK", "CANCEL", "RETURN", "LEGACY_RESTOCK"]);

export const RefundInput = z.object({
  orderId: z.string(),
  note: z.string().nullish(),
  notify: z.boolean().nullish(),
  currency: z.string().nullish(),
  allowOverRefunding: z.boolean().nullish(),
  processedAt: z.string().nullish(),
  refundLineItems: z
    .array(
      z.object({
        lineItemId: z.string(),
        quantity: z.number().int(),
        restockType: RESTOCK.nullish(),
        locationId: z.string().nullish(),
      }),
    )
    .nullish(),
  shipping: z
    .object({
      fullRefund: z.boolean().nullish(),
      amount: z.string().nullish(),
    })
    .nullish(),
  transactions: z
    .array(
      z.object({
        orderId: z.string(),
        parentId: z.string().nullish(),
        amount: z.string(),
        gateway: z.string(),
        kind: z.string(),
      }),
    )
    .nullish(),
});
export type RefundInput = z.infer<typeof RefundInput>;

export type RefundOutcome =
  | { ok: true; order: OrderRec; refund: RefundRec }
  | { ok: false; userErrors: RefundUserError[] };

const cents = (v: Big): Big => v.round(2, Big.roundHalfUp);
const DECIMAL = /^\d+(\.\d+)?$/;

/** What a line item was sold for, discount taken off, and its taxes. */
function lineMoney(o: OrderRec, lineItemId: string) {
  const line = o.lines.find((l) => l.id === lineItemId);
  if (!line) return null;
  const net = new Big(line.unitPrice).times(line.quantity).minus(line.discount);
  const tax = line.taxLines.reduce((s, t) => s.plus(t.amount), new Big(0));
  const before = o.refunds.flatMap((r) => r.lines.filter((x) => x.lineItemId === lineItemId));
  return {
    line,
    net,
    tax,
    refundedQty: before.reduce((n, x) => n + x.quantity, 0),
    refundedNet: before.reduce((s, x) => s.plus(x.subtotal), new Big(0)),
    refundedTax: before.reduce((s, x) => s.plus(x.tax), new Big(0)),
  };
}

interface RefundPlan {
  order: OrderRec;
  lines: Omit<RefundRec["lines"][number], "id">[];
  shipping: RefundRec["shipping"];
  txs: { amount: Big; gateway: string; parentId: string }[];
}

/** Applies Shopify's refund rules to `input` without recording anything: what the refund would be. */
function planRefund(
  d: ShopData,
  input: RefundInput,
): { ok: true; plan: RefundPlan } | { ok: false; userErrors: RefundUserError[] } {
  const errors: RefundUserError[] = [];
  const order = d.orders.get(input.orderId);
  if (!order) return { ok: false, userErrors: [{ field: ["orderId"], message: "Order does not exist" }] };
  if (input.currency && input.currency !== order.currency)
    errors.push({
      field: ["currency"],
      message: `Currency ${input.currency} does not match the order's presentment currency ${order.currency}`,
    });

  // Line items: each a line of this order, no more than bought less what earlier refunds gave back.
  const lines: RefundPlan["lines"] = [];
  const asked = new Map<string, number>();
  for (const [i, l] of (input.refundLineItems ?? []).entries()) {
    const field = ["refundLineItems", String(i)];
    const m = lineMoney(order, l.lineItemId);
    if (!m) {
      errors.push({ field: [...field, "lineItemId"], message: `Line item ${l.lineItemId} does not exist` });
      continue;
    }
    if (l.quantity <= 0) {
      errors.push({ field: [...field, "quantity"], message: "Quantity must be greater than 0" });
      continue;
    }
    const total = (asked.get(l.lineItemId) ?? 0) + l.quantity;
    asked.set(l.lineItemId, total);
    const left = m.line.quantity - m.refundedQty;
    if (total > left) {
      errors.push({
        field: [...field, "quantity"],
        message: `Quantity cannot refund more items than were purchased (${left} of line item ${l.lineItemId} left to refund, ${total} asked)`,
      });
      continue;
    }
    // The last units of a line take what is left of its amounts, so a line refunded in parts adds up.
    const last = total === left;
    const part = (whole: Big, gone: Big) =>
      last ? whole.minus(gone) : cents(whole.times(l.quantity).div(m.line.quantity));
    lines.push({
      lineItemId: l.lineItemId,
      quantity: l.quantity,
      restockType: l.restockType ?? "NO_RESTOCK",
      subtotal: part(m.net, m.refundedNet).toString(),
      tax: part(m.tax, m.refundedTax).toString(),
    });
  }

  // Shipping: an amount before tax (its tax in proportion; the amount wins over fullRefund), or all of
  // what is left. That the amount is before tax is UNVERIFIED (ShippingRefundInput.amount says "the
  // monetary value of the shipping fees").
  let shipping: RefundRec["shipping"] = null;
  const s = input.shipping;
  if (s && (s.fullRefund || (s.amount !== null && s.amount !== undefined))) {
    const price = new Big(order.shipping?.price ?? "0");
    const tax = (order.shipping?.taxLines ?? []).reduce((acc, t) => acc.plus(t.amount), new Big(0));
    const goneNet = order.refunds.reduce((acc, r) => acc.plus(r.shipping?.subtotal ?? "0"), new Big(0));
    const goneTax = order.refunds.reduce((acc, r) => acc.plus(r.shipping?.tax ?? "0"), new Big(0));
    const left = price.minus(goneNet);
    const amount = s.amount;
    if (amount !== null && amount !== undefined) {
      if (!DECIMAL.test(amount))
        errors.push({ field: ["shipping", "amount"], message: `Amount ${amount} is not a valid amount` });
      else if (new Big(amount).gt(left))
        errors.push({
          field: ["shipping", "amount"],
          message: `Shipping refund amount ${amount} exceeds the refundable shipping ${left.toFixed(2)}`,
        });
      else if (new Big(amount).gt(0)) {
        const net = new Big(amount);
        shipping = {
          subtotal: net.toString(),
          tax: (net.eq(left) ? tax.minus(goneTax) : cents(tax.times(net).div(price))).toString(),
        };
      }
    } else if (left.gt(0)) {
      shipping = { subtotal: left.toString(), tax: tax.minus(goneTax).toString() };
    }
  }

  // Transactions: REFUND against a successful sale of this order, together within what is refundable.
  const sales = order.transactions.filter((t) => t.kind === "SALE" && t.status === "SUCCESS");
  const txs: RefundPlan["txs"] = [];
  for (const [i, t] of (input.transactions ?? []).entries()) {
    const field = ["transactions", String(i)];
    if (t.kind !== "REFUND") {
      errors.push({ field: [...field, "kind"], message: `Transaction kind ${t.kind} is not a refund` });
      continue;
    }
    if (t.orderId !== order.id) {
      errors.push({ field: [...field, "orderId"], message: "Transaction must belong to the refunded order" });
      continue;
    }
    if (!DECIMAL.test(t.amount) || new Big(t.amount).lte(0)) {
      errors.push({ field: [...field, "amount"], message: `Amount ${t.amount} must be greater than 0` });
      continue;
    }
    const parent = t.parentId ? sales.find((x) => x.id === t.parentId) : sales[0];
    if (!parent) {
      errors.push({
        field: [...field, "parentId"],
        message: t.parentId
          ? `Parent transaction ${t.parentId} is not a successful sale of the order`
          : "The order has no successful payment to refund",
      });
      continue;
    }
    if (t.gateway !== parent.gateway) {
      errors.push({
        field: [...field, "gateway"],
        message: `Gateway ${t.gateway} is not the gateway of the payment (${parent.gateway})`,
      });
      continue;
    }
    txs.push({ amount: new Big(t.amount), gateway: t.gateway, parentId: parent.id });
  }
  const asking = txs.reduce((acc, t) => acc.plus(t.amount), new Big(0));
  const refundable = received(order).minus(refunded(order));
  if (!input.allowOverRefunding && asking.gt(refundable))
    errors.push({
      field: ["transactions"],
      message: `Refund amount ${asking.toFixed(2)} exceeds the refundable amount ${refundable.toFixed(2)} ${order.currency} (paid ${received(order).toFixed(2)}, already refunded ${refunded(order).toFixed(2)})`,
    });
  if (errors.length === 0 && lines.length === 0 && shipping === null && txs.length === 0)
    errors.push({ field: null, message: "A refund needs line items, shipping or a transaction" });
  if (errors.length > 0) return { ok: false, userErrors: errors };
  return { ok: true, plan: { order, lines, shipping, txs } };
}

/** Applies Shopify's refund rules to `input`; on success the refund is recorded on its order. */
export function createRefund(d: ShopData, input: RefundInput): RefundOutcome {
  const planned = planRefund(d, input);
  if (!planned.ok) return planned;
  const { order, lines, shipping, txs } = planned.plan;
  const now = d.now();
  const transactionIds: string[] = [];
  for (const t of txs) {
    const id = d.gid("OrderTransaction");
    order.transactions.push({
      id,
      kind: "REFUND",
      status: "SUCCESS",
      gateway: t.gateway,
      amount: t.amount.toString(),
      parentId: t.parentId,
      createdAt: now,
    });
    transactionIds.push(id);
  }
  const refund: RefundRec = {
    id: d.gid("Refund"),
    note: input.note ?? null,
    lines: lines.map((l) => ({ id: d.gid("RefundLineItem"), ...l })),
    shipping,
    transactionIds,
    createdAt: input.processedAt ?? now,
    updatedAt: now,
  };
  order.refunds.push(refund);
  const back = refunded(order);
  if (back.gt(0)) order.financialStatus = back.gte(received(order)) ? "REFUNDED" : "PARTIALLY_REFUNDED";
  order.updatedAt = now;
  return { ok: true, order, refund };
}

/** What a person refunds in the emulator's helper: lines by SKU, or an amount alone, and the shipping. */
export interface RefundSpec {
  lines?: { sku: string; quantity: number }[];
  /** Money given back; default: what the lines and shipping come to, taxes included. */
  amount?: string;
  /** Gives back all of the shipping left to refund. */
  shipping?: boolean;
  note?: string;
}

/**
 * The admin's refund of an order by name (`#1001`): lines by SKU become line item ids, the amount is
 * what the lines and shipping come to unless given, sent back through the order's payment gateway.
 */
export function refundInputFor(d: ShopData, orderName: string, spec: RefundSpec): RefundInput {
  const order = [...d.orders.values()].find((o) => o.name === orderName);
  if (!order) throw new Error(`refund: no order named ${orderName}`);
  const refundLineItems = (spec.lines ?? []).map((l, i) => {
    const line = order.lines.find((x) => x.sku === l.sku);
    if (!line)
      throw new Error(`refund: lines[${i}].sku ${JSON.stringify(l.sku)} is not on order ${orderName}`);
    return { lineItemId: line.id, quantity: l.quantity };
  });
  const shipping = spec.shipping ? { fullRefund: true } : null;
  let amount = spec.amount === undefined ? undefined : new Big(spec.amount);
  if (amount === undefined) {
    // What refundCreate records for these lines and shipping, taxes included (the order's taxes are apart).
    const preview = planRefund(d, { orderId: order.id, refundLineItems, shipping });
    if (!preview.ok)
      throw new Error(`refund of ${orderName}: ${preview.userErrors.map((e) => e.message).join("; ")}`);
    const { lines, shipping: ship } = preview.plan;
    const parts = [...lines.flatMap((l) => [l.subtotal, l.tax]), ship?.subtotal ?? "0", ship?.tax ?? "0"];
    // Tax-inclusive prices carry their taxes already.
    amount = (order.taxesIncluded ? parts.filter((_, i) => i % 2 === 0) : parts).reduce(
      (acc, v) => acc.plus(v),
      new Big(0),
    );
  }
  return {
    orderId: order.id,
    note: spec.note ?? null,
    refundLineItems,
    shipping,
    transactions: amount.gt(0)
      ? [{ orderId: order.id, amount: amount.toString(), gateway: order.gateway, kind: "REFUND" }]
      : [],
  };
}

/** The Admin API's refundCreate, with the @idempotent key 2026-04 made mandatory. */
export function refundMutations(d: ShopData, v: Views): Src {
  return {
    refundCreate: (raw: unknown, ctx: ExecContext): Src => {
      if (ctx.idempotencyKey === null) {
        // The wording of the real rejection is UNVERIFIED (as for inventorySetQuantities).
        throw new GraphQLError("The @idempotent directive is required for this mutation.", {
          extensions: { code: "BAD_REQUEST" },
        });
      }
      const { input } = z.object({ input: RefundInput }).parse(raw);
      const fingerprint = JSON.stringify(input);
      const replay = d.idempotency.get(ctx.idempotencyKey);
      if (replay !== undefined) {
        const r = z
          .object({ fingerprint: z.string(), refundId: z.string(), orderId: z.string() })
          .safeParse(replay);
        const order = r.success ? d.orders.get(r.data.orderId) : undefined;
        const refund = r.success ? order?.refunds.find((x) => x.id === r.data.refundId) : undefined;
        if (r.success && r.data.fingerprint === fingerprint && order && refund)
          return { refund: v.refund(order, refund), order: v.order(order), userErrors: [] };
        return {
          refund: null,
          order: null,
          userErrors: [
            { field: ["input"], message: "The idempotency key was used with different parameters." },
          ],
        };
      }
      const out = createRefund(d, input);
      if (!out.ok) return { refund: null, order: null, userErrors: out.userErrors };
      ctx.wrote = true;
      d.idempotency.set(ctx.idempotencyKey, {
        fingerprint,
        refundId: out.refund.id,
        orderId: out.order.id,
      });
      return { refund: v.refund(out.order, out.refund), order: v.order(out.order), userErrors: [] };
    },
  };
}
