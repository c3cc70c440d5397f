/**
 * The emulator's in-memory shop. Plain records keyed by GID; the GraphQL views (views.ts) shape them into
 * the schema's types. Money is kept as decimal strings, computed with big.js.
 */
import type { Rng } from "../util.ts";

export interface LocationRec {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

export interface VariantRec {
  id: string;
  productId: string;
  inventoryItemId: string;
  sku: string | null;
  barcode: string | null;
  price: string;
  compareAtPrice: string | null;
  optionValues: { optionName: string; name: string }[];
  position: number;
  createdAt: string;
  updatedAt: string;
}

export interface ProductRec {
  id: string;
  title: string;
  handle: string;
  descriptionHtml: string;
  vendor: string;
  productType: string;
  status: "ACTIVE" | "ARCHIVED" | "DRAFT" | "UNLISTED";
  tags: string[];
  options: { name: string; values: string[] }[];
  variantIds: string[];
  createdAt: string;
  updatedAt: string;
}

/** A metafield as the emulator keeps it: on collections (what the connector uses), by `namespace.key`. */
export interface MetafieldRec {
  id: string;
  namespace: string;
  key: string;
  type: string;
  value: string;
  updatedAt: string;
}

/** A custom collection: products added by hand (productSet's `collections`), no smart rules. */
export interface CollectionRec {
  id: string;
  title: string;
  handle: string;
  descriptionHtml: string;
  productIds: string[];
  metafields: Map<string, MetafieldRec>;
  createdAt: string;
  updatedAt: string;
}

/** An online store navigation menu and its nested items (how Shopify holds a tree of collections). */
export interface MenuItemRec {
  id: string;
  title: string;
  type: string;
  resourceId: string | null;
  url: string | null;
  tags: string[];
  items: MenuItemRec[];
}

export interface MenuRec {
  id: string;
  title: string;
  handle: string;
  items: MenuItemRec[];
  createdAt: string;
  updatedAt: string;
}

/** Quantities by name ("available", "on_hand", "committed") per location id. */
export interface InventoryItemRec {
  id: string;
  variantId: string;
  tracked: boolean;
  levels: Map<string, Record<"available" | "on_hand" | "committed", number>>;
  createdAt: string;
  updatedAt: string;
}

export interface AddressRec {
  id: string;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  address1: string | null;
  address2: string | null;
  city: string | null;
  zip: string | null;
  province: string | null;
  countryCode: string | null;
  phone: string | null;
}

export interface CustomerRec {
  id: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  phone: string | null;
  tags: string[];
  note: string | null;
  addresses: AddressRec[];
  createdAt: string;
  updatedAt: string;
}

export interface TaxLineRec {
  title: string;
  rate: number;
  amount: string;
}

export interface LineItemRec {
  id: string;
  variantId: string | null;
  sku: string | null;
  title: string;
  quantity: number;
  unitPrice: string;
  discount: string;
  taxLines: TaxLineRec[];
}

export interface FulfillmentOrderRec {
  id: string;
  status: "OPEN" | "IN_PROGRESS" | "CLOSED" | "CANCELLED";
  locationId: string;
  lineItems: { id: string; lineItemId: string; totalQuantity: number; remainingQuantity: number }[];
  createdAt: string;
  updatedAt: string;
}

export interface FulfillmentRec {
  id: string;
  name: string;
  status: "SUCCESS";
  locationId: string;
  tracking: { number: string | null; url: string | null; company: string | null }[];
  lines: { lineItemId: string; quantity: number }[];
  createdAt: string;
  updatedAt: string;
}

/** A payment transaction of an order: the checkout's sale, and the refunds given back against it. */
export interface TransactionRec {
  id: string;
  kind: "SALE" | "REFUND";
  status: "SUCCESS" | "PENDING" | "FAILURE";
  gateway: string;
  amount: string;
  /** The sale a refund gives money back from. */
  parentId: string | null;
  createdAt: string;
}

/**
 * A refund of an order (refundCreate): the line items and shipping it gives back, at the prices paid
 * (discounts taken off, taxes apart), and the transactions that sent the money.
 */
export interface RefundRec {
  id: string;
  note: string | null;
  lines: {
    id: string;
    lineItemId: string;
    quantity: number;
    restockType: "NO_RESTOCK" | "CANCEL" | "RETURN" | "LEGACY_RESTOCK";
    subtotal: string;
    tax: string;
  }[];
  shipping: { subtotal: string; tax: string } | null;
  transactionIds: string[];
  createdAt: string;
  updatedAt: string;
}

export interface OrderRec {
  id: string;
  name: string;
  number: number;
  email: string | null;
  customerId: string | null;
  currency: string;
  taxesIncluded: boolean;
  lines: LineItemRec[];
  shipping: { title: string; price: string; taxLines: TaxLineRec[] } | null;
  discountCodes: string[];
  financialStatus: "PAID" | "PENDING" | "AUTHORIZED" | "PARTIALLY_REFUNDED" | "REFUNDED";
  gateway: string;
  transactions: TransactionRec[];
  refunds: RefundRec[];
  billingAddress: AddressRec | null;
  shippingAddress: AddressRec | null;
  fulfillmentOrders: FulfillmentOrderRec[];
  fulfillments: FulfillmentRec[];
  cancelledAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface PriceListRec {
  id: string;
  name: string;
  currency: string;
  adjustment: { type: "PERCENTAGE_DECREASE" | "PERCENTAGE_INCREASE"; value: number };
  /** Fixed prices by variant id. */
  prices: Map<string, { price: string; compareAtPrice: string | null }>;
  breaks: Map<string, { id: string; minimumQuantity: number; price: string }[]>;
}

/**
 * A map by GID that also indexes its records by one lower-cased key (a variant's SKU, a product's handle),
 * so lookups and searches on that key do not scan the map. A record whose key changes in place must be
 * passed to `reindex`.
 */
export class KeyedMap<V> extends Map<string, V> {
  private readonly byKey = new Map<string, Set<string>>();
  private readonly keyOfId = new Map<string, string>();

