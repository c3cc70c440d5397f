/**
 * The canonical commerce model. Every connector maps its native records to and from these shapes, so
 * N systems need N connectors rather than N×M point-to-point maps.
 *
 * Money is a decimal string (never a float) beside an ISO 4217 currency. Quantities are integers.
 * Every record carries a `key`: the identity it has in every system (a SKU, an e-mail, an order
 * number), which is what links records across systems; ids native to one system live in the link store.
 */
import { z } from "zod";
import { minorUnits, roundTo } from "./money.ts";

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
  "category",
  "product",
  "price",
  "inventory",
  "customer",
  "order",
  "shipment",
  "invoice",
  "refund",
] as const;
export const EntityName = z.enum(ENTITIES);
export type EntityName = z.infer<typeof EntityName>;

export const Image = z.object({ url: z.url(), alt: z.string().optional() });

/** A selling price: a decimal that is not negative (zero is a policy of the flow: see freeItemReason). */
export const PriceAmount = Decimal.refine((v) => !v.startsWith("-"), {
  error: (issue) => `a price must not be negative, got ${JSON.stringify(issue.input)}`,
});

/**
 * Prices are rounded to the currency's minor unit (ISO 4217: 2 digits for EUR, 0 for JPY, 3 for KWD), half
 * away from zero, as retail prices are: a price list's 7.5 % off 22.50 EUR is 20.8125, which no shop takes,
 * and 20.81 is what every system then sells at. A price already within the minor unit is kept as written.
 */
export function priceIn(amount: string, currency: string): string {
  const digits = minorUnits(currency);
  const decimals = amount.split(".")[1]?.length ?? 0;
  return decimals > digits ? roundTo(amount, digits) : amount;
}

/**
 * A node of the merchant's category tree (ERP → shop). Its key stays the same through renames and moves (the
 * ERP's own id or code, never the name or the path), so renaming renames it and moving moves it, and the
 * products that list it keep their link. A category is written after its parent: flows sync categories
 * before the products that reference them, and a category whose parent chain comes back to itself (a cycle)
 * is a failed record (see categoryCycles).
 */
export const Category = z
  .object({
    ...Source,
    key: z.string().min(1),
    /** The name in the source's default language. */
    name: z.string().min(1),
    /** The parent category's key; absent for a top-level category. */
    parent: z.string().min(1).optional(),
    /** Order among its siblings, lowest first; absent where the source keeps no order of its own. */
    position: z.number().int().nonnegative().optional(),
    /** Language code (e.g. "fr", "de_CH") → name in that language, beside `name`. */
    translations: z.record(z.string().min(1), z.string().min(1)).default({}),
  })
  .superRefine((c, ctx) => {
    if (c.parent === c.key) {
      ctx.addIssue({
        code: "custom",
        path: ["parent"],
        message: `category cycle: ${c.key} is its own parent`,
      });
    }
  });
export type Category = z.infer<typeof Category>;

export const Variant = z.object({
  sku: z.string().min(1),
  title: z.string().optional(),
  barcode: z.string().optional(),
  price: PriceAmount,
  compareAtPrice: PriceAmount.optional(),
  /** Option name → value, e.g. { Size: "M", Colour: "Red" }. */
  options: z.record(z.string(), z.string()).default({}),
  weightGrams: z.number().nonnegative().optional(),
  /**
   * "archived": withdrawn from sale in the source while its product stays on sale; the shop disables it
   * (never deletes it: past orders keep their lines). Absent means on sale, so records that never carried
   * the field keep their content hash.
   */
  status: z.literal("archived").optional(),
});
export type Variant = z.infer<typeof Variant>;

