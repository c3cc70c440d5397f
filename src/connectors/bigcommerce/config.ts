/** Connection settings for a BigCommerce store (REST management API v2/v3, store API token). */
import { z } from "zod";
import type { ConfigProblem, ConnectionUse } from "../../ports/definition.ts";
import { ProductPrices, productPricesProblems } from "../price-lists.ts";

export const BigCommerceConfig = z
  .object({
    /** The store hash (Settings › API › Store-level API accounts: the `stores/<hash>` part of the API path). */
    storeHash: z
      .string()
      .regex(/^[a-z0-9]+$/, { message: "must be a BigCommerce store hash (lower-case letters and digits)" })
      .optional(),
    /**
     * The API base, `https://api.bigcommerce.com/stores/<store hash>/` by default (built from storeHash); set it
     * to reach an emulator or a proxy. The connector appends `/v2/...` and `/v3/...` to it.
     */
    apiUrl: z.url().optional(),
    /** The store API account's access token, sent as X-Auth-Token. Use ${env:X} or ${file:/path} in passerelle.yaml. */
    accessToken: z.string().min(1),
    /**
     * The app's client secret, which signs webhook deliveries (Standard Webhooks). Without it no delivery is
     * accepted.
     */
    clientSecret: z.string().min(1).optional(),
    /** The channel price list assignments are made for (1: the store's default storefront). */
    channelId: z.number().int().positive().default(1),
    /** Price lists whose prices are the variants' own catalog price rather than a customer group's price list. */
    basePriceLists: z.array(z.string().min(1)).default(["default"]),
    /** Canonical customer group → BigCommerce customer group name (default: the name matched case-insensitively). */
    groupMap: z.record(z.string(), z.string().min(1)).optional(),
    /**
     * Canonical location → BigCommerce location id (default: the location whose code matches the canonical
     * location case-insensitively, or the number itself).
     */
    locationMap: z.record(z.string(), z.number().int().positive()).optional(),
    /**
     * What a stock write does to a product whose inventory_tracking is `none`: `enable` switches tracking on
     * (by variant for a product with options, by product otherwise), `refuse` fails the record.
     */
    untrackedStock: z.enum(["enable", "refuse"]).default("enable"),
    /** Whether product writes set the price always or only on create (a price flow owning it after that). */
    productPrices: ProductPrices,
    /**
     * Products (or variants) to update in one page above which updates go through the batch endpoints
     * (`PUT /v3/catalog/products`, 10 per call; `PUT /v3/catalog/variants`, 50 per call) instead of one call
     * per record. Absent: always one call per record.
     */
    batchThreshold: z.number().int().min(1).optional(),
    /**
     * Requests left in the quota window at which the client stops and waits for the window to reset (read
     * from X-Rate-Limit-Requests-Left / X-Rate-Limit-Time-Reset-Ms); other apps share the store's quota.
     */
    rateReserve: z.number().int().min(0).default(0),
    /** Records per page (v3 `limit`, v2 `limit`; BigCommerce caps both at 250). */
    pageSize: z.number().int().min(1).max(250).default(50),
    /** Per-request timeout. */
    timeoutMs: z.number().int().positive().default(30_000),
  })
  .refine((c) => c.storeHash !== undefined || c.apiUrl !== undefined, {
    message: "give storeHash (or apiUrl)",
    path: ["storeHash"],
  });
export type BigCommerceConfig = z.infer<typeof BigCommerceConfig>;

export const apiBase = (c: BigCommerceConfig): string =>
  (c.apiUrl ?? `https://api.bigcommerce.com/stores/${c.storeHash}/`).replace(/\/*$/, "/");

export function checkBigCommerceUse(config: BigCommerceConfig, use: ConnectionUse): ConfigProblem[] {
  return productPricesProblems(config.productPrices, use, "variants' own price (base price lists)");
}
