import { SyncError } from "../../../core/errors.ts";
import type { Shipment } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { TrytonRow } from "../client.ts";
import { changedAt, isoDateOf, isoOf } from "../codec.ts";
import { afterPrefix, type TrytonContext } from "../context.ts";
import { documentRef, REPORTS, reportFormat } from "../document.ts";
import { ids, num, str } from "../fields.ts";
import { changedRecords, recordOfKey } from "../paging.ts";

export interface ShipmentNative {
  shipment: TrytonRow;
  sale: TrytonRow | undefined;
  lines: { sku: string; quantity: number }[];
  changedAt: string;
  /** The format the delivery note report renders in (its document is named when "pdf"). */
  format: string;
}

/** The document ref of a shipment's delivery note (served by the connection's `document`). */
export function shipmentDocumentRef(ctx: TrytonContext, shipmentId: number): string {
  return `${ctx.name}:stock.shipment.out/${shipmentId}`;
}

/** Shipped customer shipments that carry a tracking reference. */
const DOMAIN = [
  ["state", "=", "done"],
  ["reference", "!=", null],
  ["reference", "!=", ""],
];
const FIELDS = [
  "number",
  "reference",
  "state",
  "effective_date",
  "outgoing_moves",
  "write_date",
  "create_date",
];

/**
 * Done stock.shipment.out records. Tryton 6.0 without the package-shipping modules has no carrier
 * tracking field, so the tracking number is the shipment's `reference` (several separated by commas or
 * spaces). The order is the sale whose shipments include it; its `reference` is the shop's order key.
 * The document is the shipment's delivery note (Tryton's `stock.shipment.out.delivery_note` report), named
 * when that report renders PDF; it is rendered when fetched (`passerelle document`), not here.
 */
export function shipmentStream(ctx: TrytonContext): Stream<"shipment", ShipmentNative> {
  const { client } = ctx;
  const formatOf = reportFormat(client, REPORTS["stock.shipment.out"].report);
  const load = async (shipmentIds: number[], signal?: AbortSignal): Promise<Map<number, ShipmentNative>> => {
    const format = await formatOf(signal);
    const shipments = await client.searchRead(
      "stock.shipment.out",
      [["id", "in", shipmentIds], ...DOMAIN],
      FIELDS,
      {
        signal,
      },
    );
    const moveIds = shipments.flatMap((s) => ids(s, "outgoing_moves"));
    const [moves, sales] = await Promise.all([
      client.read("stock.move", moveIds, ["product.code", "quantity", "state"], { signal }),
      client.searchRead(
        "sale.sale",
        [["shipments", "in", shipments.map((s) => s.id)]],
        ["reference", "number", "shipments"],
        {
          signal,
        },
      ),
    ]);
    const out = new Map<number, ShipmentNative>();
    for (const shipment of shipments) {
      const mine = new Set(ids(shipment, "outgoing_moves"));
      const qty = new Map<string, number>();
      for (const m of moves) {
        if (!mine.has(m.id) || m.state === "cancelled") continue;
        const code = (m["product."] as Record<string, unknown> | undefined)?.code;
        if (typeof code !== "string") continue;
        qty.set(code, (qty.get(code) ?? 0) + num(m, "quantity"));
      }
      out.set(shipment.id, {
        shipment,
        sale: sales.find((s) => ids(s, "shipments").includes(shipment.id)),
        lines: [...qty].flatMap(([sku, quantity]) =>
          quantity >= 1 ? [{ sku, quantity: Math.round(quantity) }] : [],
        ),
        changedAt: changedAt(shipment) ?? "1970-01-01T00:00:00.000Z",
        format,
      });
    }
    return out;
  };
  return {
    entity: "shipment",
    sorted: true,
    list: (req) =>
      changedRecords(
        client,
        [{ model: "stock.shipment.out", domain: DOMAIN, fields: [], parentsOf: (r) => [r.id] }],
        req,
        load,
      ),
    get: (key) => recordOfKey(key, load),
    idOf: (n) => String(n.shipment.id),
    updatedAtOf: (n) => n.changedAt,
    toCanonical(n): Shipment {
      const s = n.shipment;
      const number = str(s, "number") ?? String(s.id);
      const saleRef = str(n.sale, "reference");
      const saleNumber = str(n.sale, "number");
      if (!saleRef && !saleNumber) {
        throw new SyncError("data", `shipment ${number} (stock.shipment.out ${s.id}) belongs to no sale`, {
          system: ctx.name,
          field: "orderKey",
        });
      }
      const tracking = (str(s, "reference") ?? "").split(/[\s,;]+/).filter((t) => t.length > 0);
      const day = isoDateOf(s.effective_date);
      return {
        source: ctx.name,
        sourceId: String(s.id),
        updatedAt: n.changedAt,
        key: `${ctx.name}:${number}`,
        orderKey: saleRef ?? `${ctx.name}:${saleNumber}`,
        orderNumber: saleRef ? afterPrefix(saleRef) : (saleNumber as string),
        trackingNumbers: tracking,
        trackingUrls: [],
        lines: n.lines,
        shippedAt: day ? `${day}T00:00:00Z` : (isoOf(s.write_date) ?? n.changedAt),
        document: documentRef(shipmentDocumentRef(ctx, s.id), n.format),
      };
    },
  };
}
