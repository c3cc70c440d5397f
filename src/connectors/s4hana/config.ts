import { z } from "zod";

const code = (n: number, what: string) =>
  z.string().regex(new RegExp(`^[A-Z0-9]{1,${n}}$`), {
    message: `must be ${what} (1 to ${n} upper-case letters or digits)`,
  });

/** Settings of an SAP S/4HANA connection (OData V2 APIs API_PRODUCT_SRV, API_BUSINESS_PARTNER, API_SALES_ORDER_SRV). */
export const S4HanaConfig = z.object({
  /** Base URL of the system's API host, e.g. https://my123456-api.s4hana.cloud.sap (without /sap/opu/odata). */
  url: z.url().transform((u) => u.replace(/\/+$/, "").replace(/\/sap\/opu\/odata(\/sap)?$/, "")),
  /** The communication user of the communication arrangement (HTTP basic authentication). */
  username: z.string().min(1),
  /** That user's password; sent only in the Authorization header, never logged. */
  password: z.string().min(1),
  /** Records asked per call (`$top`); the server may answer fewer and link the rest (`__next`). */
  pageSize: z.number().int().positive().max(5000).default(100),
  timeoutMs: z.number().int().positive().default(60_000),
  /** Records a writer writes at once. */
  concurrency: z.number().int().positive().max(16).default(4),
  /** Language of the product descriptions read as titles (SAP language key, e.g. EN, DE). */
  language: z
    .string()
    .regex(/^[A-Z]{2}$/, { message: "must be a two-letter SAP language key such as EN" })
    .default("EN"),
  /** The currency of products (the product master carries none; price lists carry their own: `price`). */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as EUR" })
    .default("EUR"),
  /** The sales area products are sold in and orders are placed in. */
  salesOrganization: code(4, "a sales organization").default("1010"),
  distributionChannel: code(2, "a distribution channel").default("10"),
  division: code(2, "a division").default("00"),
  /** Sales document type of orders written (OR: standard order). */
  salesOrderType: code(4, "a sales document type").default("OR"),
  /** Business partner role given to customers written (FLCU01: customer, sales; FLCU00: financial accounting). */
  customerRole: code(6, "a business partner role").default("FLCU01"),
  /** Pricing: the condition type an item's unit price is sent as (a manual price condition). */
  priceCondition: code(4, "a condition type").default("PR00"),
  /** Condition type of a line discount, sent as a negative amount. */
  itemDiscountCondition: code(4, "a condition type").default("RB00"),
  /** Condition type of an order discount (header), sent as a negative amount. */
  headerDiscountCondition: code(4, "a condition type").default("HB00"),
  /** Condition type of the shipping charge (header freight). */
  freightCondition: code(4, "a condition type").default("HD00"),
  /**
   * The delivery block an order is created with and keeps while S/4HANA's net total differs from the shop's
   * (a code of the system's own customizing, Define Reasons for Blocking in Shipping).
   */
  holdDeliveryBlock: code(2, "a delivery block reason"),
  /** Rejection reason set on every item of an order the shop cancels; without one, cancellations fail. */
  rejectionReason: code(2, "a rejection reason").optional(),
  /** Stock: the plants whose storage locations are read as stock locations (API_MATERIAL_STOCK_SRV). */
  stockPlants: z
    .array(code(4, "a plant"))
    .min(1, { message: "must name at least one plant" })
    .default(["1010"]),
  /**
   * Prices: the condition type of the sales price read as price lists (API_SLSPRICINGCONDITIONRECORD_SRV;
   * PPR0 is S/4HANA's standard price), within the sales area above.
   */
  salesPriceCondition: code(4, "a condition type").default("PPR0"),
  /** The unit a price is for (the unit orders are written in); a record priced per another unit fails. */
  priceUnit: code(3, "a unit of measure").default("PC"),
  /**
   * The shop customer group of each S/4HANA customer group's prices (CustomerGroup → group); a customer group
   * not named here serves `customer-group-<code>`.
   */
  priceCustomerGroups: z
    .record(z.string(), z.string().min(1))
    .superRefine((groups, ctx) => {
      for (const key of Object.keys(groups))
        if (!/^[A-Z0-9]{1,2}$/.test(key))
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `must be a customer group (1 to 2 upper-case letters or digits), got ${JSON.stringify(key)}`,
          });
    })
    .default({}),
  /** The shop customer group the prices without a customer group or price list type serve. */
  basePriceCustomerGroup: z.string().min(1).default("default"),
  /**
   * The order writer sends a page's lookups, customer reads, creates and hold releases in OData `$batch`
   * requests (`POST <service>/$batch`, one per service and step) when the page holds at least this many
   * orders; below it each order is written with its own calls. 0 never batches.
   */
  batchThreshold: z
    .number()
    .int()
    .min(0)
    .default(2)
    .describe(
      "Orders in a page from which the order writer sends its lookups, customer reads, creates and hold releases in OData $batch requests (0: never)",
    ),
  /**
   * Requests per `$batch`. SAP documents no fixed limit for a Gateway `$batch` that we could find (the
   * Gateway runs its parts in one work process, in turn): kept to a page-sized handful.
   */
  batchSize: z
    .number()
    .int()
    .positive()
    .max(500)
    .default(50)
    .describe(
      "Requests per OData $batch request to the Gateway (each order's write is a change set of its own)",
    ),
});
export type S4HanaConfig = z.infer<typeof S4HanaConfig>;
