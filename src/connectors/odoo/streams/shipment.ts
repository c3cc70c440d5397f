import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Shipment } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import { afterPrefix, type OdooContext } from "../context.ts";
import { many2one, num, str, uniq } from "../fields.ts";
import { keysetPages } from "../paging.ts";
import { odooToIso } from "../time.ts";

export interface ShipmentNative {
  picking: OdooRow;
  order: OdooRow | undefined;
  moves: { sku: string | undefined; quantity: number }[];
}

const FIELDS = [
  "name",
  "origin",
  "sale_id",
  "carrier_tracking_ref",
  "carrier_id",
  "carrier_tracking_url",
  "date_done",
];
// Only deliveries that left with a tracking number are news for the shop.
const BASE = [
  ["picking_type_code", "=", "outgoing"],
  ["state", "=", "done"],
  ["carrier_tracking_ref", "!=", false],
];

const TrackerPairs = z.array(z.tuple([z.unknown(), z.string()]).rest(z.unknown()));

/**
 * The links in stock.picking's computed carrier_tracking_url (delivery.carrier.get_tracking_link): one URL,
 * or, when the carrier shipped several parcels, a JSON list of [tracking ref, URL] pairs (what Odoo's own
 * get_multiple_carrier_tracking parses). Anything that is not an http(s) URL is left out rather than sent.
 */
export function trackingUrls(value: string | undefined): string[] {
  if (!value) return [];
  let candidates: string[] = [value];
  if (value.trimStart().startsWith("[")) {
    try {
      const pairs = TrackerPairs.safeParse(JSON.parse(value));
      candidates = pairs.success ? pairs.data.map((p) => p[1]) : [];
    } catch {
      candidates = [];
    }
  }
  return candidates.flatMap((c) => {
    try {
      const url = new URL(c.trim());
      return url.protocol === "https:" || url.protocol === "http:" ? [url.href] : [];
    } catch {
      return [];
    }
  });
}

/** Done outgoing pickings with tracking, tied to their sale order's canonical key. */
export function shipmentStream(ctx: OdooContext): Stream<"shipment", ShipmentNative> {
  const { client } = ctx;
  const enrich = async (pickings: OdooRow[], signal?: AbortSignal): Promise<ShipmentNative[]> => {
    const [moves, orders] = await Promise.all([
      client.searchRead(
        "stock.move",
        [["picking_id", "in", pickings.map((p) => p.id)]],
        ["picking_id", "product_id", "quantity", "product_uom_qty"],
        { order: "id asc", signal },
      ),
      client.read(
        "sale.order",
        uniq(pickings.map((p) => many2one(p, "sale_id")?.id)),
        ["name", "client_order_ref"],
        signal,
      ),
    ]);
    const products = await client.read(
      "product.product",
      uniq(moves.map((m) => many2one(m, "product_id")?.id)),
      ["default_code"],
      signal,
    );
    const sku = new Map(products.map((p) => [p.id, str(p, "default_code")]));
    const orderById = new Map(orders.map((o) => [o.id, o]));
    return pickings.map((picking) => ({
      picking,
      order: orderById.get(many2one(picking, "sale_id")?.id ?? 0),
      moves: moves
        .filter((m) => many2one(m, "picking_id")?.id === picking.id)
        .map((m) => ({
          sku: sku.get(many2one(m, "product_id")?.id ?? 0),
          quantity: num(m, "quantity") || num(m, "product_uom_qty"),
        })),
    }));
  };
  return {
    entity: "shipment",
    sorted: true,
    async *list(req) {
      for await (const page of keysetPages(client, "stock.picking", BASE, FIELDS, req)) {
        yield await enrich(page, req.signal);
      }
    },
    async get(id) {
      const rows = await client.searchRead(
        "stock.picking",
        [["id", "=", Number(id)], ...BASE],
        [...FIELDS, "write_date"],
      );
      return rows.length === 0 ? null : ((await enrich(rows))[0] ?? null);
    },
    idOf: (n) => String(n.picking.id),
    updatedAtOf: (n) => odooToIso(String(n.picking.write_date)),
    toCanonical({ picking, order, moves }): Shipment {
      const name = str(picking, "name") ?? String(picking.id);
      const orderName = (order && str(order, "name")) ?? str(picking, "origin");
      if (!orderName) {
        throw new SyncError("data", `stock.picking ${name} belongs to no sale order`, { field: "orderKey" });
      }
      const orderKey = (order && str(order, "client_order_ref")) ?? `${ctx.name}:${orderName}`;
      const tracking = (str(picking, "carrier_tracking_ref") ?? "")
        .split(",")
        .map((t) => t.trim())
        .filter((t) => t.length > 0);
      const carrier = many2one(picking, "carrier_id")?.name;
      return {
        source: ctx.name,
        sourceId: String(picking.id),
        updatedAt: odooToIso(String(picking.write_date)),
        key: `${ctx.name}:${name}`,
        orderKey,
        orderNumber: afterPrefix(orderKey),
        trackingNumbers: tracking,
        ...(carrier ? { carrier } : {}),
        trackingUrls: trackingUrls(str(picking, "carrier_tracking_url")),
        lines: moves.flatMap((m) =>
          m.sku && Number.isInteger(m.quantity) && m.quantity > 0
            ? [{ sku: m.sku, quantity: m.quantity }]
            : [],
        ),
        shippedAt: odooToIso(str(picking, "date_done") ?? String(picking.write_date)),
      };
    },
  };
}