export const Product = z
  .object({
    ...Source,
    /** Product code shared by every system (the ERP's template code). */
    key: z.string().min(1),
    title: z.string().min(1),
    description: z.string().optional(),
    vendor: z.string().optional(),
    status: z.enum(["active", "draft", "archived"]).default("active"),
    currency: Currency,
    categoryPath: z.array(z.string()).default([]),
    /**
     * Keys of the categories (see Category) the product is in. Absent means none, so records that never
     * carried the field keep their content hash.
     */
    categories: z.array(z.string().min(1)).optional(),
    attributes: z.record(z.string(), z.string()).default({}),
    images: z.array(Image).default([]),
    /**
     * Language code (e.g. "fr", "de_CH") → the title and description in that language, beside `title` and
     * `description` (the source's default language). Absent means none, so records that never carried the
     * field keep their content hash.
     */
    translations: z
      .record(z.string().min(1), z.object({ title: z.string().min(1), description: z.string().optional() }))
      .optional(),
    variants: z.array(Variant).min(1),
    /**
     * A kit (bill of materials): the SKUs and quantities one unit of the product is made of; empty for a
     * product that is not a kit. A kit's stock is derived from its components' (core/kit.ts kitAvailable),
     * and it is ordered from the ERP as the kit (see docs/architecture.md, "Kits").
     */
    components: z
      .array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive() }))
      .default([]),
  })
  .superRefine((p, ctx) => {
    const own = new Set(p.variants.map((v) => v.sku));
    p.components.forEach((c, i) => {
      if (own.has(c.sku)) {
        ctx.addIssue({
          code: "custom",
          path: ["components", i, "sku"],
          message: `kit cycle: ${p.key} contains itself (component ${c.sku} is one of its own SKUs)`,
        });
      }
    });
  })
  .transform((p) => ({
    ...p,
    variants: p.variants.map((v) => ({
      ...v,
      price: priceIn(v.price, p.currency),
      ...(v.compareAtPrice !== undefined ? { compareAtPrice: priceIn(v.compareAtPrice, p.currency) } : {}),
    })),
  }));
export type Product = z.output<typeof Product>;

export const TierBreak = z.object({ minQuantity: z.number().int().min(2), price: PriceAmount });

/** One variant's price in one customer group's price list. */
export const Price = z
  .object({
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
    price: PriceAmount,
    tiers: z.array(TierBreak).default([]),
    validFrom: z.iso.date().optional(),
    validTo: z.iso.date().optional(),
  })
  .transform((p) => ({
    ...p,
    price: priceIn(p.price, p.priceList.currency),
    tiers: p.tiers.map((t) => ({ ...t, price: priceIn(t.price, p.priceList.currency) })),
  }));
export type Price = z.output<typeof Price>;

/**
 * Available to sell: what a shop may still promise out of one location. On hand, minus what is already
 * promised out of it (reserved: confirmed sales, outgoing moves), minus the safety stock kept back; never
 * below zero. This is the one definition: connectors report onHand, reserved and safetyStock, the canonical
 * schema derives `available` from them (after the flow mapping too, so a mapped safety stock counts), and shop
 * writers make the shop's own sellable quantity equal to it.
 */
export function availableToSell(level: { onHand: number; reserved: number; safetyStock: number }): number {
  return Math.max(0, level.onHand - level.reserved - level.safetyStock);
}

/** Stock of one item at one location; `available` is derived (see availableToSell), whatever a source says. */
export const InventoryLevel = z
  .object({
    ...Source,
    /** `<sku>@<location>` */
    key: z.string().min(1),
    sku: z.string().min(1),
    location: z.string().min(1),
    /** Physically at the location (a negative count is the ERP's own business and kept as read). */
    onHand: z.number().int(),
    /** Already promised out of the location and not yet shipped. */
    reserved: z.number().int().nonnegative().default(0),
    /** Kept back from sale at the location. */
    safetyStock: z.number().int().nonnegative().default(0),
    /** Derived; a value given here is replaced. */
    available: z.number().int().nonnegative().optional(),
    /** Days the item's supplier takes to deliver once ordered (the ERP's supplier lead time), if known. */
    leadTimeDays: z.number().int().nonnegative().optional(),
    /**
     * Out of stock with a lead time: the day it is expected back and whether the shop takes backorders
     * meanwhile. Derived by the engine from `available`, `leadTimeDays` and the flow's `backorders` policy
     * (core/kit.ts restockOf); absent otherwise, which clears the shop's date.
     */
    restock: z.object({ expectedOn: z.iso.date(), backorder: z.boolean() }).optional(),
  })
  .transform((level) => ({ ...level, available: availableToSell(level) }));
export type InventoryLevel = z.output<typeof InventoryLevel>;
/** What a source gives: `available` may be left out (it is derived). */
export type InventoryLevelInput = z.input<typeof InventoryLevel>;

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
  /** Zero for a line cancelled after the order was placed (the shop keeps the line, emptied). */
  quantity: z.number().int().nonnegative(),
  unitPrice: Decimal,
  /** Discount on this line, total for the line (not per unit). */
  discount: Decimal.default("0"),
  taxes: z.array(TaxLine).default([]),
});
export type OrderLine = z.infer<typeof OrderLine>;

