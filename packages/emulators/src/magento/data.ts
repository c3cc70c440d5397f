/**
 * The Magento emulator's catalogue and sales data, in memory, and the rules Magento applies when they
 * change: store views and the global (`all`) scope, configurable products over child simples, tier prices
 * per website and customer group, MSI source items, orders with configurable parent and child lines, and
 * shipments moving an order to `complete`. Times are Magento's: UTC, `YYYY-MM-DD HH:MM:SS`, to the second.
 */
import Big from "big.js";
import { rng } from "../util.ts";

export const magentoTime = (d = new Date()): string => d.toISOString().slice(0, 19).replace("T", " ");

export interface StoreView {
  id: number;
  code: string;
  name: string;
  website_id: number;
  store_group_id: number;
  is_active: number;
}

export interface Attribute {
  attribute_id: number;
  attribute_code: string;
  label: string;
  options: { label: string; value: string }[];
}

export interface MProduct {
  id: number;
  sku: string;
  type_id: "simple" | "configurable";
  attribute_set_id: number;
  /** Values at the global (admin, store 0) scope. */
  name: string;
  status: number;
  price: number;
  visibility: number;
  weight?: number;
  /** Store-view values that override the global ones (name, status), by store id. */
  overrides: Map<number, { name?: string; status?: number }>;
  /** Custom attributes (global), e.g. size → option id. */
  custom: Map<string, string>;
  website_ids: number[];
  /** Configurable only. */
  configurable_options: {
    id: number;
    attribute_id: string;
    label: string;
    position: number;
    values: number[];
  }[];
  children: number[];
  created_at: string;
  updated_at: string;
}

export interface TierRow {
  sku: string;
  website_id: number;
  customer_group: string;
  quantity: number;
  price: number;
  price_type: "fixed" | "discount";
}

export interface SourceItem {
  sku: string;
  source_code: string;
  quantity: number;
  status: number;
}

export interface MAddress {
  id: number;
  firstname: string;
  lastname: string;
  street: string[];
  city: string;
  postcode: string;
  country_id: string;
  telephone: string;
  company?: string;
  default_billing: boolean;
  default_shipping: boolean;
}

export interface MCustomer {
  id: number;
  email: string;
  firstname: string;
  lastname: string;
  group_id: number;
  website_id: number;
  store_id: number;
  created_at: string;
  updated_at: string;
  addresses: MAddress[];
}

export interface MOrderItem {
  item_id: number;
  sku: string;
  name: string;
  product_id: number;
  product_type: string;
  parent_item_id?: number;
  qty_ordered: number;
  qty_shipped: number;
  qty_canceled: number;
  price: number;
  row_total: number;
  tax_percent: number;
  tax_amount: number;
  discount_amount: number;
}

export interface MOrder {
  entity_id: number;
  increment_id: string;
  state: string;
  status: string;
  store_id: number;
  customer_id?: number;
  customer_email: string;
  customer_firstname: string;
  customer_lastname: string;
  customer_is_guest: number;
  customer_group_id: number;
  currency: string;
  subtotal: number;
  tax_amount: number;
  shipping_amount: number;
  shipping_description: string;
  discount_amount: number;
  grand_total: number;
  total_paid: number;
  created_at: string;
  updated_at: string;
  items: MOrderItem[];
  address: Omit<MAddress, "id" | "default_billing" | "default_shipping">;
  comments: { comment: string; status: string; created_at: string }[];
}

export interface MShipment {
  entity_id: number;
  increment_id: string;
  order_id: number;
  created_at: string;
  updated_at: string;
  items: {
    order_item_id: number;
    qty: number;
    sku: string;
    name: string;
    product_id: number;
    price: number;
  }[];
  tracks: {
    entity_id: number;
    track_number: string;
    title: string;
    carrier_code: string;
    created_at: string;
  }[];
  comments: { entity_id: number; comment: string; is_visible_on_front: number; created_at: string }[];
}

/** Operation statuses of Magento's bulk API: 1 complete, 2 failed and retriable, 3 failed, 4 open, 5 rejected. */
export interface MBulk {
  uuid: string;
  description: string;
  start_time: string;
  /** Status requests so far: the consumer has not run before the first one is answered. */
  polls: number;
  operations: {
    id: number;
    operationId: string;
    body: unknown;
    status: 1 | 2 | 3 | 4 | 5;
    result_message: string;
    error_code: number;
  }[];
}

