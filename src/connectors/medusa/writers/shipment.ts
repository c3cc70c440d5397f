/**
 * Shipments: a fulfilment of the shipped lines (all that is left when the shipment names none), then its
 * shipment with one label per tracking number. The fulfilment carries the canonical shipment key in its
 * metadata, so writing the shipment again finds it and sends nothing, and a run interrupted between the
 * fulfilment and its shipment completes the shipment of the fulfilment it finds.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Shipment } from "../../../core/model.ts";
import type { WriteContext, WriteResult, Writer } from "../../../ports/connector.ts";
import { toWrite } from "../../call-estimate.ts";
import { failed, perItem } from "../../write-results.ts";
import { type MedusaClient, q } from "../client.ts";
import type { MedusaLookups } from "../lookup.ts";

export const SHIPMENT_KEY = "passerelle_shipment";

const Fulfilment = z.object({
  id: z.string(),
  shipped_at: z.string().nullish(),
  canceled_at: z.string().nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  items: z.array(z.object({ line_item_id: z.string().nullish(), quantity: z.number() })).nullish(),
  labels: z.array(z.object({ tracking_number: z.string() })).nullish(),
});
const HeldOrder = z.object({
  id: z.string(),
  display_id: z.number().int(),
  status: z.string(),
  items: z.array(
    z.object({
      id: z.string(),
      variant_sku: z.string().nullish(),
      quantity: z.number(),
      detail: z.object({ fulfilled_quantity: z.number() }).nullish(),
    }),
  ),
  fulfillments: z.array(Fulfilment).nullish(),
});
type HeldOrder = z.infer<typeof HeldOrder>;
const FIELDS =
  "id,display_id,status,*items,*items.detail,*fulfillments,fulfillments.metadata,*fulfillments.items,*fulfillments.labels";

/** The Medusa order id of an order number (display_id): Medusa's order list has no display_id filter, `q` finds it. */
export async function orderIdOf(client: MedusaClient, number: string): Promise<string | null> {
  if (!/^\d+$/.test(number)) return null;
  for (let offset = 0; ; offset += 100) {
    const { orders, count } = await client.get(
      `/admin/orders?${q({ q: number, fields: "id,display_id", limit: 100, offset })}`,
      z.object({ orders: z.array(z.object({ id: z.string(), display_id: z.number() })), count: z.number() }),
      "order by number",
    );
    const hit = orders.find((o) => String(o.display_id) === number);
    if (hit) return hit.id;
    if (offset + 100 >= count) return null;
  }
}