export const Order = z
  .object({
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
    shipping: z
      .object({ title: z.string(), amount: Decimal, taxes: z.array(TaxLine).default([]) })
      .optional(),
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
    /** Money given back to the customer, as the source records it (absent: none). */
    refunds: z.array(z.object({ amount: Decimal, reason: z.string().optional() })).optional(),
    cancelled: z.boolean().default(false),
  })
  .superRefine((order, ctx) => {
    if (!order.cancelled && !order.lines.some((l) => l.quantity > 0)) {
      ctx.addIssue({
        code: "custom",
        path: ["lines"],
        message: "an order that is not cancelled needs at least one line with a quantity above 0",
      });
    }
  });
export type Order = z.infer<typeof Order>;

/**
 * A document the source renders (an invoice, a delivery note), named by where it can be fetched: a URL or a
 * connector-specific reference that its connection's `document(ref)` serves (`passerelle document`).
 */
export const DocumentRef = z.object({
  ref: z.string().min(1),
  mimeType: z.literal("application/pdf"),
  /** A signed link a shopper can open (a flow's `documentLinks`); writers put it where they put the ref. */
  url: z.url().optional(),
});
export type DocumentRef = z.infer<typeof DocumentRef>;

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
  /** The delivery note (packing slip) the source renders for this shipment, when it renders one as PDF. */
  document: DocumentRef.optional(),
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
  /** Where the invoice's PDF can be fetched from the source. */
  document: DocumentRef.optional(),
});
export type Invoice = z.infer<typeof Invoice>;

/**
 * Money a shop gave back to a customer on one of its orders (shop → ERP, where it becomes a credit note on
 * what was invoiced). One record per refund, keyed `<source connection>:refund:<refund id>`; the key is the
 * refund's reference in every system (a Tryton credit note carries it), so a refund is credited once.
 * `amount` is what the customer got back, taxes included, in the order's currency. A refund is an entity
 * of its own rather than a field of Order because it has its own life: it is made after the order, may be
 * one of several, and each one is written once (see docs/architecture.md, "Refunds").
 */
export const Refund = z.object({
  ...Source,
  key: z.string().min(1),
  /** Canonical key of the order the refund gives money back on (`<shop connection>:<order number>`). */
  orderKey: z.string().min(1),
  /** The order's number as the shop knows it. */
  orderNumber: z.string().min(1),
  /** The payment provider's reference for the money sent back, when the shop records one. */
  transactionId: z.string().min(1).optional(),
  currency: Currency,
  /** Given back, taxes included; above zero. */
  amount: Decimal.refine((v) => !v.startsWith("-") && !/^0*(\.0*)?$/.test(v), {
    error: (issue) => `a refund amount must be above zero, got ${JSON.stringify(issue.input)}`,
  }),
  /**
   * How the source breaks the amount down, when it does (items + shipping + adjustment = amount, checked
   * before anything is written: see core/refund.ts refundTotalCheck). Absent: a refund of an amount only.
   */
  breakdown: z.object({ items: Decimal, shipping: Decimal, adjustment: Decimal }).optional(),
  /** The order lines the refund is for, when the shop names them. */
  lines: z.array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive() })).default([]),
  reason: z.string().optional(),
  createdAt: Timestamp,
});
export type Refund = z.infer<typeof Refund>;

export const SCHEMAS = {
  category: Category,
  product: Product,
  price: Price,
  inventory: InventoryLevel,
  customer: Customer,
  order: Order,
  shipment: Shipment,
  invoice: Invoice,
  refund: Refund,
} as const satisfies Record<EntityName, z.ZodType>;

export interface CanonicalByEntity {
  category: Category;
  product: Product;
  price: Price;
  inventory: InventoryLevel;
  customer: Customer;
  order: Order;
  shipment: Shipment;
  invoice: Invoice;
  refund: Refund;
}
export type Canonical = CanonicalByEntity[EntityName];

/** A record as a stream's toCanonical gives it: a stock level's `available` is derived by the schema. */
export type CanonicalInputByEntity = Omit<CanonicalByEntity, "inventory"> & {
  inventory: InventoryLevelInput;
};

/** Fields that describe where a record came from rather than what it says; excluded from content hashes. */
export const PROVENANCE_FIELDS = ["source", "sourceId", "updatedAt"] as const;
