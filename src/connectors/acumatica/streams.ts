/**
 * Reads: stock items (StockItem) as products with their default price, stock per warehouse
 * (StockItem.WarehouseDetails), and customers (Customer with MainContact and its address).
 *
 * The contract-based API has no `$orderby`: a list comes in the entity's key order, paged by `$top` and
 * `$skip`. An incremental read asks for the records changed since the cursor
 * (`LastModifiedDateTime ge datetimeoffset'…'` — inclusive, as the engine's cursor is), reads every page
 * of that set, and hands it on in (LastModifiedDateTime, key) order, so the streams are sorted and resume
 * from a cursor. Paging by `$skip` in key order while records change never loses one (a change does not
 * move a record in key order; an insert before the offset only repeats one, dropped here).
 *
 * Stock: Acumatica does not stamp the item when its stock moves (quantities live in the item-site
 * status, not the item), so no modified-date filter finds stock changes. The inventory stream is a
 * snapshot of every stock item's WarehouseDetails.QtyOnHand, each row stamped with the time it was read;
 * the engine compares it with what it holds.
 */
import { SyncError } from "../../core/errors.ts";
import type { Customer, InventoryLevelInput, Invoice, Price, Product } from "../../core/model.ts";
import { minorUnits } from "../../core/money.ts";
import type { ListRequest, Stream } from "../../ports/connector.ts";
import { afterPrefix } from "../price-lists.ts";
import { type AcuRow, literal, str, val } from "./client.ts";
import type { AcumaticaContext } from "./context.ts";

/** An Acumatica date-time (`2026-06-01T10:00:00.123+00:00`) as an ISO instant. */
export function isoOf(v: unknown): string {
  const t = typeof v === "string" ? Date.parse(v) : Number.NaN;
  return Number.isNaN(t) ? "1970-01-01T00:00:00.000Z" : new Date(t).toISOString();
}

/** `$filter` of the records changed at or after an ISO instant. */
export function changedSince(field: string, iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new RangeError(`not an ISO 8601 timestamp: ${JSON.stringify(iso)}`);
  return `${field} ge datetimeoffset'${new Date(t).toISOString()}'`;
}

interface Sorted {
  entity: string;
  key: (row: AcuRow) => string;
  stamp: string;
  expand?: readonly string[];
  keep?: (row: AcuRow) => boolean;
}

