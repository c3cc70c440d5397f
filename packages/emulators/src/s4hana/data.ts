/**
 * The S/4HANA system behind the emulator: products (with descriptions, sales-area and plant data), business
 * partners (addresses with e-mail addresses, roles, the customer a customer role creates) and sales orders
 * (items with pricing elements), kept as OData V2 JSON (property names and value shapes from the EDMX).
 * Navigation content lives under `_nav` and is never answered unless expanded.
 *
 * Rules modelled: the server stamps LastChangeDateTime (products, sales orders) and LastChangeDate/Time
 * (partners) on every change and assigns the numbers (BusinessPartner, AddressID, SalesOrder, item numbers
 * 10, 20, …); a customer role (FLCU00/FLCU01) makes the partner a customer of the same number; a sales
 * order's material must exist; an item's net amount is its quantity times its price (a manual PR00 pricing
 * element, or the product's price from the emulator's own condition records) plus any other item pricing
 * element taken as an amount (a discount is negative); the header's TotalNetAmount is the sum of the items'
 * plus the header pricing elements (freight, header discount) — the server's, whatever the client sends;
 * PurchaseOrderByCustomer is free text S/4 does not keep unique.
 */
import { rng } from "../util.ts";

export type Row = Record<string, unknown> & { _nav?: Record<string, Row[] | Row | null> };

/** The countries of the system's T005 table, as the emulator keeps it. */
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

export class S4Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const v2Date = (ms: number) => `/Date(${ms})/`;
export const v2DateOffset = (ms: number) => `/Date(${ms}+0000)/`;
const dayOf = (ms: number) => v2Date(Math.floor(ms / 86_400_000) * 86_400_000);
const timeOf = (ms: number) => {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `PT${p(d.getUTCHours())}H${p(d.getUTCMinutes())}M${p(d.getUTCSeconds())}S`;
};
const money = (n: number) => (Math.round((n + Number.EPSILON * Math.sign(n)) * 100) / 100).toFixed(2);

export class S4Data {
  readonly products = new Map<string, Row>();
  /** The emulator's own condition records (PR00 per product), as S/4 pricing would find them. */
  readonly listPrices = new Map<string, number>();
  readonly partners = new Map<string, Row>();
  readonly orders = new Map<string, Row>();
  private clock = Date.UTC(2026, 0, 5, 8, 0, 0);
  private nextPartner = 1000100;
  private nextAddress = 30000;
  private nextOrder = 5000000;
  private nextGuid = 1;

  /**
   * A copy of everything a write can change, and the function that puts it back: a `$batch` change set that
   * fails part-way is undone with it (the Gateway runs a change set as one logical unit of work).
   */
  snapshot(): () => void {
    const copy = <K, V>(m: Map<K, V>) => new Map([...m].map(([k, v]) => [k, structuredClone(v)] as const));
    const refill = <K, V>(into: Map<K, V>, from: Map<K, V>) => {
      into.clear();
      for (const [k, v] of from) into.set(k, v);
    };
    const products = copy(this.products);
    const listPrices = new Map(this.listPrices);
    const partners = copy(this.partners);
    const orders = copy(this.orders);
    const counters = [this.nextPartner, this.nextAddress, this.nextOrder, this.nextGuid] as const;
    return () => {
      refill(this.products, products);
      refill(this.listPrices, listPrices);
      refill(this.partners, partners);
      refill(this.orders, orders);
      [this.nextPartner, this.nextAddress, this.nextOrder, this.nextGuid] = counters;
    };
  }

  /** A strictly increasing server time: two changes never share a stamp, and later is later. */
  now(): number {
    this.clock = Math.max(this.clock + 1000, Math.floor(Date.now() / 1000) * 1000);
    return this.clock;
  }

  seed(products: number, partners: number, seed: number): void {
    const r = rng(seed);
    for (let i = 1; i <= products; i++) {
      const id = `TG${String(i).padStart(4, "0")}`;
      this.addProduct(id, `Trading good ${i}`, r.int(5, 120) + r.int(0, 99) / 100, r.chance(0.1));
    }
    for (let i = 1; i <= partners; i++) {
      this.addPartner({
        BusinessPartnerCategory: "1",
        FirstName: "Seeded",
        LastName: `Customer ${i}`,
        to_BusinessPartnerAddress: [
          {
            StreetName: `${i} Hauptstrasse`,
            CityName: "Walldorf",
            PostalCode: "69190",
            Country: "DE",
            to_EmailAddress: [{ EmailAddress: `s4-customer-${i}@example.com`, IsDefaultEmailAddress: true }],
          },
        ],
        to_BusinessPartnerRole: [{ BusinessPartnerRole: "FLCU01" }],
      });
    }
  }

