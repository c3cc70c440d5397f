/**
 * One Business Central company in memory, as API v2.0 shows it: items with their variants, customers,
 * locations, sales orders with their lines (totals computed as BC computes them from the lines, the order's
 * invoice discount and the VAT rate of the posting setup, here one rate for every line), posted sales
 * shipments with their lines, sales invoices, and sales credit memos (posted against an invoice, or drafts).
 * Every row carries `lastModifiedDateTime` (stamped on every
 * change, strictly increasing) and a version the `@odata.etag` is made of.
 */
import { randomUUID } from "node:crypto";
import { buildPdf } from "../odoo/pdf.ts";
import { rng } from "../util.ts";

export type Row = Record<string, unknown>;

export type ChangeType = "created" | "updated" | "deleted";

export class BcError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The VAT rate of every line (a posting setup with one VAT product group). */
export const VAT_RATE = 0.2;

const round2 = (n: number) => Math.round((n + Number.EPSILON * Math.sign(n)) * 100) / 100;

export class BcData {
  readonly companyId = randomUUID();
  readonly items = new Map<string, Row>();
  readonly itemVariants = new Map<string, Row>();
  readonly customers = new Map<string, Row>();
  readonly locations = new Map<string, Row>();
  readonly salesOrders = new Map<string, Row>();
  readonly salesOrderLines = new Map<string, Row>();
  readonly salesShipments = new Map<string, Row>();
  readonly salesShipmentLines = new Map<string, Row>();
  readonly salesInvoices = new Map<string, Row>();
  readonly salesCreditMemos = new Map<string, Row>();
  readonly itemLedgerEntries = new Map<string, Row>();
  /** Row id → version (the etag). */
  readonly versions = new Map<string, number>();
  /**
   * Told of every change of a row with its entity set (`created` on the row's first version): the
   * emulator's webhook notifications follow it.
   */
  onChange: ((set: string, row: Row, change: ChangeType) => void) | null = null;
  /**
   * Invoices (and credit memos) whose PDF Business Central renders empty (a test's way to make the report answer nothing, as
   * a report layout that prints no page would).
   */
  readonly emptyPdf = new Set<string>();
  private last = 0;
  private numbers = { customer: 10000, order: 101000, shipment: 102000, invoice: 103000, creditMemo: 104000 };

  table(set: string): Map<string, Row> | null {
    const t = (this as unknown as Record<string, unknown>)[set];
    return t instanceof Map && set !== "versions" ? (t as Map<string, Row>) : null;
  }

  /** The next change stamp: now, or a millisecond after the last one. */
  stamp(): string {
    this.last = Math.max(Date.now(), this.last + 1);
    return new Date(this.last).toISOString();
  }

  etag(id: string): string {
    return `W/"${Buffer.from(`v${this.versions.get(id) ?? 1}`).toString("base64")}"`;
  }

  private touch(row: Row, stamp = true): Row {
    const id = row.id as string;
    this.versions.set(id, (this.versions.get(id) ?? 0) + 1);
    if (stamp) row.lastModifiedDateTime = this.stamp();
    if (this.onChange) {
      const set = this.setOf(id);
      if (set) this.onChange(set, row, this.versions.get(id) === 1 ? "created" : "updated");
    }
    return row;
  }

  /**
   * Every table as it is now, and the way back to it: an atomicity group of a `$batch` that fails is undone
   * with it. Rows keep their identity (a row a caller holds is restored in place); the number series and the
   * etags go back too. Webhook notifications already queued for the undone changes are not withdrawn.
   */
  snapshot(): () => void {
    const tables = Object.values(this).filter((v): v is Map<string, unknown> => v instanceof Map);
    const saved = tables.map((t) => {
      const rows = [...t.entries()].map(([k, v]) => [k, v, structuredClone(v)] as const);
      return { t, rows };
    });
    const numbers = { ...this.numbers };
    const emptyPdf = new Set(this.emptyPdf);
    return () => {
      for (const { t, rows } of saved) {
        t.clear();
        for (const [k, original, copy] of rows) {
          if (typeof original === "object" && original !== null) {
            const row = original as Record<string, unknown>;
            for (const f of Object.keys(row)) delete row[f];
            Object.assign(row, copy);
          }
          t.set(k, original);
        }
      }
      // The change stamps go on forward: a rolled-back change must not make a later one look older.
      this.numbers = numbers;
      this.emptyPdf.clear();
      for (const id of emptyPdf) this.emptyPdf.add(id);
    };
  }

