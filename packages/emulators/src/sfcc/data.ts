/**
 * What the SFCC emulator holds, with the platform's rules it enforces: products (items, masters with
 * variation attributes and values, variants assigned to one master with a value for each attribute),
 * catalogs with categories and category assignments, customer lists with customers and their address
 * books, orders of a site with their status transitions, and the order custom attributes defined in
 * Business Manager (a `c_` attribute not defined is refused, as the platform does). Every record carries
 * `creationDate` and `lastModified` (ISO 8601, milliseconds), moved on each change.
 */
import { rng } from "../util.ts";

type Json = Record<string, unknown>;

export class SfccHttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
  }
  get body(): Json {
    return {
      type: `https://api.commercecloud.salesforce.com/documentation/error/v1/errors/${this.title.replace(/\s+/g, "-").toLowerCase()}`,
      title: this.title,
      detail: this.detail,
    };
  }
}

export const notFound = (what: string) => new SfccHttpError(404, "Not Found", what);
export const invalid = (what: string) => new SfccHttpError(400, "Bad Request", what);

export interface VariationAttr {
  id: string;
  attributeDefinitionId: string;
  values: { value: string; name?: Record<string, string> }[];
}

export interface ProductRec {
  id: string;
  name: Record<string, string>;
  online?: boolean;
  ean?: string;
  brand?: string;
  longDescription?: Record<string, string>;
  custom: Json;
  creationDate: string;
  lastModified: string;
  attrs: VariationAttr[];
  /** Variant ids of a master, in assignment order. */
  variants: string[];
  masterId?: string;
  variationValues?: Record<string, string>;
}

export interface CustomerRec extends Json {
  customerNo: string;
  lastName: string;
  email: string;
  creationDate: string;
  lastModified: string;
}

export interface AddressRec extends Json {
  addressId: string;
  countryCode: string;
  lastName: string;
}

export interface OrderLineInput {
  productId: string;
  quantity: number;
  price: number;
}

/** Strictly increasing ISO timestamps (milliseconds): two changes never share one. */
export class Clock {
  #last = 0;
  now(): string {
    const t = Math.max(Date.now(), this.#last + 1);
    this.#last = t;
    return new Date(t).toISOString();
  }
}

const r2 = (n: number) => Math.round(n * 100) / 100;

export class SfccData {
  readonly clock = new Clock();
  readonly products = new Map<string, ProductRec>();
  /** catalogId → categoryId → category. */
  readonly catalogs = new Map<string, Map<string, Json>>();
  /** `catalog|category|product` → assignment. */
  readonly assignments = new Map<string, Json>();
  /** customerListId → customerNo → customer. */
  readonly customerLists = new Map<string, Map<string, CustomerRec>>();
  readonly addresses = new Map<string, AddressRec[]>();
  readonly orders = new Map<string, Json>();
  /** Order custom attributes defined in Business Manager (`c_…`). */
  readonly orderAttributes = new Set<string>();
  #customerSeq = 0;
  #orderSeq = 0;

  constructor(
    readonly siteId: string,
    readonly customerListId: string,
    readonly catalogId: string,
  ) {
    this.customerLists.set(customerListId, new Map());
    const now = this.clock.now();
    this.catalogs.set(
      catalogId,
      new Map([
        [
          "root",
          {
            id: "root",
            catalogId,
            name: { default: "Storefront" },
            online: true,
            creationDate: now,
            lastModified: now,
          },
        ],
      ]),
    );
  }

  addCategory(id: string, name: string, parent = "root"): Json {
    const cats = this.catalogs.get(this.catalogId)!;
    const now = this.clock.now();
    const c = {
      id,
      catalogId: this.catalogId,
      name: { default: name },
      parentCategoryId: parent,
      online: true,
      creationDate: now,
      lastModified: now,
    };
    cats.set(id, c);
    return c;
  }

