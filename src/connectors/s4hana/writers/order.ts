/**
 * Shop orders → sales orders (A_SalesOrder of API_SALES_ORDER_SRV, items in the same deep insert through
 * to_Item). The shop order's reference goes into PurchaseOrderByCustomer (the customer's purchase order
 * number), and an order is looked up by it before anything is created: a crash between "created in
 * S/4HANA" and "recorded in the link store" is repaired by finding the order, never by a second one
 * (S/4HANA does not keep that field unique). The field holds 35 characters: a longer reference is cut and
 * ended with a hash of the whole (refFor).
 *
 * Prices go as pricing elements: each item's unit price as the configured manual price condition (PR00),
 * its discount as a negative amount condition (RB00); the order's discounts (HB00) and shipping (HD00) as
 * header conditions. S/4HANA prices the order and computes TotalNetAmount, which is read back from the
 * create's answer and compared with the shop's net total (total − tax). The order is created with the
 * configured delivery block: when both agree to the cent the block is lifted (PATCH DeliveryBlockReason);
 * otherwise the order stays blocked — S/4HANA will not deliver it — and the record fails with both totals.
 * A shop cancellation rejects every item (SalesDocumentRjcnReason) while nothing is delivered.
 */
import { createHash } from "node:crypto";
import Big from "big.js";
import pLimit from "p-limit";
import type { Order } from "../../../core/model.ts";
import type { WriteContext, WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import type { S4Row } from "../client.ts";
import type { S4HanaContext } from "../context.ts";
import { decimal, literal, toV2Date } from "../odata.ts";
import { partnerByEmail } from "./customer.ts";
import { batchedCalls, writeBatched } from "./order-batch.ts";

const SO = "API_SALES_ORDER_SRV" as const;
const ORDER_SELECT = [
  "SalesOrder",
  "PurchaseOrderByCustomer",
  "TotalNetAmount",
  "TransactionCurrency",
  "DeliveryBlockReason",
  "OverallSDDocumentRejectionSts",
  "OverallTotalDeliveryStatus",
] as const;
const REF_LENGTH = 35;

/** The PurchaseOrderByCustomer of a shop order reference (35 characters at most). */
export function refFor(ref: string): string {
  if (ref.length <= REF_LENGTH) return ref;
  const hash = createHash("sha256").update(ref).digest("hex").slice(0, 10);
  return `${ref.slice(0, REF_LENGTH - 11)}~${hash}`;
}

/** What S/4HANA's TotalNetAmount must be for the shop's order: its total less its tax. */
export const shopNet = (o: Order) => new Big(o.total).minus(o.totalTax);

export function orderWriter(ctx: S4HanaContext): Writer<"order"> {
  const { client, config } = ctx;
  const limit = pLimit(config.concurrency);

  const findByRef = async (ref: string, signal?: AbortSignal): Promise<S4Row | null> => {
    for await (const page of client.list(SO, "A_SalesOrder", {
      filter: `PurchaseOrderByCustomer eq ${literal(refFor(ref))}`,
      orderby: "SalesOrder",
      select: ORDER_SELECT,
      pageSize: 1,
      ...(signal ? { signal } : {}),
    })) {
      return page[0] ?? null;
    }
    return null;
  };

  /** Whether S/4HANA's net total agrees with the shop's: null when it does, else the order's failed result. */
  const totalRefused = (key: string, o: Order, row: S4Row): WriteResult | null => {
    const net = new Big(decimal(row.TotalNetAmount) ?? "0");
    const currency = String(row.TransactionCurrency ?? "");
    if (currency === o.currency && net.minus(shopNet(o)).abs().lte("0.01")) return null;
    return failed(
      key,
      "data",
      `order ${o.key}: SAP S/4HANA prices it at a net ${net.toFixed(2)} ${currency} but the shop's net is ${shopNet(o).toFixed(2)} ${o.currency}; sales order ${String(row.SalesOrder)} is kept with delivery block ${config.holdDeliveryBlock}`,
      ctx.name,
      "total",
    );
  };

  /** Lifts the hold of an order whose total agrees, or reports both totals and leaves it blocked. */
  const settle = async (
    key: string,
    o: Order,
    row: S4Row,
    action: "created" | "updated",
    signal?: AbortSignal,
  ): Promise<WriteResult> => {
    const id = String(row.SalesOrder);
    const refused = totalRefused(key, o, row);
    if (refused) return refused;
    if (row.DeliveryBlockReason === config.holdDeliveryBlock) {
      await client.update(SO, "A_SalesOrder", id, { DeliveryBlockReason: "" }, signal);
      return { key, ok: true, targetId: id, action };
    }
    return { key, ok: true, targetId: id, action: action === "created" ? "created" : "unchanged" };
  };

  const cancel = async (key: string, o: Order, row: S4Row, signal?: AbortSignal): Promise<WriteResult> => {
    const id = String(row.SalesOrder);
    if (row.OverallTotalDeliveryStatus === "C" || row.OverallTotalDeliveryStatus === "B") {
      return failed(
        key,
        "permanent",
        `order ${o.key}: sales order ${id} is delivered in S/4HANA and cannot be cancelled`,
        ctx.name,
        "cancelled",
      );
    }
    if (!config.rejectionReason) {
      return failed(
        key,
        "config",
        `order ${o.key} is cancelled but rejectionReason is not set: sales order ${id} left as it is`,
        ctx.name,
        "rejectionReason",
      );
    }
    for await (const items of client.list(SO, "A_SalesOrderItem", {
      filter: `SalesOrder eq ${literal(id)}`,
      orderby: "SalesOrderItem",
      select: ["SalesOrder", "SalesOrderItem", "SalesDocumentRjcnReason"],
      pageSize: 100,
      ...(signal ? { signal } : {}),
    })) {
      for (const it of items) {
        if (it.SalesDocumentRjcnReason) continue;
        await client.update(
          SO,
          "A_SalesOrderItem",
          { SalesOrder: id, SalesOrderItem: String(it.SalesOrderItem) },
          { SalesDocumentRjcnReason: config.rejectionReason },
          signal,
        );
      }
    }
    return { key, ok: true, targetId: id, action: "updated", note: `sales order ${id} rejected (cancelled)` };
  };

  const soldTo = async (o: Order, wctx: WriteContext): Promise<string | null> =>
    (await wctx.resolve("customer", o.customer.key)) ??
    (await partnerByEmail(ctx, o.customer.email, wctx.signal));

  const condition = (type: string, amount: string, currency: string) => ({
    ConditionType: type,
    ConditionRateValue: amount,
    ConditionCurrency: currency,
  });

  /** A new order's failed result when it cannot be created, before its customer is known. */
  const refusedNew = (key: string, o: Order): WriteResult | null => {
    if (o.cancelled)
      return failed(
        key,
        "permanent",
        `order ${o.key} was cancelled before it reached S/4HANA; not created`,
        ctx.name,
        "cancelled",
      );
    if (o.taxesIncluded) {
      return failed(
        key,
        "data",
        `order ${o.key}: its prices include tax; S/4HANA's price conditions are net, so the order is not written (see docs/connectors/s4hana.md)`,
        ctx.name,
        "taxesIncluded",
      );
    }
    return null;
  };

  /** The sales order (a deep insert) to create for sold-to party `customer`, or the order's failed result. */
  const newOrder = (key: string, o: Order, customer: string | null, ref: string): S4Row | WriteResult => {
    if (!customer) {
      return failed(
        key,
        "data",
        `order ${o.key}: no S/4HANA business partner has the e-mail ${o.customer.email}; sync customers first`,
        ctx.name,
        "customer.email",
      );
    }
    const cur = o.currency;
    const items = o.lines
      .filter((l) => l.quantity > 0)
      .map((l) => ({
        Material: l.sku,
        RequestedQuantity: String(l.quantity),
        ...(l.title ? { SalesOrderItemText: l.title.slice(0, 40) } : {}),
        to_PricingElement: [
          condition(config.priceCondition, new Big(l.unitPrice).toString(), cur),
          ...(new Big(l.discount).gt(0)
            ? [condition(config.itemDiscountCondition, new Big(l.discount).neg().toString(), cur)]
            : []),
        ],
      }));
    const orderDiscount = o.discounts.reduce((s, d) => s.plus(d.amount), new Big(0));
    const header = [
      ...(orderDiscount.gt(0)
        ? [condition(config.headerDiscountCondition, orderDiscount.neg().toString(), cur)]
        : []),
      ...(o.shipping && new Big(o.shipping.amount).gt(0)
        ? [condition(config.freightCondition, new Big(o.shipping.amount).toString(), cur)]
        : []),
    ];
    return {
      SalesOrderType: config.salesOrderType,
      SalesOrganization: config.salesOrganization,
      DistributionChannel: config.distributionChannel,
      OrganizationDivision: config.division,
      SoldToParty: customer,
      PurchaseOrderByCustomer: refFor(ref),
      CustomerPurchaseOrderDate: toV2Date(o.placedAt),
      TransactionCurrency: cur,
      DeliveryBlockReason: config.holdDeliveryBlock,
      to_Item: items,
      ...(header.length > 0 ? { to_PricingElement: header } : {}),
    };
  };

  const isResult = (x: unknown): x is WriteResult =>
    typeof x === "object" && x !== null && "ok" in x && "key" in x;

  const writeOne = async (
    key: string,
    o: Order,
    targetId: string | null,
    ref: string,
    wctx: WriteContext,
  ): Promise<WriteResult> => {
    const signal = wctx.signal;
    const existing =
      (targetId
        ? await client.get(SO, "A_SalesOrder", targetId, {
            select: ORDER_SELECT,
            ...(signal ? { signal } : {}),
          })
        : null) ?? (await findByRef(ref, signal));
    if (existing) {
      const rejected = existing.OverallSDDocumentRejectionSts === "C";
      if (o.cancelled && !rejected) return cancel(key, o, existing, signal);
      if (rejected || o.cancelled)
        return { key, ok: true, targetId: String(existing.SalesOrder), action: "unchanged" };
      // An earlier attempt created it and stopped before lifting the hold: finish that.
      return settle(key, o, existing, "updated", signal);
    }
    const refused = refusedNew(key, o);
    if (refused) return refused;
    const body = newOrder(key, o, await soldTo(o, wctx), ref);
    if (isResult(body)) return body;
    const created = await client.create(SO, "A_SalesOrder", body, signal);
    return settle(key, o, created, "created", signal);
  };

  return {
    entity: "order",
    upsert: (items, wctx) =>
      config.batchThreshold > 0 && items.length >= config.batchThreshold
        ? writeBatched(ctx, items, wctx, {
            totalRefused,
            refusedNew,
            newOrder,
            isResult,
            cancel,
            select: ORDER_SELECT,
          })
        : perItemLimited(items, ctx.name, limit, (i) =>
            writeOne(i.key, i.record, i.targetId, i.externalRef, wctx),
          ),
    async findByExternalRef(ref) {
      const row = await findByRef(ref);
      return row ? String(row.SalesOrder) : null;
    },
    // Per new order: the look-up by reference, the customer (two reads unless linked), create, lift the hold.
    // Batched: each of those steps is one $batch per batchSize orders of the page (order-batch.ts).
    estimateCalls: (page) => {
      const orders = page.create.length + page.update.length;
      if (config.batchThreshold > 0 && orders >= config.batchThreshold)
        return batchedCalls(page, config.batchSize);
      return (
        page.create.length * 5 +
        page.update.filter((i) => i.record.cancelled).length * 4 +
        page.lookups.length
      );
    },
  };
}
