/**
 * The company behind the Acumatica emulator, kept as the contract-based API answers it: every field wrapped
 * (`{"value": ...}`), detail entities as arrays of rows, linked entities as nested objects, each record with
 * its `id` (the record's NoteID, a GUID) and the server's LastModifiedDateTime.
 *
 * Rules modelled (Acumatica's documented behaviour): PUT is an upsert — the record is found by its `id`, or
 * by its key fields (StockItem InventoryID, Customer CustomerID, SalesOrder OrderType + OrderNbr), and the
 * fields sent are merged into it, detail rows sent with an `id` updating that row and rows without one
 * added; a sales order with no OrderNbr is numbered by the server; the server stamps LastModifiedDateTime
 * on every change (SalesOrder calls it LastModified); sales order amounts are the server's — a line's
 * Amount from OrderQty × UnitPrice less its discount, TaxTotal from the tax rate (one rate for the
 * emulator's one tax zone), OrderTotal = lines + freight + tax — whatever the client sends; a sales order
 * is created on hold when Hold is sent true, and CancelSalesOrder cancels an open order (not a completed
 * one). Stock per warehouse is StockItem.WarehouseDetails.QtyOnHand; shipping an order takes its quantity
 * out and records the package's tracking number.
 */
import { randomUUID } from "node:crypto";
import { rng } from "../util.ts";

export type Wrapped = Record<string, unknown>;

export class AcuError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const TAX_RATE = 0.2;
/** The site's Countries table (Organization › Countries/States): an address must name one of them. */
export const COUNTRIES = new Set([
  "AT",
  "BE",
  "CA",
  "CH",
  "DE",
  "ES",
  "FR",
  "GB",
  "IE",
  "IT",
  "LU",
  "NL",
  "PT",
  "US",
]);
export const WAREHOUSES = ["MAIN", "RETAIL"] as const;

const w = (value: unknown) => ({ value });
export const val = (row: Wrapped | undefined, field: string): unknown =>
  (row?.[field] as { value?: unknown } | undefined)?.value;
const round2 = (n: number) => Math.round((n + Number.EPSILON * Math.sign(n)) * 100) / 100;

/** True for `{"value": ...}` (a field), false for a linked entity or a detail row. */
export const isField = (v: unknown): boolean =>
  typeof v === "object" &&
  v !== null &&
  !Array.isArray(v) &&
  Object.keys(v).every((k) => k === "value" || k === "error");

export type EntityName = "StockItem" | "Customer" | "SalesOrder" | "Shipment" | "SalesInvoice";

export const KEYS: Record<EntityName, string[]> = {
  StockItem: ["InventoryID"],
  Customer: ["CustomerID"],
  SalesOrder: ["OrderType", "OrderNbr"],
  Shipment: ["ShipmentNbr"],
  SalesInvoice: ["Type", "ReferenceNbr"],
};
/** The field each entity stamps its last change in. */
export const STAMP: Record<EntityName, string> = {
  StockItem: "LastModifiedDateTime",
  Customer: "LastModifiedDateTime",
  SalesOrder: "LastModified",
  Shipment: "LastModifiedDateTime",
  SalesInvoice: "LastModifiedDateTime",
};

export class AcumaticaData {
  readonly tables: Record<EntityName, Map<string, Wrapped>> = {
    StockItem: new Map(),
    Customer: new Map(),
    SalesOrder: new Map(),
    Shipment: new Map(),
    SalesInvoice: new Map(),
  };
  /** Sales prices (AR202000): one row per price type, price code, item and break quantity. */
  readonly salesPrices: Wrapped[] = [];
  #clock = 0;
  #priceSeq = 0;
  #orderSeq = 0;
  #shipSeq = 0;
  #invoiceSeq = 0;