  addCustomer(
    c: { email: string; firstName?: string; lastName: string },
    addresses: Omit<AddressRec, "addressId">[] = [],
  ): CustomerRec {
    this.#customerSeq += 1;
    const customerNo = String(this.#customerSeq).padStart(8, "0");
    const now = this.clock.now();
    const rec: CustomerRec = {
      customerNo,
      customerId: `ab${customerNo}cd`,
      email: c.email,
      ...(c.firstName ? { firstName: c.firstName } : {}),
      lastName: c.lastName,
      credentials: { login: c.email, enabled: true, locked: false },
      creationDate: now,
      lastModified: now,
    };
    this.customerLists.get(this.customerListId)!.set(customerNo, rec);
    this.addresses.set(
      customerNo,
      addresses.map(
        (a, i) =>
          ({
            ...a,
            addressId: i === 0 ? "home" : `address${i + 1}`,
            creationDate: now,
            lastModified: now,
          }) as unknown as AddressRec,
      ),
    );
    return rec;
  }

  seedCustomers(n: number, seed: number): void {
    const rand = rng(seed);
    const FIRST = ["Ana", "Ben", "Chloe", "Dirk", "Eva", "Femi", "Gus", "Hana"];
    const LAST = ["Martin", "Okafor", "Dubois", "Schmidt", "Rossi", "Nakamura", "Silva", "Moreau"];
    const CITIES: [string, string, string][] = [
      ["Lyon", "69001", "FR"],
      ["Berlin", "10115", "DE"],
      ["Boston", "02108", "US"],
    ];
    for (let i = 0; i < n; i++) {
      const first = rand.pick(FIRST);
      const last = rand.pick(LAST);
      const [city, postalCode, countryCode] = CITIES[i % CITIES.length]!;
      this.addCustomer(
        {
          email: `${first.toLowerCase()}.${last.toLowerCase()}.${i}@example.com`,
          firstName: first,
          lastName: last,
        },
        [
          {
            firstName: first,
            lastName: last,
            address1: `${10 + i} Main Street`,
            city,
            postalCode,
            countryCode,
          },
        ],
      );
    }
  }

  touchCustomer(customerNo: string): void {
    const c = this.customerLists.get(this.customerListId)?.get(customerNo);
    if (!c) throw new Error(`no customer ${customerNo}`);
    c.lastModified = this.clock.now();
  }

  /** A storefront checkout placing an order (status new, not shipped, paid), priced net with 20 % tax. */
  placeOrder(o: { customerNo: string; lines: OrderLineInput[]; currency?: string; shipping?: number }): Json {
    const customer = this.customerLists.get(this.customerListId)?.get(o.customerNo);
    if (!customer) throw new Error(`no customer ${o.customerNo}`);
    this.#orderSeq += 1;
    const orderNo = String(this.#orderSeq).padStart(8, "0");
    const now = this.clock.now();
    const address = {
      ...(this.addresses.get(o.customerNo)?.[0] ?? { lastName: customer.lastName, countryCode: "US" }),
    } as Json;
    delete address.addressId;
    delete address.creationDate;
    delete address.lastModified;
    const rate = 0.2;
    const productItems = o.lines.map((l, i) => {
      const net = r2(l.price * l.quantity);
      const tax = r2(net * rate);
      return {
        itemId: `${orderNo}-item-${i + 1}`,
        productId: l.productId,
        productName: this.products.get(l.productId)?.name.default ?? l.productId,
        quantity: l.quantity,
        basePrice: l.price,
        netPrice: net,
        tax,
        grossPrice: r2(net + tax),
        taxBasis: net,
        taxRate: rate,
        priceAfterItemDiscount: net,
        position: i + 1,
        shipmentId: "me",
      };
    });
    const shippingNet = o.shipping ?? 0;
    const shippingTax = r2(shippingNet * rate);
    const productSubTotal = r2(productItems.reduce((s, x) => s + x.netPrice, 0));
    const itemsTax = r2(productItems.reduce((s, x) => s + x.tax, 0));
    const taxTotal = r2(itemsTax + shippingTax);
    const orderTotal = r2(productSubTotal + shippingNet + taxTotal);
    const order: Json = {
      orderNo,
      siteId: this.siteId,
      currency: o.currency ?? "EUR",
      creationDate: now,
      lastModified: now,
      placeDate: now,
      status: "new",
      shippingStatus: "not_shipped",
      paymentStatus: "paid",
      confirmationStatus: "confirmed",
      exportStatus: "ready",
      taxation: "net",
      channelType: "storefront",
      customerInfo: {
        customerNo: customer.customerNo,
        customerId: customer.customerId,
        email: customer.email,
        customerName: [customer.firstName, customer.lastName].filter(Boolean).join(" "),
        guest: false,
      },
      billingAddress: address,
      productItems,
      shipments: [
        {
          shipmentId: "me",
          shipmentNo: orderNo,
          shippingAddress: address,
          shippingMethod: { id: "001" },
          shippingStatus: "not_shipped",
          shippingTotal: shippingNet,
          shippingTotalTax: shippingTax,
          productSubTotal,
          taxTotal,
          shipmentTotal: orderTotal,
        },
      ],
      shippingItems: [
        {
          itemId: `${orderNo}-ship`,
          shipmentId: "me",
          type: "fixed_price",
          netPrice: shippingNet,
          tax: shippingTax,
          grossPrice: r2(shippingNet + shippingTax),
          taxBasis: shippingNet,
          taxRate: rate,
        },
      ],
      productSubTotal,
      productTotal: productSubTotal,
      shippingTotal: shippingNet,
      shippingTotalTax: shippingTax,
      merchandizeTotalTax: itemsTax,
      adjustedMerchandizeTotalTax: itemsTax,
      adjustedShippingTotalTax: shippingTax,
      taxTotal,
      orderTotal,
      paymentInstruments: [
        {
          paymentInstrumentId: `${orderNo}-pi`,
          paymentMethodId: "CREDIT_CARD",
          paymentTransaction: { amount: orderTotal, transactionId: `tx-${orderNo}` },
        },
      ],
    };
    this.orders.set(orderNo, order);
    return order;
  }

  touchOrder(orderNo: string): void {
    const o = this.orders.get(orderNo);
    if (!o) throw new Error(`no order ${orderNo}`);
    o.lastModified = this.clock.now();
  }

  /** The platform's status transitions (updateOrderStatus). */
  setOrderStatus(orderNo: string, status: string): void {
    const o = this.orders.get(orderNo);
    if (!o) throw notFound(`No order with number '${orderNo}' was found.`);
    const from = String(o.status);
    const allowed: Record<string, string[]> = {
      created: ["new", "completed", "cancelled", "failed", "failed_with_reopen"],
      failed: ["created"],
      new: ["completed", "cancelled"],
      completed: ["cancelled", "new"],
      cancelled: ["new", "completed"],
    };
    if (from === status) return;
    if (!(allowed[from] ?? []).includes(status))
      throw new SfccHttpError(
        409,
        "Order Status Transition Not Allowed",
        `The order '${orderNo}' in status '${from}' can't be changed to status '${status}'.`,
      );
    if (status === "cancelled" && o.shippingStatus === "shipped")
      throw new SfccHttpError(
        409,
        "Order Status Transition Not Allowed",
        `The order '${orderNo}' is shipped and can't be cancelled.`,
      );
    o.status = status === "failed_with_reopen" ? "failed" : status;
    o.lastModified = this.clock.now();
  }

  /** The product as the Products API answers it. */
  productView(p: ProductRec): Json {
    const isMaster = p.attrs.length > 0 || p.variants.length > 0;
    const isVariant = p.masterId !== undefined;
    const out: Json = {
      id: p.id,
      name: p.name,
      ...(p.online !== undefined ? { online: p.online } : {}),
      ...(p.ean ? { ean: p.ean } : {}),
      ...(p.brand ? { brand: p.brand } : {}),
      ...(p.longDescription ? { longDescription: p.longDescription } : {}),
      ...p.custom,
      owningCatalogId: this.catalogId,
      creationDate: p.creationDate,
      lastModified: p.lastModified,
      type: { master: isMaster, variant: isVariant, item: !isMaster && !isVariant },
    };
    if (isMaster) {
      out.variationAttributes = p.attrs.map((a) => this.attrView(a));
      out.variants = p.variants.map((v) => ({
        productId: v,
        variationValues: this.products.get(v)?.variationValues ?? {},
      }));
    }
    if (isVariant) {
      out.master = { masterId: p.masterId };
      out.variationValues = p.variationValues ?? {};
    }
    return out;
  }

  attrView(a: VariationAttr): Json {
    return {
      id: a.id,
      attributeDefinitionId: a.attributeDefinitionId,
      values: a.values.map((v) => ({ value: v.value, ...(v.name ? { name: v.name } : {}) })),
    };
  }
}