export const CUSTOMER_GROUPS = [
  { id: 0, code: "NOT LOGGED IN", tax_class_id: 3 },
  { id: 1, code: "General", tax_class_id: 3 },
  { id: 2, code: "Wholesale", tax_class_id: 3 },
  { id: 3, code: "Retailer", tax_class_id: 3 },
];

type IdKind =
  | "product"
  | "option"
  | "customer"
  | "address"
  | "order"
  | "item"
  | "shipment"
  | "track"
  | "comment";

export class MagentoData {
  readonly websites = [
    { id: 0, code: "admin", name: "Admin", default_group_id: 0 },
    { id: 1, code: "base", name: "Main Website", default_group_id: 1 },
  ];
  readonly storeViews: StoreView[] = [
    { id: 0, code: "admin", name: "Admin", website_id: 0, store_group_id: 0, is_active: 1 },
    { id: 1, code: "default", name: "Default Store View", website_id: 1, store_group_id: 1, is_active: 1 },
    { id: 2, code: "fr", name: "French Store View", website_id: 1, store_group_id: 1, is_active: 1 },
  ];
  readonly customerGroups = CUSTOMER_GROUPS.map((g) => ({ ...g }));
  readonly attributes = new Map<string, Attribute>([
    ["color", { attribute_id: 93, attribute_code: "color", label: "Color", options: [] }],
    ["size", { attribute_id: 144, attribute_code: "size", label: "Size", options: [] }],
  ]);
  readonly sources = [
    { source_code: "default", name: "Default Source", enabled: true },
    { source_code: "eu-warehouse", name: "EU Warehouse", enabled: true },
  ];
  readonly products = new Map<string, MProduct>();
  readonly tierPrices: TierRow[] = [];
  readonly sourceItems = new Map<string, SourceItem>();
  readonly customers = new Map<number, MCustomer>();
  readonly orders = new Map<number, MOrder>();
  readonly shipments = new Map<number, MShipment>();
  /** Async bulk requests: their operations wait (status 4, open) until the consumer runs them. */
  readonly bulks = new Map<string, MBulk>();
  #ids: Record<IdKind, number> = {
    product: 0,
    option: 200,
    customer: 0,
    address: 0,
    order: 0,
    item: 0,
    shipment: 0,
    track: 0,
    comment: 0,
  };

  next(kind: IdKind): number {
    this.#ids[kind] += 1;
    return this.#ids[kind];
  }

  productById(id: number): MProduct | undefined {
    for (const p of this.products.values()) if (p.id === id) return p;
    return undefined;
  }

  /** The configurable a simple belongs to, if any. */
  parentOf(child: MProduct): MProduct | undefined {
    for (const p of this.products.values()) if (p.children.includes(child.id)) return p;
    return undefined;
  }

  /** Places an order as a shopper would: configurable children ordered through their parent (two lines). */
  placeOrder(o: {
    customerId?: number;
    email?: string;
    lines: { sku: string; qty: number }[];
    shipping?: boolean;
    at?: Date;
  }): MOrder {
    const customer = o.customerId !== undefined ? this.customers.get(o.customerId) : undefined;
    const email = customer?.email ?? o.email;
    if (!email) throw new Error("placeOrder: give a customerId or an email");
    const id = this.next("order");
    const now = magentoTime(o.at);
    const items: MOrderItem[] = [];
    let subtotal = new Big(0);
    let tax = new Big(0);
    for (const line of o.lines) {
      const product = this.products.get(line.sku);
      if (product?.type_id !== "simple") throw new Error(`placeOrder: no simple product ${line.sku}`);
      const parent = this.parentOf(product);
      const price = new Big(product.price);
      const row = price.times(line.qty);
      const lineTax = row.times("0.2").round(2, Big.roundHalfUp);
      subtotal = subtotal.plus(row);
      tax = tax.plus(lineTax);
      const base = {
        sku: product.sku,
        qty_ordered: line.qty,
        qty_shipped: 0,
        qty_canceled: 0,
        discount_amount: 0,
      };
      if (parent) {
        const parentItem: MOrderItem = {
          ...base,
          item_id: this.next("item"),
          name: parent.name,
          product_id: parent.id,
          product_type: "configurable",
          price: price.toNumber(),
          row_total: row.toNumber(),
          tax_percent: 20,
          tax_amount: lineTax.toNumber(),
        };
        items.push(parentItem, {
          ...base,
          item_id: this.next("item"),
          name: product.name,
          product_id: product.id,
          product_type: "simple",
          parent_item_id: parentItem.item_id,
          price: 0,
          row_total: 0,
          tax_percent: 0,
          tax_amount: 0,
        });
      } else {
        items.push({
          ...base,
          item_id: this.next("item"),
          name: product.name,
          product_id: product.id,
          product_type: "simple",
          price: price.toNumber(),
          row_total: row.toNumber(),
          tax_percent: 20,
          tax_amount: lineTax.toNumber(),
        });
      }
    }
    const shipping = o.shipping === false ? new Big(0) : new Big("5.00");
    const total = subtotal.plus(tax).plus(shipping);
    const first = customer?.firstname ?? "Guest";
    const last = customer?.lastname ?? "Shopper";
    const address: Omit<MAddress, "id" | "default_billing" | "default_shipping"> = customer?.addresses[0] ?? {
      firstname: first,
      lastname: last,
      street: ["1 Rue de la Paix"],
      city: "Paris",
      postcode: "75002",
      country_id: "FR",
      telephone: "+33100000000",
    };
    const order: MOrder = {
      entity_id: id,
      increment_id: String(100000000 + id),
      state: "processing",
      status: "processing",
      store_id: 1,
      ...(customer ? { customer_id: customer.id } : {}),
      customer_email: email,
      customer_firstname: first,
      customer_lastname: last,
      customer_is_guest: customer ? 0 : 1,
      customer_group_id: customer?.group_id ?? 0,
      currency: "EUR",
      subtotal: subtotal.toNumber(),
      tax_amount: tax.toNumber(),
      shipping_amount: shipping.toNumber(),
      shipping_description: o.shipping === false ? "Free Shipping" : "Flat Rate - Fixed",
      discount_amount: 0,
      grand_total: total.toNumber(),
      total_paid: total.toNumber(),
      created_at: now,
      updated_at: now,
      items,
      address: {
        firstname: address.firstname,
        lastname: address.lastname,
        street: address.street,
        city: address.city,
        postcode: address.postcode,
        country_id: address.country_id,
        telephone: address.telephone,
        ...(address.company ? { company: address.company } : {}),
      },
      comments: [],
    };
    this.orders.set(id, order);
    return order;
  }

  addCustomer(c: {
    email: string;
    firstname: string;
    lastname: string;
    group_id?: number;
    at?: Date;
  }): MCustomer {
    const id = this.next("customer");
    const now = magentoTime(c.at);
    const customer: MCustomer = {
      id,
      email: c.email,
      firstname: c.firstname,
      lastname: c.lastname,
      group_id: c.group_id ?? 1,
      website_id: 1,
      store_id: 1,
      created_at: now,
      updated_at: now,
      addresses: [
        {
          id: this.next("address"),
          firstname: c.firstname,
          lastname: c.lastname,
          street: [`${id} Hauptstraße`],
          city: "Berlin",
          postcode: "10115",
          country_id: "DE",
          telephone: "+4930000000",
          default_billing: true,
          default_shipping: true,
        },
      ],
    };
    this.customers.set(id, customer);
    return customer;
  }

  /** Seeds `customers` shoppers (groups General, Wholesale, Retailer in turn), deterministic per seed. */
  seedCustomers(count: number, seed = 1): void {
    const r = rng(seed);
    const firsts = ["Anna", "Ben", "Chloé", "David", "Emma", "Felix", "Greta", "Hugo", "Inès", "Jonas"];
    const lasts = ["Martin", "Schmidt", "Dubois", "Rossi", "Müller", "Bernard", "Weber", "Laurent"];
    for (let i = 0; i < count; i++) {
      const firstname = firsts[Math.floor(r.next() * firsts.length)] ?? "Anna";
      const lastname = lasts[Math.floor(r.next() * lasts.length)] ?? "Martin";
      this.addCustomer({
        email: `${firstname
          .toLowerCase()
          .normalize("NFD")
          .replace(/[\u0300-\u036f]/g, "")}.${lastname
          .toLowerCase()
          .normalize("NFD")
          .replace(/[\u0300-\u036f]/g, "")}.${i + 1}@example.com`,
        firstname,
        lastname,
        group_id: 1 + (i % 3),
      });
    }
  }
}
