/**
 * What the BigCommerce emulator holds: catalog products with their variants (a product without options
 * keeps one base variant carrying the product's SKU; option variants replace it), options made on demand
 * from the variants' option values, price lists with their records and customer-group assignments,
 * inventory per variant and location, customers (v3) and customer groups (v2), orders (v2) with their
 * products and shipments, and webhook subscriptions. Timestamps are RFC 3339, UTC, to the second.
 */
import { rng } from "../util.ts";

export const bcTime = (ms = Date.now()): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "+00:00");

export type Tracking = "none" | "product" | "variant";

export interface BcOptionValue {
  id: number;
  option_id: number;
  option_display_name: string;
  label: string;
}
export interface BcVariant {
  id: number;
  product_id: number;
  sku: string;
  price: number | null;
  option_values: BcOptionValue[];
}
export interface BcProduct {
  id: number;
  name: string;
  type: "physical" | "digital";
  sku: string;
  price: number;
  weight: number;
  is_visible: boolean;
  availability: "available" | "disabled" | "preorder";
  inventory_tracking: Tracking;
  date_created: string;
  date_modified: string;
  variants: BcVariant[];
  options: { id: number; display_name: string; values: { id: number; label: string }[] }[];
}
export interface BcPriceList {
  id: number;
  name: string;
  active: boolean;
  date_created: string;
  date_modified: string;
}
export interface BcPriceRecord {
  price_list_id: number;
  variant_id: number;
  product_id: number;
  sku: string;
  currency: string;
  price: number;
  bulk_pricing_tiers: {
    quantity_min: number;
    quantity_max?: number;
    type: "fixed" | "price" | "percent";
    amount: number;
  }[];
  date_created: string;
  date_modified: string;
}
export interface BcAssignment {
  id: number;
  price_list_id: number;
  customer_group_id: number;
  channel_id: number;
}
export interface BcLocation {
  id: number;
  code: string;
  name: string;
}
export interface BcCustomer {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
  customer_group_id: number;
  date_created: string;
  date_modified: string;
  addresses: {
    id: number;
    first_name: string;
    last_name: string;
    address1: string;
    city: string;
    postal_code: string;
    country_code: string;
    country: string;
  }[];
}
export interface BcOrderProduct {
  id: number;
  order_id: number;
  product_id: number;
  variant_id: number;
  order_address_id: number;
  name: string;
  sku: string;
  quantity: number;
  quantity_shipped: number;
  base_price: string;
  price_ex_tax: string;
  price_inc_tax: string;
  price_tax: string;
  total_ex_tax: string;
  total_inc_tax: string;
  total_tax: string;
}
export interface BcShipment {
  id: number;
  order_id: number;
  order_address_id: number;
  tracking_number: string;
  tracking_carrier: string;
  shipping_method: string;
  comments: string;
  date_created: string;
  items: { order_product_id: number; product_id: number; quantity: number }[];
}
export interface BcOrder {
  id: number;
  customer_id: number;
  status_id: number;
  date_created: string;
  date_modified: string;
  currency_code: string;
  email: string;
  first_name: string;
  last_name: string;
  subtotal_ex_tax: string;
  total_tax: string;
  shipping_cost_ex_tax: string;
  total_inc_tax: string;
  payment_method: string;
  products: BcOrderProduct[];
  shipments: BcShipment[];
  address: {
    id: number;
    first_name: string;
    last_name: string;
    street_1: string;
    city: string;
    zip: string;
    country_iso2: string;
    country: string;
  };
}
export interface BcHook {
  id: number;
  scope: string;
  destination: string;
  is_active: boolean;
  headers: Record<string, string> | null;
  created_at: number;
  updated_at: number;
}

/** BigCommerce's order statuses (v2 order_statuses). */
export const ORDER_STATUSES: Record<number, string> = {
  0: "Incomplete",
  1: "Pending",
  2: "Shipped",
  3: "Partially Shipped",
  4: "Refunded",
  5: "Cancelled",
  6: "Declined",
  7: "Awaiting Payment",
  8: "Awaiting Pickup",
  9: "Awaiting Shipment",
  10: "Completed",
  11: "Awaiting Fulfillment",
  12: "Manual Verification Required",
  13: "Disputed",
  14: "Partially Refunded",
};

const FIRST = ["Ada", "Ben", "Chloé", "Dev", "Eva", "Finn", "Gus", "Hana", "Ines", "Jon"];
const LAST = ["Moreau", "Schmidt", "Rossi", "Novak", "Silva", "Berg", "Lindqvist", "Kowalski"];