  addProduct(id: string, name: string, price: number, deleted = false): Row {
    const at = this.now();
    const row: Row = {
      Product: id,
      ProductType: "HAWA",
      CrossPlantStatus: "",
      CreationDate: dayOf(at),
      LastChangeDate: dayOf(at),
      LastChangeDateTime: v2DateOffset(at),
      IsMarkedForDeletion: deleted,
      GrossWeight: "1.250",
      NetWeight: "1.000",
      WeightUnit: "KG",
      BaseUnit: "PC",
      ProductGroup: "L001",
      ProductStandardID: `400638133${String(this.products.size + 1000).padStart(4, "0")}`,
      InternationalArticleNumberCat: "HE",
      _nav: {
        to_Description: [
          { Product: id, Language: "EN", ProductDescription: name },
          { Product: id, Language: "DE", ProductDescription: `Handelsware ${name.replace(/\D+/g, "")}` },
        ],
        to_SalesDelivery: [
          {
            Product: id,
            ProductSalesOrg: "1010",
            ProductDistributionChnl: "10",
            MinimumOrderQuantity: "1",
            SalesMeasureUnit: "PC",
            ProductSalesStatus: "",
            IsMarkedForDeletion: false,
          },
        ],
        to_Plant: [{ Product: id, Plant: "1010", IsMarkedForDeletion: false, PurchasingGroup: "001" }],
      },
    };
    this.products.set(id, row);
    this.listPrices.set(id, price);
    return row;
  }

  touchProduct(id: string): void {
    const p = this.products.get(id);
    if (!p) throw new S4Error(404, "PRODUCT/404", `Product ${id} does not exist`);
    const at = this.now();
    p.LastChangeDateTime = v2DateOffset(at);
    p.LastChangeDate = dayOf(at);
  }

  private guid(): string {
    const n = String(this.nextGuid++).padStart(12, "0");
    return `fa163e00-0000-1eda-8000-${n}`;
  }

  private stampPartner(row: Row, created: boolean): void {
    const at = this.now();
    if (created) {
      row.CreationDate = dayOf(at);
      row.CreationTime = timeOf(at);
      row.CreatedByUser = "CC0000000001";
    }
    row.LastChangeDate = dayOf(at);
    row.LastChangeTime = timeOf(at);
    row.LastChangedByUser = "CC0000000001";
  }

  /** A deep insert of a business partner (addresses with e-mails, roles). */
  addPartner(body: Row): Row {
    const id =
      typeof body.BusinessPartner === "string" && body.BusinessPartner !== ""
        ? body.BusinessPartner
        : String(this.nextPartner++);
    if (this.partners.has(id)) throw new S4Error(400, "R11/102", `Business partner ${id} already exists`);
    const { to_BusinessPartnerAddress, to_BusinessPartnerRole, ...fields } = body as Row & {
      to_BusinessPartnerAddress?: Row[] | { results: Row[] };
      to_BusinessPartnerRole?: Row[] | { results: Row[] };
    };
    const first = String(fields.FirstName ?? "");
    const last = String(fields.LastName ?? "");
    const name =
      fields.BusinessPartnerCategory === "2"
        ? String(fields.OrganizationBPName1 ?? "")
        : [first, last].filter(Boolean).join(" ");
    if (name === "") throw new S4Error(400, "R11/401", "Enter a name (LastName or OrganizationBPName1)");
    const row: Row = {
      BusinessPartner: id,
      Customer: "",
      BusinessPartnerCategory: "1",
      ...fields,
      BusinessPartnerFullName: name,
      BusinessPartnerName: name,
      BusinessPartnerUUID: this.guid(),
      _nav: { to_BusinessPartnerAddress: [], to_BusinessPartnerRole: [], to_Customer: null },
    };
    this.stampPartner(row, true);
    this.partners.set(id, row);
    for (const a of rows(to_BusinessPartnerAddress)) this.addAddress(id, a);
    for (const role of rows(to_BusinessPartnerRole)) this.addRole(id, role);
    return row;
  }

