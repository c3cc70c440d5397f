/**
 * Shop orders → Acumatica sales orders (SalesOrder with Details). The shop order's key goes into
 * CustomerOrder (the customer's order number, which Acumatica can be set to keep unique per customer) and
 * ExternalRef, and an order is looked up by CustomerOrder before anything is created: a crash between
 * "created" and "recorded" is repaired by finding the order, never by a second one.
 *
 * Lines are sent with InventoryID, OrderQty, UnitPrice and the discount as DiscountAmount (the line's own,
 * plus its share of order-level discounts, spread by line amount to the cent); shipping as the order's
 * freight (Totals.OverrideFreightAmount + Freight). Acumatica computes tax and totals. The order is created
 * on hold; its OrderTotal is read back from the PUT's answer and compared with the shop's total: more than a
 * cent apart, it stays on hold (Acumatica will not ship it) and the record fails with both totals; otherwise
 * the hold is removed. A shop cancellation runs CancelSalesOrder while the order is open.
 */
import Big from "big.js";
import pLimit from "p-limit";
import type { Order } from "../../../core/model.ts";
import type { WriteContext, WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import { type AcuRow, literal, str, val, wrap } from "../client.ts";
import type { AcumaticaContext } from "../context.ts";

const ORDER_FIELDS = ["OrderType", "OrderNbr", "Status", "Hold", "OrderTotal", "CurrencyID", "CustomerOrder"];

/** Splits `total` over `weights` in proportion, to the cent, the remainder on the largest. */
export function spread(total: Big, weights: Big[]): Big[] {
  const sum = weights.reduce((s, x) => s.plus(x), new Big(0));
  if (sum.eq(0) || total.eq(0)) return weights.map(() => new Big(0));
  const parts = weights.map((x) => total.times(x).div(sum).round(2, Big.roundDown));
  const rest = total.minus(parts.reduce((s, x) => s.plus(x), new Big(0)));
  let big = 0;
  weights.forEach((x, i) => {
    if (x.gt(weights[big] as Big)) big = i;
  });
  parts[big] = (parts[big] as Big).plus(rest);
  return parts;
}

export function orderWriter(ctx: AcumaticaContext): Writer<"order"> {
  const { client, config } = ctx;
  const limit = pLimit(config.concurrency);

  const findByRef = (ref: string, signal?: AbortSignal) =>
    client.first("SalesOrder", {
      filter: `OrderType eq ${literal(config.orderType)} and CustomerOrder eq ${literal(ref)}`,
      select: ORDER_FIELDS,
      ...(signal ? { signal } : {}),
    });

  const customerOf = async (o: Order, wctx: WriteContext): Promise<string | null> => {
    const linked = await wctx.resolve("customer", o.customer.key);
    if (linked) return linked;
    const row = await client.first("Customer", {
      filter: `Email eq ${literal(o.customer.email.toLowerCase())}`,
      select: ["CustomerID"],
      ...(wctx.signal ? { signal: wctx.signal } : {}),
    });
    return row ? String(val(row, "CustomerID")) : null;
  };

  /** Releases the hold of an order whose total agrees, or reports both totals and leaves it on hold. */
  const settle = async (
    key: string,
    o: Order,
    row: AcuRow,
    action: "created" | "updated",
    signal?: AbortSignal,
  ): Promise<WriteResult> => {
    const nbr = String(val(row, "OrderNbr"));
    const erpTotal = new Big(
      typeof val(row, "OrderTotal") === "number" ? (val(row, "OrderTotal") as number) : 0,
    );
    if (erpTotal.minus(o.total).abs().gt("0.01")) {
      return failed(
        key,
        "data",
        `order ${o.key}: Acumatica computes a total of ${erpTotal.toFixed(2)} ${o.currency} but the order says ${o.total}; left on hold as sales order ${nbr}`,
        ctx.name,
        "total",
      );
    }
    if (val(row, "Hold") === true) {
      await client.put(
        "SalesOrder",
        { id: row.id, Hold: wrap(false) },
        { select: ORDER_FIELDS, ...(signal ? { signal } : {}) },
      );
    }
    return { key, ok: true, targetId: nbr, action };
  };

  const writeOne = async (key: string, o: Order, ref: string, wctx: WriteContext): Promise<WriteResult> => {
    const signal = wctx.signal;
    const existing = await findByRef(ref, signal);
    if (existing) {
      const nbr = String(val(existing, "OrderNbr"));
      const status = str(existing, "Status");
      if (o.cancelled && status !== "Canceled") {
        if (status === "Completed" || status === "Shipping" || status === "Invoiced") {
          return failed(
            key,
            "permanent",
            `order ${o.key}: sales order ${nbr} is ${status} in Acumatica and cannot be cancelled`,
            ctx.name,
            "cancelled",
          );
        }
        await client.action("SalesOrder", "CancelSalesOrder", String(existing.id), signal);
        return { key, ok: true, targetId: nbr, action: "updated", note: `sales order ${nbr} cancelled` };
      }
      if (status === "Canceled" || o.cancelled) return { key, ok: true, targetId: nbr, action: "unchanged" };
      if (val(existing, "Hold") === true) return settle(key, o, existing, "updated", signal);
      return { key, ok: true, targetId: nbr, action: "unchanged" };
    }
    if (o.cancelled) {
      return failed(
        key,
        "permanent",
        `order ${o.key} was cancelled before it reached Acumatica; not created`,
        ctx.name,
        "cancelled",
      );
    }
    if (o.taxesIncluded) {
      return failed(
        key,
        "data",
        `order ${o.key}: prices include tax, and the connector writes net prices only (set the shop to net prices or use a gross tax zone)`,
        ctx.name,
        "taxesIncluded",
      );
    }
    const customer = await customerOf(o, wctx);
    if (!customer) {
      return failed(
        key,
        "data",
        `order ${o.key}: no Acumatica customer has the e-mail ${o.customer.email}; sync customers first`,
        ctx.name,
        "customer.email",
      );
    }
    const lines = o.lines.filter((l) => l.quantity > 0);
    const net = lines.map((l) => new Big(l.unitPrice).times(l.quantity).minus(l.discount));
    const orderDiscount = o.discounts.reduce((s, d) => s.plus(d.amount), new Big(0));
    const shares = spread(orderDiscount, net);
    const shipping = o.shipping && new Big(o.shipping.amount).gt(0) ? o.shipping : undefined;
    const body: AcuRow = {
      OrderType: wrap(config.orderType),
      CustomerID: wrap(customer),
      CustomerOrder: wrap(ref),
      ExternalRef: wrap(ref),
      Date: wrap(o.placedAt),
      CurrencyID: wrap(o.currency),
      Description: wrap(`Passerelle: shop order ${o.number}`),
      Hold: wrap(true),
      Details: lines.map((l, i) => {
        const discount = new Big(l.discount).plus(shares[i] as Big);
        return {
          InventoryID: wrap(l.sku),
          OrderQty: wrap(l.quantity),
          UnitPrice: wrap(Number(l.unitPrice)),
          ManualPrice: wrap(true),
          ...(discount.gt(0)
            ? { DiscountAmount: wrap(Number(discount.toFixed(2))), ManualDiscount: wrap(true) }
            : {}),
          ...(config.orderWarehouse ? { WarehouseID: wrap(config.orderWarehouse) } : {}),
        };
      }),
      ...(shipping
        ? { Totals: { OverrideFreightAmount: wrap(true), Freight: wrap(Number(shipping.amount)) } }
        : {}),
    };
    const created = await client.put("SalesOrder", body, {
      select: ORDER_FIELDS,
      ...(signal ? { signal } : {}),
    });
    return settle(key, o, created, "created", signal);
  };

  return {
    entity: "order",
    upsert: (items, wctx) =>
      perItemLimited(items, ctx.name, limit, (i) => writeOne(i.key, i.record, i.externalRef, wctx)),
    async findByExternalRef(ref) {
      const row = await findByRef(ref);
      return row ? String(val(row, "OrderNbr")) : null;
    },
    // Per new order: the lookup by CustomerOrder, the customer (unless linked), the PUT, the hold release.
    estimateCalls: (page) =>
      page.create.length * 4 + page.update.filter((i) => i.record.cancelled).length * 2 + page.lookups.length,
  };
}