  /** A strictly increasing server time, so two changes never share a stamp. */
  now(): string {
    const t = Math.max(Date.now(), this.#clock + 1);
    this.#clock = t;
    return new Date(t).toISOString().replace("Z", "+00:00");
  }

  seed(items: number, customers: number, seed: number): void {
    const r = rng(seed);
    for (let i = 1; i <= items; i++) {
      const price = round2(5 + r.int(0, 9500) / 100);
      this.upsert("StockItem", {
        InventoryID: w(`AC-${String(i).padStart(4, "0")}`),
        Description: w(`Item ${i}`),
        ItemStatus: w("Active"),
        ItemClass: w("STOCKITEM"),
        BaseUOM: w("EA"),
        DefaultPrice: w(price),
        WarehouseDetails: WAREHOUSES.map((wh) => ({
          WarehouseID: w(wh),
          QtyOnHand: w(r.int(0, 40)),
        })),
      });
    }
    for (const item of this.tables.StockItem.values()) {
      const sku = String(val(item, "InventoryID"));
      const base = Number(val(item, "DefaultPrice"));
      this.addSalesPrice({ PriceCode: "WHOLESALE", InventoryID: sku, Price: round2(base * 0.9) });
      if (this.salesPrices.length % 3 === 0)
        this.addSalesPrice({
          PriceCode: "WHOLESALE",
          InventoryID: sku,
          Price: round2(base * 0.8),
          BreakQty: 10,
        });
      this.addSalesPrice({ PriceCode: "RETAIL", InventoryID: sku, Price: round2(base * 1.05) });
    }
    for (let i = 1; i <= customers; i++) {
      this.upsert("Customer", {
        CustomerID: w(`C${String(i).padStart(6, "0")}`),
        CustomerName: w(`Seed Customer ${i}`),
        CustomerClass: w(i % 3 === 0 ? "WHOLESALE" : "DEFAULT"),
        Status: w("Active"),
        MainContact: {
          Email: w(`seed-${i}@example.com`),
          FirstName: w("Seed"),
          LastName: w(`Customer ${i}`),
          Address: {
            AddressLine1: w(`${i} Main Street`),
            City: w("Lyon"),
            PostalCode: w("69001"),
            Country: w("FR"),
          },
        },
      });
    }
  }

  /** A customer-price-class price, as the Sales Prices form (AR202000) saves it. */
  addSalesPrice(p: { PriceCode: string; InventoryID: string; Price: number; BreakQty?: number }): Wrapped {
    const at = this.now();
    const row: Wrapped = {
      id: randomUUID(),
      RecordID: w(++this.#priceSeq),
      PriceType: w("Customer Price Class"),
      PriceCode: w(p.PriceCode),
      InventoryID: w(p.InventoryID),
      Price: w(p.Price),
      CurrencyID: w("EUR"),
      UOM: w("EA"),
      BreakQty: w(p.BreakQty ?? 0),
      Promotion: w(false),
      EffectiveDate: w("2026-01-01T00:00:00+00:00"),
      CreatedDateTime: w(at),
      LastModifiedDateTime: w(at),
    };
    this.salesPrices.push(row);
    return row;
  }

  /** Changes a sales price's amount (the server stamps LastModifiedDateTime). */
  setSalesPrice(priceCode: string, sku: string, price: number): void {
    const row = this.salesPrices.find(
      (r) => val(r, "PriceCode") === priceCode && val(r, "InventoryID") === sku && val(r, "BreakQty") === 0,
    );
    if (!row) throw new AcuError(404, `no price ${priceCode} for ${sku}`);
    row.Price = w(price);
    row.LastModifiedDateTime = w(this.now());
  }

  /** The Sales Prices inquiry: the rows of the price type and code (and item) asked for, in RecordID order. */
  pricesInquiry(q: Wrapped): Wrapped[] {
    const type = val(q, "PriceType");
    const code = val(q, "PriceCode");
    const item = val(q, "InventoryID");
    return this.salesPrices.filter(
      (r) =>
        (type === undefined || type === "All Prices" || val(r, "PriceType") === type) &&
        (code === undefined || val(r, "PriceCode") === code) &&
        (item === undefined || val(r, "InventoryID") === item),
    );
  }

  keyOf(entity: EntityName, row: Wrapped): string | null {
    const parts = KEYS[entity].map((k) => val(row, k));
    return parts.every((p) => typeof p === "string" && p !== "") ? parts.join("/") : null;
  }

  find(entity: EntityName, body: Wrapped): Wrapped | null {
    const table = this.tables[entity];
    if (typeof body.id === "string") {
      for (const row of table.values()) if (row.id === body.id) return row;
      throw new AcuError(404, `No entity satisfies the condition: id ${body.id}`);
    }
    const key = this.keyOf(entity, body);
    return key ? (table.get(key) ?? null) : null;
  }

  /** PUT: the record found by id or key fields gets the fields sent; otherwise a new one. */
  upsert(entity: EntityName, body: Wrapped): Wrapped {
    const existing = this.find(entity, body);
    if (entity === "StockItem") this.#checkItem(body);
    if (entity === "Customer") this.#checkCustomer(body, existing);
    if (entity === "SalesOrder") this.#checkOrder(body, existing);
    const row: Wrapped = existing ?? { id: randomUUID(), note: w("") };
    if (!existing && entity === "SalesOrder") {
      row.OrderType = w("SO");
      row.OrderNbr = w(String(++this.#orderSeq).padStart(6, "0"));
      row.Status = w("Open");
      row.Hold = w(false);
      row.CurrencyID = w("EUR");
    }
    merge(row, body, entity === "SalesOrder" ? ["OrderType", "OrderNbr"] : []);
    // Customer.Email is the main contact's e-mail, shown on the customer (one field, two places).
    if (entity === "Customer") {
      row.MainContact ??= { id: randomUUID() };
      const contact = row.MainContact as Wrapped;
      if (body.Email !== undefined) contact.Email = { value: val(body, "Email") };
      if (val(contact, "Email") !== undefined) row.Email = { value: val(contact, "Email") };
    }
    if (entity === "SalesOrder") this.#price(row);
    row[STAMP[entity]] = w(this.now());
    if (!existing) {
      const key = this.keyOf(entity, row);
      if (!key) throw new AcuError(422, `${KEYS[entity].join(", ")} cannot be empty.`);
      this.tables[entity].set(key, row);
    }
    return row;
  }

  touch(entity: EntityName, key: string, fields: Wrapped = {}): void {
    const row = this.tables[entity].get(key);
    if (!row) throw new AcuError(404, `${entity} ${key} not found`);
    merge(row, fields, []);
    row[STAMP[entity]] = w(this.now());
  }

  #checkItem(body: Wrapped): void {
    const price = val(body, "DefaultPrice");
    if (price !== undefined && (typeof price !== "number" || price < 0))
      throw new AcuError(422, `DefaultPrice: the value ${String(price)} is not valid`);
  }

  #checkCustomer(body: Wrapped, existing: Wrapped | null): void {
    const country = val((body.MainContact as Wrapped | undefined)?.Address as Wrapped, "Country");
    if (country !== undefined && !COUNTRIES.has(String(country)))
      throw new AcuError(
        422,
        `MainContact.Address.Country: '${String(country)}' cannot be found in the system.`,
      );
    if (!existing && typeof val(body, "CustomerName") !== "string")
      throw new AcuError(422, "CustomerName: 'Customer Name' cannot be empty.");
  }

  #checkOrder(body: Wrapped, existing: Wrapped | null): void {
    if (!existing) {
      const customer = String(val(body, "CustomerID") ?? "");
      if (!this.tables.Customer.has(customer))
        throw new AcuError(422, `CustomerID: '${customer}' cannot be found in the system.`);
    } else if (val(existing, "Status") === "Canceled" || val(existing, "Status") === "Completed") {
      if (Object.keys(body).some((k) => k !== "id" && !KEYS.SalesOrder.includes(k)))
        throw new AcuError(
          422,
          `The document ${String(val(existing, "OrderNbr"))} is ${String(val(existing, "Status"))} and cannot be changed.`,
        );
    }
    for (const d of (body.Details as Wrapped[] | undefined) ?? []) {
      const sku = String(val(d, "InventoryID") ?? "");
      if (d.id === undefined && !this.tables.StockItem.has(sku))
        throw new AcuError(422, `Details.InventoryID: '${sku}' cannot be found in the system.`);
    }
  }

  /** The server's amounts of an order (see the module comment). */
  #price(row: Wrapped): void {
    let lines = 0;
    let qty = 0;
    for (const d of (row.Details as Wrapped[] | undefined) ?? []) {
      d.LineNbr ??= w(((row.Details as Wrapped[]).indexOf(d) + 1) as number);
      d.WarehouseID ??= w(WAREHOUSES[0]);
      const q = Number(val(d, "OrderQty") ?? 0);
      const price = Number(val(d, "UnitPrice") ?? 0);
      const ext = round2(q * price);
      const pct = Number(val(d, "DiscountPercent") ?? 0);
      const disc =
        val(d, "DiscountAmount") !== undefined && pct === 0
          ? Number(val(d, "DiscountAmount"))
          : round2((ext * pct) / 100);
      d.ExtendedPrice = w(ext);
      d.DiscountAmount = w(disc);
      d.Amount = w(round2(ext - disc));
      d.OpenQty ??= w(q);
      lines = round2(lines + ext - disc);
      qty += q;
    }
    const totals = (row.Totals as Wrapped | undefined) ?? {};
    const freight = val(totals, "OverrideFreightAmount") === true ? Number(val(totals, "Freight") ?? 0) : 0;
    const tax = round2((lines + freight) * TAX_RATE);
    row.Totals = { ...totals, LineTotalAmount: w(lines), Freight: w(freight), TaxTotal: w(tax) };
    row.TaxTotal = w(tax);
    row.OrderedQty = w(qty);
    row.OrderTotal = w(round2(lines + freight + tax));
    if (val(row, "Status") === "Open" || val(row, "Status") === "On Hold")
      row.Status = w(val(row, "Hold") === true ? "On Hold" : "Open");
  }

