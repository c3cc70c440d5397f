/**
 * Canonical Order → an existing Vendure order, for what the ERP decides about an order the shop sent it:
 * today, its withdrawal. The writer never creates an order (`updateOnly`: an ERP sale that did not come
 * from this shop is skipped by the plan). A cancelled record cancels the Vendure order with its shipping,
 * which releases its stock allocation; with `refundOnCancel` the settled payments are refunded too, otherwise
 * the trace says the money is still held. An order Vendure has already shipped is refused with the reason:
 * goods on their way are a person's decision (a return), not the sync's.
 */
import { z } from "zod";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { ErrorResult, fromMinor, type VendureClient } from "../client.ts";
import type { VendureConfig } from "../config.ts";
import { errorResult } from "../lookup.ts";
import { failed, perItem } from "./results.ts";
import { codeOf, findOrder } from "./shipment.ts";

const FIELDS = "id code state currencyCode payments { id state amount refunds { total state } }";
const VendureOrderState = z.object({
  id: z.string(),
  code: z.string(),
  state: z.string(),
  currencyCode: z.string(),
  payments: z
    .array(
      z.object({
        id: z.string(),
        state: z.string(),
        amount: z.number().int(),
        refunds: z.array(z.object({ total: z.number().int(), state: z.string() })),
      }),
    )
    .nullable(),
});
type VendureOrderState = z.infer<typeof VendureOrderState>;

const CANCEL = `mutation CancelOrder($input: CancelOrderInput!) {
  cancelOrder(input: $input) { __typename ... on Order { id state } ... on ErrorResult { errorCode message } }
}`;
const REFUND = `mutation RefundOrder($input: RefundOrderInput!) {
  refundOrder(input: $input) { __typename ... on Refund { id state total } ... on ErrorResult { errorCode message } }
}`;
const Answer = (field: string) =>
  z.object({
    [field]: z.union([z.object({ __typename: z.string(), id: z.string() }).passthrough(), ErrorResult]),
  });

/** Vendure states in which goods have left (or are leaving) with the carrier. */
const SHIPPED = new Set(["PartiallyShipped", "Shipped", "PartiallyDelivered", "Delivered"]);

export function orderWriter(system: string, client: VendureClient, config: VendureConfig): Writer<"order"> {
  const orderOf = (item: WriteItem<"order">, ctx?: WriteContext) =>
    findOrder(client, VendureOrderState, FIELDS, item.key, codeOf(item.key, item.record.number), ctx);

  /** Refunds what is settled and not yet refunded on each payment; returns what it refunded, as text. */
  async function refund(o: VendureOrderState, reason: string): Promise<string[]> {
    const done: string[] = [];
    for (const p of o.payments ?? []) {
      if (p.state !== "Settled") continue;
      const left = p.amount - p.refunds.filter((r) => r.state !== "Failed").reduce((s, r) => s + r.total, 0);
      if (left <= 0) continue;
      const data = await client.request(
        REFUND,
        // Vendure 3.7 stores the deprecated shipping and adjustment columns as NOT NULL: give them as 0.
        { input: { paymentId: p.id, amount: left, shipping: 0, adjustment: 0, reason } },
        Answer("refundOrder"),
      );
      const r = data.refundOrder as { errorCode?: string; message?: string };
      if (r.errorCode) throw errorResult(system, `the refund of order ${o.code}`, r, "refunds");
      done.push(`${fromMinor(left, o.currencyCode)} ${o.currencyCode}`);
    }
    return done;
  }

  async function writeOne(item: WriteItem<"order">, ctx: WriteContext): Promise<WriteResult> {
    const order = await orderOf(item, ctx);
    if (order === null) {
      return failed(
        item.key,
        "permanent",
        `no Vendure order ${item.record.number} (order key ${item.key})`,
        system,
        "key",
      );
    }
    const held = (order.payments ?? []).filter((p) => p.state === "Settled");
    if (!item.record.cancelled || order.state === "Cancelled") {
      return { key: item.key, ok: true, targetId: order.id, action: "unchanged" };
    }
    if (SHIPPED.has(order.state)) {
      return failed(
        item.key,
        "permanent",
        `order ${order.code} was withdrawn in the ERP, but Vendure shows it ${order.state}: goods are on their way, so a person decides (a return); nothing was changed in Vendure`,
        system,
        "cancelled",
      );
    }
    const reason = `Withdrawn in the ERP (${item.record.source} ${item.record.sourceId})`;
    const data = await client.request(
      CANCEL,
      { input: { orderId: order.id, cancelShipping: true, reason } },
      Answer("cancelOrder"),
    );
    const r = data.cancelOrder as { errorCode?: string; message?: string };
    if (r.errorCode)
      return {
        key: item.key,
        ok: false,
        error: errorResult(system, `to cancel order ${order.code}`, r, "cancelled"),
      };
    let note = `order ${order.code} cancelled in Vendure (stock released)`;
    if (held.length > 0) {
      if (config.refundOnCancel) {
        const refunded = await refund(order, reason);
        note += refunded.length > 0 ? `; refunded ${refunded.join(" + ")}` : "; nothing left to refund";
      } else {
        const amount = held.reduce((s, p) => s + p.amount, 0);
        note += `; its payment of ${fromMinor(amount, order.currencyCode)} ${order.currencyCode} is still settled: refund it in Vendure (or set refundOnCancel)`;
      }
    }
    return { key: item.key, ok: true, targetId: order.id, action: "updated", note };
  }

  return {
    entity: "order",
    updateOnly: true,
    // One look-up per order, one more to cancel it; never a create (update only).
    estimateCalls: (page) =>
      page.update.reduce((n, i) => n + 1 + (i.record.cancelled ? 1 : 0), 0) + page.lookups.length,
    async upsert(items, ctx) {
      const results: WriteResult[] = [];
      for (const item of items) results.push(await perItem(item.key, system, () => writeOne(item, ctx)));
      return results;
    },
    async findByExternalRef(ref, record) {
      const found = await findOrder(client, VendureOrderState, FIELDS, ref, codeOf(ref, record.number));
      return found?.id ?? null;
    },
  };
}
