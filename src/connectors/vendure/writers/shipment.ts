/**
 * Canonical Shipment → a Vendure fulfilment with the tracking code, through the configured fulfilment
 * handler (Vendure's built-in `manual-fulfillment` by default, whose arguments are `method` and
 * `trackingCode`), then moved to `Shipped`, which moves the order to Shipped or PartiallyShipped.
 * The order is found through the link store or by its code. A fulfilment already carrying one of the
 * shipment's tracking numbers means the shipment was written before: that is `findByExternalRef` and the
 * "unchanged" answer, so a retry never ships twice; one left `Pending` by an interrupted write is moved on.
 * With `deliveryNoteField`, the shipment's delivery note ref is added to that Order custom field (a list)
 * unless it is there already; a write interrupted between the fulfilment and the note adds the note on
 * its retry.
 */
import { z } from "zod";
import type { Shipment } from "../../../core/model.ts";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import { ErrorResult, type VendureClient } from "../client.ts";
import type { VendureConfig } from "../config.ts";
import { errorResult } from "../lookup.ts";
import { failed, perItem } from "./results.ts";

const shipmentOrderFields = (noteField: string | undefined) => `id code state
  lines { id quantity productVariant { sku } }
  fulfillments { id state trackingCode lines { orderLineId quantity } }
  ${noteField ? `customFields { ${noteField} }` : ""}`;
const ShipmentOrder = z.object({
  id: z.string(),
  code: z.string(),
  state: z.string(),
  customFields: z.record(z.string(), z.array(z.string()).nullable()).optional(),
  lines: z.array(
    z.object({ id: z.string(), quantity: z.number().int(), productVariant: z.object({ sku: z.string() }) }),
  ),
  fulfillments: z
    .array(
      z.object({
        id: z.string(),
        state: z.string(),
        trackingCode: z.string().nullable(),
        lines: z.array(z.object({ orderLineId: z.string(), quantity: z.number().int() })),
      }),
    )
    .nullable(),
});
type ShipmentOrder = z.infer<typeof ShipmentOrder>;

const ADD_FULFILLMENT = `mutation AddFulfillment($input: FulfillOrderInput!) {
  addFulfillmentToOrder(input: $input) { __typename ... on Fulfillment { id state } ... on ErrorResult { errorCode message } }
}`;
const TRANSITION = `mutation ShipFulfillment($id: ID!, $state: String!) {
  transitionFulfillmentToState(id: $id, state: $state) {
    __typename ... on Fulfillment { id state } ... on ErrorResult { errorCode message }
  }
}`;
const FulfillmentResult = z.union([
  z.object({ __typename: z.literal("Fulfillment"), id: z.string(), state: z.string() }),
  ErrorResult.extend({ __typename: z.string() }),
]);

/** The order code inside a canonical order key `<connection>:<code>`. */
export function codeOf(orderKey: string, fallback: string): string {
  const at = orderKey.indexOf(":");
  return at >= 0 ? orderKey.slice(at + 1) : fallback;
}

export async function findOrder<T>(
  client: VendureClient,
  shape: z.ZodType<T>,
  fields: string,
  orderKey: string,
  code: string,
  ctx?: WriteContext,
): Promise<T | null> {
  const linked = ctx ? await ctx.resolve("order", orderKey) : null;
  if (linked !== null) {
    const data = await client.request(
      `query LinkedOrder($id: ID!) { order(id: $id) { ${fields} } }`,
      { id: linked },
      z.object({ order: shape.nullable() }),
    );
    if (data.order !== null) return data.order;
  }
  const data = await client.request(
    `query OrderByCode($code: String!) { orders(options: { filter: { code: { eq: $code } }, take: 1 }) { items { ${fields} } } }`,
    { code },
    z.object({ orders: z.object({ items: z.array(shape) }) }),
  );
  return data.orders.items[0] ?? null;
}

