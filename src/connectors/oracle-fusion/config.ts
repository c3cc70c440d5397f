import { z } from "zod";

/** One Fusion price list read as one customer group's prices. */
export const FusionPriceList = z.object({
  /** Its PriceListName in Fusion (priceLists), e.g. "Wholesale USD". */
  name: z.string().min(1),
  /** The canonical customer group it serves (default: its name without a trailing currency code, as a slug). */
  customerGroup: z.string().min(1).optional(),
  /** The canonical price list code (default: the whole name as a slug, e.g. "wholesale-usd"). */
  code: z.string().min(1).optional(),
});
export type FusionPriceList = z.infer<typeof FusionPriceList>;

/** Settings of an Oracle Fusion Cloud SCM connection (ADF REST resources, version 11.13.18.05). */
export const FusionConfig = z.object({
  /** The pod's address, e.g. https://abcd.fa.us2.oraclecloud.com (anything from /fscmRestApi on is dropped). */
  baseUrl: z.url().transform((u) => u.replace(/\/+$/, "").replace(/\/fscmRestApi(\/.*)?$/, "")),
  /** An integration user with the Order Management and Product Hub REST roles (HTTP basic authentication). */
  username: z.string().min(1),
  /** That user's password; sent only in the Authorization header, never logged. */
  password: z.string().min(1),
  /** BusinessUnitId of the selling business unit orders are created in. */
  businessUnitId: z.number().int().positive(),
  /** The currency Fusion prices orders in (the business unit's price list currency); shop orders in another are refused. */
  currency: z.string().regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as USD" }),
  /** SourceTransactionSystem of the orders written: the shop as an order source set up in Order Management. */
  orderSource: z
    .string()
    .regex(/^[A-Z0-9_]{1,30}$/, { message: "must be an order source code (upper-case letters, digits, _)" })
    .default("PASSERELLE"),
  /** Unit of measure code order lines are written in. */
  uomCode: z.string().min(1).max(3).default("Ea"),
  /** The hold code put on an order whose Fusion total differs from the shop's. */
  holdCode: z.string().min(1).default("PASSERELLE_TOTAL"),
  /**
   * The PriceListName whose sale price is each product variant's own price; unset: variants carry 0 (and
   * the shop's own prices are left to a price flow).
   */
  basePriceList: z.string().min(1).optional(),
  /** Price lists read by the price stream, one customer group each; none: the price stream reads nothing. */
  priceLists: z
    .array(FusionPriceList)
    .default([])
    .superRefine((lists, ctx) => {
      const seen = new Set<string>();
      lists.forEach((l, i) => {
        if (seen.has(l.name))
          ctx.addIssue({
            code: "custom",
            path: [i, "name"],
            message: `price list ${JSON.stringify(l.name)} is listed twice`,
          });
        seen.add(l.name);
      });
    }),
  /** The charge (PricingChargeDefinitionCode) of a price list item that holds its one-time sale price. */
  saleCharge: z.string().min(1).default("QP_SALE_PRICE"),
  /** Rows asked per page (`limit`); Fusion answers at most 500. */
  pageSize: z.number().int().positive().max(500).default(100),
  timeoutMs: z.number().int().positive().default(60_000),
  concurrency: z.number().int().positive().max(16).default(4),
});
export type FusionConfig = z.infer<typeof FusionConfig>;