export class BigCommerceData {
  readonly products = new Map<number, BcProduct>();
  readonly priceLists = new Map<number, BcPriceList>();
  /** Key: `${price_list_id}|${variant_id}|${currency}`. */
  readonly priceRecords = new Map<string, BcPriceRecord>();
  readonly assignments: BcAssignment[] = [];
  readonly locations: BcLocation[] = [
    { id: 1, code: "BC-LOCATION-1", name: "Default location" },
    { id: 2, code: "EU-WAREHOUSE", name: "EU warehouse" },
  ];
  /** Key: `${variant_id}|${location_id}`: on hand. */
  readonly inventory = new Map<string, number>();
  readonly customerGroups = [
    { id: 1, name: "Wholesale" },
    { id: 2, name: "Retailer" },
    { id: 3, name: "General" },
  ];
  readonly customers = new Map<number, BcCustomer>();
  readonly orders = new Map<number, BcOrder>();
  readonly hooks = new Map<number, BcHook>();
  readonly #ids = new Map<string, number>();
  /** Seconds added to the clock (so a test can move records past a cursor). */
  clockSkewS = 0;

  next(kind: string, start = 1): number {
    const n = (this.#ids.get(kind) ?? start - 1) + 1;
    this.#ids.set(kind, n);
    return n;
  }

  now(): string {
    return bcTime(Date.now() + this.clockSkewS * 1000);
  }

  variantBySku(sku: string): BcVariant | undefined {
    for (const p of this.products.values()) for (const v of p.variants) if (v.sku === sku) return v;
    return undefined;
  }

  productBySku(sku: string): BcProduct | undefined {
    for (const p of this.products.values()) if (p.sku === sku && sku !== "") return p;
    return undefined;
  }

  seedCustomers(n: number, seed: number): void {
    const r = rng(seed);
    for (let i = 0; i < n; i++)
      this.addCustomer({
        first_name: r.pick(FIRST),
        last_name: r.pick(LAST),
        email: `shopper${i + 1}@example.com`,
        customer_group_id: (i % 3) + 1,
      });
  }

  addCustomer(c: {
    email: string;
    first_name: string;
    last_name: string;
    customer_group_id?: number;
  }): BcCustomer {
    const now = this.now();
    const id = this.next("customer");
    const customer: BcCustomer = {
      id,
      email: c.email,
      first_name: c.first_name,
      last_name: c.last_name,
      customer_group_id: c.customer_group_id ?? 0,
      date_created: now,
      date_modified: now,
      addresses: [
        {
          id: this.next("address"),
          first_name: c.first_name,
          last_name: c.last_name,
          address1: `${id} Rue de la Paix`,
          city: "Lyon",
          postal_code: "69001",
          country_code: "FR",
          country: "France",
        },
      ],
    };
    this.customers.set(id, customer);
    return customer;
  }

  /** A shopper's order (status Awaiting Fulfillment, paid), priced from the catalog at 20 % tax. */
  placeOrder(o: {
    customerId?: number;
    email?: string;
    lines: { sku: string; qty: number }[];
    shipping?: boolean;
  }): BcOrder {
    const customer = o.customerId !== undefined ? this.customers.get(o.customerId) : undefined;
    const id = this.next("order", 100);
    const now = this.now();
    const addressId = this.next("orderAddress");
    const products: BcOrderProduct[] = o.lines.map((l) => {
      const v = this.variantBySku(l.sku);
      if (!v) throw new Error(`placeOrder: no variant with SKU ${l.sku}`);
      const p = this.products.get(v.product_id) as BcProduct;
      const unit = v.price ?? p.price;
      const tax = Math.round(unit * 20) / 100;
      return {
        id: this.next("orderProduct"),
        order_id: id,
        product_id: p.id,
        variant_id: v.id,
        order_address_id: addressId,
        name: p.name,
        sku: v.sku,
        quantity: l.qty,
        quantity_shipped: 0,
        base_price: unit.toFixed(4),
        price_ex_tax: unit.toFixed(4),
        price_inc_tax: (unit + tax).toFixed(4),
        price_tax: tax.toFixed(4),
        total_ex_tax: (unit * l.qty).toFixed(4),
        total_inc_tax: ((unit + tax) * l.qty).toFixed(4),
        total_tax: (tax * l.qty).toFixed(4),
      };
    });
    const sub = products.reduce((s, p) => s + Number(p.total_ex_tax), 0);
    const tax = products.reduce((s, p) => s + Number(p.total_tax), 0);
    const ship = o.shipping ? 5 : 0;
    const first = customer?.first_name ?? "Guest";
    const last = customer?.last_name ?? "Shopper";
    const order: BcOrder = {
      id,
      customer_id: customer?.id ?? 0,
      status_id: 11,
      date_created: now,
      date_modified: now,
      currency_code: "EUR",
      email: customer?.email ?? o.email ?? "guest@example.com",
      first_name: first,
      last_name: last,
      subtotal_ex_tax: sub.toFixed(4),
      total_tax: tax.toFixed(4),
      shipping_cost_ex_tax: ship.toFixed(4),
      total_inc_tax: (sub + tax + ship).toFixed(4),
      payment_method: "Credit Card",
      products,
      shipments: [],
      address: {
        id: addressId,
        first_name: first,
        last_name: last,
        street_1: "1 Quai Saint-Antoine",
        city: "Lyon",
        zip: "69002",
        country_iso2: "FR",
        country: "France",
      },
    };
    this.orders.set(id, order);
    return order;
  }
}