export function shipmentWriter(
  system: string,
  client: MedusaClient,
  lookups: MedusaLookups,
): Writer<"shipment"> {
  async function order(s: Shipment, ctx: WriteContext | null): Promise<HeldOrder> {
    const id =
      (ctx ? await ctx.resolve("order", s.orderKey) : null) ?? (await orderIdOf(client, s.orderNumber));
    const got = id
      ? await client.find(
          `/admin/orders/${encodeURIComponent(id)}?${q({ fields: FIELDS })}`,
          z.object({ order: HeldOrder }),
          "order",
        )
      : null;
    if (!got)
      throw new SyncError(
        "permanent",
        `Medusa has no order ${s.orderNumber} (order ${s.orderKey}, shipment ${s.key})`,
        {
          system,
          field: "orderNumber",
        },
      );
    return got.order;
  }

  const ours = (o: HeldOrder, key: string) =>
    (o.fulfillments ?? []).find((f) => !f.canceled_at && f.metadata?.[SHIPMENT_KEY] === key);

  /** The order's line items and quantities this shipment fulfils. */
  function itemsFor(s: Shipment, o: HeldOrder): { id: string; quantity: number }[] {
    const left = o.items.map((i) => ({
      id: i.id,
      sku: i.variant_sku ?? "",
      left: i.quantity - (i.detail?.fulfilled_quantity ?? 0),
    }));
    if (s.lines.length === 0) {
      const all = left.filter((i) => i.left > 0).map((i) => ({ id: i.id, quantity: i.left }));
      if (all.length === 0)
        throw new SyncError(
          "permanent",
          `Medusa order ${s.orderNumber} has nothing left to fulfil (shipment ${s.key})`,
          { system, field: "lines" },
        );
      return all;
    }
    const out: { id: string; quantity: number }[] = [];
    for (const [n, line] of s.lines.entries()) {
      let want = line.quantity;
      for (const i of left.filter((x) => x.sku === line.sku && x.left > 0)) {
        const take = Math.min(want, i.left);
        i.left -= take;
        want -= take;
        const same = out.find((x) => x.id === i.id);
        if (same) same.quantity += take;
        else out.push({ id: i.id, quantity: take });
        if (want === 0) break;
      }
      if (want > 0)
        throw new SyncError(
          "permanent",
          `Medusa order ${s.orderNumber} has ${line.quantity - want} of SKU ${JSON.stringify(line.sku)} left to fulfil, the shipment ships ${line.quantity}`,
          { system, field: `lines[${n}].quantity` },
        );
    }
    return out;
  }

  async function ship(
    o: HeldOrder,
    fulfilmentId: string,
    items: { id: string; quantity: number }[],
    s: Shipment,
  ) {
    await client.write(
      "POST",
      `/admin/orders/${o.id}/fulfillments/${fulfilmentId}/shipments?${q({ fields: "id" })}`,
      {
        items,
        labels: s.trackingNumbers.map((n, i) => ({
          tracking_number: n,
          tracking_url: s.trackingUrls[i] ?? s.trackingUrls[0] ?? "",
          label_url: "",
        })),
        metadata: { [SHIPMENT_KEY]: s.key },
      },
      z.object({}).loose(),
      "shipment create",
    );
  }

  return {
    entity: "shipment",
    // Not update-only: a shipment is new to Medusa (a fulfilment is created); its order must exist, which
    // `upsert` checks and reports per record.
    async upsert(records, ctx) {
      const results: WriteResult[] = [];
      for (const item of records) {
        results.push(
          await perItem(item.key, system, async () => {
            const s = item.record;
            const o = await order(s, ctx);
            const found = ours(o, s.key);
            if (found?.shipped_at)
              return { key: item.key, ok: true, targetId: found.id, action: "unchanged" };
            if (found) {
              // An earlier run stopped between the fulfilment and its shipment.
              const items = (found.items ?? [])
                .filter((i) => i.line_item_id)
                .map((i) => ({ id: i.line_item_id as string, quantity: i.quantity }));
              await ship(o, found.id, items, s);
              return {
                key: item.key,
                ok: true,
                targetId: found.id,
                action: "updated",
                note: `fulfilment ${found.id} shipped`,
              };
            }
            if (o.status === "canceled")
              return failed(
                item.key,
                "permanent",
                `Medusa order ${s.orderNumber} is cancelled; shipment ${s.key} is not written`,
                system,
                "orderNumber",
              );
            const items = itemsFor(s, o);
            const from = client.config.shipFromLocation ?? Object.keys(client.config.locationMap ?? {})[0];
            const locationId = from ? await lookups.location(from) : null;
            if (from && !locationId)
              return failed(
                item.key,
                "config",
                `Medusa has no stock location for ${JSON.stringify(from)} (shipFromLocation)`,
                system,
                "shipFromLocation",
              );
            const after = await client.write(
              "POST",
              `/admin/orders/${o.id}/fulfillments?${q({ fields: "id,*fulfillments,fulfillments.metadata" })}`,
              {
                items,
                ...(locationId ? { location_id: locationId } : {}),
                metadata: { [SHIPMENT_KEY]: s.key },
              },
              z.object({ order: z.object({ fulfillments: z.array(Fulfilment).nullish() }) }),
              "fulfilment create",
            );
            const made = (after.order.fulfillments ?? []).find(
              (f) => !f.canceled_at && f.metadata?.[SHIPMENT_KEY] === s.key,
            );
            if (!made)
              throw new SyncError("permanent", `Medusa did not answer the fulfilment of shipment ${s.key}`, {
                system,
              });
            await ship(o, made.id, items, s);
            return { key: item.key, ok: true, targetId: made.id, action: "created" };
          }),
        );
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const id = await orderIdOf(client, record.orderNumber);
      if (!id) return null;
      const got = await client.find(
        `/admin/orders/${encodeURIComponent(id)}?${q({ fields: FIELDS })}`,
        z.object({ order: HeldOrder }),
        "order",
      );
      return got ? (ours(got.order, record.key)?.id ?? null) : null;
    },
    // Per shipment: the order (found by its link, else by number), the fulfilment and the shipment.
    estimateCalls: (page) => toWrite(page).length * 3 + page.lookups.length * 2,
  };
}