  addAddress(partner: string, body: Row): Row {
    const p = this.partner(partner);
    const { to_EmailAddress, ...fields } = body as Row & { to_EmailAddress?: Row[] | { results: Row[] } };
    if (typeof fields.Country !== "string" || !COUNTRIES.has(fields.Country)) {
      throw new S4Error(400, "AM/216", `Country ${JSON.stringify(fields.Country ?? "")} does not exist`);
    }
    const addressId = String(this.nextAddress++);
    const row: Row = {
      ...fields,
      BusinessPartner: partner,
      AddressID: addressId,
      AddressUUID: this.guid(),
      _nav: { to_EmailAddress: [] },
    };
    navOf(p, "to_BusinessPartnerAddress").push(row);
    rows(to_EmailAddress).forEach((e, i) => {
      navOf(row, "to_EmailAddress").push({
        IsDefaultEmailAddress: i === 0,
        ...e,
        AddressID: addressId,
        Person: "",
        OrdinalNumber: String(i + 1),
      });
    });
    this.stampPartner(p, false);
    return row;
  }

  addRole(partner: string, body: Row): void {
    const p = this.partner(partner);
    const role = String(body.BusinessPartnerRole ?? "");
    if (!/^[A-Z0-9]{6}$/.test(role))
      throw new S4Error(400, "R11/211", `Role ${JSON.stringify(role)} does not exist`);
    navOf(p, "to_BusinessPartnerRole").push({ ...body, BusinessPartner: partner });
    if (role.startsWith("FLCU") && p._nav && !p._nav.to_Customer) {
      p.Customer = partner;
      p._nav.to_Customer = {
        Customer: partner,
        CustomerName: p.BusinessPartnerName,
        CustomerFullName: p.BusinessPartnerFullName,
        CustomerAccountGroup: "CUST",
        DeletionIndicator: false,
        CreationDate: p.CreationDate,
        CreatedByUser: "CC0000000001",
      };
    }
    this.stampPartner(p, false);
  }

  partner(id: string): Row {
    const p = this.partners.get(id);
    if (!p)
      throw new S4Error(
        404,
        "/IWBEP/CM_MGW_RT/020",
        `Resource not found for segment 'A_BusinessPartnerType'`,
      );
    return p;
  }

  patchPartner(id: string, body: Row): void {
    const p = this.partner(id);
    Object.assign(p, body);
    if (p.BusinessPartnerCategory !== "2") {
      const name = [p.FirstName, p.LastName].filter(Boolean).join(" ");
      p.BusinessPartnerFullName = name;
      p.BusinessPartnerName = name;
    }
    this.stampPartner(p, false);
  }

  patchAddress(partner: string, addressId: string, body: Row): void {
    const p = this.partner(partner);
    const a = navOf(p, "to_BusinessPartnerAddress").find((x) => x.AddressID === addressId);
    if (!a)
      throw new S4Error(
        404,
        "/IWBEP/CM_MGW_RT/020",
        "Resource not found for segment 'A_BusinessPartnerAddressType'",
      );
    if (body.Country !== undefined && !COUNTRIES.has(String(body.Country))) {
      throw new S4Error(400, "AM/216", `Country ${JSON.stringify(body.Country)} does not exist`);
    }
    Object.assign(a, body);
    this.stampPartner(p, false);
  }

  /** Every address row, every e-mail row: the flat sets A_BusinessPartnerAddress and A_AddressEmailAddress. */
  addresses(): Row[] {
    return [...this.partners.values()].flatMap((p) => navOf(p, "to_BusinessPartnerAddress"));
  }
  emails(): Row[] {
    return this.addresses().flatMap((a) => navOf(a, "to_EmailAddress"));
  }

