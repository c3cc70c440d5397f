/**
 * The PrestaShop emulator's shop, in memory: one table per Webservice resource, records kept the way the
 * Webservice renders them (scalars as strings, language-keyed fields per language, associations as lists),
 * and the side effects PrestaShop has: a product or combination gets its stock_available row, an
 * order_history moves its order's current_state, every write stamps date_upd (and date_add on create).
 * Dates are PrestaShop's `YYYY-MM-DD HH:MM:SS`, read here as UTC; `clockSkewS` moves the clock forward.
 */
import { rng } from "../util.ts";
import type { LangValue, PsRecord } from "./spec.ts";

export const psTime = (d: Date): string => d.toISOString().slice(0, 19).replace("T", " ");

/** PrestaShop's stock order states (ids as a fresh install numbers them) and their flags. */
export const ORDER_STATES: {
  id: number;
  name: string;
  paid: boolean;
  shipped: boolean;
  delivery: boolean;
}[] = [
  { id: 1, name: "Awaiting check payment", paid: false, shipped: false, delivery: false },
  { id: 2, name: "Payment accepted", paid: true, shipped: false, delivery: false },
  { id: 3, name: "Processing in progress", paid: true, shipped: false, delivery: true },
  { id: 4, name: "Shipped", paid: true, shipped: true, delivery: true },
  { id: 5, name: "Delivered", paid: true, shipped: true, delivery: true },
  { id: 6, name: "Canceled", paid: false, shipped: false, delivery: false },
  { id: 7, name: "Refunded", paid: true, shipped: false, delivery: false },
  { id: 8, name: "Payment error", paid: false, shipped: false, delivery: false },
];

const lang = (value: string): LangValue[] => [{ id: "1", value }];

export class PrestaShopData {
  readonly tables = new Map<string, Map<number, PsRecord>>();
  readonly #next = new Map<string, number>();
  clockSkewS = 0;

  constructor() {
    for (const s of ORDER_STATES)
      this.insert("order_states", {
        name: lang(s.name),
        template: lang(""),
        unremovable: "1",
        paid: s.paid ? "1" : "0",
        shipped: s.shipped ? "1" : "0",
        delivery: s.delivery ? "1" : "0",
        logable: s.paid ? "1" : "0",
        invoice: s.paid ? "1" : "0",
        color: "#32CD32",
        send_email: "0",
        hidden: "0",
        deleted: "0",
        pdf_invoice: "0",
        pdf_delivery: "0",
        module_name: "",
      });
    for (const [name, reduction] of [
      ["Visitor", "0"],
      ["Guest", "0"],
      ["Customer", "0"],
      ["Wholesale", "0"],
      ["Retailer", "0"],
    ] as const)
      this.insert("groups", { name: lang(name), reduction, price_display_method: "0", show_prices: "1" });
    for (const [iso, rate] of [
      ["EUR", "1.000000"],
      ["USD", "1.080000"],
    ] as const)
      this.insert("currencies", {
        names: lang(iso),
        name: iso,
        symbol: lang(iso === "EUR" ? "€" : "$"),
        iso_code: iso,
        numeric_iso_code: iso === "EUR" ? "978" : "840",
        precision: "2",
        conversion_rate: rate,
        deleted: "0",
        active: "1",
        unofficial: "0",
        modified: "0",
        pattern: lang(""),
      });
    for (const [iso, name] of [
      ["FR", "France"],
      ["DE", "Germany"],
      ["US", "United States"],
    ] as const)
      this.insert("countries", {
        id_zone: "1",
        id_currency: "0",
        call_prefix: "0",
        iso_code: iso,
        active: "1",
        contains_states: "0",
        need_identification_number: "0",
        need_zip_code: "1",
        zip_code_format: "",
        display_tax_label: "1",
        name: lang(name),
      });
    this.insert("languages", {
      name: "English (English)",
      iso_code: "en",
      locale: "en-US",
      language_code: "en-us",
      active: "1",
      is_rtl: "0",
      date_format_lite: "m/d/Y",
      date_format_full: "m/d/Y H:i:s",
    });
  }

  now(): string {
    return psTime(new Date(Date.now() + this.clockSkewS * 1000));
  }

  table(resource: string): Map<number, PsRecord> {
    let t = this.tables.get(resource);
    if (!t) {
      t = new Map();
      this.tables.set(resource, t);
    }
    return t;
  }