/** Records changed since the cursor, read in full and handed on sorted (see the module comment). */
async function* changed(ctx: AcumaticaContext, s: Sorted, req: ListRequest): AsyncGenerator<AcuRow[]> {
  const seen = new Map<string, AcuRow>();
  for await (const rows of ctx.client.pages(s.entity, {
    ...(req.since ? { filter: changedSince(s.stamp, req.since.updatedAt) } : {}),
    ...(s.expand ? { expand: s.expand } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  })) {
    for (const r of rows) if (!s.keep || s.keep(r)) seen.set(s.key(r), r);
  }
  const all = [...seen.values()].sort((a, b) => {
    const x = isoOf(val(a, s.stamp));
    const y = isoOf(val(b, s.stamp));
    if (x !== y) return x < y ? -1 : 1;
    return s.key(a) < s.key(b) ? -1 : s.key(a) > s.key(b) ? 1 : 0;
  });
  for (let i = 0; i < all.length; i += req.pageSize) yield all.slice(i, i + req.pageSize);
}

const itemId = (row: AcuRow) => String(val(row, "InventoryID"));

export function productStream(ctx: AcumaticaContext): Stream<"product", AcuRow> {
  return {
    entity: "product",
    sorted: true,
    list: (req) => changed(ctx, { entity: "StockItem", key: itemId, stamp: "LastModifiedDateTime" }, req),
    get: (id) => ctx.client.first("StockItem", { filter: `InventoryID eq ${literal(id)}` }),
    idOf: itemId,
    updatedAtOf: (row) => isoOf(val(row, "LastModifiedDateTime")),
    toCanonical(row): Product {
      const sku = itemId(row);
      const currency = ctx.config.currency;
      const price = val(row, "DefaultPrice");
      const status = str(row, "ItemStatus");
      return {
        source: ctx.name,
        sourceId: sku,
        updatedAt: isoOf(val(row, "LastModifiedDateTime")),
        key: sku,
        title: str(row, "Description") ?? sku,
        status: status === "Active" || status === "No Sales" ? "active" : "archived",
        currency,
        categoryPath: [],
        attributes: {},
        images: [],
        components: [],
        variants: [
          {
            sku,
            price: (typeof price === "number" ? price : 0).toFixed(minorUnits(currency)),
            options: {},
          },
        ],
      };
    },
  };
}

/** One warehouse row of one stock item, and when it was read. */
export interface AcuStockRow {
  item: AcuRow;
  warehouse: AcuRow;
  at: string;
}

export function inventoryStream(ctx: AcumaticaContext): Stream<"inventory", AcuStockRow> {
  const only = ctx.config.warehouses ? new Set(ctx.config.warehouses) : null;
  const rowsOf = (item: AcuRow, at: string): AcuStockRow[] =>
    (Array.isArray(item.WarehouseDetails) ? (item.WarehouseDetails as AcuRow[]) : [])
      .filter((w) => {
        const id = str(w, "WarehouseID");
        return id !== undefined && (!only || only.has(id));
      })
      .sort((a, b) => (String(val(a, "WarehouseID")) < String(val(b, "WarehouseID")) ? -1 : 1))
      .map((warehouse) => ({ item, warehouse, at }));
  const idOf = (r: AcuStockRow) => `${itemId(r.item)}@${String(val(r.warehouse, "WarehouseID"))}`;
  return {
    entity: "inventory",
    // A snapshot (see the module comment): no order a cursor could resume in.
    sorted: false,
    async *list(req) {
      const at = new Date().toISOString();
      for await (const items of ctx.client.pages(
        "StockItem",
        { expand: ["WarehouseDetails"], ...(req.signal ? { signal: req.signal } : {}) },
        Math.max(1, Math.min(ctx.config.pageSize, Math.floor(req.pageSize / Math.max(1, only?.size ?? 2)))),
      )) {
        const rows = items.flatMap((i) => rowsOf(i, at));
        for (let i = 0; i < rows.length; i += req.pageSize) yield rows.slice(i, i + req.pageSize);
      }
    },
    async get(id) {
      const cut = id.lastIndexOf("@");
      if (cut <= 0) return null;
      const item = await ctx.client.first("StockItem", {
        filter: `InventoryID eq ${literal(id.slice(0, cut))}`,
        expand: ["WarehouseDetails"],
      });
      const at = new Date().toISOString();
      return item ? (rowsOf(item, at).find((r) => idOf(r) === id) ?? null) : null;
    },
    idOf,
    updatedAtOf: (r) => r.at,
    toCanonical(r): InventoryLevelInput {
      const sku = itemId(r.item);
      const location = String(val(r.warehouse, "WarehouseID"));
      const qty = val(r.warehouse, "QtyOnHand");
      return {
        source: ctx.name,
        sourceId: `${sku}@${location}`,
        updatedAt: r.at,
        key: `${sku}@${location}`,
        sku,
        location,
        onHand: Math.trunc(typeof qty === "number" ? qty : 0),
        // WarehouseDetails carries no allocated quantity (InventorySummaryInquiry would; see the docs).
        reserved: 0,
        safetyStock: 0,
      };
    },
  };
}

export const CUSTOMER_EXPAND = ["MainContact", "MainContact/Address"] as const;
const customerId = (row: AcuRow) => String(val(row, "CustomerID"));
const emailOf = (row: AcuRow) => str(row.MainContact as AcuRow, "Email")?.toLowerCase();

export function customerOf(ctx: Pick<AcumaticaContext, "name" | "config">, row: AcuRow): Customer {
  const email = emailOf(row);
  if (!email) {
    throw new SyncError("data", `customer ${customerId(row)} has no e-mail`, {
      system: ctx.name,
      field: "MainContact.Email",
    });
  }
  const contact = row.MainContact as AcuRow;
  const address = contact?.Address as AcuRow | undefined;
  const cls = str(row, "CustomerClass");
  const group = Object.entries(ctx.config.customerClasses).find(([, c]) => c === cls)?.[0] ?? cls;
  const line1 = str(address, "AddressLine1");
  const city = str(address, "City");
  const country = str(address, "Country");
  const first = str(contact, "FirstName");
  const last = str(contact, "LastName") ?? str(row, "CustomerName") ?? customerId(row);
  return {
    source: ctx.name,
    sourceId: customerId(row),
    updatedAt: isoOf(val(row, "LastModifiedDateTime")),
    key: email,
    email,
    ...(first ? { firstName: first } : {}),
    lastName: last,
    ...(str(contact, "Phone1") ? { phone: str(contact, "Phone1") } : {}),
    ...(group ? { group } : {}),
    addresses:
      line1 && city && country
        ? [
            {
              type: "both",
              line1,
              city,
              country,
              ...(str(address, "AddressLine2") ? { line2: str(address, "AddressLine2") } : {}),
              ...(str(address, "PostalCode") ? { postalCode: str(address, "PostalCode") } : {}),
              ...(str(address, "State") ? { region: str(address, "State") } : {}),
            },
          ]
        : [],
  };
}

export function customerStream(ctx: AcumaticaContext): Stream<"customer", AcuRow> {
  return {
    entity: "customer",
    sorted: true,
    list: (req) =>
      changed(
        ctx,
        {
          entity: "Customer",
          key: customerId,
          stamp: "LastModifiedDateTime",
          expand: CUSTOMER_EXPAND,
          keep: (r) => emailOf(r) !== undefined,
        },
        req,
      ),
    async get(id) {
      const row = await ctx.client.first("Customer", {
        filter: `CustomerID eq ${literal(id)}`,
        expand: CUSTOMER_EXPAND,
      });
      return row && emailOf(row) ? row : null;
    },
    idOf: customerId,
    updatedAtOf: (row) => isoOf(val(row, "LastModifiedDateTime")),
    toCanonical: (row) => customerOf(ctx, row),
  };
}

/**
 * Shipments (Shipment with its Packages, Orders and Details) that have a tracking number and are confirmed,
 * tied to the shop's order through the sales order they ship: the order writer puts the shop order's key in
 * the sales order's CustomerOrder, read here (one lookup per sales order, remembered for the read).
 */
export function shipmentStream(ctx: AcumaticaContext): Stream<"shipment", AcuRow> {
  const expand = ["Packages", "Orders", "Details"] as const;
  const shipped = new Set(["Confirmed", "Completed", "Invoiced", "Released"]);
  const tracking = (row: AcuRow) =>
    (Array.isArray(row.Packages) ? (row.Packages as AcuRow[]) : [])
      .map((p) => str(p, "TrackingNbr"))
      .filter((t): t is string => t !== undefined);
  const keep = (row: AcuRow) => shipped.has(str(row, "Status") ?? "") && tracking(row).length > 0;
  const nbr = (row: AcuRow) => String(val(row, "ShipmentNbr"));
  const refs = new Map<string, Promise<string | undefined>>();
  const orderRef = (type: string, orderNbr: string) => {
    const k = `${type}/${orderNbr}`;
    let p = refs.get(k);
    if (!p) {
      p = ctx.client
        .first("SalesOrder", {
          filter: `OrderType eq ${literal(type)} and OrderNbr eq ${literal(orderNbr)}`,
          select: ["OrderType", "OrderNbr", "CustomerOrder"],
        })
        .then((o) => (o ? str(o, "CustomerOrder") : undefined));
      refs.set(k, p);
    }
    return p;
  };
  return {
    entity: "shipment",
    sorted: true,
    list: (req) =>
      changed(ctx, { entity: "Shipment", key: nbr, stamp: "LastModifiedDateTime", expand, keep }, req),
    async get(id) {
      const row = await ctx.client.first("Shipment", { filter: `ShipmentNbr eq ${literal(id)}`, expand });
      return row && keep(row) ? row : null;
    },
    idOf: nbr,
    updatedAtOf: (row) => isoOf(val(row, "LastModifiedDateTime")),
    async toCanonical(row) {
      const [first] = Array.isArray(row.Orders) ? (row.Orders as AcuRow[]) : [];
      const orderKey = first
        ? await orderRef(str(first, "OrderType") ?? ctx.config.orderType, String(val(first, "OrderNbr")))
        : undefined;
      if (!orderKey) {
        throw new SyncError("data", `shipment ${nbr(row)} ships no sales order with a CustomerOrder`, {
          system: ctx.name,
          field: "Orders.CustomerOrder",
        });
      }
      return {
        source: ctx.name,
        sourceId: nbr(row),
        updatedAt: isoOf(val(row, "LastModifiedDateTime")),
        key: `${ctx.name}:${nbr(row)}`,
        orderKey,
        orderNumber: afterPrefix(orderKey),
        trackingNumbers: tracking(row),
        trackingUrls: [],
        lines: (Array.isArray(row.Details) ? (row.Details as AcuRow[]) : [])
          .filter((d) => typeof val(d, "ShippedQty") === "number" && (val(d, "ShippedQty") as number) > 0)
          .map((d) => ({
            sku: String(val(d, "InventoryID")),
            quantity: Math.round(val(d, "ShippedQty") as number),
          })),
        shippedAt: isoOf(val(row, "ShipmentDate")),
      };
    },
  };
}

/**
 * Sales invoices (SalesInvoice of type Invoice, released or open) with their totals in the document's
 * currency, tied to the shop order by CustomerOrder: Acumatica copies the sales order's CustomerOrder onto
 * the invoice prepared from it. The contract-based API renders no PDF of an invoice: none is carried.
 */
export function invoiceStream(ctx: AcumaticaContext): Stream<"invoice", AcuRow> {
  const ref = (row: AcuRow) => String(val(row, "ReferenceNbr"));
  const keep = (row: AcuRow) =>
    str(row, "Type") === "Invoice" && ["Open", "Closed", "Balanced"].includes(str(row, "Status") ?? "");
  return {
    entity: "invoice",
    sorted: true,
    list: (req) =>
      changed(ctx, { entity: "SalesInvoice", key: ref, stamp: "LastModifiedDateTime", keep }, req),
    async get(id) {
      const row = await ctx.client.first("SalesInvoice", {
        filter: `Type eq 'Invoice' and ReferenceNbr eq ${literal(id)}`,
      });
      return row && keep(row) ? row : null;
    },
    idOf: ref,
    updatedAtOf: (row) => isoOf(val(row, "LastModifiedDateTime")),
    toCanonical(row): Invoice {
      const c = str(row, "Currency");
      const currency = c && /^[A-Z]{3}$/.test(c) ? c : ctx.config.currency;
      const digits = minorUnits(currency);
      const num = (f: string) =>
        (typeof val(row, f) === "number" ? (val(row, f) as number) : 0).toFixed(digits);
      const orderKey = str(row, "CustomerOrder");
      return {
        source: ctx.name,
        sourceId: ref(row),
        updatedAt: isoOf(val(row, "LastModifiedDateTime")),
        key: `${ctx.name}:${ref(row)}`,
        number: ref(row),
        kind: "invoice",
        ...(orderKey ? { orderKey } : {}),
        currency,
        totalTax: num("TaxTotal"),
        total: num("Amount"),
        issuedAt: isoOf(val(row, "Date")),
      };
    },
  };
}

/** One item's prices in one customer price class: its base row and its quantity breaks. */
export interface AcuPriceRow {
  priceClass: string;
  sku: string;
  base: AcuRow;
  breaks: AcuRow[];
  at: string;
}

/**
 * Customer-group prices: for each configured customer price class, the Sales Prices inquiry
 * (`PUT SalesPricesInquiry?$expand=SalesPriceDetails` with PriceType Customer Price Class and the class as
 * PriceCode) answers every price row of the class. The rows in effect now are grouped per item: the row
 * without a break quantity is the price, rows with one (≥ 2) its tiers; the group's stamp is the latest
 * LastModifiedDateTime of its rows. The inquiry takes no modified-date filter: each read asks for the whole
 * class and keeps the groups changed since the cursor, sorted by (stamp, id).
 */
export function priceStream(ctx: AcumaticaContext): Stream<"price", AcuPriceRow> {
  const classes = new Map(ctx.config.priceClasses.map((c) => [c.priceClass, c]));
  const inquiry = async (priceClass: string, sku?: string, signal?: AbortSignal): Promise<AcuPriceRow[]> => {
    const answer = await ctx.client.inquire(
      "SalesPricesInquiry",
      {
        PriceType: { value: "Customer Price Class" },
        PriceCode: { value: priceClass },
        ...(sku ? { InventoryID: { value: sku } } : {}),
      },
      ["SalesPriceDetails"],
      signal,
    );
    const now = Date.now();
    const live = (
      Array.isArray(answer.SalesPriceDetails) ? (answer.SalesPriceDetails as AcuRow[]) : []
    ).filter((r) => {
      const from = Date.parse(String(val(r, "EffectiveDate") ?? ""));
      const to = Date.parse(String(val(r, "ExpirationDate") ?? ""));
      return (
        str(r, "PriceCode") === priceClass &&
        str(r, "InventoryID") !== undefined &&
        typeof val(r, "Price") === "number" &&
        (Number.isNaN(from) || from <= now) &&
        (Number.isNaN(to) || to >= now)
      );
    });
    const groups = new Map<string, AcuRow[]>();
    for (const r of live) {
      const k = String(str(r, "InventoryID"));
      groups.set(k, [...(groups.get(k) ?? []), r]);
    }
    const out: AcuPriceRow[] = [];
    for (const [item, rows] of groups) {
      const qty = (r: AcuRow) => Number(val(r, "BreakQty") ?? 0);
      const base = rows
        .filter((r) => qty(r) <= 1)
        .sort((a, b) => (String(val(a, "EffectiveDate")) < String(val(b, "EffectiveDate")) ? 1 : -1))[0];
      if (!base) continue;
      const at = rows
        .map((r) => isoOf(val(r, "LastModifiedDateTime")))
        .sort()
        .at(-1) as string;
      out.push({ priceClass, sku: item, base, breaks: rows.filter((r) => qty(r) >= 2), at });
    }
    return out;
  };
  const idOf = (r: AcuPriceRow) => `${r.priceClass}:${r.sku}`;
  return {
    entity: "price",
    sorted: true,
    async *list(req) {
      const all: AcuPriceRow[] = [];
      for (const c of classes.keys()) all.push(...(await inquiry(c, undefined, req.signal)));
      const since = req.since?.updatedAt;
      const kept = all
        .filter((r) => !since || r.at >= new Date(since).toISOString())
        .sort((a, b) => (a.at !== b.at ? (a.at < b.at ? -1 : 1) : idOf(a) < idOf(b) ? -1 : 1));
      for (let i = 0; i < kept.length; i += req.pageSize) yield kept.slice(i, i + req.pageSize);
    },
    async get(id) {
      const cut = id.indexOf(":");
      if (cut <= 0 || !classes.has(id.slice(0, cut))) return null;
      const rows = await inquiry(id.slice(0, cut), id.slice(cut + 1));
      return rows.find((r) => idOf(r) === id) ?? null;
    },
    idOf,
    updatedAtOf: (r) => r.at,
    toCanonical(r): Price {
      const c = classes.get(r.priceClass);
      if (!c) {
        throw new SyncError("data", `price class ${r.priceClass} is not configured`, {
          system: ctx.name,
          field: "priceClasses",
        });
      }
      const cur = str(r.base, "CurrencyID");
      const currency = cur && /^[A-Z]{3}$/.test(cur) ? cur : ctx.config.currency;
      const digits = minorUnits(currency);
      const code = c.code ?? c.priceClass;
      const from = str(r.base, "EffectiveDate");
      const to = str(r.base, "ExpirationDate");
      return {
        source: ctx.name,
        sourceId: idOf(r),
        updatedAt: r.at,
        key: `${code}:${r.sku}`,
        priceList: { code, name: c.name ?? code, customerGroup: c.customerGroup, currency },
        sku: r.sku,
        price: (val(r.base, "Price") as number).toFixed(digits),
        tiers: r.breaks
          .map((b) => ({
            minQuantity: Math.round(Number(val(b, "BreakQty"))),
            price: (val(b, "Price") as number).toFixed(digits),
          }))
          .sort((a, b) => a.minQuantity - b.minQuantity),
        ...(from ? { validFrom: isoOf(from).slice(0, 10) } : {}),
        ...(to ? { validTo: isoOf(to).slice(0, 10) } : {}),
      };
    },
  };
}