  /** A deep insert of a sales order with its items (and their pricing elements). */
  addOrder(body: Row): Row {
    const { to_Item, to_PricingElement, ...fields } = body as Row & {
      to_Item?: Row[] | { results: Row[] };
      to_PricingElement?: Row[] | { results: Row[] };
    };
    const sold = String(fields.SoldToParty ?? "");
    const customer = this.partners.get(sold);
    if (!customer?._nav?.to_Customer) {
      throw new S4Error(400, "V1/390", `Sold-to party ${sold} is not a customer`);
    }
    const items = rows(to_Item);
    if (items.length === 0)
      throw new S4Error(400, "V1/555", "The sales document is not yet complete: no items");
    const id = String(this.nextOrder++);
    const at = this.now();
    const currency = String(fields.TransactionCurrency ?? "EUR");
    const itemRows = items.map((it, i) => {
      const { to_PricingElement: pe, ...f } = it as Row & { to_PricingElement?: Row[] | { results: Row[] } };
      const material = String(f.Material ?? "");
      const list = this.listPrices.get(material);
      if (!this.products.has(material) || list === undefined) {
        throw new S4Error(400, "V1/320", `Material ${material} does not exist`);
      }
      const qty = Number(f.RequestedQuantity ?? "0");
      if (!(qty > 0)) throw new S4Error(400, "V1/092", `Item ${i + 1}: enter a quantity above 0`);
      const elements = rows(pe);
      const manual = elements.find((e) => e.ConditionType === "PR00");
      const unit = manual ? Number(manual.ConditionRateValue) : list;
      const extra = elements
        .filter((e) => e !== manual)
        .reduce((s, e) => s + Number(e.ConditionRateValue ?? 0), 0);
      const itemNo = String((i + 1) * 10).padStart(6, "0");
      return {
        ...f,
        SalesOrder: id,
        SalesOrderItem: itemNo,
        RequestedQuantity: String(qty),
        RequestedQuantityUnit: f.RequestedQuantityUnit ?? "PC",
        NetAmount: money(qty * unit + extra),
        TransactionCurrency: currency,
        SDProcessStatus: "A",
        DeliveryStatus: "A",
        SalesDocumentRjcnReason: f.SalesDocumentRjcnReason ?? "",
        _nav: {
          to_PricingElement: [
            ...(manual ? [] : [{ ConditionType: "PR00", ConditionRateValue: money(list) }]),
            ...elements,
          ].map((e, k) => ({
            ...e,
            SalesOrder: id,
            SalesOrderItem: itemNo,
            PricingProcedureStep: String((k + 1) * 10).padStart(3, "0"),
            PricingProcedureCounter: "001",
            ConditionCurrency: currency,
          })),
        },
      } as Row;
    });
    const header = rows(to_PricingElement);
    const total =
      itemRows.reduce((s, r) => s + Number(r.NetAmount), 0) +
      header.reduce((s, e) => s + Number(e.ConditionRateValue ?? 0), 0);
    const row: Row = {
      SalesOrderType: "OR",
      SalesOrganization: "1010",
      DistributionChannel: "10",
      OrganizationDivision: "00",
      ...fields,
      SalesOrder: id,
      CreationDate: dayOf(at),
      CreatedByUser: "CC0000000001",
      LastChangeDate: dayOf(at),
      LastChangeDateTime: v2DateOffset(at),
      TransactionCurrency: currency,
      TotalNetAmount: money(total),
      OverallSDProcessStatus: "A",
      OverallTotalDeliveryStatus: "",
      OverallSDDocumentRejectionSts: "A",
      DeliveryBlockReason: fields.DeliveryBlockReason ?? "",
      _nav: {
        to_Item: itemRows,
        to_PricingElement: header.map((e, k) => ({
          ...e,
          SalesOrder: id,
          PricingProcedureStep: String((k + 1) * 10 + 800).padStart(3, "0"),
          PricingProcedureCounter: "001",
          ConditionCurrency: currency,
        })),
      },
    };
    this.orders.set(id, row);
    return row;
  }

  order(id: string): Row {
    const o = this.orders.get(id);
    if (!o)
      throw new S4Error(404, "/IWBEP/CM_MGW_RT/020", "Resource not found for segment 'A_SalesOrderType'");
    return o;
  }

  private stampOrder(o: Row): void {
    const at = this.now();
    o.LastChangeDate = dayOf(at);
    o.LastChangeDateTime = v2DateOffset(at);
  }

  patchOrder(id: string, body: Row): void {
    const o = this.order(id);
    Object.assign(o, body);
    this.stampOrder(o);
  }

  /** An item's rejection reason: every item rejected makes the order rejected (status C). */
  patchItem(id: string, item: string, body: Row): void {
    const o = this.order(id);
    const items = navOf(o, "to_Item");
    const it = items.find((x) => x.SalesOrderItem === item);
    if (!it)
      throw new S4Error(404, "/IWBEP/CM_MGW_RT/020", "Resource not found for segment 'A_SalesOrderItemType'");
    if (o.OverallTotalDeliveryStatus === "C")
      throw new S4Error(400, "V1/046", `Sales order ${id} is delivered`);
    Object.assign(it, body);
    const rejected = items.filter((x) => x.SalesDocumentRjcnReason !== "").length;
    o.OverallSDDocumentRejectionSts = rejected === 0 ? "A" : rejected === items.length ? "C" : "B";
    this.stampOrder(o);
  }

  items(): Row[] {
    return [...this.orders.values()].flatMap((o) => navOf(o, "to_Item"));
  }
}

function rows(v: Row[] | { results: Row[] } | undefined | null): Row[] {
  if (!v) return [];
  return Array.isArray(v) ? v : (v.results ?? []);
}

/** A to-many navigation's rows, held under `_nav`. */
export function navOf(row: Row, name: string): Row[] {
  row._nav ??= {};
  const held = row._nav[name];
  if (Array.isArray(held)) return held;
  const fresh: Row[] = [];
  row._nav[name] = fresh;
  return fresh;
}
