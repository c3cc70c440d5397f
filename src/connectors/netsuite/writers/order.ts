/**
 * Shop orders → NetSuite sales orders. The shop order's key goes into otherRefNum and an order is looked up
 * by it (SuiteQL on the transaction table) before anything is created, so a retry after a crash finds the
 * order instead of making a second one. The customer is the linked one or the one with the order's e-mail;
 * each line's item is found by its itemid (SuiteQL). The order is created pending approval (orderStatus A)
 * with quantity and rate per line; NetSuite computes tax and totals, which are read back (GET record): when
 * NetSuite's total differs from the shop's by more than a cent the order stays pending approval — it is not
 * fulfilled — and the record fails naming both totals; otherwise it is approved (orderStatus B).
 * Not covered: shipping charges, discounts, cancellations (refused by the writer with the reason).
 */
import Big from "big.js";
import pLimit from "p-limit";
import type { Order } from "../../../core/model.ts";
import type { WriteContext, WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import { type NsRow, sql } from "../client.ts";
import type { NetSuiteContext } from "../context.ts";
import { customerByEmail } from "./customer.ts";

const PENDING_APPROVAL = "A";
const PENDING_FULFILLMENT = "B";

export function orderWriter(ctx: NetSuiteContext): Writer<"order"> {
  const { client } = ctx;
  const limit = pLimit(ctx.config.maxConcurrent);

  const findByRef = (ref: string, signal?: AbortSignal) =>
    client.first(
      `SELECT id, tranid FROM transaction WHERE type = 'SalesOrd' AND otherrefnum = ${sql(ref)} ORDER BY id`,
      signal,
    );

  const settle = async (
    key: string,
    o: Order,
    id: string,
    action: "created" | "updated",
    signal?: AbortSignal,
  ) => {
    const so = await client.get("salesOrder", id, signal);
    if (!so)
      return failed(key, "retryable", `order ${o.key}: sales order ${id} could not be read back`, ctx.name);
    const total = new Big(typeof so.total === "number" ? so.total : 0);
    if (total.minus(o.total).abs().gt("0.01")) {
      return failed(
        key,
        "data",
        `order ${o.key}: NetSuite computes a total of ${total.toFixed(2)} but the order says ${o.total} ${o.currency}; left pending approval as sales order ${String(so.tranId ?? id)}`,
        ctx.name,
        "total",
      );
    }
    if (so.orderStatus === PENDING_APPROVAL) {
      await client.update("salesOrder", id, { orderStatus: PENDING_FULFILLMENT }, signal);
      return { key, ok: true, targetId: id, action } satisfies WriteResult;
    }
    return {
      key,
      ok: true,
      targetId: id,
      action: action === "created" ? "created" : "unchanged",
    } satisfies WriteResult;
  };

  const writeOne = async (key: string, o: Order, ref: string, wctx: WriteContext): Promise<WriteResult> => {
    const signal = wctx.signal;
    const existing = await findByRef(ref, signal);
    if (existing) {
      if (o.cancelled) {
        return failed(
          key,
          "permanent",
          `order ${o.key}: cancelling a NetSuite sales order is not covered`,
          ctx.name,
          "cancelled",
        );
      }
      return settle(key, o, String(existing.id), "updated", signal);
    }
    if (o.cancelled) {
      return failed(
        key,
        "permanent",
        `order ${o.key} was cancelled before it reached NetSuite; not created`,
        ctx.name,
        "cancelled",
      );
    }
    if (o.shipping && new Big(o.shipping.amount).gt(0)) {
      return failed(
        key,
        "data",
        `order ${o.key} charges shipping (${o.shipping.amount}): not covered by this connector`,
        ctx.name,
        "shipping",
      );
    }
    if (o.discounts.length > 0 || o.lines.some((l) => new Big(l.discount || "0").gt(0))) {
      return failed(
        key,
        "data",
        `order ${o.key} carries discounts: not covered by this connector`,
        ctx.name,
        "discounts",
      );
    }
    const entity =
      (await wctx.resolve("customer", o.customer.key)) ??
      ((await customerByEmail(ctx, o.customer.email, signal))?.id as string | number | undefined);
    if (entity === undefined || entity === null) {
      return failed(
        key,
        "data",
        `order ${o.key}: no NetSuite customer has the e-mail ${o.customer.email}; sync customers first`,
        ctx.name,
        "customer.email",
      );
    }
    const lines: NsRow[] = [];
    for (const l of o.lines) {
      const item = await client.first(`SELECT id FROM item WHERE itemid = ${sql(l.sku)}`, signal);
      if (!item)
        return failed(
          key,
          "data",
          `order ${o.key}: no NetSuite item has the SKU ${JSON.stringify(l.sku)}`,
          ctx.name,
          "lines.sku",
        );
      lines.push({ item: { id: String(item.id) }, quantity: l.quantity, rate: Number(l.unitPrice) });
    }
    const id = await client.create(
      "salesOrder",
      {
        entity: { id: String(entity) },
        otherRefNum: ref,
        orderStatus: PENDING_APPROVAL,
        item: { items: lines },
      },
      signal,
    );
    return settle(key, o, id, "created", signal);
  };

  return {
    entity: "order",
    upsert: (items, wctx) =>
      perItemLimited(items, ctx.name, limit, (i) => writeOne(i.key, i.record, i.externalRef, wctx)),
    async findByExternalRef(ref) {
      const row = await findByRef(ref);
      return row ? String(row.id) : null;
    },
    // Per order: the look-up by reference, the customer, one item per line, the create, the read-back, the approval.
    estimateCalls: (page) =>
      page.create.reduce((n, i) => n + 5 + i.record.lines.length, 0) +
      page.update.length * 3 +
      page.lookups.length,
  };
}
