/**
 * What follows a sales order in the emulated S/4HANA: outbound deliveries (API_OUTBOUND_DELIVERY_SRV) and
 * billing documents (API_BILLING_DOCUMENT_SRV), kept as OData V2 JSON with the property names of SAP's VDM
 * packages (vdm.ts). Tests drive them as a warehouse and a billing clerk would: a delivery is made from an
 * order's items, picked, its bill of lading entered, its goods issue posted; an invoice is made from a
 * delivered order and may be cancelled.
 *
 * Rules modelled: the server numbers deliveries (80000000…) and billing documents (90000000…); a delivery
 * item refers to its order item (ReferenceSDDocument / ReferenceSDDocumentItem, category C: order); the
 * header's LastChangeDate (a day, Edm.DateTime) stays empty until the first change after the creation and is
 * then set on every change, with no time of day (the header has no change timestamp); posting the goods issue
 * sets OverallGoodsMovementStatus C and ActualGoodsMovementDate / Time, and marks the order delivered
 * (OverallTotalDeliveryStatus C) once every item is; a billing document copies the order's
 * PurchaseOrderByCustomer, sales area and currency, its items refer to the order (SalesDocument) and the
 * delivery (ReferenceSDDocument), its net amounts are the order items' and its tax the configured rate of them;
 * its LastChangeDateTime (Edm.DateTimeOffset) is stamped at creation and on every change; a cancellation sets
 * BillingDocumentIsCancelled and creates a cancellation document (category N) naming it in
 * CancelledBillingDocument. GetPDF answers the document rendered as a PDF, base64-encoded.
 */
import { navOf, type Row, type S4Data, S4Error, v2Date, v2DateOffset } from "./data.ts";

const DAY = 86_400_000;
const dayOf = (ms: number) => v2Date(Math.floor(ms / DAY) * DAY);
const timeOf = (ms: number) => {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `PT${p(d.getUTCHours())}H${p(d.getUTCMinutes())}M${p(d.getUTCSeconds())}S`;
};
const money = (n: number) => (Math.round((n + Number.EPSILON * Math.sign(n)) * 100) / 100).toFixed(2);
const notFound = (segment: string) =>
  new S4Error(404, "/IWBEP/CM_MGW_RT/020", `Resource not found for segment '${segment}'`);

export class S4Documents {
  readonly deliveries = new Map<string, Row>();
  readonly billing = new Map<string, Row>();
  private nextDelivery = 80000000;
  private nextBilling = 90000000;

  constructor(private readonly data: S4Data) {}

