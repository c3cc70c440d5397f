/**
 * Shipments: outbound deliveries (A_OutbDeliveryHeader of API_OUTBOUND_DELIVERY_SRV, items through
 * to_DeliveryDocumentItem) of the sales orders the order writer wrote. A delivery item names its sales order
 * (ReferenceSDDocument, category C); the sales orders of a page are read in one call of API_SALES_ORDER_SRV
 * and their PurchaseOrderByCustomer gives the shop order's key (shop-ref.ts). Deliveries of orders no shop
 * placed are left out.
 *
 * Tracking: the service has no tracking-number field. The header's BillOfLading — the carrier's document
 * number of the shipment, 35 characters — is read as the tracking number; a delivery is a shipment to tell
 * the shop about once its goods issue is posted (OverallGoodsMovementStatus C) and a bill of lading is
 * entered. The carrier is not read (the service names it only as a partner number, function SP). No PDF of a
 * delivery note is offered by the service.
 *
 * Incremental on LastChangeDate: the header has no change timestamp, only the day of its last change
 * (Edm.DateTime, a day in the system's time zone), empty until the first change after the creation — posting
 * the goods issue is one, so every shipped delivery has it. A day-stamp cannot order the changes within the
 * day, so a delivery's updatedAt is the latest instant that day can end in any time zone (the next day, 12:00
 * UTC): the engine's cursor stays before it until that day is over everywhere, and a day's deliveries are read
 * again until then (unchanged ones are skipped downstream).
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { Shipment } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import { afterPrefix } from "../../price-lists.ts";
import type { S4Row } from "../client.ts";
import type { S4HanaContext } from "../context.ts";
import { fromV2Date, literal } from "../odata.ts";
import { shopRefOf } from "./shop-ref.ts";

const OD = "API_OUTBOUND_DELIVERY_SRV" as const;
const DAY = 86_400_000;
/** From the start of a day to the latest instant it ends in any time zone (UTC−12: the next day, 12:00 UTC). */
const DAY_END = DAY + 12 * 3_600_000;

export const DELIVERY_SELECT = [
  "DeliveryDocument",
  "SalesOrganization",
  "BillOfLading",
  "OverallGoodsMovementStatus",
  "ActualGoodsMovementDate",
  "ActualGoodsMovementTime",
  "LastChangeDate",
  "to_DeliveryDocumentItem/DeliveryDocumentItem",
  "to_DeliveryDocumentItem/Material",
  "to_DeliveryDocumentItem/ActualDeliveryQuantity",
  "to_DeliveryDocumentItem/ReferenceSDDocument",
  "to_DeliveryDocumentItem/ReferenceSDDocumentCategory",
] as const;
const EXPAND = ["to_DeliveryDocumentItem"] as const;

/** A delivery with the PurchaseOrderByCustomer of each sales order its items name. */
export type DeliveryRow = S4Row & { shopRefs: Record<string, string> };

const results = (v: unknown): S4Row[] =>
  Array.isArray((v as { results?: unknown } | null)?.results) ? (v as { results: S4Row[] }).results : [];

const salesOrdersOf = (row: S4Row): string[] => [
  ...new Set(
    results(row.to_DeliveryDocumentItem)
      .filter((it) => it.ReferenceSDDocumentCategory === "C" && typeof it.ReferenceSDDocument === "string")
      .map((it) => it.ReferenceSDDocument as string)
      .filter((s) => s !== ""),
  ),
];

/** The delivery's updatedAt: the end of its LastChangeDate (see the header). */
export function deliveryUpdatedAt(row: S4Row): string {
  const day = fromV2Date(row.LastChangeDate);
  return new Date(Date.parse(day ?? "1970-01-01T00:00:00.000Z") + DAY_END).toISOString();
}

/** The `$filter` of shipped deliveries with a bill of lading, changed on or after the cursor's day. */
export function deliveryFilter(ctx: S4HanaContext, since: string | null): string {
  const parts = [
    `SalesOrganization eq ${literal(ctx.config.salesOrganization)}`,
    "OverallGoodsMovementStatus eq 'C'",
    "BillOfLading ne ''",
    "LastChangeDate ne null",
  ];
  if (since) {
    const day = new Date(Math.ceil((Date.parse(since) - DAY_END) / DAY) * DAY).toISOString().slice(0, 19);
    parts.push(`LastChangeDate ge datetime'${day}'`);
  }
  return parts.join(" and ");
}

/** The ISO instant of an Edm.DateTime day and an Edm.Time (`PT14H05M00S`), read as UTC. */
function instantOf(day: unknown, time: unknown): string | null {
  const d = fromV2Date(day);
  if (!d) return null;
  const m = typeof time === "string" ? /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.\d+)?S)?$/.exec(time) : null;
  const ms = m ? (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60_000 + Number(m[3] ?? 0) * 1000 : 0;
  return new Date(Date.parse(d) + ms).toISOString();
}