  /** The entity set a row belongs to. */
  setOf(id: string): string | null {
    for (const [k, v] of Object.entries(this))
      if (v instanceof Map && k !== "versions" && (v as Map<string, Row>).has(id)) return k;
    return null;
  }

  /**
   * The PDF Business Central renders for a sales invoice (its "Sales - Invoice" report) or a sales credit
   * memo (its "Sales - Credit Memo" report): a one-page PDF of its number, customer, dates and totals. Empty
   * when the test asked for it (`emptyPdf`).
   */
  documentPdf(set: "salesInvoices" | "salesCreditMemos", id: string): Buffer {
    const memo = set === "salesCreditMemos";
    const doc = this.get(memo ? this.salesCreditMemos : this.salesInvoices, id);
    if (this.emptyPdf.has(id)) return Buffer.alloc(0);
    const currency = String(doc.currencyCode ?? "") || "LCY";
    return buildPdf([
      `${memo ? "Sales - Credit Memo" : "Sales - Invoice"} ${String(doc.number)}`,
      `Customer: ${String(doc.customerNumber)} ${String(doc.customerName ?? "")}`,
      memo ? `Credit memo date: ${String(doc.creditMemoDate)}` : `Invoice date: ${String(doc.invoiceDate)}`,
      ...(memo && doc.invoiceNumber ? [`Applies to invoice: ${String(doc.invoiceNumber)}`] : []),
      `External document: ${String(doc.externalDocumentNumber ?? "")}`,
      `Total excl. tax: ${Number(doc.totalAmountExcludingTax).toFixed(2)} ${currency}`,
      `Tax: ${Number(doc.totalTaxAmount).toFixed(2)} ${currency}`,
      `Total incl. tax: ${Number(doc.totalAmountIncludingTax).toFixed(2)} ${currency}`,
    ]);
  }

  /** The PDF of a sales invoice (documentPdf). */
  invoicePdf(id: string): Buffer {
    return this.documentPdf("salesInvoices", id);
  }

  seed(items: number, customers: number, seed = 1): void {
    const r = rng(seed);
    for (const code of ["MAIN", "EAST"]) {
      this.touch(this.put(this.locations, { code, displayName: `${code} warehouse`, country: "FR" }));
    }
    for (let i = 1; i <= items; i++) {
      const item = this.addItem({
        number: `ITEM-${String(i).padStart(4, "0")}`,
        displayName: `Item ${i}`,
        unitPrice: i === 1 ? 10 : i === 2 ? 5.5 : round2(5 + r.int(0, 9000) / 100),
        gtin: `40000000${String(i).padStart(5, "0")}`,
      });
      this.post(item.id as string, r.int(0, 200), "Positive Adjmt.");
      if (i % 4 === 0) {
        for (const code of ["S", "M", "L"]) this.addVariant(item.id as string, code);
      }
    }
    for (let i = 1; i <= customers; i++) {
      this.addCustomer({
        displayName: `Customer ${i}`,
        email: `customer${i}@example.com`,
        addressLine1: `${i} Rue de Rivoli`,
        city: "Paris",
        postalCode: "75001",
        country: "FR",
        phoneNumber: `+33 1 00 00 ${String(i).padStart(2, "0")}`,
      });
    }
  }

  private put(table: Map<string, Row>, fields: Row): Row {
    const id = randomUUID();
    const row = { id, ...fields };
    table.set(id, row);
    return row;
  }

  addItem(b: Row): Row {
    const number = String(b.number ?? `ITEM-${this.items.size + 1}`);
    if ([...this.items.values()].some((i) => i.number === number)) {
      throw new BcError(400, "Internal_EntityWithSameKeyExists", `an item with number ${number} exists`);
    }
    return this.touch(
      this.put(this.items, {
        number,
        displayName: "",
        type: "Inventory",
        blocked: false,
        gtin: "",
        inventory: 0,
        unitPrice: 0,
        priceIncludesTax: false,
        unitCost: 0,
        baseUnitOfMeasureCode: "PCS",
        ...b,
      }),
    );
  }

  patchItem(id: string, b: Row): Row {
    const row = this.get(this.items, id);
    Object.assign(row, b);
    return this.touch(row);
  }

