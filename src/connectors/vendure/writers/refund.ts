/**
 * Canonical Refund (an ERP credit note) → a refund of the Vendure order's settled payment, through the
 * Admin API's `refundOrder` (RefundOrderInput: the payment, an `amount` in the currency's minor unit, a
 * reason). Vendure then asks the payment's handler to send the money back; the refund stays Pending until
 * the handler (or someone, with `settleRefund`) settles it, which Passerelle never claims.
 *
 * Vendure keeps no reference of ours on a refund, only its reason: the refund's key ends it (` [<key>]`,
 * core/refund.ts refundMark). Before writing, the order's refunds are searched for that mark, so a retry or
 * a crash between "refunded in Vendure" and "recorded in the link store" finds the refund instead of
 * sending the money twice; a refund found is never written again.
 *
 * Refused, as failed records naming the field and the value: a currency other than the order's, and an
 * amount above what the order's settled payments have left to refund (a refund is made on one payment, so
 * also above what the fullest one has left). Skipped with the reason (`unsupported`): a refund of an order
 * that did not come from this shop (its key names another connection, e.g. a sale entered in the ERP
 * alone), and a refund that came from this shop (Passerelle credited it in the ERP: an echo).
 */
import { z } from "zod";
import type { Refund } from "../../../core/model.ts";
import { refundEchoReason, refundKeyOfReason, refundMark } from "../../../core/refund.ts";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import { ErrorResult, fromMinor, toMinor, type VendureClient } from "../client.ts";
import { failed, perItem } from "./results.ts";
import { codeOf, findOrder } from "./shipment.ts";

const REFUND_FIELDS = "id total state reason";
const FIELDS = `id code state currencyCode totalWithTax payments { id state amount method refunds { ${REFUND_FIELDS} } }`;

const PaidRefund = z.object({
  id: z.string(),
  total: z.number().int(),
  state: z.string(),
  reason: z.string().nullable(),
});
export const RefundableOrder = z.object({
  id: z.string(),
  code: z.string(),
  state: z.string(),
  currencyCode: z.string(),
  totalWithTax: z.number().int(),
  payments: z
    .array(
      z.object({
        id: z.string(),
        state: z.string(),
        amount: z.number().int(),
        method: z.string(),
        refunds: z.array(PaidRefund),
      }),
    )
    .nullable(),
});
export type RefundableOrder = z.infer<typeof RefundableOrder>;

const REFUND_ORDER = `mutation RefundOrder($input: RefundOrderInput!) {
  refundOrder(input: $input) { __typename ... on Refund { ${REFUND_FIELDS} } ... on ErrorResult { errorCode message } }
}`;
const ORDER_STATE = `query RefundedOrder($id: ID!) { order(id: $id) { ${FIELDS} } }`;

/** Vendure's Refund.reason is a varchar(255): the mark always fits, the text is cut before it. */
const REASON_MAX = 255;

/** The reason written on the Vendure refund: the refund's own (or its key), ending with its mark. */
export function reasonOf(refund: Refund): string {
  const mark = refundMark(refund.key);
  const text = (refund.reason ?? `Refund ${refund.key}`).replace(/\s+/g, " ").trim();
  return text.slice(0, REASON_MAX - mark.length) + mark;
}

/** The refund Passerelle made for this key on the order earlier, if any (a Failed one last). */
export function ownRefund(order: RefundableOrder, key: string) {
  const mine = (order.payments ?? []).flatMap((p) =>
    p.refunds.filter((r) => refundKeyOfReason(r.reason) === key).map((refund) => ({ payment: p, refund })),
  );
  return mine.find((m) => m.refund.state !== "Failed") ?? mine[0] ?? null;
}

/** What a payment has left to refund: its amount minus its refunds that did not fail (as Vendure counts). */
const leftOn = (p: NonNullable<RefundableOrder["payments"]>[number]) =>
  p.amount - p.refunds.filter((r) => r.state !== "Failed").reduce((s, r) => s + r.total, 0);

/**
 * The settled payment to refund and the amount in minor units, or why not (pure: tested without Vendure).
 */
export function refundTarget(
  refund: Refund,
  order: RefundableOrder,
): { ok: true; paymentId: string; minor: number } | { ok: false; field: string; reason: string } {
  if (refund.currency !== order.currencyCode) {
    return {
      ok: false,
      field: "currency",
      reason: `refund ${refund.key}: currency ${refund.currency} is not the currency of Vendure order ${order.code} (${order.currencyCode})`,
    };
  }
  const minor = toMinor(refund.amount, refund.currency, "amount");
  const settled = (order.payments ?? []).filter((p) => p.state === "Settled");
  const left = settled.reduce((s, p) => s + leftOn(p), 0);
  const money = (m: number) => `${fromMinor(m, order.currencyCode)} ${order.currencyCode}`;
  if (minor > left) {
    const paid = settled.reduce((s, p) => s + p.amount, 0);
    return {
      ok: false,
      field: "amount",
      reason: `refund ${refund.key}: amount ${refund.amount} ${refund.currency} exceeds what is left to refund on Vendure order ${order.code}: settled payments ${money(paid)} − already refunded ${money(paid - left)} = ${money(left)}`,
    };
  }
  const fullest = [...settled].sort((a, b) => leftOn(b) - leftOn(a))[0];
  if (!fullest || leftOn(fullest) < minor) {
    return {
      ok: false,
      field: "amount",
      reason: `refund ${refund.key}: amount ${refund.amount} ${refund.currency} is more than any one payment of Vendure order ${order.code} has left to refund (at most ${money(fullest ? leftOn(fullest) : 0)}); Vendure refunds one payment at a time`,
    };
  }
  return { ok: true, paymentId: fullest.id, minor };
}

