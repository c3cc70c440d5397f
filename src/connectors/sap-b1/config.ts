import { z } from "zod";

/** One B1 price list read as one customer group's price list. */
export const SapB1PriceList = z.object({
  /** The price list's number in B1 (PriceLists.PriceListNo, ItemPrices.PriceList). */
  priceList: z.number().int().positive(),
  /** The canonical customer group whose prices it holds (the shop's group). */
  customerGroup: z.string().min(1),
  /** The canonical price list code (default `B1-<priceList>`). */
  code: z.string().min(1).optional(),
  /** A display name (default: the code). */
  name: z.string().min(1).optional(),
});

/** Settings of an SAP Business One connection (Service Layer, OData v4 at /b1s/v2/). */
export const SapB1Config = z.object({
  /** Base URL of the Service Layer, e.g. https://b1.example.com:50000 (without /b1s/v2). */
  url: z.url().transform((u) => u.replace(/\/+$/, "").replace(/\/b1s\/v[12]$/, "")),
  /** The company database (CompanyDB of the Login call). */
  companyDB: z.string().min(1),
  /** The B1 user the integration logs in as. */
  username: z.string().min(1),
  /** That user's password; sent only in the Login call's body, never logged. */
  password: z.string().min(1),
  /** Records per Service Layer page (`Prefer: odata.maxpagesize`). */
  pageSize: z.number().int().positive().max(1000).default(100),
  timeoutMs: z.number().int().positive().default(60_000),
  /** Records a writer writes at once (each is a few requests on the session). */
  concurrency: z.number().int().positive().max(32).default(4),
  /** The list whose price is a product's own price (ItemPrices.PriceList); 1 is B1's "Base Price". */
  basePriceList: z.number().int().positive().default(1),
  /** The company's local currency, for prices that carry none. */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as EUR" })
    .default("EUR"),
  /** Price lists read as customer-group prices; none: the price stream reads nothing. */
  priceLists: z
    .array(SapB1PriceList)
    .default([])
    .superRefine((lists, ctx) => {
      const seen = new Set<number>();
      lists.forEach((l, i) => {
        if (seen.has(l.priceList)) {
          ctx.addIssue({
            code: "custom",
            path: [i, "priceList"],
            message: `price list ${l.priceList} is listed twice`,
          });
        }
        seen.add(l.priceList);
      });
    }),
  /** Canonical customer group → B1 business partner group (GroupCode), both ways. */
  customerGroups: z.record(z.string().min(1), z.number().int()).default({}),
  /** The group of customers written without a group of their own (B1's default customer group is 100). */
  defaultGroupCode: z.number().int().default(100),
  /** Prefix of the CardCode of customers Passerelle creates (the rest is derived from the e-mail). */
  cardCodePrefix: z
    .string()
    .regex(/^[A-Z0-9]{1,5}$/, { message: "must be 1 to 5 upper-case letters or digits" })
    .default("W"),
  /** Only these warehouses' stock is read (default: every warehouse). */
  warehouses: z.array(z.string().min(1)).optional(),
  /** The freight (Setup › Freight, ExpenseCode) an order's shipping is charged as; without one, orders with a shipping charge are refused. */
  freightExpenseCode: z.number().int().positive().optional(),
  /** Tax group (VatGroup) of order lines and freight; default: what B1 derives from the item and partner. */
  vatGroup: z.string().min(1).optional(),
  /** Warehouse of order lines (default: the item's default warehouse, as B1 chooses). */
  orderWarehouse: z.string().min(1).optional(),
  /**
   * The order writer sends a page's lookups, creates and approvals in OData `$batch` requests
   * (`POST /b1s/v2/$batch`) when the page holds at least this many orders; below it each order is written
   * with its own calls. A page of N new orders then costs about four requests instead of about 4 × N.
   * 0 never batches.
   */
  batchThreshold: z
    .number()
    .int()
    .min(0)
    .default(2)
    .describe(
      "Orders in a page from which the order writer sends its lookups, creates and approvals in OData $batch requests (0: never)",
    ),
  /**
   * Requests per `$batch`. SAP documents no limit for Service Layer's `$batch` that we could find; each part
   * runs in turn on one session and the batch answers only when the last has, so a batch is kept to a
   * page-sized handful rather than a whole sync's worth.
   */
  batchSize: z
    .number()
    .int()
    .positive()
    .max(500)
    .default(50)
    .describe(
      "Requests per OData $batch request to Service Layer (each order's write is a change set of its own)",
    ),
});
export type SapB1Config = z.infer<typeof SapB1Config>;
