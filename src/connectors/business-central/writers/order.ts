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
 *
 * A page of at least `batchThreshold` orders is written in OData JSON batches (client.ts `batch`) instead:
 * every lookup of the page (each order by id and by externalDocumentNumber among sales orders, posted
 * invoices and shipments; each customer by e-mail; each SKU) in one round, the creates in the next (each
 * order its own operation: one refused order never undoes another), the read-backs in the last. Each
 * order's result stays its own, judged from its own operations' answers as a single call's would be. A
 * batch of creates whose answer is lost fails each of its orders as retryable: whether Business Central
 * applied it is unknown, and the next attempt's lookup by externalDocumentNumber finds what it did create.
 * Cancellations keep the single-call path (they need each order's lines and etag, and are rare).
 */
import Big from "big.js";
import pLimit from "p-limit";
import { SyncError } from "../../../core/errors.ts";
import type { Order } from "../../../core/model.ts";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import { type BatchAnswer, type BatchOperation, type BcRow, literal } from "../client.ts";
import type { BusinessCentralContext } from "../context.ts";
import { GUID } from "../paging.ts";
import { CUSTOMER_FIELDS, findCustomerByEmail } from "../streams/customer.ts";

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
    return judge(key, o, id, action, row);
  };

  /** An order read back: done when BC's total agrees with the shop's, held (a data failure) when not. */
  const judge = (
    key: string,
    o: Order,
    id: string,
    action: "created" | "updated" | "unchanged",
    row: BcRow | null,
  ): WriteResult => {
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

  /**
   * The sales order's body (a deep insert with its lines), or the record's refusal: shipping with no
   * `shippingAccount`, a SKU no item or variant has. `headerOnly` checks only what needs no item.
   */
  const bodyOf = (
    key: string,
    o: Order,
    ref: string,
    customerId: string,
    item: (sku: string) => { itemId: string; variantId?: string } | null,
    headerOnly = false,
  ): { body: BcRow } | { refused: WriteResult } | null => {
    const shipping = o.shipping && new Big(o.shipping.amount).gt(0) ? o.shipping : undefined;
    if (shipping && config.shippingAccount === undefined) {
      return {
        refused: failed(
          key,
          "data",
          `order ${o.key} charges shipping (${shipping.amount}) but shippingAccount is not set`,
          ctx.name,
          "shipping",
        ),
      };
    }
    if (headerOnly) return null;
    const lines: BcRow[] = [];
    for (const l of o.lines.filter((x) => x.quantity > 0)) {
      const found = item(l.sku);
      if (!found) {
        return {
          refused: failed(
            key,
            "data",
            `order ${o.key}: no Business Central item or item variant has the SKU ${JSON.stringify(l.sku)}`,
            ctx.name,
            "lines.sku",
          ),
        };
      }
      lines.push({
        lineType: "Item",
        itemId: found.itemId,
        ...(found.variantId ? { itemVariantId: found.variantId } : {}),
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
    return { body };
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
    const skus = new Map<string, { itemId: string; variantId?: string } | null>();
    // Refusals of the order itself come before any item is looked up, as in the batched path.
    const refusal = bodyOf(key, o, ref, customerId, () => null, true);
    if (refusal && "refused" in refusal) return refusal.refused;
    for (const l of o.lines.filter((x) => x.quantity > 0)) {
      if (skus.has(l.sku)) continue;
      const item = await itemOf(l.sku, signal);
      skus.set(l.sku, item);
      if (!item) break;
    }
    const built = bodyOf(key, o, ref, customerId, (sku) => skus.get(sku) ?? null);
    if (!built) throw new Error("unreachable: a full body is always built or refused");
    if ("refused" in built) return built.refused;
    const body = built.body;
    const created = await client.create("salesOrders", body, signal);
    return settle(key, o, String(created.id), "created", signal);
  };

  const batching = (n: number) => config.batchThreshold > 0 && n >= config.batchThreshold;

  /** `set?$filter=…&$top=1&$select=…` (with `$expand`): one row at most, as `first` asks for it. */
  const query = (set: string, filter: string, select: readonly string[], expand?: string) => {
    const p = new URLSearchParams({ $filter: filter, $top: "1", $select: select.join(",") });
    if (expand) p.set("$expand", expand);
    return `${set}?${p.toString()}`;
  };

  /** The rows of a collection's answer (`value`), or the entity an entity read answers. */
  const rowsOf = (a: BatchAnswer): BcRow[] => {
    const b = a.body as { value?: unknown } | null;
    return Array.isArray(b?.value) ? (b.value as BcRow[]) : [];
  };

  /**
   * Runs operations in batches of `batchSize`, each batch on its own: the answers by operation id, and the
   * error of a batch that failed as a whole for each operation it carried. A refused credential stops the
   * page, as it would every single call.
   */
  const runBatches = async (
    ops: readonly BatchOperation[],
    signal?: AbortSignal,
  ): Promise<Map<string, BatchAnswer | SyncError>> => {
    const out = new Map<string, BatchAnswer | SyncError>();
    const chunks: BatchOperation[][] = [];
    for (let at = 0; at < ops.length; at += config.batchSize)
      chunks.push(ops.slice(at, at + config.batchSize));
    await Promise.all(
      chunks.map(async (chunk) => {
        try {
          for (const a of await client.batch(chunk, signal)) out.set(a.id, a);
        } catch (e) {
          if ((e instanceof SyncError && e.kind === "config") || signal?.aborted) throw e;
          const err =
            e instanceof SyncError
              ? e
              : new SyncError("retryable", String(e), { system: ctx.name, cause: e });
          for (const op of chunk) out.set(op.id, err);
        }
      }),
    );
    return out;
  };

  /** An operation's answer, or the record's failure as a single call with that answer would have failed. */
  const answerOf = (
    answers: Map<string, BatchAnswer | SyncError>,
    op: BatchOperation,
    ok: (status: number) => boolean = (st) => st >= 200 && st < 300,
  ): BatchAnswer | SyncError => {
    const a = answers.get(op.id);
    if (!a) return new SyncError("retryable", `no answer for ${op.method} ${op.path}`, { system: ctx.name });
    if (a instanceof SyncError || ok(a.status)) return a;
    return client.operationError(op, a);
  };

  const failedBy = (key: string, err: SyncError): WriteResult => ({ key, ok: false, error: err });

  /** A page of orders in three rounds of batches: lookups, creates, read-backs (see the file's comment). */
  const writeBatched = async (
    items: readonly WriteItem<"order">[],
    wctx: WriteContext,
  ): Promise<WriteResult[]> => {
    const signal = wctx.signal;
    const results = new Map<string, WriteResult>();
    const pending: { i: WriteItem<"order">; n: number; customerId: string | null }[] = [];
    items.forEach((i, n) => {
      if (i.externalRef.length > EXTERNAL_REF_LENGTH) {
        results.set(
          i.key,
          failed(
            i.key,
            "data",
            `order reference ${JSON.stringify(i.externalRef)} is longer than externalDocumentNumber's ${EXTERNAL_REF_LENGTH} characters`,
            ctx.name,
            "externalDocumentNumber",
          ),
        );
      } else pending.push({ i, n, customerId: null });
    });

    // Round 1: every lookup of the page.
    const ops: BatchOperation[] = [];
    const byId = new Map<number, BatchOperation>();
    const byRef = new Map<number, BatchOperation>();
    const invoice = new Map<number, BatchOperation>();
    const shipment = new Map<number, BatchOperation>();
    const customerOps = new Map<string, BatchOperation>();
    const skuOps = new Map<string, BatchOperation>();
    for (const p of pending) {
      const { i, n } = p;
      const ref = literal(i.externalRef);
      if (i.targetId && GUID.test(i.targetId)) {
        const op: BatchOperation = {
          id: `order-${n}`,
          method: "GET",
          path: `salesOrders(${i.targetId})?$select=${ORDER_FIELDS.join(",")}`,
          what: "sales order by id",
        };
        byId.set(n, op);
        ops.push(op);
      }
      const lookups: [Map<number, BatchOperation>, string, string, readonly string[]][] = [
        [byRef, "salesOrders", `externalDocumentNumber eq ${ref}`, ORDER_FIELDS],
        [
          invoice,
          "salesInvoices",
          `externalDocumentNumber eq ${ref} and status ne 'Draft'`,
          ["id", "number", "orderId"],
        ],
        [shipment, "salesShipments", `externalDocumentNumber eq ${ref}`, ["id", "number", "orderNumber"]],
      ];
      for (const [map, set, filter, select] of lookups) {
        const op: BatchOperation = {
          id: `${set}-${n}`,
          method: "GET",
          path: query(set, filter, select),
          what: `${set} page`,
        };
        map.set(n, op);
        ops.push(op);
      }
      if (i.record.cancelled) continue;
      const linked = await wctx.resolve("customer", i.record.customer.key);
      if (linked && GUID.test(linked)) p.customerId = linked;
      else {
        const email = i.record.customer.email.toLowerCase();
        if (!customerOps.has(email)) {
          const op: BatchOperation = {
            id: `customer-${customerOps.size}`,
            method: "GET",
            path: query("customers", `email eq ${literal(email)}`, CUSTOMER_FIELDS),
            what: "customers page",
          };
          customerOps.set(email, op);
          ops.push(op);
        }
      }
      for (const l of i.record.lines)
        if (l.quantity > 0 && !skuOps.has(l.sku)) {
          const op: BatchOperation = {
            id: `item-${skuOps.size}`,
            method: "GET",
            path: query("items", `number eq ${literal(l.sku)}`, ["id", "number"]),
            what: "items page",
          };
          skuOps.set(l.sku, op);
          ops.push(op);
        }
    }
    const found = await runBatches(ops, signal);

    // A SKU that is no item's number may be an item's number, the separator and a variant's code.
    const skus = new Map<string, { itemId: string; variantId?: string } | null | SyncError>();
    const variantOps = new Map<string, BatchOperation>();
    for (const [sku, op] of skuOps) {
      const a = answerOf(found, op);
      if (a instanceof SyncError) skus.set(sku, a);
      else if (rowsOf(a)[0]) skus.set(sku, { itemId: String(rowsOf(a)[0]?.id) });
      else {
        const at = sku.lastIndexOf(config.variantSeparator);
        if (at <= 0) skus.set(sku, null);
        else
          variantOps.set(sku, {
            id: `variant-${variantOps.size}`,
            method: "GET",
            path: query("items", `number eq ${literal(sku.slice(0, at))}`, ["id", "number"], "itemVariants"),
            what: "items page",
          });
      }
    }
    if (variantOps.size > 0) {
      const variants = await runBatches([...variantOps.values()], signal);
      for (const [sku, op] of variantOps) {
        const a = answerOf(variants, op);
        if (a instanceof SyncError) {
          skus.set(sku, a);
          continue;
        }
        const row = rowsOf(a)[0];
        const code = sku.slice(sku.lastIndexOf(config.variantSeparator) + config.variantSeparator.length);
        const v = (Array.isArray(row?.itemVariants) ? (row.itemVariants as BcRow[]) : []).find(
          (x) => x.code === code,
        );
        skus.set(sku, row && v ? { itemId: String(row.id), variantId: String(v.id) } : null);
      }
    }

    // What each order needs: nothing (found, or posted), its creation, or its refusal.
    const cancelled: WriteItem<"order">[] = [];
    const settleOps: { i: WriteItem<"order">; op: BatchOperation; action: "created" | "unchanged" }[] = [];
    const createOps: { i: WriteItem<"order">; n: number; op: BatchOperation }[] = [];
    const readBack = (i: WriteItem<"order">, n: number, id: string, action: "created" | "unchanged") =>
      settleOps.push({
        i,
        action,
        op: {
          id: `read-${n}`,
          method: "GET",
          path: `salesOrders(${id})?$select=${ORDER_FIELDS.join(",")}&$expand=salesOrderLines`,
          what: "sales order read-back",
        },
      });
    for (const { i, n, customerId } of pending) {
      const o = i.record;
      const idOp = byId.get(n);
      const own = idOp ? answerOf(found, idOp, (st) => (st >= 200 && st < 300) || st === 404) : null;
      const refs = answerOf(found, byRef.get(n) as BatchOperation);
      const err = [own, refs].find((a): a is SyncError => a instanceof SyncError);
      if (err) {
        results.set(i.key, failedBy(i.key, err));
        continue;
      }
      const existing =
        own && !(own instanceof SyncError) && own.status !== 404 && own.body
          ? (own.body as BcRow)
          : rowsOf(refs as BatchAnswer)[0];
      if (existing) {
        // A cancellation needs the order's lines and etag: the single-call path does it.
        if (o.cancelled) cancelled.push(i);
        else readBack(i, n, String(existing.id), "unchanged");
        continue;
      }
      const inv = answerOf(found, invoice.get(n) as BatchOperation);
      const shp = answerOf(found, shipment.get(n) as BatchOperation);
      const postedErr = [inv, shp].find((a): a is SyncError => a instanceof SyncError);
      if (postedErr) {
        results.set(i.key, failedBy(i.key, postedErr));
        continue;
      }
      const posted = rowsOf(inv as BatchAnswer)[0] ?? rowsOf(shp as BatchAnswer)[0];
      if (posted) {
        results.set(i.key, {
          key: i.key,
          ok: true,
          targetId: i.targetId ?? String(posted.id),
          action: "unchanged",
          note: `already posted in Business Central as ${String(posted.number)}`,
        });
        continue;
      }
      if (o.cancelled) {
        results.set(
          i.key,
          i.targetId
            ? {
                key: i.key,
                ok: true,
                targetId: i.targetId,
                action: "unchanged",
                note: "deleted in Business Central",
              }
            : failed(
                i.key,
                "permanent",
                `order ${o.key} was cancelled before it reached Business Central; not created`,
                ctx.name,
                "cancelled",
              ),
        );
        continue;
      }
      let customer = customerId;
      if (!customer) {
        const a = answerOf(found, customerOps.get(o.customer.email.toLowerCase()) as BatchOperation);
        if (a instanceof SyncError) {
          results.set(i.key, failedBy(i.key, a));
          continue;
        }
        const row = rowsOf(a)[0];
        customer = row ? String(row.id) : null;
      }
      if (!customer) {
        results.set(
          i.key,
          failed(
            i.key,
            "data",
            `order ${o.key}: no Business Central customer has the e-mail ${o.customer.email}; sync customers first`,
            ctx.name,
            "customer.email",
          ),
        );
        continue;
      }
      const header = bodyOf(i.key, o, i.externalRef, customer, () => null, true);
      if (header && "refused" in header) {
        results.set(i.key, header.refused);
        continue;
      }
      const skuErr = o.lines.map((l) => skus.get(l.sku)).find((x): x is SyncError => x instanceof SyncError);
      if (skuErr) {
        results.set(i.key, failedBy(i.key, skuErr));
        continue;
      }
      const built = bodyOf(i.key, o, i.externalRef, customer, (sku) => {
        const x = skus.get(sku);
        return x instanceof SyncError ? null : (x ?? null);
      });
      if (!built) throw new Error("unreachable: a full body is always built or refused");
      if ("refused" in built) {
        results.set(i.key, built.refused);
        continue;
      }
      createOps.push({
        i,
        n,
        op: {
          id: `create-${n}`,
          method: "POST",
          path: "salesOrders",
          body: built.body,
          what: "salesOrders create",
        },
      });
    }

    // Round 2: the creates, each order its own operation (no atomicity group across orders).
    if (createOps.length > 0) {
      const created = await runBatches(
        createOps.map((c) => c.op),
        signal,
      );
      for (const { i, n, op } of createOps) {
        const a = answerOf(created, op);
        if (a instanceof SyncError) {
          // An operation's refusal keeps the kind its single call would have; a batch whose answer was lost
          // (it may have been applied) is retryable, and the next attempt's lookup tells what it created.
          results.set(i.key, failedBy(i.key, a));
          continue;
        }
        const id = (a.body as BcRow | null)?.id;
        if (typeof id !== "string") {
          results.set(
            i.key,
            failed(
              i.key,
              "retryable",
              `order ${i.record.key}: Business Central's answer to its create has no id`,
              ctx.name,
            ),
          );
          continue;
        }
        readBack(i, n, id, "created");
      }
    }

    // Round 3: the read-backs, each order judged on its own totals.
    if (settleOps.length > 0) {
      const rows = await runBatches(
        settleOps.map((x) => x.op),
        signal,
      );
      for (const { i, op, action } of settleOps) {
        const a = answerOf(rows, op, (st) => (st >= 200 && st < 300) || st === 404);
        if (a instanceof SyncError) {
          results.set(i.key, failedBy(i.key, a));
          continue;
        }
        const id = /salesOrders\(([^)]+)\)/.exec(op.path)?.[1] as string;
        try {
          results.set(i.key, judge(i.key, i.record, id, action, a.status === 404 ? null : (a.body as BcRow)));
        } catch (e) {
          results.set(i.key, failedBy(i.key, e as SyncError));
        }
      }
    }

    // Cancellations of existing orders: their own calls, as below the threshold.
    const single = await perItemLimited(cancelled, ctx.name, limit, (i) =>
      writeOne(i.key, i.record, i.targetId, i.externalRef, wctx),
    );
    for (const r of single) results.set(r.key, r);
    return items.map((i) => results.get(i.key) as WriteResult);
  };

  return {
    entity: "order",
    // A permanent refusal of one order is that order's result (perItem); the others go on. A page of at
    // least batchThreshold orders goes in batches.
    upsert: (items, wctx) =>
      batching(items.length)
        ? writeBatched(items, wctx)
        : perItemLimited(items, ctx.name, limit, (i) =>
            writeOne(i.key, i.record, i.targetId, i.externalRef, wctx),
          ),
    async findByExternalRef(ref) {
      const row = await findByRef(ref);
      return row ? String(row.id) : null;
    },
    // Single calls, per new order: the lookups by reference (orders, invoices, shipments), the customer, one
    // item per line, create, read back. Batched: a round of lookups (five per order and one per SKU, in
    // batches of batchSize), one of creates, one of read-backs.
    estimateCalls: (page) => {
      const n = page.create.length + page.update.length;
      if (!batching(n))
        return (
          page.create.reduce((k, i) => k + 6 + i.record.lines.length, 0) +
          page.update.length * 3 +
          page.lookups.length
        );
      const skus = new Set(page.create.flatMap((i) => i.record.lines.map((l) => l.sku))).size;
      const rounds = (ops: number) => Math.ceil(ops / config.batchSize);
      return rounds(n * 5 + skus) + rounds(page.create.length) + rounds(n) + page.lookups.length;
    },
  };
}
