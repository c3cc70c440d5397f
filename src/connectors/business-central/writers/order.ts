/**
 * Shop orders → Business Central sales orders (salesOrders, with their salesOrderLines in the same request:
 * a deep insert, so an order never exists half-written). The shop order's key goes into
 * externalDocumentNumber, and an order is looked up by it before anything is created: first among the
 * sales orders, then among posted shipments and invoices (Business Central deletes a sales order once it is
 * fully shipped and invoiced, so the order may live on only there). A crash between "created in BC" and
 * "recorded in the link store" is repaired by finding the order, never by a second one.
 *
 * The lines are sent (the item by its number, a variant by its itemVariantId, quantity, unit price, the line
 * discount as an amount; the shop's order discounts as the order's invoice discount, discountAmount;
 * shipping as a G/L account line on `shippingAccount`; pricesIncludeTax as the shop has it) and Business
 * Central computes tax and totals, which are read back (the order with its lines). When BC's
 * totalAmountIncludingTax differs from the shop's total by more than a cent, the record fails with both
 * totals and the order is held: it stays as created, unreleased (API v2.0 can neither release nor hold a
 * sales order: status is read-only and the page's one action is shipAndInvoice), and every later run
 * reports it again until the totals agree. A shop cancellation deletes the order while nothing of it has
 * shipped (API v2.0 has no cancel of a sales order); once a line has shipped it is refused.
 */
