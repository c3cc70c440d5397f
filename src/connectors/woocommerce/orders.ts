/**
 * Writers onto the shop's existing orders, for what the ERP decides about them: shipments, invoices and
 * withdrawals. Each one leaves a customer note carrying a marker (`[passerelle <what> <key>]`): finding
 * it is what makes writing the same record again a no-op.
 *
 * - Shipments: a note with the carrier, tracking numbers and shipped items. The order is completed once
 *   every line is shipped (the items of all the order's shipment notes add up to its lines, or a shipment
 *   names no lines: the whole order); a partial shipment leaves the order's status as it is.
 * - Invoices: WooCommerce has no invoice object. The invoice's number, kind, date, totals and document
 *   reference go to the order's meta (`passerelle_invoice_<number>`) and a customer note tells the buyer.
 *   The PDF itself is not delivered: the only plugin-free place for a file is the WordPress media library,
 *   whose files are public URLs, so an invoice uploaded there could be read by anyone with the link. The
 *   meta keeps the ERP's document reference, which `passerelle document <erp> <ref>` renders on demand.
 * - Orders: a record the ERP cancelled sets the shop order to cancelled (WooCommerce then puts the stock
 *   back); a completed order is refused with the reason (goods are on their way: a return, a person's
 *   call). Money is not refunded: WooCommerce's refunds go through the payment gateway, a merchant's act.
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { Invoice, Order, Shipment } from "../../core/model.ts";
import type { WriteItem, WriteResult, Writer } from "../../ports/connector.ts";
import { perRecord, toWrite } from "../call-estimate.ts";
import { failed, perItem } from "../write-results.ts";
import { q, type WooClient } from "./client.ts";
import { WooNote } from "./native.ts";

/** The marker a shipment's note carries; finding it is what makes writing the shipment again a no-op. */
export const shipmentMarker = (key: string): string => `[passerelle shipment ${key}]`;
/** The marker an invoice's note carries. */
export const invoiceMarker = (key: string): string => `[passerelle invoice ${key}]`;
/** The order meta key holding one invoice (an order may be invoiced more than once). */
export const invoiceMetaKey = (number: string): string => `passerelle_invoice_${number}`;

const Meta = z.object({ id: z.number().int().optional(), key: z.string(), value: z.unknown() });
const OrderState = z.object({
  id: z.number().int(),
  number: z.string(),
  status: z.string(),
  line_items: z.array(z.object({ sku: z.string().nullish(), quantity: z.number() })).default([]),
  meta_data: z.array(Meta).default([]),
});
type OrderState = z.infer<typeof OrderState>;
const Written = z.object({ id: z.number().int(), status: z.string() });

/** The shop's order id from an order number or an order key (`<shop connection>:<number>`). */
function orderIdOf(system: string, numberOrKey: string, field: string): string {
  const id = numberOrKey.slice(numberOrKey.lastIndexOf(":") + 1);
  if (!/^\d+$/.test(id)) {
    throw new SyncError(
      "data",
      `WooCommerce order numbers are order ids; ${field} is ${JSON.stringify(numberOrKey)}`,
      { system, field },
    );
  }
  return id;
}

/** An order's notes: the endpoint answers them all at once (it has no paging). */
const notesOf = (client: WooClient, orderId: number) =>
  client.get(`/orders/${orderId}/notes?${q({ type: "any" })}`, z.array(WooNote), "order notes");

async function findOrder(client: WooClient, id: string): Promise<OrderState | null> {
  return client.find(`/orders/${id}?${q({ _fields: "id,number,status,line_items,meta_data" })}`, OrderState);
}

async function orderOrFail(client: WooClient, system: string, id: string, what: string, field: string) {
  const order = await findOrder(client, id);
  if (!order) {
    throw new SyncError("permanent", `WooCommerce has no order ${id} (${what})`, { system, field });
  }
  return order;
}

/** Items a shipment note lists: `Items: 2 x SKU-A, 1 x SKU-B`. Null: the note names none (whole order). */
const ITEMS = /^Items: (.*)$/m;
function itemsOf(note: string): Map<string, number> | null {
  const line = ITEMS.exec(note)?.[1];
  if (line === undefined) return null;
  const out = new Map<string, number>();
  for (const part of line.split(", ")) {
    const m = /^(\d+) x (.+)$/.exec(part);
    if (m) out.set(m[2] as string, (out.get(m[2] as string) ?? 0) + Number(m[1]));
  }
  return out;
}

