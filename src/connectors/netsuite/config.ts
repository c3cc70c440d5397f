import { z } from "zod";

const Iso4217 = z.string().regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as EUR" });

/** A NetSuite price level read as the price list of one customer group (streams/prices.ts). */
export const NetSuitePriceLevel = z.object({
  /** The level's name in NetSuite (SuiteQL pricelevel.name), e.g. "Wholesale". */
  name: z.string().trim().min(1),
  /** The canonical customer group the level's prices are for. */
  customerGroup: z.string().min(1),
  /** The list's currency (the connection's `currency` unless set): a price in another currency is a failed record. */
  currency: Iso4217.optional(),
  /** The canonical price list code (default: the level's name in slug form, with the currency when the level is listed twice). */
  code: z.string().min(1).optional(),
});
export type NetSuitePriceLevel = z.infer<typeof NetSuitePriceLevel>;

/** Settings of a NetSuite connection (SuiteTalk REST, Token-Based Authentication). */
export const NetSuiteConfig = z.object({
  /** The account id as NetSuite shows it (1234567, or 1234567_SB1 for a sandbox); the TBA realm. */
  accountId: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { message: "must be a NetSuite account id such as 1234567_SB1" }),
  /** Base URL; default https://<account, lower case, _ as ->.suitetalk.api.netsuite.com. */
  url: z
    .url()
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  /** The integration record's consumer key and secret, and the access token's id and secret (TBA). */
  consumerKey: z.string().min(1),
  consumerSecret: z.string().min(1),
  tokenId: z.string().min(1),
  tokenSecret: z.string().min(1),
  /** Rows per SuiteQL page (`limit`, NetSuite's maximum is 1000). */
  pageSize: z.number().int().positive().max(1000).default(200),
  timeoutMs: z.number().int().positive().default(60_000),
  /** Requests in flight at once: keep it under the account's concurrency limit (it is shared with every integration). */
  maxConcurrent: z.number().int().positive().max(50).default(4),
  /** The currency of item base prices (SuiteQL's item table carries none). */
  currency: Iso4217.default("EUR"),
  /** Subsidiary internal id of customers created (OneWorld accounts require one). */
  subsidiary: z.string().regex(/^\d+$/).optional(),
  /** Price levels read as customer-group price lists (`price`); one entry per level and currency. */
  priceLevels: z
    .array(NetSuitePriceLevel)
    .default([])
    .superRefine((levels, ctx) => {
      const seen = new Set<string>();
      for (const [i, l] of levels.entries()) {
        const key = `${l.name}\u0000${l.currency ?? ""}`;
        if (seen.has(key)) {
          ctx.addIssue({
            code: "custom",
            path: [i, "name"],
            message: `price level ${JSON.stringify(l.name)} is listed twice${l.currency ? ` for ${l.currency}` : ""}`,
          });
        }
        seen.add(key);
      }
    }),
});
export type NetSuiteConfig = z.infer<typeof NetSuiteConfig>;

export const baseUrlOf = (c: NetSuiteConfig): string =>
  c.url ?? `https://${c.accountId.toLowerCase().replace(/_/g, "-")}.suitetalk.api.netsuite.com`;