/** Whether an entry of the note list is a signed link to `ref` (src/server/document-links.ts puts it in `ref=`). */
function isLinkTo(entry: string, ref: string): boolean {
  if (!/^https?:\/\//.test(entry)) return false;
  try {
    return new URL(entry).searchParams.get("ref") === ref;
  } catch {
    return false;
  }
}

const codes = (f: { trackingCode: string | null }) => (f.trackingCode ?? "").split(/,\s*/).filter(Boolean);

export function shipmentWriter(
  system: string,
  client: VendureClient,
  config: VendureConfig,
): Writer<"shipment"> {
  const noteField = config.deliveryNoteField;
  const fields = shipmentOrderFields(noteField);
  const orderOf = (s: Shipment, ctx?: WriteContext) =>
    findOrder(client, ShipmentOrder, fields, s.orderKey, codeOf(s.orderKey, s.orderNumber), ctx);
  const SET_NOTES = `mutation SetDeliveryNotes($input: UpdateOrderInput!) {
    setOrderCustomFields(input: $input) { id }
  }`;

  /**
   * Adds the shipment's delivery note ref to the order's note field when it is configured and the ref is
   * not there yet; the trace's note when it did.
   */
  async function attachNote(order: ShipmentOrder, s: Shipment): Promise<string | undefined> {
    const ref = s.document?.ref;
    if (!noteField || !ref) return undefined;
    // The signed link when the flow makes one (documentLinks), in place of the ref it signs.
    const entry = s.document?.url ?? ref;
    const had = order.customFields?.[noteField] ?? [];
    if (had.includes(entry)) return undefined;
    // A link replaces the bare ref (or an earlier link) of the same note; other notes stay.
    const others = had.filter((e) => e !== ref && !isLinkTo(e, ref));
    await client.request(
      SET_NOTES,
      { input: { id: order.id, customFields: { [noteField]: [...others, entry] } } },
      z.object({ setOrderCustomFields: z.object({ id: z.string() }).nullable() }),
    );
    return `delivery note ${ref}${entry !== ref ? " (signed link)" : ""} on order ${order.code}`;
  }
  const withNote = (r: WriteResult, note: string | undefined): WriteResult =>
    r.ok && note ? { ...r, action: r.action === "unchanged" ? "updated" : r.action, note } : r;

  const alreadyShipped = (o: ShipmentOrder, s: Shipment) =>
    (o.fulfillments ?? []).find(
      (f) => f.state !== "Cancelled" && codes(f).some((c) => s.trackingNumbers.includes(c)),
    );

  async function ship(key: string, id: string): Promise<WriteResult | null> {
    const data = await client.request(
      TRANSITION,
      { id, state: "Shipped" },
      z.object({ transitionFulfillmentToState: FulfillmentResult }),
    );
    const r = data.transitionFulfillmentToState;
    if ("errorCode" in r)
      return { key, ok: false, error: errorResult(system, `to ship fulfilment ${id}`, r, "state") };
    return null;
  }

  async function writeOne(item: WriteItem<"shipment">, ctx: WriteContext): Promise<WriteResult> {
    const s = item.record;
    const order = await orderOf(s, ctx);
    if (order === null) {
      return failed(
        item.key,
        "permanent",
        `no Vendure order ${s.orderNumber} (order key ${s.orderKey})`,
        system,
        "orderKey",
      );
    }
    const done = alreadyShipped(order, s);
    if (done) {
      const shipped = done.state === "Pending" ? await ship(item.key, done.id) : null;
      if (shipped) return shipped;
      const r: WriteResult = {
        key: item.key,
        ok: true,
        targetId: done.id,
        action: done.state === "Pending" ? "updated" : "unchanged",
      };
      return withNote(r, await attachNote(order, s));
    }
    const fulfilled = new Map<string, number>();
    for (const f of order.fulfillments ?? []) {
      if (f.state === "Cancelled") continue;
      for (const l of f.lines) fulfilled.set(l.orderLineId, (fulfilled.get(l.orderLineId) ?? 0) + l.quantity);
    }
    const open = order.lines
      .map((l) => ({ id: l.id, sku: l.productVariant.sku, left: l.quantity - (fulfilled.get(l.id) ?? 0) }))
      .filter((l) => l.left > 0);
    let lines: { orderLineId: string; quantity: number }[];
    if (s.lines.length === 0) {
      lines = open.map((l) => ({ orderLineId: l.id, quantity: l.left }));
    } else {
      const want = new Map<string, number>();
      for (const l of s.lines) want.set(l.sku, (want.get(l.sku) ?? 0) + l.quantity);
      lines = [];
      for (const l of open) {
        const take = Math.min(want.get(l.sku) ?? 0, l.left);
        if (take > 0) {
          lines.push({ orderLineId: l.id, quantity: take });
          want.set(l.sku, (want.get(l.sku) ?? 0) - take);
        }
      }
      const missing = [...want].filter(([, q]) => q > 0);
      if (missing.length > 0) {
        return failed(
          item.key,
          "permanent",
          `Vendure order ${order.code} has no open quantity for ${missing.map(([k, q]) => `${q} × ${k}`).join(", ")}`,
          system,
          "lines",
        );
      }
    }
    if (lines.length === 0) {
      return failed(
        item.key,
        "permanent",
        `Vendure order ${order.code} has nothing left to fulfil`,
        system,
        "orderKey",
      );
    }
    const data = await client.request(
      ADD_FULFILLMENT,
      {
        input: {
          lines,
          handler: {
            code: config.fulfillmentHandler,
            arguments: [
              { name: "method", value: s.carrier ?? "" },
              { name: "trackingCode", value: s.trackingNumbers.join(", ") },
            ],
          },
        },
      },
      z.object({ addFulfillmentToOrder: FulfillmentResult }),
    );
    const created = data.addFulfillmentToOrder;
    if ("errorCode" in created) {
      return {
        key: item.key,
        ok: false,
        error: errorResult(system, `the fulfilment of order ${order.code}`, created, "lines"),
      };
    }
    const shipped = await ship(item.key, created.id);
    if (shipped) return shipped;
    const r: WriteResult = { key: item.key, ok: true, targetId: created.id, action: "created" };
    return withNote(r, await attachNote(order, s));
  }

  return {
    entity: "shipment",
    estimateCalls: perRecord(noteField ? { create: 4, update: 2 } : { create: 3, update: 1 }),
    async upsert(items, ctx) {
      const results: WriteResult[] = [];
      for (const item of items) results.push(await perItem(item.key, system, () => writeOne(item, ctx)));
      return results;
    },
    async findByExternalRef(_ref, record) {
      const order = await orderOf(record);
      return order ? (alreadyShipped(order, record)?.id ?? null) : null;
    },
  };
}