  cancel(orderId: string): void {
    const row = this.find("SalesOrder", { id: orderId });
    if (!row) throw new AcuError(404, "no such order");
    const status = val(row, "Status");
    if (status === "Completed" || status === "Shipping")
      throw new AcuError(
        422,
        `The order ${String(val(row, "OrderNbr"))} is ${String(status)} and cannot be canceled.`,
      );
    row.Status = w("Canceled");
    row.LastModified = w(this.now());
  }

  /** The warehouse ships an order in full with one package: stock goes out, the order completes. */
  ship(orderNbr: string, tracking: string): Wrapped {
    const order = this.tables.SalesOrder.get(`SO/${orderNbr}`);
    if (!order) throw new AcuError(404, `order ${orderNbr}`);
    const details = (order.Details as Wrapped[]) ?? [];
    for (const d of details) {
      const item = this.tables.StockItem.get(String(val(d, "InventoryID")));
      const wh = ((item?.WarehouseDetails as Wrapped[]) ?? []).find(
        (x) => val(x, "WarehouseID") === val(d, "WarehouseID"),
      );
      if (wh) wh.QtyOnHand = w(Number(val(wh, "QtyOnHand")) - Number(val(d, "OrderQty")));
    }
    order.Status = w("Completed");
    order.LastModified = w(this.now());
    const nbr = String(++this.#shipSeq).padStart(6, "0");
    return this.upsert("Shipment", {
      ShipmentNbr: w(nbr),
      Type: w("Shipment"),
      Status: w("Confirmed"),
      CustomerID: order.CustomerID,
      ShipmentDate: w(this.now()),
      WarehouseID: w(WAREHOUSES[0]),
      Orders: [{ OrderType: w("SO"), OrderNbr: w(orderNbr), ShipmentNbr: w(nbr) }],
      Details: details.map((d, i) => ({
        LineNbr: w(i + 1),
        InventoryID: d.InventoryID,
        ShippedQty: d.OrderQty,
        OrderType: w("SO"),
        OrderNbr: w(orderNbr),
      })),
      Packages: [{ LineNbr: w(1), TrackingNbr: w(tracking), Confirmed: w(true) }],
    });
  }

  /** Invoices a shipped order (Prepare Invoice, then Release): the order's amounts, its CustomerOrder copied. */
  invoice(orderNbr: string): Wrapped {
    const order = this.tables.SalesOrder.get(`SO/${orderNbr}`);
    if (!order) throw new AcuError(404, `order ${orderNbr}`);
    return this.upsert("SalesInvoice", {
      Type: w("Invoice"),
      ReferenceNbr: w(`AR${String(++this.#invoiceSeq).padStart(6, "0")}`),
      Status: w("Open"),
      CustomerID: order.CustomerID,
      CustomerOrder: order.CustomerOrder,
      Currency: order.CurrencyID,
      Date: w(this.now()),
      Amount: order.OrderTotal,
      TaxTotal: order.TaxTotal,
      DetailTotal: w(val(order.Totals as Wrapped, "LineTotalAmount")),
      Details: ((order.Details as Wrapped[]) ?? []).map((d, i) => ({
        LineNbr: w(i + 1),
        InventoryID: d.InventoryID,
        Qty: d.OrderQty,
        UnitPrice: d.UnitPrice,
        Amount: d.Amount,
        OrderType: w("SO"),
        OrderNbr: w(orderNbr),
      })),
    });
  }
}

/** Merges a PUT body into a record: fields replace, linked entities merge, detail rows by `id` or appended. */
function merge(row: Wrapped, body: Wrapped, keep: string[]): void {
  for (const [k, v] of Object.entries(body)) {
    if (k === "id" || (keep.includes(k) && row[k] !== undefined)) continue;
    if (Array.isArray(v)) {
      const rows = (row[k] as Wrapped[] | undefined) ?? [];
      for (const r of v as Wrapped[]) {
        const at = typeof r.id === "string" ? rows.findIndex((x) => x.id === r.id) : -1;
        if (at >= 0 && r.delete === true) rows.splice(at, 1);
        else if (at >= 0) merge(rows[at] as Wrapped, r, []);
        else rows.push({ id: randomUUID(), rowNumber: rows.length + 1, ...r });
      }
      row[k] = rows;
    } else if (isField(v)) {
      row[k] = { value: (v as { value?: unknown }).value };
    } else if (typeof v === "object" && v !== null) {
      const sub = (row[k] as Wrapped | undefined) ?? { id: randomUUID() };
      merge(sub, v as Wrapped, []);
      row[k] = sub;
    }
  }
}