  constructor(private readonly keyOf: (v: V) => string | null) {
    super();
  }

  override set(id: string, value: V): this {
    super.set(id, value);
    this.reindex(id);
    return this;
  }

  override delete(id: string): boolean {
    this.unindex(id);
    return super.delete(id);
  }

  override clear(): void {
    this.byKey.clear();
    this.keyOfId.clear();
    super.clear();
  }

  /** Records the current key of the record stored under `id`. */
  reindex(id: string): void {
    this.unindex(id);
    const v = super.get(id);
    const raw = v === undefined ? null : this.keyOf(v);
    if (raw === null) return;
    const key = raw.toLowerCase();
    this.keyOfId.set(id, key);
    const ids = this.byKey.get(key);
    if (ids) ids.add(id);
    else this.byKey.set(key, new Set([id]));
  }

  private unindex(id: string): void {
    const key = this.keyOfId.get(id);
    if (key === undefined) return;
    this.keyOfId.delete(id);
    const ids = this.byKey.get(key);
    ids?.delete(id);
    if (ids?.size === 0) this.byKey.delete(key);
  }

  /** Records whose key equals `key`, compared case-insensitively, in insertion order. */
  withKey(key: string): V[] {
    const out: V[] = [];
    for (const id of this.byKey.get(key.toLowerCase()) ?? []) {
      const v = super.get(id);
      if (v !== undefined) out.push(v);
    }
    return out;
  }
}

export class ShopData {
  readonly shopName = "Passerelle Demo";
  readonly currency = "EUR";
  readonly locations = new Map<string, LocationRec>();
  readonly products = new KeyedMap<ProductRec>((p) => p.handle);
  readonly variants = new KeyedMap<VariantRec>((v) => v.sku);
  readonly inventoryItems = new Map<string, InventoryItemRec>();
  readonly customers = new Map<string, CustomerRec>();
  readonly orders = new Map<string, OrderRec>();
  readonly priceLists = new Map<string, PriceListRec>();
  readonly collections = new KeyedMap<CollectionRec>((c) => c.handle);
  readonly menus = new Map<string, MenuRec>();
  /** Results of @idempotent mutations by key, replayed when a key comes back. */
  readonly idempotency = new Map<string, unknown>();
  private readonly counters = new Map<string, number>();
  nextOrderNumber = 1001;