/** Whether the shipments noted (plus this one) cover every line of the order. */
function fullyShipped(order: OrderState, shipped: (Map<string, number> | null)[]): boolean {
  if (shipped.some((s) => s === null)) return true;
  const total = new Map<string, number>();
  for (const s of shipped) for (const [sku, n] of s ?? []) total.set(sku, (total.get(sku) ?? 0) + n);
  const ordered = new Map<string, number>();
  for (const l of order.line_items) {
    if (!l.sku || l.quantity <= 0) continue;
    ordered.set(l.sku, (ordered.get(l.sku) ?? 0) + l.quantity);
  }
  return [...ordered].every(([sku, n]) => (total.get(sku) ?? 0) >= n);
}

export function shipmentWriter(system: string, client: WooClient): Writer<"shipment"> {
  const noteText = (s: Shipment) =>
    [
      `Shipped${s.carrier ? ` with ${s.carrier}` : ""}: tracking ${s.trackingNumbers.join(", ")}`,
      ...(s.lines.length > 0 ? [`Items: ${s.lines.map((l) => `${l.quantity} x ${l.sku}`).join(", ")}`] : []),
      ...s.trackingUrls,
      shipmentMarker(s.key),
    ].join("\n");

  async function one(item: WriteItem<"shipment">): Promise<WriteResult> {
    const s = item.record;
    const order = await orderOrFail(
      client,
      system,
      orderIdOf(system, s.orderNumber, "orderNumber"),
      `shipment ${s.key}`,
      "orderNumber",
    );
    const marker = shipmentMarker(s.key);
    const notes = await notesOf(client, order.id);
    const note = notes.find((n) => n.note.includes(marker));
    let noteId = note?.id;
    if (noteId === undefined) {
      const made = await client.write(
        "POST",
        `/orders/${order.id}/notes`,
        { note: noteText(s), customer_note: true },
        WooNote,
        "order note",
      );
      noteId = made.id;
    }
    const others = notes.filter((n) => n.note.includes("[passerelle shipment ") && !n.note.includes(marker));
    const full = fullyShipped(order, [
      ...others.map((n) => itemsOf(n.note)),
      s.lines.length > 0 ? new Map(s.lines.map((l) => [l.sku, l.quantity])) : null,
    ]);
    const complete = full && order.status !== "completed" && order.status !== "cancelled";
    if (complete)
      await client.write("PUT", `/orders/${order.id}`, { status: "completed" }, Written, "order complete");
    return {
      key: item.key,
      ok: true,
      targetId: `${order.id}/${noteId}`,
      action: note ? (complete ? "updated" : "unchanged") : "created",
      ...(complete
        ? { note: `order ${order.id} completed` }
        : !full && !note
          ? { note: `order ${order.id} partly shipped: stays ${order.status}` }
          : {}),
    };
  }

  // Not updateOnly: a shipment is new to the shop by nature; one whose order the shop does not hold is
  // skipped by the plan (its parent is not in the target) or refused here, naming the order.
  return {
    entity: "shipment",
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) results.push(await perItem(item.key, system, () => one(item)));
      return results;
    },
    async findByExternalRef(_ref, record) {
      const order = await findOrder(client, orderIdOf(system, record.orderNumber, "orderNumber"));
      if (!order) return null;
      const note = (await notesOf(client, order.id)).find((n) => n.note.includes(shipmentMarker(record.key)));
      return note ? `${order.id}/${note.id}` : null;
    },
    // Per shipment: the order, its notes, the note and the status change.
    estimateCalls: (page) => toWrite(page).length * 4 + page.lookups.length * 2,
  };
}

/** What an invoice puts in the order's meta: plain values a theme, an e-mail template or a plugin can read. */
export function invoiceMeta(inv: Invoice): Record<string, string> {
  return {
    number: inv.number,
    kind: inv.kind,
    date: inv.issuedAt.slice(0, 10),
    currency: inv.currency,
    total: inv.total,
    total_tax: inv.totalTax,
    ...(inv.document ? { document: inv.document.url ?? inv.document.ref } : {}),
  };
}

