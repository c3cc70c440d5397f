/**
 * Deliveries (DeliveryNotes) as shipments and A/R invoices (Invoices) as invoices, both tied to the shop's
 * order by NumAtCard: the order writer puts the shop order's key there, and B1 copies it onto the documents
 * based on the order. Only deliveries with a tracking number (TrackingNumber) are shipments to tell the shop
 * about; one without is read once it gets one (the change stamps it). Service Layer renders no PDF of an
 * invoice (the $metadata has no such function), so invoices carry no document.
 */
import { SyncError } from "../../../core/errors.ts";
import type { Invoice, Shipment } from "../../../core/model.ts";
import { minorUnits } from "../../../core/money.ts";
import type { Stream } from "../../../ports/connector.ts";
import { afterPrefix } from "../../price-lists.ts";
import type { SapB1Context } from "../context.ts";
import { type B1Row, listChanged, money } from "../paging.ts";
import { b1UpdatedAt } from "../time.ts";

const DOC_FIELDS = [
  "DocEntry",
  "DocNum",
  "DocDate",
  "CardCode",
  "NumAtCard",
  "DocCurrency",
  "DocTotal",
  "VatSum",
  "Cancelled",
  "UpdateDate",
  "UpdateTime",
  "DocumentLines",
] as const;

const iso = (d: unknown) => `${String(d ?? "1970-01-01").slice(0, 10)}T00:00:00Z`;

export function shipmentStream(ctx: SapB1Context): Stream<"shipment", B1Row> {
  const select = [...DOC_FIELDS, "TrackingNumber"];
  const where = "NumAtCard ne null and TrackingNumber ne null and Cancelled eq 'tNO'";
  return {
    entity: "shipment",
    sorted: true,
    list: (req) => listChanged(ctx, { set: "DeliveryNotes", key: "DocEntry", select, where }, req),
    async get(id) {
      if (!/^\d+$/.test(id)) return null;
      return ctx.client.get("DeliveryNotes", Number(id), select);
    },
    idOf: (row) => String(row.DocEntry),
    updatedAtOf: b1UpdatedAt,
    toCanonical(row): Shipment {
      const orderKey = typeof row.NumAtCard === "string" ? row.NumAtCard : "";
      const tracking = typeof row.TrackingNumber === "string" ? row.TrackingNumber.trim() : "";
      if (!orderKey || !tracking) {
        throw new SyncError(
          "data",
          `delivery ${String(row.DocNum)} has no ${orderKey ? "TrackingNumber" : "NumAtCard"}`,
          {
            system: ctx.name,
            field: orderKey ? "TrackingNumber" : "NumAtCard",
          },
        );
      }
      const lines = (Array.isArray(row.DocumentLines) ? (row.DocumentLines as B1Row[]) : [])
        .filter((l) => typeof l.ItemCode === "string" && typeof l.Quantity === "number" && l.Quantity > 0)
        .map((l) => ({ sku: String(l.ItemCode), quantity: Math.round(l.Quantity as number) }));
      return {
        source: ctx.name,
        sourceId: String(row.DocEntry),
        updatedAt: b1UpdatedAt(row),
        key: `${ctx.name}:${String(row.DocNum)}`,
        orderKey,
        orderNumber: afterPrefix(orderKey),
        trackingNumbers: tracking.split(/[,;\s]+/).filter(Boolean),
        trackingUrls: [],
        lines,
        shippedAt: iso(row.DocDate),
      };
    },
  };
}

export function invoiceStream(ctx: SapB1Context): Stream<"invoice", B1Row> {
  return {
    entity: "invoice",
    sorted: true,
    list: (req) => listChanged(ctx, { set: "Invoices", key: "DocEntry", select: DOC_FIELDS }, req),
    async get(id) {
      if (!/^\d+$/.test(id)) return null;
      return ctx.client.get("Invoices", Number(id), DOC_FIELDS);
    },
    idOf: (row) => String(row.DocEntry),
    updatedAtOf: b1UpdatedAt,
    toCanonical(row): Invoice {
      const currency =
        typeof row.DocCurrency === "string" && /^[A-Z]{3}$/.test(row.DocCurrency)
          ? row.DocCurrency
          : ctx.config.currency;
      const digits = minorUnits(currency);
      return {
        source: ctx.name,
        sourceId: String(row.DocEntry),
        updatedAt: b1UpdatedAt(row),
        key: `${ctx.name}:${String(row.DocNum)}`,
        number: String(row.DocNum),
        kind: "invoice",
        ...(typeof row.NumAtCard === "string" && row.NumAtCard !== "" ? { orderKey: row.NumAtCard } : {}),
        currency,
        totalTax: money(row.VatSum, digits),
        total: money(row.DocTotal, digits),
        issuedAt: iso(row.DocDate),
      };
    },
  };
}