  constructor(readonly now: () => string) {}

  gid(type: string): string {
    const n = (this.counters.get(type) ?? 0) + 1;
    this.counters.set(type, n);
    return `gid://shopify/${type}/${n}`;
  }

  variantBySku(sku: string): VariantRec | undefined {
    // The first variant created with exactly this SKU (the index is case-insensitive).
    let first: VariantRec | undefined;
    for (const v of this.variants.withKey(sku))
      if (v.sku === sku && (!first || numericId(v.id) < numericId(first.id))) first = v;
    return first;
  }

  productByHandle(handle: string): ProductRec | undefined {
    let first: ProductRec | undefined;
    for (const p of this.products.withKey(handle))
      if (p.handle === handle && (!first || numericId(p.id) < numericId(first.id))) first = p;
    return first;
  }
}

function numericId(gid: string): number {
  return Number(gid.slice(gid.lastIndexOf("/") + 1));
}

const FIRST = [
  "Anna",
  "Bruno",
  "Chloé",
  "David",
  "Emma",
  "Felix",
  "Greta",
  "Hugo",
  "Inès",
  "Jonas",
  "Léa",
  "Marc",
];
const LAST = [
  "Martin",
  "Bernard",
  "Dubois",
  "Thomas",
  "Robert",
  "Richard",
  "Petit",
  "Durand",
  "Leroy",
  "Moreau",
];
const CITIES = [
  { city: "Paris", zip: "75011", country: "FR" },
  { city: "Lyon", zip: "69002", country: "FR" },
  { city: "Berlin", zip: "10115", country: "DE" },
  { city: "Bruxelles", zip: "1000", country: "BE" },
];

/** Deterministic seed: two locations, `customers` customers, no products (they come from the ERP). */
export function seedShop(data: ShopData, r: Rng, customers = 50): void {
  const base = Date.parse("2026-01-05T08:00:00Z");
  for (const name of ["Main Warehouse", "East Warehouse"]) {
    const id = data.gid("Location");
    const at = new Date(base).toISOString();
    data.locations.set(id, { id, name, createdAt: at, updatedAt: at });
  }
  for (let i = 0; i < customers; i++) {
    const firstName = r.pick(FIRST);
    const lastName = r.pick(LAST);
    const place = r.pick(CITIES);
    const id = data.gid("Customer");
    const created = base + i * 3_600_000 + r.int(0, 3_599) * 1000;
    const updated = created + r.int(0, 30) * 86_400_000;
    const tags = r.chance(0.2) ? ["group:wholesale"] : r.chance(0.1) ? ["group:vip"] : [];
    data.customers.set(id, {
      id,
      firstName,
      lastName,
      email: `${firstName}.${lastName}.${i + 1}@example.com`
        .toLowerCase()
        .normalize("NFD")
        .replace(/[\u0300-\u036f]/g, ""),
      phone: r.chance(0.5) ? `+3361${String(r.int(1_000_000, 9_999_999))}` : null,
      tags,
      note: null,
      addresses: [
        {
          id: data.gid("MailingAddress"),
          firstName,
          lastName,
          company: tags.includes("group:wholesale") ? `${lastName} SARL` : null,
          address1: `${r.int(1, 120)} rue de la Gare`,
          address2: null,
          city: place.city,
          zip: place.zip,
          province: null,
          countryCode: place.country,
          phone: null,
        },
      ],
      createdAt: new Date(created).toISOString(),
      updatedAt: new Date(updated).toISOString(),
    });
  }
}
