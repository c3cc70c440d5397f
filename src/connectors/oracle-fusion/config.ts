import { z } from "zod";

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
  /** Rows asked per page (`limit`); Fusion answers at most 500. */
  pageSize: z.number().int().positive().max(500).default(100),
  timeoutMs: z.number().int().positive().default(60_000),
  concurrency: z.number().int().positive().max(16).default(4),
});
export type FusionConfig = z.infer<typeof FusionConfig>;