  /** An outbound delivery of every item of a sales order, in full (or the quantities given per item). */
  deliver(salesOrder: string, quantities: Record<string, number> = {}): Row {
    const order = this.data.order(salesOrder);
    if (order.DeliveryBlockReason) {
      throw new S4Error(
        400,
        "VL/148",
        `Sales order ${salesOrder} is blocked for delivery (${order.DeliveryBlockReason})`,
      );
    }
    const id = String(this.nextDelivery++);
    const at = this.data.now();
    const items = navOf(order, "to_Item")
      .filter((it) => it.SalesDocumentRjcnReason === "" || it.SalesDocumentRjcnReason === undefined)
      .map((it, i) => {
        const qty = quantities[String(it.SalesOrderItem)] ?? Number(it.RequestedQuantity);
        return {
          DeliveryDocument: id,
          DeliveryDocumentItem: String((i + 1) * 10).padStart(6, "0"),
          DeliveryDocumentItemCategory: "TAN",
          Material: it.Material,
          DeliveryDocumentItemText: typeof it.SalesOrderItemText === "string" ? it.SalesOrderItemText : "",
          ActualDeliveryQuantity: qty.toFixed(3),
          DeliveryQuantityUnit: it.RequestedQuantityUnit ?? "PC",
          BaseUnit: it.RequestedQuantityUnit ?? "PC",
          Plant: "1010",
          ReferenceSDDocument: salesOrder,
          ReferenceSDDocumentItem: String(it.SalesOrderItem),
          ReferenceSDDocumentCategory: "C",
          SDDocumentCategory: "J",
          GoodsMovementStatus: "A",
          CreationDate: dayOf(at),
          CreationTime: timeOf(at),
          LastChangeDate: null,
        } as Row;
      })
      .filter((it) => Number(it.ActualDeliveryQuantity) > 0);
    if (items.length === 0)
      throw new S4Error(400, "VL/008", `Sales order ${salesOrder} has nothing to deliver`);
    const row: Row = {
      DeliveryDocument: id,
      DeliveryDocumentType: "LF",
      SDDocumentCategory: "J",
      SalesOrganization: order.SalesOrganization,
      ShippingPoint: "1010",
      SoldToParty: order.SoldToParty,
      ShipToParty: order.SoldToParty,
      Shippinglocationtimezone: "CET",
      Receivinglocationtimezone: "CET",
      CreationDate: dayOf(at),
      CreationTime: timeOf(at),
      CreatedByUser: "CC0000000001",
      DocumentDate: dayOf(at),
      PlannedGoodsIssueDate: dayOf(at),
      DeliveryDate: dayOf(at + DAY),
      LastChangeDate: null,
      LastChangedByUser: "",
      BillOfLading: "",
      MeansOfTransport: "",
      OverallGoodsMovementStatus: "A",
      OverallPickingStatus: "A",
      OverallSDProcessStatus: "A",
      OverallDelivReltdBillgStatus: "A",
      ActualGoodsMovementDate: null,
      ActualGoodsMovementTime: "PT00H00M00S",
      _nav: { to_DeliveryDocumentItem: items, to_DeliveryDocumentPartner: [] },
    };
    this.deliveries.set(id, row);
    return row;
  }

  delivery(id: string): Row {
    const d = this.deliveries.get(id);
    if (!d) throw notFound("A_OutbDeliveryHeaderType");
    return d;
  }

  private stampDelivery(d: Row): number {
    const at = this.data.now();
    d.LastChangeDate = dayOf(at);
    d.LastChangedByUser = "CC0000000001";
    for (const it of navOf(d, "to_DeliveryDocumentItem")) it.LastChangeDate = dayOf(at);
    return at;
  }

  /** A header change as the delivery's maintenance makes it (bill of lading, means of transport). */
  change(id: string, fields: { BillOfLading?: string; MeansOfTransport?: string }): Row {
    const d = this.delivery(id);
    Object.assign(d, fields);
    this.stampDelivery(d);
    return d;
  }

  pick(id: string): Row {
    const d = this.delivery(id);
    d.OverallPickingStatus = "C";
    this.stampDelivery(d);
    return d;
  }

  /** Posts the goods issue: the delivery leaves; the order is delivered once every item is. */
  postGoodsIssue(id: string): Row {
    const d = this.delivery(id);
    if (d.OverallGoodsMovementStatus === "C")
      throw new S4Error(400, "VL/602", `Goods issue of delivery ${id} is already posted`);
    d.OverallPickingStatus = "C";
    d.OverallGoodsMovementStatus = "C";
    d.OverallSDProcessStatus = "C";
    const at = this.stampDelivery(d);
    d.ActualGoodsMovementDate = dayOf(at);
    d.ActualGoodsMovementTime = timeOf(at);
    for (const it of navOf(d, "to_DeliveryDocumentItem")) it.GoodsMovementStatus = "C";
    const order = this.data.order(String(navOf(d, "to_DeliveryDocumentItem")[0]?.ReferenceSDDocument));
    const shipped = new Map<string, number>();
    for (const other of this.deliveries.values()) {
      if (other.OverallGoodsMovementStatus !== "C") continue;
      for (const it of navOf(other, "to_DeliveryDocumentItem"))
        if (it.ReferenceSDDocument === order.SalesOrder)
          shipped.set(
            String(it.ReferenceSDDocumentItem),
            (shipped.get(String(it.ReferenceSDDocumentItem)) ?? 0) + Number(it.ActualDeliveryQuantity),
          );
    }
    const open = navOf(order, "to_Item").filter(
      (it) =>
        it.SalesDocumentRjcnReason === "" &&
        (shipped.get(String(it.SalesOrderItem)) ?? 0) < Number(it.RequestedQuantity),
    );
    this.data.patchOrder(String(order.SalesOrder), {
      OverallTotalDeliveryStatus: open.length === 0 ? "C" : "B",
    });
    return d;
  }

