/** Connection settings for a Shopify shop. */
import { z } from "zod";
import { API_VERSION } from "./schema.ts";

export const ShopifyConfig = z.object({
  /** The shop's permanent domain, e.g. demo.myshopify.com. */
  shop: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/, { message: 'must be a domain like "demo.myshopify.com"' }),
  /** Admin API access token (shpat_…). Use ${env:X} or ${file:/path} in passerelle.yaml. */
  accessToken: z.string().min(1),
  /** Full GraphQL URL override, for emulators and proxies. */
  endpoint: z.url().optional(),
  /** Admin API version; overridable so a deprecation does not need a Passerelle release. */
  apiVersion: z
    .string()
    .regex(/^(\d{4}-(01|04|07|10)|unstable)$/, { message: 'must be a version like "2026-10"' })
    .default(API_VERSION),
  /** Records per page; Shopify's maximum is 250, and pages are also shrunk to fit the 1,000-point query cap. */
  pageSize: z.number().int().min(1).max(250).default(100),
  /** Canonical location code → Shopify location name. Unmapped codes are used as names as they are. */
  locationMap: z.record(z.string(), z.string()).optional(),
  /**
   * The app's client secret, which signs webhook deliveries (X-Shopify-Hmac-Sha256). A credential: use
   * ${env:X} or ${file:/path}. Without it, POST /webhooks/<connection> refuses every delivery.
   */
  webhookSecret: z.string().min(1).optional(),
  /**
   * Product batches of at least this many records are written with one bulk mutation (staged JSONL upload,
   * bulkOperationRunMutation, polling) instead of one productSet call each. Unset: never.
   */
  bulkThreshold: z.number().int().min(1).optional(),
  /** Throttled answers retried before a call fails as rate_limited. */
  maxThrottleRetries: z.number().int().min(0).default(5),
});
export type ShopifyConfig = z.infer<typeof ShopifyConfig>;