  /**
   * Posts an item ledger entry, as an item journal or a shipment does: the item's inventory moves, and the
   * item record itself is not modified (its lastModifiedDateTime stays), as in Business Central, where
   * inventory is a sum over the ledger.
   */
  post(itemId: string, quantity: number, entryType: string, documentNumber = ""): Row {
    const item = this.get(this.items, itemId);
    item.inventory = Number(item.inventory ?? 0) + quantity;
    return this.touch(
      this.put(this.itemLedgerEntries, {
        entryNumber: this.itemLedgerEntries.size + 1,
        itemNumber: item.number,
        postingDate: new Date().toISOString().slice(0, 10),
        entryType,
        sourceNumber: "",
        sourceType: " ",
        documentNumber,
        documentType: entryType === "Sale" ? "Sales Shipment" : " ",
        description: String(item.displayName),
        quantity,
        salesAmountActual: 0,
        costAmountActual: 0,
      }),
    );
  }

  addVariant(itemId: string, code: string): Row {
    const item = this.get(this.items, itemId);
    return this.touch(
      this.put(this.itemVariants, {
        itemId,
        itemNumber: item.number,
        code,
        description: `${String(item.displayName)} ${code}`,
      }),
    );
  }

  addCustomer(b: Row): Row {
    this.numbers.customer += 10;
    return this.touch(
      this.put(this.customers, {
        number: String(this.numbers.customer),
        displayName: "",
        type: "Person",
        addressLine1: "",
        addressLine2: "",
        city: "",
        state: "",
        country: "",
        postalCode: "",
        phoneNumber: "",
        email: "",
        currencyCode: "",
        blocked: " ",
        ...b,
      }),
    );
  }

  patchCustomer(id: string, b: Row): Row {
    const row = this.get(this.customers, id);
    Object.assign(row, b);
    return this.touch(row);
  }

  get(table: Map<string, Row>, id: string): Row {
    const row = table.get(id);
    if (!row) throw new BcError(404, "Internal_RecordNotFound", `no record with id ${id}`);
    return row;
  }

  /** A sales order with its lines (a deep insert): nothing is kept when a line is refused. */
  addOrderWithLines(b: Row, lines: Row[]): Row {
    const order = this.addOrder(b);
    try {
      for (const l of lines) this.addLine(order.id as string, l);
    } catch (e) {
      for (const l of this.linesOf(order.id as string)) this.salesOrderLines.delete(l.id as string);
      this.salesOrders.delete(order.id as string);
      throw e;
    }
    return order;
  }

  addOrder(b: Row): Row {
    const customer = [...this.customers.values()].find(
      (c) => c.id === b.customerId || (b.customerNumber !== undefined && c.number === b.customerNumber),
    );
    if (!customer) {
      throw new BcError(400, "BadRequest_NotFound", "the customer of the order does not exist");
    }
    this.numbers.order += 1;
    const row = this.put(this.salesOrders, {
      number: `S-ORD${this.numbers.order}`,
      externalDocumentNumber: "",
      orderDate: new Date().toISOString().slice(0, 10),
      currencyCode: "",
      pricesIncludeTax: false,
      discountAmount: 0,
      ...b,
      customerId: customer.id,
      customerNumber: customer.number,
      customerName: customer.displayName,
      fullyShipped: false,
      status: "Draft",
    });
    this.recompute(row);
    return this.touch(row);
  }

  patchOrder(id: string, b: Row): Row {
    const row = this.get(this.salesOrders, id);
    Object.assign(row, b);
    this.recompute(row);
    return this.touch(row);
  }

  deleteOrder(id: string): void {
    const row = this.get(this.salesOrders, id);
    if (this.linesOf(id).some((l) => Number(l.shippedQuantity) > 0)) {
      throw new BcError(
        400,
        "Application_DialogException",
        `sales order ${String(row.number)} has shipped lines`,
      );
    }
    for (const l of this.linesOf(id)) this.salesOrderLines.delete(l.id as string);
    this.salesOrders.delete(id);
    this.onChange?.("salesOrders", row, "deleted");
  }

  linesOf(orderId: string): Row[] {
    return [...this.salesOrderLines.values()]
      .filter((l) => l.documentId === orderId)
      .sort((a, b) => Number(a.sequence) - Number(b.sequence));
  }

