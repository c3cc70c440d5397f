import { z } from "zod";

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
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as EUR" })
    .default("EUR"),
  /** Subsidiary internal id of customers created (OneWorld accounts require one). */
  subsidiary: z.string().regex(/^\d+$/).optional(),
});
export type NetSuiteConfig = z.infer<typeof NetSuiteConfig>;

export const baseUrlOf = (c: NetSuiteConfig): string =>
  c.url ?? `https://${c.accountId.toLowerCase().replace(/_/g, "-")}.suitetalk.api.netsuite.com`;