export function shipmentOf(ctx: S4HanaContext, row: DeliveryRow): Shipment {
  const id = String(row.DeliveryDocument);
  const fail = (message: string, field: string): never => {
    throw new SyncError("data", `delivery ${id}: ${message}`, { system: ctx.name, field });
  };
  const keys = new Set<string>();
  for (const so of salesOrdersOf(row)) {
    const ref = shopRefOf(row.shopRefs[so]);
    if (ref?.kind === "shortened")
      fail(
        `sales order ${so} carries a shortened shop reference (${ref.value}); the shop order's key cannot be read back`,
        "PurchaseOrderByCustomer",
      );
    if (ref?.kind === "key") keys.add(ref.key);
  }
  if (keys.size === 0) fail("no item refers to a sales order of a shop order", "ReferenceSDDocument");
  if (keys.size > 1)
    fail(
      `its items fulfil several shop orders (${[...keys].join(", ")}); one shipment names one order`,
      "ReferenceSDDocument",
    );
  const tracking = typeof row.BillOfLading === "string" ? row.BillOfLading.trim() : "";
  if (!tracking) fail("no bill of lading (BillOfLading) is entered", "BillOfLading");
  if (row.OverallGoodsMovementStatus !== "C")
    fail("its goods issue is not posted", "OverallGoodsMovementStatus");
  const shippedAt = instantOf(row.ActualGoodsMovementDate, row.ActualGoodsMovementTime);
  if (!shippedAt) fail("no actual goods movement date", "ActualGoodsMovementDate");
  const orderKey = [...keys][0] as string;
  const lines = results(row.to_DeliveryDocumentItem)
    .filter((it) => typeof it.Material === "string" && it.Material !== "")
    .map((it) => ({ sku: String(it.Material), qty: new Big(String(it.ActualDeliveryQuantity ?? "0")) }))
    .filter((l) => l.qty.gt(0))
    .map((l) => {
      if (!l.qty.round(0, Big.roundDown).eq(l.qty))
        fail(
          `${l.sku} is delivered in a fraction (${l.qty.toString()}); shop lines count whole units`,
          "ActualDeliveryQuantity",
        );
      return { sku: l.sku, quantity: l.qty.toNumber() };
    });
  return {
    source: ctx.name,
    sourceId: id,
    updatedAt: deliveryUpdatedAt(row),
    key: `${ctx.name}:${id}`,
    orderKey,
    orderNumber: afterPrefix(orderKey),
    trackingNumbers: [tracking],
    trackingUrls: [],
    lines,
    shippedAt: shippedAt as string,
  };
}

export function shipmentStream(ctx: S4HanaContext): Stream<"shipment", DeliveryRow> {
  /** The page's deliveries with their sales orders' references; those of no shop order are left out. */
  const withRefs = async (rows: S4Row[], signal?: AbortSignal): Promise<DeliveryRow[]> => {
    const orders = [...new Set(rows.flatMap(salesOrdersOf))];
    const refs: Record<string, string> = {};
    if (orders.length > 0) {
      for await (const page of ctx.client.list("API_SALES_ORDER_SRV", "A_SalesOrder", {
        filter: orders.map((o) => `SalesOrder eq ${literal(o)}`).join(" or "),
        select: ["SalesOrder", "PurchaseOrderByCustomer"],
        pageSize: Math.max(orders.length, 1),
        ...(signal ? { signal } : {}),
      }))
        for (const so of page)
          if (typeof so.PurchaseOrderByCustomer === "string")
            refs[String(so.SalesOrder)] = so.PurchaseOrderByCustomer;
    }
    return rows
      .map((r) => ({ ...r, shopRefs: refs }) as DeliveryRow)
      .filter((r) => salesOrdersOf(r).some((so) => shopRefOf(refs[so]) !== null));
  };
  return {
    entity: "shipment",
    sorted: true,
    async *list(req) {
      for await (const page of ctx.client.list(OD, "A_OutbDeliveryHeader", {
        filter: deliveryFilter(ctx, req.since?.updatedAt ?? null),
        orderby: "LastChangeDate asc,DeliveryDocument asc",
        select: DELIVERY_SELECT,
        expand: EXPAND,
        pageSize: Math.max(1, Math.min(req.pageSize, ctx.config.pageSize)),
        ...(req.signal ? { signal: req.signal } : {}),
      })) {
        const rows = await withRefs(page, req.signal);
        if (rows.length > 0) yield rows;
      }
    },
    async get(id) {
      const row = await ctx.client.get(OD, "A_OutbDeliveryHeader", id, {
        select: DELIVERY_SELECT,
        expand: EXPAND,
      });
      if (!row) return null;
      return (await withRefs([row]))[0] ?? null;
    },
    idOf: (row) => String(row.DeliveryDocument),
    updatedAtOf: deliveryUpdatedAt,
    toCanonical: (row) => shipmentOf(ctx, row),
  };
}