  get(resource: string, id: number): PsRecord | undefined {
    return this.table(resource).get(id);
  }

  /** Stores a new record with the next id, stamping its dates when the resource has them. */
  insert(resource: string, rec: PsRecord, dated = false): PsRecord {
    const id = (this.#next.get(resource) ?? 0) + 1;
    this.#next.set(resource, id);
    const now = this.now();
    const stored: PsRecord = { id: String(id), ...rec, ...(dated ? { date_add: now, date_upd: now } : {}) };
    this.table(resource).set(id, stored);
    this.afterWrite(resource, stored, true);
    return stored;
  }

  /** The side effects PrestaShop's object model has on a write. */
  afterWrite(resource: string, rec: PsRecord, created: boolean): void {
    if (resource === "products" && created) this.#stockRow(rec.id as string, "0");
    if (resource === "combinations" && created) this.#stockRow(rec.id_product as string, rec.id as string);
    if (resource === "order_histories" && created) {
      const order = this.get("orders", Number(rec.id_order));
      if (order) {
        order.current_state = rec.id_order_state as string;
        order.date_upd = this.now();
        if (rec.id_order_state === "4") {
          const carrier = [...this.table("order_carriers").values()].find((c) => c.id_order === order.id);
          if (carrier?.tracking_number) order.shipping_number = carrier.tracking_number as string;
        }
      }
    }
    if (resource === "order_carriers" && !created) {
      const order = this.get("orders", Number(rec.id_order));
      if (order) order.date_upd = this.now();
    }
    if (resource === "stock_availables" && rec.id_product_attribute !== "0") this.#sumProductStock(rec);
  }

  #stockRow(product: string, attribute: string): void {
    const exists = [...this.table("stock_availables").values()].some(
      (s) => s.id_product === product && s.id_product_attribute === attribute,
    );
    if (exists) return;
    this.insert("stock_availables", {
      id_product: product,
      id_product_attribute: attribute,
      id_shop: "1",
      id_shop_group: "0",
      quantity: "0",
      depends_on_stock: "0",
      out_of_stock: "2",
      location: "",
    });
  }

