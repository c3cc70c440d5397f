/**
 * The canonical commerce model. Every connector maps its native records to and from these shapes, so
 * N systems need N connectors rather than N×M point-to-point maps.
 *
 * Money is a decimal string (never a float) beside an ISO 4217 currency. Quantities are integers.
 * Every record carries a `key`: the identity it has in every system (a SKU, an e-mail, an order
 * number), which is what links records across systems; ids native to one system live in the link store.
 */
import { z } from "zod";

/** A decimal amount as a string: "12", "12.5", "-0.10". */
export const Decimal = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/, { message: 'must be a decimal number written as a string, e.g. "12.50"' });
export type Decimal = z.infer<typeof Decimal>;

export const Currency = z.string().regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as EUR" });

export const Timestamp = z.iso.datetime({ offset: true });

const Source = {
  /** Connection name the record was read from. */
  source: z.string().min(1),
  /** The record's id in that system. */
  sourceId: z.string().min(1),
  /** Last modification in the source, ISO 8601. */
  updatedAt: Timestamp,
};

export const ENTITIES = [
  "product",
  "price",
  "inventory",
  "customer",
  "order",
  "shipment",
  "invoice",
] as const;
export const EntityName = z.enum(ENTITIES);
export type EntityName = z.infer<typeof EntityName>;

export const Image = z.object({ url: z.url(), alt: z.string().optional() });

export const Variant = z.object({
  sku: z.string().min(1),
  title: z.string().optional(),
  barcode: z.string().optional(),
  price: Decimal,
  compareAtPrice: Decimal.optional(),
  /** Option name → value, e.g. { Size: "M", Colour: "Red" }. */
  options: z.record(z.string(), z.string()).default({}),
  weightGrams: z.number().nonnegative().optional(),
});
export type Variant = z.infer<typeof Variant>;

export const Product = z.object({
  ...Source,
  /** Product code shared by every system (the ERP's template code). */
  key: z.string().min(1),
  title: z.string().min(1),
  description: z.string().optional(),
  vendor: z.string().optional(),
  status: z.enum(["active", "draft", "archived"]).default("active"),
  currency: Currency,
  categoryPath: z.array(z.string()).default([]),
  attributes: z.record(z.string(), z.string()).default({}),
  images: z.array(Image).default([]),
  variants: z.array(Variant).min(1),
  /** Kit / bill of materials: the component SKUs and quantities. */
  components: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })).default([]),
});
export type Product = z.infer<typeof Product>;

export const TierBreak = z.object({ minQuantity: z.number().int().min(2), price: Decimal });

/** One variant's price in one customer group's price list. */
export const Price = z.object({
  ...Source,
  /** `<priceList.code>:<sku>` */
  key: z.string().min(1),
  priceList: z.object({
    code: z.string().min(1),
    name: z.string().min(1),
    customerGroup: z.string().min(1),
    currency: Currency,
  }),
  sku: z.string().min(1),
  price: Decimal,
  tiers: z.array(TierBreak).default([]),
  validFrom: z.iso.date().optional(),
  validTo: z.iso.date().optional(),
});
export type Price = z.infer<typeof Price>;

/** Stock of one item at one location. available = onHand − reserved − safetyStock, never below zero. */
export const InventoryLevel = z.object({
  ...Source,
  /** `<sku>@<location>` */
  key: z.string().min(1),
  sku: z.string().min(1),
  location: z.string().min(1),
  onHand: z.number().int(),
  reserved: z.number().int().nonnegative().default(0),
  safetyStock: z.number().int().nonnegative().default(0),
  available: z.number().int().nonnegative(),
});
export type InventoryLevel = z.infer<typeof InventoryLevel>;

export const Address = z.object({
  type: z.enum(["billing", "shipping", "both"]).default("both"),
  name: z.string().optional(),
  company: z.string().optional(),
  line1: z.string().min(1),
  line2: z.string().optional(),
  city: z.string().min(1),
  postalCode: z.string().optional(),
  region: z.string().optional(),
  /** ISO 3166-1 alpha-2 */
  country: z.string().regex(/^[A-Z]{2}$/, { message: "must be an ISO 3166-1 alpha-2 code such as FR" }),
  phone: z.string().optional(),
});
export type Address = z.infer<typeof Address>;

