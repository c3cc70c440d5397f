/**
 * Shop orders → B1 sales orders (Orders). The shop order's key goes into NumAtCard (the customer's
 * reference), and an order is looked up by it before anything is created: a crash between "created in
 * B1" and "recorded in the link store" is repaired by finding the order, never by a second one (B1 itself
 * does not keep NumAtCard unique).
 *
 * The lines are sent (ItemCode, Quantity, UnitPrice — or PriceAfterVAT when the shop's prices include
 * tax — and the line discount as DiscountPercent; order discounts as the header's DiscountPercent; shipping
 * as freight when `freightExpenseCode` is set) and B1 computes tax and totals. The order is created
 * unapproved (Confirmed tNO): when B1's DocTotal differs from the shop's total by more than a cent, it is
 * left unapproved — B1 will not deliver it — and the record fails with both totals; otherwise it is
 * approved (Confirmed tYES). A shop cancellation cancels the B1 order (Orders(n)/Cancel) while it is open.
 */
import Big from "big.js";
import pLimit from "p-limit";
import type { Order } from "../../../core/model.ts";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import type { B1Row } from "../client.ts";
import type { SapB1Context } from "../context.ts";
import { literal } from "../time.ts";
import { batchedCalls, writeBatched } from "./order-batch.ts";

export const ORDER_FIELDS = [
  "DocEntry",
  "DocNum",
  "NumAtCard",
  "DocTotal",
  "DocCurrency",
  "Cancelled",
  "Confirmed",
  "DocumentStatus",
] as const;

function percentOf(part: string, whole: Big): number {
  if (whole.eq(0)) return 0;
  return Number(new Big(part).div(whole).times(100).round(6).toString());
}

