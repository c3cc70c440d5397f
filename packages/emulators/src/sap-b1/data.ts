/**
 * The company database behind the SAP Business One emulator: items with prices per price list and stock per
 * warehouse, business partners with addresses, and the sales documents (orders, deliveries, invoices), kept
 * as the JSON Service Layer answers (property names and value shapes from the $metadata document).
 *
 * The rules modelled are B1's documented behaviour: the server stamps UpdateDate (the day, at midnight)
 * and UpdateTime (the time of day, to the second) on every change; a sales order commits its lines' quantity
 * in the line's warehouse (ItemWarehouseInfo.Committed) and a cancellation releases it; a delivery based on
 * an order line takes the quantity out of stock (InStock) and out of Committed, and closes the order once
 * every line is delivered; document totals (LineTotal, TaxTotal, VatSum, DocTotal) are the server's, from
 * the lines and the tax group's rate, whatever the client sends; NumAtCard (the customer's reference) is
 * free text that B1 never checks for uniqueness.
 */
import { rng } from "../util.ts";

export type Row = Record<string, unknown>;

/** The countries of the company's Countries table (Setup › General › Countries). */
export const COUNTRIES = new Set([
  "AT",
  "BE",
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

export class B1Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** B1's object type numbers, used by a document line's BaseType. */
export const OBJECT_TYPE = { Orders: 17, DeliveryNotes: 15, Invoices: 13 } as const;
export type DocumentSet = keyof typeof OBJECT_TYPE;
export const DOCUMENT_SETS = Object.keys(OBJECT_TYPE) as DocumentSet[];

const round2 = (n: number) => Math.round((n + Number.EPSILON) * 100) / 100;

/** B1's two stamps of a moment: the day at midnight (Edm.DateTimeOffset) and the time of day. */
export function b1Stamp(at: Date): { date: string; time: string } {
  const iso = at.toISOString();
  return { date: `${iso.slice(0, 10)}T00:00:00Z`, time: iso.slice(11, 19) };
}

export class SapB1Data {
  readonly items = new Map<string, Row>();
  readonly partners = new Map<string, Row>();
  readonly documents: Record<DocumentSet, Map<number, Row>> = {
    Orders: new Map(),
    DeliveryNotes: new Map(),
    Invoices: new Map(),
  };
  readonly priceLists = new Map<number, Row>([
    [1, { PriceListNo: 1, PriceListName: "Base Price", Active: "tYES", DefaultPrimeCurrency: "EUR" }],
    [2, { PriceListNo: 2, PriceListName: "Wholesale", Active: "tYES", DefaultPrimeCurrency: "EUR" }],
    [3, { PriceListNo: 3, PriceListName: "Retail", Active: "tYES", DefaultPrimeCurrency: "EUR" }],
  ]);
  readonly groups = new Map<number, Row>([
    [100, { Code: 100, Name: "Customers", Type: "bbpgt_CustomerGroup" }],
    [101, { Code: 101, Name: "Wholesale", Type: "bbpgt_CustomerGroup" }],
  ]);
  readonly warehouses = ["01", "02"];
  /** Tax groups and their rate, percent. */
  readonly vatGroups = new Map<string, number>([
    ["S1", 20],
    ["S0", 0],
  ]);
  readonly localCurrency = "EUR";
  /** Freight codes (Setup › Freight). */
  readonly expenseCodes = new Set([1, 2]);
  private nextEntry = 1;
  private nextNum: Record<DocumentSet, number> = { Orders: 1000, DeliveryNotes: 5000, Invoices: 9000 };
  /** The server's clock; tests move it to stamp records at chosen moments. */
  now: () => Date = () => new Date();

  /**
   * A copy of everything a write can change, and the function that puts it back: a `$batch` change set
   * that fails part-way is undone with it (all or none, as Service Layer applies a change set).
   */
  snapshot(): () => void {
    const copy = <K, V>(m: Map<K, V>) => new Map([...m].map(([k, v]) => [k, structuredClone(v)] as const));
    const refill = <K, V>(into: Map<K, V>, from: Map<K, V>) => {
      into.clear();
      for (const [k, v] of from) into.set(k, v);
    };
    const items = copy(this.items);
    const partners = copy(this.partners);
    const documents = DOCUMENT_SETS.map((set) => [set, copy(this.documents[set])] as const);
    const nextEntry = this.nextEntry;
    const nextNum = { ...this.nextNum };
    return () => {
      refill(this.items, items);
      refill(this.partners, partners);
      for (const [set, rows] of documents) refill(this.documents[set], rows);
      this.nextEntry = nextEntry;
      this.nextNum = nextNum;
    };
  }

  stamp(row: Row, created = false): void {
    const { date, time } = b1Stamp(this.now());
    row.UpdateDate = date;
    row.UpdateTime = time;
    if (created) {
      if ("DocEntry" in row) row.CreationDate = date;
      else {
        row.CreateDate = date;
        row.CreateTime = time;
      }
    }
  }

  /** Items ITEM-0001… with prices in the three lists and stock in both warehouses. */
  seed(items: number, customers: number, seed = 1): void {
    const r = rng(seed);
    for (let i = 1; i <= items; i++) {
      const code = `ITEM-${String(i).padStart(4, "0")}`;
      const base = 5 + r.int(0, 9000) / 100;
      this.addItem({
        ItemCode: code,
        ItemName: `Item ${i}`,
        BarCode: String(4000000000000 + i),
        SalesUnitWeight: r.int(100, 5000) / 1000,
        ItemPrices: [
          { PriceList: 1, Price: round2(base), Currency: "EUR" },
          { PriceList: 2, Price: round2(base * 0.8), Currency: "EUR" },
          { PriceList: 3, Price: round2(base * 1.1), Currency: "EUR" },
        ],
        ItemWarehouseInfoCollection: this.warehouses.map((w) => ({
          WarehouseCode: w,
          InStock: r.int(0, 60),
          Committed: 0,
          Ordered: 0,
        })),
      });
    }
    for (let i = 1; i <= customers; i++) {
      this.addPartner({
        CardCode: `C${String(i).padStart(5, "0")}`,
        CardName: `Customer ${i}`,
        CardType: "cCustomer",
        EmailAddress: `customer${i}@example.com`,
        GroupCode: i % 3 === 0 ? 101 : 100,
        BPAddresses: [
          {
            AddressName: "Main",
            AddressType: "bo_BillTo",
            Street: `${i} Rue de la Paix`,
            City: "Paris",
            ZipCode: "75002",
            Country: "FR",
          },
        ],
      });
    }
  }

  addItem(body: Row): Row {
    const code = body.ItemCode;
    if (typeof code !== "string" || code === "") throw new B1Error(400, "-5002", "ItemCode is required");
    if (this.items.has(code)) {
      throw new B1Error(400, "-10", `1320000140 - Item code '${code}' already exists`);
    }
    const row: Row = {
      Valid: "tYES",
      Frozen: "tNO",
      SalesItem: "tYES",
      InventoryItem: "tYES",
      ItemPrices: [...this.priceLists.keys()].map((PriceList) => ({ PriceList, Price: 0, Currency: "EUR" })),
      ItemWarehouseInfoCollection: this.warehouses.map((WarehouseCode) => ({
        WarehouseCode,
        InStock: 0,
        Committed: 0,
        Ordered: 0,
      })),
      ...structuredClone(body),
    };
    this.stamp(row, true);
    this.items.set(code, row);
    return row;
  }

  patchItem(code: string, body: Row): void {
    const row = this.items.get(code);
    if (!row) throw notFound();
    const { ItemPrices, ItemWarehouseInfoCollection, ...rest } = structuredClone(body);
    Object.assign(row, rest);
    // Collections in a PATCH update the rows they name (by price list, by warehouse) and keep the others.
    if (Array.isArray(ItemPrices)) mergeRows(row, "ItemPrices", ItemPrices as Row[], "PriceList");
    if (Array.isArray(ItemWarehouseInfoCollection)) {
      mergeRows(row, "ItemWarehouseInfoCollection", ItemWarehouseInfoCollection as Row[], "WarehouseCode");
    }
    this.stamp(row);
  }

  addPartner(body: Row): Row {
    const code = body.CardCode;
    if (typeof code !== "string" || code === "") throw new B1Error(400, "-5002", "CardCode is required");
    if (this.partners.has(code)) {
      throw new B1Error(400, "-10", `1320000140 - Business partner code '${code}' already exists`);
    }
    const group = (body.GroupCode as number | undefined) ?? 100;
    if (!this.groups.has(group)) throw new B1Error(400, "-5002", `Invalid GroupCode ${group}`);
    const row: Row = {
      CardType: "cCustomer",
      GroupCode: group,
      PriceListNum: 1,
      Currency: "EUR",
      ...structuredClone(body),
    };
    row.BPAddresses = this.addresses(code, (body.BPAddresses as Row[] | undefined) ?? []);
    this.stamp(row, true);
    this.partners.set(code, row);
    return row;
  }

  patchPartner(code: string, body: Row): void {
    const row = this.partners.get(code);
    if (!row) throw notFound();
    const { BPAddresses, ...rest } = structuredClone(body);
    if (rest.GroupCode !== undefined && !this.groups.has(rest.GroupCode as number)) {
      throw new B1Error(400, "-5002", `Invalid GroupCode ${String(rest.GroupCode)}`);
    }
    Object.assign(row, rest);
    if (Array.isArray(BPAddresses)) {
      // Rows are matched by (AddressName, AddressType); the others are kept, as B1 does for a PATCH.
      const current = (row.BPAddresses as Row[]) ?? [];
      for (const a of this.addresses(code, BPAddresses as Row[])) {
        const i = current.findIndex(
          (c) => c.AddressName === a.AddressName && c.AddressType === a.AddressType,
        );
        if (i >= 0) current[i] = { ...current[i], ...a, RowNum: current[i]?.RowNum };
        else current.push({ ...a, RowNum: current.length });
      }
      row.BPAddresses = current;
    }
    this.stamp(row);
  }

  private addresses(code: string, rows: Row[]): Row[] {
    return rows.map((a, i) => {
      if (typeof a.AddressName !== "string" || a.AddressName === "") {
        throw new B1Error(400, "-5002", `BPAddresses[${i}].AddressName is required`);
      }
      if (typeof a.Country === "string" && !COUNTRIES.has(a.Country)) {
        throw new B1Error(400, "-5002", `BPAddresses[${i}].Country: invalid country code '${a.Country}'`);
      }
      return { AddressType: "bo_BillTo", ...a, BPCode: code, RowNum: i };
    });
  }

  /** Adds a sales document as Service Layer does: checked, priced, totalled, stock moved. */
  addDocument(set: DocumentSet, body: Row): Row {
    const partner = this.partners.get(String(body.CardCode ?? ""));
    if (partner?.CardType !== "cCustomer") {
      throw new B1Error(400, "-5002", `Invalid BP code '${String(body.CardCode)}'`);
    }
    const lines = body.DocumentLines;
    if (!Array.isArray(lines) || lines.length === 0) {
      throw new B1Error(
        400,
        "-5002",
        "To generate this document, first define the item (DocumentLines is empty)",
      );
    }
    const docLines: Row[] = [];
    const moves: (() => void)[] = [];
    let base: Row | undefined;
    (lines as Row[]).forEach((l, i) => {
      let line = { ...l };
      if (l.BaseType !== undefined) {
        const baseSet = DOCUMENT_SETS.find((s) => OBJECT_TYPE[s] === l.BaseType);
        const from = baseSet ? this.documents[baseSet].get(Number(l.BaseEntry)) : undefined;
        const baseLine = (from?.DocumentLines as Row[] | undefined)?.find((b) => b.LineNum === l.BaseLine);
        if (!from || !baseLine) {
          throw new B1Error(
            400,
            "-5002",
            `DocumentLines[${i}]: base document ${String(l.BaseType)}/${String(l.BaseEntry)} line ${String(l.BaseLine)} not found`,
          );
        }
        if (from.Confirmed === "tNO") {
          throw new B1Error(
            400,
            "-5002",
            `DocumentLines[${i}]: the base document ${String(from.DocNum)} is not approved (Confirmed)`,
          );
        }
        if (from.DocumentStatus !== "bost_Open" || from.Cancelled === "tYES") {
          throw new B1Error(
            400,
            "-5002",
            `DocumentLines[${i}]: the base document ${String(from.DocNum)} is closed`,
          );
        }
        base = from;
        const open = (baseLine.RemainingOpenQuantity as number | undefined) ?? (baseLine.Quantity as number);
        const qty = (l.Quantity as number | undefined) ?? open;
        if (qty > open)
          throw new B1Error(400, "-5002", `DocumentLines[${i}]: quantity ${qty} exceeds the open ${open}`);
        line = {
          ItemCode: baseLine.ItemCode,
          UnitPrice: baseLine.UnitPrice,
          DiscountPercent: baseLine.DiscountPercent,
          VatGroup: baseLine.VatGroup,
          WarehouseCode: baseLine.WarehouseCode,
          ...l,
          Quantity: qty,
        };
        moves.push(() => {
          baseLine.RemainingOpenQuantity = open - qty;
        });
      }
      const item = this.items.get(String(line.ItemCode ?? ""));
      if (!item)
        throw new B1Error(
          400,
          "-5002",
          `DocumentLines[${i}]: item '${String(line.ItemCode)}' does not exist`,
        );
      const qty = line.Quantity;
      if (typeof qty !== "number" || qty <= 0) {
        throw new B1Error(
          400,
          "-5002",
          `DocumentLines[${i}].Quantity must be above zero, got ${String(qty)}`,
        );
      }
      const vat = String(line.VatGroup ?? "S1");
      const rate = this.vatGroups.get(vat);
      if (rate === undefined)
        throw new B1Error(400, "-5002", `DocumentLines[${i}]: invalid tax group '${vat}'`);
      const listPrice = ((item.ItemPrices as Row[]).find((p) => p.PriceList === partner.PriceListNum)
        ?.Price ?? 0) as number;
      // A gross price (PriceAfterVAT) is turned into the net unit price B1 keeps, at the line's tax rate.
      const gross = line.PriceAfterVAT as number | undefined;
      const unit =
        gross !== undefined
          ? gross / (1 + rate / 100)
          : ((line.UnitPrice as number | undefined) ?? listPrice);
      const disc = (line.DiscountPercent as number | undefined) ?? 0;
      const lineTotal = round2(qty * unit * (1 - disc / 100));
      const wh = String(line.WarehouseCode ?? this.warehouses[0]);
      const info = (item.ItemWarehouseInfoCollection as Row[]).find((w) => w.WarehouseCode === wh);
      if (!info)
        throw new B1Error(400, "-5002", `DocumentLines[${i}]: warehouse '${wh}' is not defined for the item`);
      docLines.push({
        ...line,
        LineNum: i,
        ItemDescription: item.ItemName,
        Quantity: qty,
        UnitPrice: unit,
        Price: round2(unit * (1 - disc / 100)),
        DiscountPercent: disc,
        LineTotal: lineTotal,
        TaxTotal: round2((lineTotal * rate) / 100),
        VatGroup: vat,
        WarehouseCode: wh,
        ...(set === "Orders" ? { RemainingOpenQuantity: qty } : {}),
      });
      if (set === "Orders") moves.push(() => bump(info, "Committed", qty));
      if (set === "DeliveryNotes") {
        moves.push(() => {
          bump(info, "InStock", -qty);
          if (l.BaseType === OBJECT_TYPE.Orders) bump(info, "Committed", -qty);
        });
      }
    });
    // The header discount applies to the lines' total and their tax; freight (additional expenses) is
    // added after it with its own tax group.
    const discount = (body.DiscountPercent as number | undefined) ?? 0;
    const lineNet = docLines.reduce((s, l) => s + (l.LineTotal as number), 0);
    const expenses = ((body.DocumentAdditionalExpenses as Row[] | undefined) ?? []).map((e, i) => {
      const rate = this.vatGroups.get(String(e.VatGroup ?? "S1"));
      if (rate === undefined)
        throw new B1Error(400, "-5002", `DocumentAdditionalExpenses[${i}]: invalid tax group`);
      if (typeof e.ExpenseCode !== "number" || !this.expenseCodes.has(e.ExpenseCode)) {
        throw new B1Error(
          400,
          "-5002",
          `DocumentAdditionalExpenses[${i}]: invalid ExpenseCode ${String(e.ExpenseCode)}`,
        );
      }
      const total = (e.LineTotal as number | undefined) ?? 0;
      return {
        ...e,
        VatGroup: String(e.VatGroup ?? "S1"),
        LineTotal: total,
        TaxPercent: rate,
        _tax: (total * rate) / 100,
      };
    });
    const freight = expenses.reduce((s, e) => s + e.LineTotal, 0);
    const net = round2(lineNet * (1 - discount / 100) + freight);
    const vat = round2(
      docLines.reduce((s, l) => s + (l.TaxTotal as number), 0) * (1 - discount / 100) +
        expenses.reduce((s, e) => s + e._tax, 0),
    );
    const { date } = b1Stamp(this.now());
    const entry = this.nextEntry++;
    const row: Row = {
      DocDate: date,
      DocDueDate: date,
      TaxDate: date,
      DocCurrency: partner.Currency ?? this.localCurrency,
      ...(base?.NumAtCard !== undefined ? { NumAtCard: base.NumAtCard } : {}),
      ...structuredClone(body),
      DocEntry: entry,
      DocNum: this.nextNum[set]++,
      DocObjectCode: set === "Orders" ? "oOrders" : set === "DeliveryNotes" ? "oDeliveryNotes" : "oInvoices",
      CardName: partner.CardName,
      DocumentLines: docLines,
      ...(expenses.length > 0 ? { DocumentAdditionalExpenses: expenses.map(({ _tax, ...e }) => e) } : {}),
      DiscountPercent: discount,
      TotalDiscount: round2((lineNet * discount) / 100),
      Confirmed: body.Confirmed ?? "tYES",
      VatSum: vat,
      DocTotal: round2(net + vat),
      DocumentStatus: "bost_Open",
      Cancelled: "tNO",
    };
    for (const m of moves) m();
    this.stamp(row, true);
    this.documents[set].set(entry, row);
    if (base) {
      const open = (base.DocumentLines as Row[]).some((b) => ((b.RemainingOpenQuantity as number) ?? 0) > 0);
      if (!open) {
        base.DocumentStatus = "bost_Close";
        this.stamp(base);
      }
    }
    for (const l of docLines) {
      if (l.BaseType !== undefined) this.stamp(this.items.get(String(l.ItemCode)) as Row);
    }
    if (set === "Orders") for (const l of docLines) this.stamp(this.items.get(String(l.ItemCode)) as Row);
    return row;
  }

  patchDocument(set: DocumentSet, entry: number, body: Row): void {
    const row = this.documents[set].get(entry);
    if (!row) throw notFound();
    if (body.DocumentLines !== undefined) {
      throw new B1Error(400, "-5002", "this emulator does not change document lines through PATCH");
    }
    Object.assign(row, structuredClone(body));
    this.stamp(row);
  }

  cancel(set: DocumentSet, entry: number): void {
    const row = this.documents[set].get(entry);
    if (!row) throw notFound();
    if (row.Cancelled === "tYES" || row.DocumentStatus !== "bost_Open") {
      throw new B1Error(400, "-5002", `Document ${String(row.DocNum)} is already closed or cancelled`);
    }
    if (set === "Orders") {
      for (const l of row.DocumentLines as Row[]) {
        const item = this.items.get(String(l.ItemCode));
        const info = (item?.ItemWarehouseInfoCollection as Row[] | undefined)?.find(
          (w) => w.WarehouseCode === l.WarehouseCode,
        );
        if (info) bump(info, "Committed", -((l.RemainingOpenQuantity as number) ?? 0));
        l.RemainingOpenQuantity = 0;
        if (item) this.stamp(item);
      }
    }
    row.Cancelled = "tYES";
    row.DocumentStatus = "bost_Close";
    this.stamp(row);
  }

  /** Delivers every open line of an order (the warehouse's work), with a tracking number. */
  deliver(orderEntry: number, tracking: string): Row {
    const order = this.documents.Orders.get(orderEntry);
    if (!order) throw notFound();
    return this.addDocument("DeliveryNotes", {
      CardCode: order.CardCode,
      TrackingNumber: tracking,
      DocumentLines: (order.DocumentLines as Row[])
        .filter((l) => ((l.RemainingOpenQuantity as number) ?? 0) > 0)
        .map((l) => ({ BaseType: OBJECT_TYPE.Orders, BaseEntry: orderEntry, BaseLine: l.LineNum })),
    });
  }

  /** Invoices a delivery. */
  invoice(deliveryEntry: number): Row {
    const d = this.documents.DeliveryNotes.get(deliveryEntry);
    if (!d) throw notFound();
    return this.addDocument("Invoices", {
      CardCode: d.CardCode,
      DocumentLines: (d.DocumentLines as Row[]).map((l) => ({
        BaseType: OBJECT_TYPE.DeliveryNotes,
        BaseEntry: deliveryEntry,
        BaseLine: l.LineNum,
      })),
    });
  }
}

function bump(row: Row, field: string, by: number): void {
  row[field] = ((row[field] as number | undefined) ?? 0) + by;
}

function mergeRows(row: Row, field: string, rows: Row[], key: string): void {
  const current = ((row[field] as Row[] | undefined) ?? []).map((r) => ({ ...r }));
  for (const r of rows) {
    const i = current.findIndex((c) => c[key] === r[key]);
    if (i >= 0) current[i] = { ...current[i], ...r };
    else current.push(r);
  }
  row[field] = current;
}

export function notFound(): B1Error {
  return new B1Error(404, "-2028", "No matching records found (ODBC -2028)");
}