  /** A product with combinations shows the sum of its combinations' stock on its own row. */
  #sumProductStock(row: PsRecord): void {
    const rows = [...this.table("stock_availables").values()].filter((s) => s.id_product === row.id_product);
    const total = rows
      .filter((s) => s.id_product_attribute !== "0")
      .reduce((n, s) => n + Number(s.quantity), 0);
    const own = rows.find((s) => s.id_product_attribute === "0");
    if (own) own.quantity = String(total);
  }

  addCustomer(c: { email: string; firstname: string; lastname: string; group?: number }): PsRecord {
    const group = String(c.group ?? 3);
    const rec = this.insert(
      "customers",
      {
        id_default_group: group,
        id_lang: "1",
        newsletter_date_add: "0000-00-00 00:00:00",
        deleted: "0",
        passwd: "$2y$10$emulatorhashemulatorhashemulatorhash0123456789",
        lastname: c.lastname,
        firstname: c.firstname,
        email: c.email,
        id_gender: "0",
        newsletter: "0",
        optin: "0",
        active: "1",
        is_guest: "0",
        id_shop: "1",
        id_shop_group: "1",
        secure_key: "0123456789abcdef0123456789abcdef",
        associations: { groups: [{ id: group }] },
      },
      true,
    );
    this.insert(
      "addresses",
      {
        id_customer: rec.id as string,
        id_manufacturer: "0",
        id_supplier: "0",
        id_warehouse: "0",
        id_country: String(1 + (Number(rec.id) % 3)),
        id_state: "0",
        alias: "Home",
        company: "",
        lastname: c.lastname,
        firstname: c.firstname,
        address1: `${rec.id} Rue du Commerce`,
        address2: "",
        postcode: "75001",
        city: "Paris",
        phone: "0102030405",
        deleted: "0",
      },
      true,
    );
    return rec;
  }

  seedCustomers(n: number, seed: number): void {
    const r = rng(seed);
    const first = ["Anne", "Bruno", "Chloé", "David", "Élise", "François", "Gaëlle", "Hugo"];
    const last = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"];
    for (let i = 0; i < n; i++)
      this.addCustomer({
        email: `customer${i + 1}@example.com`,
        firstname: r.pick(first),
        lastname: r.pick(last),
        group: i % 4 === 0 ? 4 : 3,
      });
  }

  /** The product or combination holding a reference (SKU). */
  bySku(sku: string): { product: PsRecord; combination: PsRecord | null } | null {
    for (const c of this.table("combinations").values())
      if (c.reference === sku) {
        const product = this.get("products", Number(c.id_product));
        if (product) return { product, combination: c };
      }
    for (const p of this.table("products").values())
      if (p.reference === sku) return { product: p, combination: null };
    return null;
  }

  /** Places an order as a shopper would (a cart checked out): its rows, its carrier, its first state. */
  placeOrder(o: { customerId: number; lines: { sku: string; qty: number }[]; state?: number }): PsRecord {
    const customer = this.get("customers", o.customerId);
    if (!customer) throw new Error(`no customer ${o.customerId}`);
    const address = [...this.table("addresses").values()].find((a) => a.id_customer === customer.id);
    const rows = o.lines.map((l, i) => {
      const found = this.bySku(l.sku);
      if (!found) throw new Error(`no SKU ${l.sku}`);
      const base = Number(found.product.price ?? "0") + Number(found.combination?.price ?? "0");
      return {
        id: String(i + 1),
        product_id: found.product.id as string,
        product_attribute_id: (found.combination?.id as string | undefined) ?? "0",
        product_quantity: String(l.qty),
        product_name: ((found.product.name as LangValue[] | undefined)?.[0]?.value ?? "") as string,
        product_reference: l.sku,
        product_ean13: "",
        product_isbn: "",
        product_upc: "",
        product_price: base.toFixed(6),
        id_customization: "0",
        unit_price_tax_incl: (base * 1.2).toFixed(6),
        unit_price_tax_excl: base.toFixed(6),
      };
    });
    const excl = rows.reduce((n, r) => n + Number(r.unit_price_tax_excl) * Number(r.product_quantity), 0);
    const incl = rows.reduce((n, r) => n + Number(r.unit_price_tax_incl) * Number(r.product_quantity), 0);
    const ship = 5;
    const money = (v: number) => v.toFixed(6);
    const order = this.insert(
      "orders",
      {
        id_address_delivery: (address?.id as string | undefined) ?? "0",
        id_address_invoice: (address?.id as string | undefined) ?? "0",
        id_cart: String(this.table("orders").size + 1),
        id_currency: "1",
        id_lang: "1",
        id_customer: customer.id as string,
        id_carrier: "1",
        current_state: String(o.state ?? 2),
        module: "ps_checkpayment",
        invoice_number: "0",
        invoice_date: "0000-00-00 00:00:00",
        delivery_number: "0",
        delivery_date: "0000-00-00 00:00:00",
        valid: "1",
        shipping_number: "",
        note: "",
        id_shop_group: "1",
        id_shop: "1",
        secure_key: "0123456789abcdef0123456789abcdef",
        payment: "Payment by check",
        recyclable: "0",
        gift: "0",
        gift_message: "",
        mobile_theme: "0",
        total_discounts: money(0),
        total_discounts_tax_incl: money(0),
        total_discounts_tax_excl: money(0),
        total_paid: money(incl + ship * 1.2),
        total_paid_tax_incl: money(incl + ship * 1.2),
        total_paid_tax_excl: money(excl + ship),
        total_paid_real: money(incl + ship * 1.2),
        total_products: money(excl),
        total_products_wt: money(incl),
        total_shipping: money(ship * 1.2),
        total_shipping_tax_incl: money(ship * 1.2),
        total_shipping_tax_excl: money(ship),
        carrier_tax_rate: "20.000",
        total_wrapping: money(0),
        total_wrapping_tax_incl: money(0),
        total_wrapping_tax_excl: money(0),
        round_mode: "2",
        round_type: "2",
        conversion_rate: "1.000000",
        reference: `EMU${String(this.table("orders").size + 1).padStart(6, "0")}`,
        associations: { order_rows: rows },
      },
      true,
    );
    this.insert(
      "order_carriers",
      {
        id_order: order.id as string,
        id_carrier: "1",
        id_order_invoice: "0",
        weight: "0.000000",
        shipping_cost_tax_excl: money(ship),
        shipping_cost_tax_incl: money(ship * 1.2),
        tracking_number: "",
      },
      false,
    );
    const carrier = [...this.table("order_carriers").values()].at(-1);
    if (carrier) carrier.date_add = this.now();
    return order;
  }
}