  addLine(orderId: string, b: Row): Row {
    const order = this.get(this.salesOrders, orderId);
    const type = String(b.lineType ?? "Item");
    let itemId: string | undefined;
    let description = String(b.description ?? "");
    if (type === "Item") {
      const item = [...this.items.values()].find(
        (i) => i.id === b.itemId || (b.lineObjectNumber !== undefined && i.number === b.lineObjectNumber),
      );
      if (!item) {
        throw new BcError(
          400,
          "BadRequest_NotFound",
          `the item ${String(b.lineObjectNumber ?? b.itemId)} does not exist`,
        );
      }
      if (b.itemVariantId !== undefined) {
        const v = this.itemVariants.get(String(b.itemVariantId));
        if (!v || v.itemId !== item.id) {
          throw new BcError(
            400,
            "BadRequest_NotFound",
            `the variant ${String(b.itemVariantId)} is not a variant of ${String(item.number)}`,
          );
        }
      }
      itemId = item.id as string;
      description ||= String(item.displayName);
      b = { unitPrice: item.unitPrice, ...b, lineObjectNumber: item.number };
    } else if (type !== "Account" && type !== "Comment") {
      throw new BcError(400, "BadRequest", `the emulator does not take lines of type ${type}`);
    }
    const sequence = (this.linesOf(orderId).length + 1) * 10000;
    const row = this.put(this.salesOrderLines, {
      documentId: orderId,
      sequence,
      lineType: type,
      description,
      quantity: 0,
      unitPrice: 0,
      discountAmount: 0,
      discountPercent: 0,
      shippedQuantity: 0,
      ...b,
      ...(itemId ? { itemId } : {}),
    });
    this.touch(row, false);
    this.recompute(order);
    this.touch(order);
    return row;
  }

  /** Line amounts, the invoice discount spread over the lines, VAT, and the order's totals. */
  recompute(order: Row): void {
    const lines = this.linesOf(order.id as string).filter((l) => l.lineType !== "Comment");
    const inclTax = order.pricesIncludeTax === true;
    for (const l of lines) {
      const gross = Number(l.quantity) * Number(l.unitPrice);
      const pct = Number(l.discountPercent ?? 0);
      const discount = pct > 0 ? round2((gross * pct) / 100) : Number(l.discountAmount ?? 0);
      l.discountAmount = discount;
      l.discountPercent = gross > 0 ? round2((discount / gross) * 100) : 0;
      l.amountExcludingTax = round2(gross - discount);
      l.taxPercent = VAT_RATE * 100;
    }
    const sum = lines.reduce((s, l) => s + Number(l.amountExcludingTax), 0);
    const invoiceDiscount = Number(order.discountAmount ?? 0);
    let net = round2(sum - invoiceDiscount);
    let tax: number;
    if (inclTax) {
      const gross = net;
      net = round2(gross / (1 + VAT_RATE));
      tax = round2(gross - net);
    } else {
      tax = round2(net * VAT_RATE);
    }
    for (const l of lines) {
      const share = sum > 0 ? Number(l.amountExcludingTax) / sum : 0;
      l.invoiceDiscountAllocation = round2(invoiceDiscount * share);
      l.netAmount = round2(Number(l.amountExcludingTax) - Number(l.invoiceDiscountAllocation));
      l.totalTaxAmount = round2(Number(l.netAmount) * VAT_RATE);
      l.amountIncludingTax = round2(Number(l.amountExcludingTax) * (1 + VAT_RATE));
      l.netTaxAmount = l.totalTaxAmount;
      l.netAmountIncludingTax = round2(Number(l.netAmount) + Number(l.totalTaxAmount));
    }
    order.totalAmountExcludingTax = net;
    order.totalTaxAmount = tax;
    order.totalAmountIncludingTax = round2(net + tax);
  }