const sameMeta = (have: unknown, want: Record<string, string>): boolean =>
  typeof have === "object" &&
  have !== null &&
  Object.keys(have).length === Object.keys(want).length &&
  Object.entries(want).every(([k, v]) => (have as Record<string, unknown>)[k] === v);

export function invoiceWriter(system: string, client: WooClient): Writer<"invoice"> {
  const noteText = (inv: Invoice) =>
    [
      `${inv.kind === "credit_memo" ? "Credit note" : "Invoice"} ${inv.number} of ${inv.issuedAt.slice(0, 10)}: total ${inv.total} ${inv.currency} (tax ${inv.totalTax}).`,
      invoiceMarker(inv.key),
    ].join("\n");

  async function one(item: WriteItem<"invoice">): Promise<WriteResult> {
    const inv = item.record;
    if (inv.orderKey === undefined)
      return failed(
        item.key,
        "data",
        `invoice ${inv.number} names no order to attach it to`,
        system,
        "orderKey",
      );
    const order = await orderOrFail(
      client,
      system,
      orderIdOf(system, inv.orderKey, "orderKey"),
      `invoice ${inv.number}`,
      "orderKey",
    );
    const metaKey = invoiceMetaKey(inv.number);
    const want = invoiceMeta(inv);
    const metaOk = sameMeta(order.meta_data.find((m) => m.key === metaKey)?.value, want);
    const marker = invoiceMarker(inv.key);
    const note = (await notesOf(client, order.id)).find((n) => n.note.includes(marker));
    if (!metaOk)
      await client.write(
        "PUT",
        `/orders/${order.id}`,
        { meta_data: [{ key: metaKey, value: want }] },
        Written,
        "invoice meta",
      );
    let noteId = note?.id;
    if (noteId === undefined) {
      const made = await client.write(
        "POST",
        `/orders/${order.id}/notes`,
        { note: noteText(inv), customer_note: true },
        WooNote,
        "invoice note",
      );
      noteId = made.id;
    }
    return {
      key: item.key,
      ok: true,
      targetId: `${order.id}/${inv.number}`,
      action: metaOk && note ? "unchanged" : item.targetId === null ? "created" : "updated",
    };
  }

  return {
    entity: "invoice",
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) results.push(await perItem(item.key, system, () => one(item)));
      return results;
    },
    async findByExternalRef(_ref, record) {
      if (record.orderKey === undefined) return null;
      const order = await findOrder(client, orderIdOf(system, record.orderKey, "orderKey"));
      const has = order?.meta_data.some((m) => m.key === invoiceMetaKey(record.number));
      return order && has ? `${order.id}/${record.number}` : null;
    },
    // Per invoice: the order, its notes, the meta and the note.
    estimateCalls: perRecord({ create: 4, update: 4 }),
  };
}

/** WooCommerce statuses in which the goods have left. */
const SHIPPED = new Set(["completed"]);

export function orderWriter(system: string, client: WooClient): Writer<"order"> {
  async function one(item: WriteItem<"order">): Promise<WriteResult> {
    const o: Order = item.record;
    const order = await orderOrFail(
      client,
      system,
      orderIdOf(system, item.targetId ?? o.number, "number"),
      `order ${o.key}`,
      "number",
    );
    const targetId = String(order.id);
    if (!o.cancelled || order.status === "cancelled")
      return { key: item.key, ok: true, targetId, action: "unchanged" };
    if (SHIPPED.has(order.status) || order.status === "refunded") {
      return failed(
        item.key,
        "permanent",
        `WooCommerce order ${order.number} is ${order.status}; the ERP withdrew it, but what has shipped or been refunded is a person's decision (a return), not the sync's`,
        system,
        "cancelled",
      );
    }
    await client.write("PUT", `/orders/${order.id}`, { status: "cancelled" }, Written, "order cancel");
    return {
      key: item.key,
      ok: true,
      targetId,
      action: "updated",
      note: `order ${order.number} cancelled (was ${order.status}); any payment is still held: refund it in WooCommerce`,
    };
  }
  return {
    entity: "order",
    updateOnly: true,
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) results.push(await perItem(item.key, system, () => one(item)));
      return results;
    },
    async findByExternalRef(_ref, record) {
      const order = await findOrder(client, orderIdOf(system, record.number, "number"));
      return order ? String(order.id) : null;
    },
    // Per order: the order, and its cancellation.
    estimateCalls: perRecord({ create: 2, update: 2 }),
  };
}