  /** An invoice (F2) of what a delivery shipped, priced as its order items, with tax at `taxRate`. */
  bill(deliveryId: string, taxRate = 0.19): Row {
    const d = this.delivery(deliveryId);
    if (d.OverallGoodsMovementStatus !== "C")
      throw new S4Error(400, "VF/016", `Delivery ${deliveryId} has no goods issue: nothing to bill`);
    const dItems = navOf(d, "to_DeliveryDocumentItem");
    const order = this.data.order(String(dItems[0]?.ReferenceSDDocument));
    const id = String(this.nextBilling++);
    const at = this.data.now();
    const currency = String(order.TransactionCurrency);
    const items = dItems.map((di, i) => {
      const oi = navOf(order, "to_Item").find((x) => x.SalesOrderItem === di.ReferenceSDDocumentItem) as Row;
      const qty = Number(di.ActualDeliveryQuantity);
      const net = (Number(oi.NetAmount) * qty) / Number(oi.RequestedQuantity);
      const tax = net * taxRate;
      return {
        BillingDocument: id,
        BillingDocumentItem: String((i + 1) * 10).padStart(6, "0"),
        SalesDocumentItemCategory: "TAN",
        Material: di.Material,
        BillingDocumentItemText: di.DeliveryDocumentItemText,
        BillingQuantity: qty.toFixed(3),
        BillingQuantityUnit: di.DeliveryQuantityUnit,
        NetAmount: money(net),
        TaxAmount: money(tax),
        GrossAmount: money(net + tax),
        TransactionCurrency: currency,
        SalesDocument: order.SalesOrder,
        SalesDocumentItem: oi.SalesOrderItem,
        SalesSDDocumentCategory: "C",
        ReferenceSDDocument: deliveryId,
        ReferenceSDDocumentItem: di.DeliveryDocumentItem,
        ReferenceSDDocumentCategory: "J",
        CreationDate: dayOf(at),
        CreationTime: timeOf(at),
      } as Row;
    });
    // Header conditions of the order (freight, order discount) are billed with the first invoice.
    const billedBefore = [...this.billing.values()].some((b) =>
      navOf(b, "to_Item").some((it) => it.SalesDocument === order.SalesOrder),
    );
    const headerNet = billedBefore
      ? 0
      : navOf(order, "to_PricingElement").reduce((s, e) => s + Number(e.ConditionRateValue ?? 0), 0);
    const net = items.reduce((s, it) => s + Number(it.NetAmount), 0) + headerNet;
    const tax = items.reduce((s, it) => s + Number(it.TaxAmount), 0) + headerNet * taxRate;
    const row = this.header(id, at, order, {
      SDDocumentCategory: "M",
      BillingDocumentCategory: "L",
      BillingDocumentType: "F2",
      TotalNetAmount: money(net),
      TaxAmount: money(tax),
      TotalGrossAmount: money(Number(money(net)) + Number(money(tax))),
    });
    row._nav = { to_Item: items, to_Partner: [], to_PricingElement: [], to_Text: [] };
    this.billing.set(id, row);
    d.OverallDelivReltdBillgStatus = "C";
    this.stampDelivery(d);
    return row;
  }