  /** Posts a shipment of every open quantity of an order, as the warehouse's "Post › Ship" does. */
  ship(orderId: string): Row {
    const order = this.get(this.salesOrders, orderId);
    this.numbers.shipment += 1;
    const date = new Date().toISOString().slice(0, 10);
    const shipment = this.put(this.salesShipments, {
      number: `S-SHP${this.numbers.shipment}`,
      externalDocumentNumber: order.externalDocumentNumber,
      postingDate: date,
      customerId: order.customerId,
      customerNumber: order.customerNumber,
      customerName: order.customerName,
      orderNumber: order.number,
      currencyCode: order.currencyCode,
      shipmentMethodCode: "",
      pricesIncludeTax: order.pricesIncludeTax,
    });
    let sequence = 0;
    for (const l of this.linesOf(orderId)) {
      const open = Number(l.quantity) - Number(l.shippedQuantity);
      if (l.lineType !== "Item" || open <= 0) continue;
      sequence += 10000;
      this.touch(
        this.put(this.salesShipmentLines, {
          documentId: shipment.id,
          documentNo: shipment.number,
          sequence,
          lineType: "Item",
          lineObjectNumber: l.lineObjectNumber,
          description: l.description,
          unitOfMeasureCode: "PCS",
          unitPrice: l.unitPrice,
          quantity: open,
          discountPercent: l.discountPercent,
          shipmentDate: date,
        }),
        false,
      );
      l.shippedQuantity = l.quantity;
      this.post(l.itemId as string, -open, "Sale", String(shipment.number));
    }
    order.fullyShipped = true;
    this.touch(order);
    return this.touch(shipment);
  }

  /** Posts an invoice of an order's totals. */
  invoice(orderId: string): Row {
    const order = this.get(this.salesOrders, orderId);
    this.numbers.invoice += 1;
    const date = new Date().toISOString().slice(0, 10);
    return this.touch(
      this.put(this.salesInvoices, {
        number: `S-INV${this.numbers.invoice}`,
        externalDocumentNumber: order.externalDocumentNumber,
        invoiceDate: date,
        postingDate: date,
        customerId: order.customerId,
        customerNumber: order.customerNumber,
        customerName: order.customerName,
        currencyCode: order.currencyCode,
        orderId: order.id,
        orderNumber: order.number,
        pricesIncludeTax: order.pricesIncludeTax,
        discountAmount: order.discountAmount,
        totalAmountExcludingTax: order.totalAmountExcludingTax,
        totalTaxAmount: order.totalTaxAmount,
        totalAmountIncludingTax: order.totalAmountIncludingTax,
        remainingAmount: order.totalAmountIncludingTax,
        status: "Open",
      }),
    );
  }

  /**
   * A sales credit memo against a posted invoice, as "Create Corrective Credit Memo" makes one: the
   * invoice's customer and currency, its number as the memo's invoiceNumber ("Applies-to Doc. No.") and its
   * id as invoiceId, and the invoice's totals (or `share` of them). Business Central shows a credit memo's
   * amounts as positive numbers (Microsoft's v2.0 reference, "Get salesCreditMemos": totalAmountIncludingTax
   * 7508.16 in its example). Posted (status Open) unless `draft`, which leaves it an unposted credit memo
   * (status Draft, a number from the unposted series). `externalDocumentNumber` defaults to the invoice's;
   * whether Business Central copies it onto a corrective credit memo is not documented, so a test can leave
   * it empty and the memo tied to its order only through the invoice.
   */
  creditMemo(
    invoiceId: string,
    opts: { share?: number; draft?: boolean; externalDocumentNumber?: string } = {},
  ): Row {
    const inv = this.get(this.salesInvoices, invoiceId);
    const share = opts.share ?? 1;
    if (!(share > 0 && share <= 1))
      throw new BcError(
        400,
        "BadRequest",
        `a credit memo credits a share in (0, 1] of the invoice, not ${share}`,
      );
    this.numbers.creditMemo += 1;
    const date = new Date().toISOString().slice(0, 10);
    const net = round2(Number(inv.totalAmountExcludingTax) * share);
    const tax = round2(Number(inv.totalTaxAmount) * share);
    return this.touch(
      this.put(this.salesCreditMemos, {
        number: `${opts.draft ? "S-CR" : "S-PCR"}${this.numbers.creditMemo}`,
        externalDocumentNumber: opts.externalDocumentNumber ?? inv.externalDocumentNumber,
        creditMemoDate: date,
        postingDate: date,
        customerId: inv.customerId,
        customerNumber: inv.customerNumber,
        customerName: inv.customerName,
        currencyCode: inv.currencyCode,
        pricesIncludeTax: inv.pricesIncludeTax,
        discountAmount: 0,
        totalAmountExcludingTax: net,
        totalTaxAmount: tax,
        totalAmountIncludingTax: round2(net + tax),
        invoiceId: inv.id,
        invoiceNumber: inv.number,
        status: opts.draft ? "Draft" : "Open",
      }),
    );
  }
}