export function refundWriter(system: string, client: VendureClient): Writer<"refund"> {
  const orderOf = (refund: Refund, ctx?: WriteContext) =>
    findOrder(
      client,
      RefundableOrder,
      FIELDS,
      refund.orderKey,
      codeOf(refund.orderKey, refund.orderNumber),
      ctx,
    );
  const targetId = (order: RefundableOrder, refundId: string) => `${order.id}/${refundId}`;

  async function writeOne(item: WriteItem<"refund">, ctx: WriteContext): Promise<WriteResult> {
    const refund = item.record;
    const order = await orderOf(refund, ctx);
    if (order === null) {
      return failed(
        item.key,
        "permanent",
        `refund ${refund.key}: no Vendure order ${refund.orderNumber} (order key ${refund.orderKey})`,
        system,
        "orderKey",
      );
    }
    const mine = ownRefund(order, refund.key);
    if (mine && mine.refund.state === "Failed") {
      return failed(
        item.key,
        "permanent",
        `refund ${refund.key}: Vendure refund ${mine.refund.id} of order ${order.code} for it failed (payment method ${mine.payment.method}); it is not sent again by itself: refund it in Vendure`,
        system,
        "amount",
      );
    }
    if (mine) {
      return {
        key: item.key,
        ok: true,
        targetId: targetId(order, mine.refund.id),
        action: "unchanged",
        note: `Vendure refund ${mine.refund.id} (${mine.refund.state}) already made on order ${order.code}`,
      };
    }
    const target = refundTarget(refund, order);
    if (!target.ok) return failed(item.key, "data", target.reason, system, target.field);
    const made = await client.request(
      REFUND_ORDER,
      {
        // shipping and adjustment are deprecated beside amount but still stored: 0, not left empty.
        input: {
          paymentId: target.paymentId,
          amount: target.minor,
          shipping: 0,
          adjustment: 0,
          reason: reasonOf(refund),
        },
      },
      z.object({
        refundOrder: z.union([PaidRefund.extend({ __typename: z.literal("Refund") }), ErrorResult]),
      }),
      ctx.signal ? { signal: ctx.signal } : {},
    );
    if (!("id" in made.refundOrder)) {
      return failed(
        item.key,
        "data",
        `refund ${refund.key}: Vendure refused to refund ${refund.amount} ${refund.currency} on order ${order.code}: ${made.refundOrder.errorCode}: ${made.refundOrder.message}`,
        system,
        "amount",
      );
    }
    const refundId = made.refundOrder.id;
    // Read back: what Vendure made of the order (a refund of everything paid may move its state).
    const back = await client.request(
      ORDER_STATE,
      { id: order.id },
      z.object({ order: RefundableOrder.nullable() }),
      ctx.signal ? { signal: ctx.signal } : {},
    );
    const stored = back.order ? ownRefund(back.order, refund.key) : null;
    return {
      key: item.key,
      ok: true,
      targetId: targetId(order, refundId),
      action: "created",
      note: `Vendure refund ${refundId} of ${fromMinor(stored?.refund.total ?? target.minor, order.currencyCode)} ${order.currencyCode} on order ${order.code}: ${stored?.refund.state ?? made.refundOrder.state}; order ${back.order?.state ?? "not read back"}`,
    };
  }

  return {
    entity: "refund",
    unsupported(refund) {
      const echo = refundEchoReason(refund, system);
      if (echo) return echo;
      if (refund.orderKey.startsWith(`${system}:`)) return null;
      return `refund ${refund.key}: order ${refund.orderKey} did not come from ${system} (its key names another connection): no shop order to refund`;
    },
    // Find the order (with its payments and refunds), refund, read the order back.
    estimateCalls: perRecord({ create: 3, update: 1 }),
    async findByExternalRef(ref, record) {
      const order = await orderOf(record);
      const mine = order ? ownRefund(order, ref) : null;
      return order && mine ? targetId(order, mine.refund.id) : null;
    },
    async upsert(items, ctx) {
      const results: WriteResult[] = [];
      // One at a time: two refunds of one order must each see what the other left to refund.
      for (const item of items) results.push(await perItem(item.key, system, () => writeOne(item, ctx)));
      return results;
    },
  };
}