export function orderWriter(ctx: SapB1Context): Writer<"order"> {
  const { client, config } = ctx;
  const limit = pLimit(config.concurrency);

  const findByRef = async (ref: string, signal?: AbortSignal): Promise<B1Row | null> => {
    for await (const page of client.list("Orders", {
      filter: `NumAtCard eq ${literal(ref)}`,
      orderby: "DocEntry",
      select: ORDER_FIELDS,
      pageSize: 1,
      ...(signal ? { signal } : {}),
    })) {
      return page[0] ?? null;
    }
    return null;
  };

  const cardCodeOf = async (o: Order, wctx: WriteContext): Promise<string | null> => {
    const linked = await wctx.resolve("customer", o.customer.key);
    if (linked) return linked;
    for await (const page of client.list("BusinessPartners", {
      filter: `CardType eq 'cCustomer' and EmailAddress eq ${literal(o.customer.email.toLowerCase())}`,
      orderby: "CardCode",
      select: ["CardCode"],
      pageSize: 1,
      ...(wctx.signal ? { signal: wctx.signal } : {}),
    })) {
      return page[0] ? String(page[0].CardCode) : null;
    }
    return null;
  };

  /** Whether B1's total agrees with the shop's: null when it does, else the order's failed result. */
  const totalRefused = (key: string, o: Order, row: B1Row): WriteResult | null => {
    const b1Total = new Big(typeof row.DocTotal === "number" ? row.DocTotal : 0);
    if (b1Total.minus(o.total).abs().lte("0.01")) return null;
    return failed(
      key,
      "data",
      `order ${o.key}: SAP Business One computes a total of ${b1Total.toFixed(2)} ${o.currency} but the order says ${o.total}; left unapproved as sales order ${String(row.DocNum)}`,
      ctx.name,
      "total",
    );
  };

  /** Approves an order whose total agrees, or reports both totals and leaves it unapproved. */
  const settle = async (
    key: string,
    o: Order,
    row: B1Row,
    action: "created" | "updated",
    signal?: AbortSignal,
  ): Promise<WriteResult> => {
    const entry = Number(row.DocEntry);
    const refused = totalRefused(key, o, row);
    if (refused) return refused;
    if (row.Confirmed === "tNO") {
      await client.update("Orders", entry, { Confirmed: "tYES" }, signal);
      return { key, ok: true, targetId: String(entry), action };
    }
    return { key, ok: true, targetId: String(entry), action: action === "created" ? "created" : "unchanged" };
  };

  /**
   * What an order B1 already holds needs: nothing more (its result), its cancellation (Orders(n)/Cancel,
   * then the result), or settling (approval when its total agrees).
   */
  const forExisting = (
    key: string,
    o: Order,
    existing: B1Row,
  ): WriteResult | { cancel: number; done: WriteResult } | { settle: B1Row } => {
    const entry = Number(existing.DocEntry);
    if (o.cancelled && existing.Cancelled !== "tYES") {
      if (existing.DocumentStatus !== "bost_Open") {
        return failed(
          key,
          "permanent",
          `order ${o.key}: sales order ${String(existing.DocNum)} is closed in B1 (delivered) and cannot be cancelled`,
          ctx.name,
          "cancelled",
        );
      }
      return {
        cancel: entry,
        done: {
          key,
          ok: true,
          targetId: String(entry),
          action: "updated",
          note: `sales order ${String(existing.DocNum)} cancelled`,
        },
      };
    }
    if (existing.Cancelled === "tYES" || o.cancelled)
      return { key, ok: true, targetId: String(entry), action: "unchanged" };
    // An earlier attempt created it and stopped before approving it: finish that.
    return { settle: existing };
  };

  /** A new order's failed result when it cannot be created, before its customer is known. */
  const refusedNew = (key: string, o: Order): WriteResult | null =>
    o.cancelled
      ? failed(
          key,
          "permanent",
          `order ${o.key} was cancelled before it reached B1; not created`,
          ctx.name,
          "cancelled",
        )
      : null;

  /** The sales order to create for customer `card`, or the order's failed result. */
  const newOrder = (key: string, o: Order, card: string | null, ref: string): B1Row | WriteResult => {
    if (!card) {
      return failed(
        key,
        "data",
        `order ${o.key}: no B1 customer has the e-mail ${o.customer.email}; sync customers first`,
        ctx.name,
        "customer.email",
      );
    }
    const shipping = o.shipping && new Big(o.shipping.amount).gt(0) ? o.shipping : undefined;
    if (shipping && config.freightExpenseCode === undefined) {
      return failed(
        key,
        "data",
        `order ${o.key} charges shipping (${shipping.amount}) but freightExpenseCode is not set`,
        ctx.name,
        "shipping",
      );
    }
    const lines = o.lines.filter((l) => l.quantity > 0);
    let gross = new Big(0);
    const docLines = lines.map((l) => {
      const lineGross = new Big(l.unitPrice).times(l.quantity);
      gross = gross.plus(lineGross.minus(l.discount));
      return {
        ItemCode: l.sku,
        Quantity: l.quantity,
        ...(o.taxesIncluded ? { PriceAfterVAT: Number(l.unitPrice) } : { UnitPrice: Number(l.unitPrice) }),
        ...(new Big(l.discount).gt(0) ? { DiscountPercent: percentOf(l.discount, lineGross) } : {}),
        ...(config.vatGroup ? { VatGroup: config.vatGroup } : {}),
        ...(config.orderWarehouse ? { WarehouseCode: config.orderWarehouse } : {}),
      };
    });
    const orderDiscount = o.discounts.reduce((s, d) => s.plus(d.amount), new Big(0));
    return {
      CardCode: card,
      NumAtCard: ref,
      DocDate: `${o.placedAt.slice(0, 10)}T00:00:00Z`,
      DocDueDate: `${o.placedAt.slice(0, 10)}T00:00:00Z`,
      DocCurrency: o.currency,
      Confirmed: "tNO",
      Comments: `Passerelle: shop order ${o.number}`,
      DocumentLines: docLines,
      ...(orderDiscount.gt(0) ? { DiscountPercent: percentOf(orderDiscount.toString(), gross) } : {}),
      ...(shipping
        ? {
            DocumentAdditionalExpenses: [
              {
                ExpenseCode: config.freightExpenseCode as number,
                LineTotal: Number(shipping.amount),
                ...(config.vatGroup ? { VatGroup: config.vatGroup } : {}),
              },
            ],
          }
        : {}),
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
      (targetId && /^\d+$/.test(targetId)
        ? await client.get("Orders", Number(targetId), ORDER_FIELDS, signal)
        : null) ?? (await findByRef(ref, signal));
    if (existing) {
      const next = forExisting(key, o, existing);
      if ("cancel" in next) {
        await client.action("Orders", next.cancel, "Cancel", signal);
        return next.done;
      }
      if ("settle" in next) return settle(key, o, next.settle, "updated", signal);
      return next;
    }
    const refused = refusedNew(key, o);
    if (refused) return refused;
    const body = newOrder(key, o, await cardCodeOf(o, wctx), ref);
    if (isResult(body)) return body;
    const created = await client.create("Orders", body, signal);
    return settle(key, o, created, "created", signal);
  };

  const batched = (items: WriteItem<"order">[], wctx: WriteContext) =>
    writeBatched(ctx, items, wctx, { forExisting, refusedNew, newOrder, totalRefused, isResult });

  return {
    entity: "order",
    // A permanent refusal of one order is that order's result (perItem); the others go on.
    upsert: (items, wctx) =>
      config.batchThreshold > 0 && items.length >= config.batchThreshold
        ? batched(items, wctx)
        : perItemLimited(items, ctx.name, limit, (i) =>
            writeOne(i.key, i.record, i.targetId, i.externalRef, wctx),
          ),
    async findByExternalRef(ref) {
      const row = await findByRef(ref);
      return row ? String(row.DocEntry) : null;
    },
    // Per new order: the lookup by NumAtCard, the customer (unless linked), create, approve. Batched: each of
    // those steps is one $batch per batchSize orders of the page (writeBatched).
    estimateCalls: (page) => {
      const orders = page.create.length + page.update.length;
      if (config.batchThreshold > 0 && orders >= config.batchThreshold)
        return batchedCalls(page, config.batchSize);
      return (
        page.create.length * 4 +
        page.update.filter((i) => i.record.cancelled).length * 2 +
        page.lookups.length
      );
    },
  };
}