  private header(id: string, at: number, order: Row, fields: Row): Row {
    return {
      BillingDocument: id,
      ...fields,
      CreationDate: dayOf(at),
      CreationTime: timeOf(at),
      LastChangeDate: null,
      LastChangeDateTime: v2DateOffset(at),
      SalesOrganization: order.SalesOrganization,
      DistributionChannel: order.DistributionChannel,
      Division: order.OrganizationDivision,
      BillingDocumentDate: dayOf(at),
      BillingDocumentIsCancelled: false,
      CancelledBillingDocument: "",
      TransactionCurrency: order.TransactionCurrency,
      SoldToParty: order.SoldToParty,
      PayerParty: order.SoldToParty,
      PurchaseOrderByCustomer: order.PurchaseOrderByCustomer ?? "",
      CompanyCode: "1010",
      FiscalYear: new Date(at).toISOString().slice(0, 4),
      AccountingPostingStatus: "C",
      OverallBillingStatus: "C",
      OverallSDProcessStatus: "C",
    };
  }

  billingDocument(id: string): Row {
    const b = this.billing.get(id);
    if (!b) throw notFound("A_BillingDocumentType");
    return b;
  }

  /** A change of a billing document that keeps its amounts (a header text, an output sent again). */
  touchBilling(id: string): Row {
    const b = this.billingDocument(id);
    const at = this.data.now();
    b.LastChangeDate = dayOf(at);
    b.LastChangeDateTime = v2DateOffset(at);
    return b;
  }

  /** Cancels a billing document: it is marked cancelled and a cancellation document (S1) reverses it. */
  cancelBilling(id: string): Row {
    const b = this.billingDocument(id);
    if (b.BillingDocumentIsCancelled === true)
      throw new S4Error(400, "VF/118", `Billing document ${id} is already cancelled`);
    const at = this.data.now();
    b.BillingDocumentIsCancelled = true;
    b.LastChangeDate = dayOf(at);
    b.LastChangeDateTime = v2DateOffset(at);
    const order = this.data.order(String(navOf(b, "to_Item")[0]?.SalesDocument));
    const cid = String(this.nextBilling++);
    const neg = (v: unknown) => money(-Number(v));
    const row = this.header(cid, at, order, {
      SDDocumentCategory: "N",
      BillingDocumentCategory: "L",
      BillingDocumentType: "S1",
      TotalNetAmount: neg(b.TotalNetAmount),
      TaxAmount: neg(b.TaxAmount),
      TotalGrossAmount: neg(b.TotalGrossAmount),
    });
    row.CancelledBillingDocument = id;
    row._nav = {
      to_Item: navOf(b, "to_Item").map((it) => ({
        ...it,
        BillingDocument: cid,
        NetAmount: neg(it.NetAmount),
        TaxAmount: neg(it.TaxAmount),
        GrossAmount: neg(it.GrossAmount),
      })),
      to_Partner: [],
      to_PricingElement: [],
      to_Text: [],
    };
    this.billing.set(cid, row);
    return row;
  }

  /** The document as a one-page PDF (what GetPDF answers, base64-encoded). */
  pdf(id: string): Buffer {
    const b = this.billingDocument(id);
    const text = `Invoice ${id} ${String(b.TotalGrossAmount)} ${String(b.TransactionCurrency)}`;
    const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
    const objects = [
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
      `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ];
    let out = "%PDF-1.4\n";
    const offsets: number[] = [];
    objects.forEach((o, i) => {
      offsets.push(out.length);
      out += `${i + 1} 0 obj\n${o}\nendobj\n`;
    });
    const xref = out.length;
    out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
    out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
    return Buffer.from(out, "latin1");
  }

  deliveryItems(): Row[] {
    return [...this.deliveries.values()].flatMap((d) => navOf(d, "to_DeliveryDocumentItem"));
  }

  billingItems(): Row[] {
    return [...this.billing.values()].flatMap((b) => navOf(b, "to_Item"));
  }
}