export const Customer = z.object({
  ...Source,
  /** The e-mail address, lower-cased. */
  key: z.string().min(1),
  email: z.email(),
  firstName: z.string().optional(),
  lastName: z.string().min(1),
  phone: z.string().optional(),
  company: z.string().optional(),
  /** Customer group code (drives which price list applies). */
  group: z.string().optional(),
  addresses: z.array(Address).default([]),
});
export type Customer = z.infer<typeof Customer>;

/** One tax on a line or on shipping. `rate` is a fraction: "0.2" is 20 %. `amount` is the tax in money. */
export const TaxLine = z.object({ title: z.string(), rate: Decimal, amount: Decimal });
export type TaxLine = z.infer<typeof TaxLine>;

export const OrderLine = z.object({
  sku: z.string().min(1),
  title: z.string().optional(),
  quantity: z.number().int().positive(),
  unitPrice: Decimal,
  /** Discount on this line, total for the line (not per unit). */
  discount: Decimal.default("0"),
  taxes: z.array(TaxLine).default([]),
});
export type OrderLine = z.infer<typeof OrderLine>;

export const Order = z.object({
  ...Source,
  /** `<source connection>:<order number>`; carried into the target as its external reference. */
  key: z.string().min(1),
  number: z.string().min(1),
  placedAt: Timestamp,
  currency: Currency,
  customer: z.object({ key: z.string().min(1), email: z.email(), name: z.string().optional() }),
  billingAddress: Address.optional(),
  shippingAddress: Address.optional(),
  lines: z.array(OrderLine).min(1),
  shipping: z.object({ title: z.string(), amount: Decimal, taxes: z.array(TaxLine).default([]) }).optional(),
  /** Order-level discounts not already on the lines. */
  discounts: z.array(z.object({ code: z.string().optional(), amount: Decimal })).default([]),
  /** Whether unitPrice and shipping.amount include tax. */
  taxesIncluded: z.boolean().default(false),
  totalTax: Decimal,
  total: Decimal,
  financialStatus: z.enum(["pending", "authorized", "paid", "partially_refunded", "refunded", "voided"]),
  fulfillmentStatus: z.enum(["unfulfilled", "partial", "fulfilled"]).default("unfulfilled"),
  payments: z
    .array(z.object({ gateway: z.string(), amount: Decimal, reference: z.string().optional() }))
    .default([]),
  cancelled: z.boolean().default(false),
});
export type Order = z.infer<typeof Order>;

export const Shipment = z.object({
  ...Source,
  /** `<source connection>:<shipment name>` */
  key: z.string().min(1),
  /** Canonical key of the order this shipment fulfils. */
  orderKey: z.string().min(1),
  /** The order's number as the shop knows it. */
  orderNumber: z.string().min(1),
  carrier: z.string().optional(),
  trackingNumbers: z.array(z.string().min(1)).min(1),
  trackingUrls: z.array(z.url()).default([]),
  lines: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })).default([]),
  shippedAt: Timestamp,
});
export type Shipment = z.infer<typeof Shipment>;

export const Invoice = z.object({
  ...Source,
  key: z.string().min(1),
  number: z.string().min(1),
  kind: z.enum(["invoice", "credit_memo"]).default("invoice"),
  orderKey: z.string().optional(),
  customerKey: z.string().optional(),
  currency: Currency,
  totalTax: Decimal,
  total: Decimal,
  issuedAt: Timestamp,
  /** Where the PDF can be fetched from the source (a URL or a connector-specific document reference). */
  document: z.object({ ref: z.string(), mimeType: z.literal("application/pdf") }).optional(),
});
export type Invoice = z.infer<typeof Invoice>;

export const SCHEMAS = {
  product: Product,
  price: Price,
  inventory: InventoryLevel,
  customer: Customer,
  order: Order,
  shipment: Shipment,
  invoice: Invoice,
} as const satisfies Record<EntityName, z.ZodType>;

export interface CanonicalByEntity {
  product: Product;
  price: Price;
  inventory: InventoryLevel;
  customer: Customer;
  order: Order;
  shipment: Shipment;
  invoice: Invoice;
}
export type Canonical = CanonicalByEntity[EntityName];

/** Fields that describe where a record came from rather than what it says; excluded from content hashes. */
export const PROVENANCE_FIELDS = ["source", "sourceId", "updatedAt"] as const;