import Big from "big.js";
import pLimit from "p-limit";
import { SyncError } from "../../../core/errors.ts";
import type { Order } from "../../../core/model.ts";
import type { WriteContext, WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import { type BcRow, literal } from "../client.ts";
import type { BusinessCentralContext } from "../context.ts";
import { GUID } from "../paging.ts";
import { findCustomerByEmail } from "../streams/customer.ts";

const ORDER_FIELDS = [
  "id",
  "number",
  "externalDocumentNumber",
  "currencyCode",
  "totalAmountExcludingTax",
  "totalTaxAmount",
  "totalAmountIncludingTax",
  "status",
  "fullyShipped",
] as const;
/** externalDocumentNumber is a Code/Text of 35 characters in Business Central. */
export const EXTERNAL_REF_LENGTH = 35;

export function orderWriter(ctx: BusinessCentralContext): Writer<"order"> {
  const { client, config } = ctx;
  const limit = pLimit(config.maxConcurrent);

  const first = async (set: string, filter: string, select: readonly string[], signal?: AbortSignal) => {
    for await (const page of client.list(set, {
      filter,
      select,
      top: 1,
      pageSize: 1,
      ...(signal ? { signal } : {}),
    })) {
      return page[0] ?? null;
    }
    return null;
  };

  const findByRef = (ref: string, signal?: AbortSignal) =>
    first("salesOrders", `externalDocumentNumber eq ${literal(ref)}`, ORDER_FIELDS, signal);

  /** A posted shipment or invoice of the order, once BC has deleted the fully posted order. */
  const findPosted = async (ref: string, signal?: AbortSignal) =>
    (await first(
      "salesInvoices",
      `externalDocumentNumber eq ${literal(ref)} and status ne 'Draft'`,
      ["id", "number", "orderId"],
      signal,
    )) ??
    (await first(
      "salesShipments",
      `externalDocumentNumber eq ${literal(ref)}`,
      ["id", "number", "orderNumber"],
      signal,
    ));

  /** The item (and variant) a SKU names: an item number, or an item number, the separator and a variant code. */
  const itemOf = async (
    sku: string,
    signal?: AbortSignal,
  ): Promise<{ itemId: string; variantId?: string } | null> => {
    const item = await first("items", `number eq ${literal(sku)}`, ["id", "number"], signal);
    if (item) return { itemId: String(item.id) };
    const at = sku.lastIndexOf(config.variantSeparator);
    if (at <= 0) return null;
    const number = sku.slice(0, at);
    const code = sku.slice(at + config.variantSeparator.length);
    for await (const page of client.list("items", {
      filter: `number eq ${literal(number)}`,
      select: ["id", "number"],
      expand: ["itemVariants"],
      top: 1,
      pageSize: 1,
      ...(signal ? { signal } : {}),
    })) {
      const row = page[0];
      const variant = (Array.isArray(row?.itemVariants) ? (row.itemVariants as BcRow[]) : []).find(
        (v) => v.code === code,
      );
      return row && variant ? { itemId: String(row.id), variantId: String(variant.id) } : null;
    }
    return null;
  };

  const customerOf = async (o: Order, wctx: WriteContext): Promise<string | null> => {
    const linked = await wctx.resolve("customer", o.customer.key);
    if (linked && GUID.test(linked)) return linked;
    const row = await findCustomerByEmail(ctx, o.customer.email, wctx.signal);
    return row ? String(row.id) : null;
  };

  /** Reads BC's totals back and compares them with the shop's: agreeing, the order is done; not, it is held. */
  const settle = async (
    key: string,
    o: Order,
    id: string,
    action: "created" | "updated" | "unchanged",
    signal?: AbortSignal,
  ): Promise<WriteResult> => {
    const row = await client.get(`salesOrders(${id})`, {
      select: ORDER_FIELDS,
      expand: ["salesOrderLines"],
      ...(signal ? { signal } : {}),
    });
    if (!row)
      throw new SyncError("retryable", `sales order ${id} vanished while it was written`, {
        system: ctx.name,
      });
    const bcTotal = new Big(
      typeof row.totalAmountIncludingTax === "number" ? row.totalAmountIncludingTax : 0,
    );
    if (bcTotal.minus(o.total).abs().gt("0.01")) {
      return failed(
        key,
        "data",
        `order ${o.key}: Business Central computes a total of ${bcTotal.toFixed(2)} ${o.currency} (tax ${String(row.totalTaxAmount)}) but the order says ${o.total}; held as sales order ${String(row.number)}, unreleased`,
        ctx.name,
        "total",
      );
    }
    return { key, ok: true, targetId: id, action };
  };

  const writeOne = async (
    key: string,
    o: Order,
    targetId: string | null,
    ref: string,
    wctx: WriteContext,
  ): Promise<WriteResult> => {
    const signal = wctx.signal;
    if (ref.length > EXTERNAL_REF_LENGTH) {
      return failed(
        key,
        "data",
        `order reference ${JSON.stringify(ref)} is longer than externalDocumentNumber's ${EXTERNAL_REF_LENGTH} characters`,
        ctx.name,
        "externalDocumentNumber",
      );
    }
    const existing =
      (targetId && GUID.test(targetId)
        ? await client.get(`salesOrders(${targetId})`, {
            select: ORDER_FIELDS,
            ...(signal ? { signal } : {}),
          })
        : null) ?? (await findByRef(ref, signal));
    if (existing) {
      const id = String(existing.id);
      if (o.cancelled) {
        const order = await client.get(`salesOrders(${id})`, {
          expand: ["salesOrderLines"],
          select: ORDER_FIELDS,
          ...(signal ? { signal } : {}),
        });
        const lines = Array.isArray(order?.salesOrderLines) ? (order.salesOrderLines as BcRow[]) : [];
        if (lines.some((l) => typeof l.shippedQuantity === "number" && l.shippedQuantity > 0)) {
          return failed(
            key,
            "permanent",
            `order ${o.key}: sales order ${String(existing.number)} has shipped lines in Business Central and cannot be cancelled`,
            ctx.name,
            "cancelled",
          );
        }
        await client.delete(
          `salesOrders(${id})`,
          String(order?.["@odata.etag"] ?? existing["@odata.etag"] ?? "*"),
          signal,
        );
        return {
          key,
          ok: true,
          targetId: id,
          action: "updated",
          note: `sales order ${String(existing.number)} deleted (cancelled in the shop)`,
        };
      }
      // An earlier attempt created it: check its totals again.
      return settle(key, o, id, "unchanged", signal);
    }
    const posted = await findPosted(ref, signal);
    if (posted) {
      return {
        key,
        ok: true,
        targetId: targetId ?? String(posted.id),
        action: "unchanged",
        note: `already posted in Business Central as ${String(posted.number)}`,
      };
    }
    if (o.cancelled) {
      if (targetId)
        return { key, ok: true, targetId, action: "unchanged", note: "deleted in Business Central" };
      return failed(
        key,
        "permanent",
        `order ${o.key} was cancelled before it reached Business Central; not created`,
        ctx.name,
        "cancelled",
      );
    }
    const customerId = await customerOf(o, wctx);
    if (!customerId) {
      return failed(
        key,
        "data",
        `order ${o.key}: no Business Central customer has the e-mail ${o.customer.email}; sync customers first`,
        ctx.name,
        "customer.email",
      );
    }
    const shipping = o.shipping && new Big(o.shipping.amount).gt(0) ? o.shipping : undefined;
    if (shipping && config.shippingAccount === undefined) {
      return failed(
        key,
        "data",
        `order ${o.key} charges shipping (${shipping.amount}) but shippingAccount is not set`,
        ctx.name,
        "shipping",
      );
    }
    const lines: BcRow[] = [];
    for (const l of o.lines.filter((x) => x.quantity > 0)) {
      const item = await itemOf(l.sku, signal);
      if (!item) {
        return failed(
          key,
          "data",
          `order ${o.key}: no Business Central item or item variant has the SKU ${JSON.stringify(l.sku)}`,
          ctx.name,
          "lines.sku",
        );
      }
      lines.push({
        lineType: "Item",
        itemId: item.itemId,
        ...(item.variantId ? { itemVariantId: item.variantId } : {}),
        quantity: l.quantity,
        unitPrice: Number(l.unitPrice),
        ...(new Big(l.discount).gt(0) ? { discountAmount: Number(l.discount) } : {}),
      });
    }
    if (shipping) {
      lines.push({
        lineType: "Account",
        lineObjectNumber: config.shippingAccount as string,
        description: shipping.title.slice(0, 100) || "Shipping",
        quantity: 1,
        unitPrice: Number(shipping.amount),
      });
    }
    const orderDiscount = o.discounts.reduce((s, d) => s.plus(d.amount), new Big(0));
    const body: BcRow = {
      customerId,
      externalDocumentNumber: ref,
      orderDate: o.placedAt.slice(0, 10),
      ...(o.currency !== config.currency ? { currencyCode: o.currency } : {}),
      pricesIncludeTax: o.taxesIncluded,
      ...(orderDiscount.gt(0) ? { discountAmount: Number(orderDiscount.toFixed(2)) } : {}),
      salesOrderLines: lines,
    };
    const created = await client.create("salesOrders", body, signal);
    return settle(key, o, String(created.id), "created", signal);
  };

  return {
    entity: "order",
    // A permanent refusal of one order is that order's result (perItem); the others go on.
    upsert: (items, wctx) =>
      perItemLimited(items, ctx.name, limit, (i) =>
        writeOne(i.key, i.record, i.targetId, i.externalRef, wctx),
      ),
    async findByExternalRef(ref) {
      const row = await findByRef(ref);
      return row ? String(row.id) : null;
    },
    // Per new order: the lookups by reference (orders, invoices, shipments), the customer, one item per line, create, read back.
    estimateCalls: (page) =>
      page.create.reduce((n, i) => n + 6 + i.record.lines.length, 0) +
      page.update.length * 3 +
      page.lookups.length,
  };
}
