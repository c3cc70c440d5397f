/** Connection settings for a WooCommerce shop (REST API wc/v3). */
import { z } from "zod";
import type { ConfigProblem, ConnectionUse } from "../../ports/definition.ts";
import { ProductPrices, productPricesProblems } from "../price-lists.ts";

const Base = z.object({
  /** The site's base URL, e.g. https://shop.example.com (the REST API is at `<url>/wp-json/wc/v3`). */
  url: z.url(),
  /** Records per page; WooCommerce's REST maximum is 100. */
  pageSize: z.number().int().min(1).max(100).default(50),
  /** Shop currency (WooCommerce has one per shop); orders carry their own. */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as USD" })
    .default("USD"),
  /**
   * Canonical location code this shop's single stock figure stands for; levels of other locations are
   * skipped as not supported, with the reason.
   */
  location: z.string().min(1).default("default"),
  /**
   * The canonical price list whose prices become regular_price. WooCommerce core has no customer-group
   * prices without a plugin: prices of any other list are skipped as not supported, with the reason.
   */
  priceList: z.string().min(1).default("default"),
  /**
   * Whether the product flow writes variant prices (regular_price, sale_price) on every change ("always")
   * or only when it creates a product or variation ("on-create"), leaving them to a price flow after that.
   * With both a product and a price flow writing to this shop, "on-create" is required: otherwise a
   * product edit in the ERP would put the product's own price back over the price list's.
   */
  productPrices: ProductPrices,
  /**
   * Which WordPress accounts are customers: WooCommerce's own role "customer" (what checkout and My
   * Account create), another role a B2B plugin gives buyers, or "all" (the shop's staff included).
   */
  customerRole: z
    .string()
    .regex(/^[a-z0-9_]+$/, { message: 'must be a WordPress role name such as "customer", or "all"' })
    .default("customer"),
  /**
   * A product meta key the stock flow keeps the expected restock date in (YYYY-MM-DD, emptied when the item
   * is back or has no date), for a theme or plugin to show "ships on"; WooCommerce core has no such field.
   * Absent: no date is written (backorders are set either way).
   */
  shipsOnMeta: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, {
      message: "must be a meta key of letters, digits, _ and -, such as ships_on",
    })
    .optional(),
  /** Webhook secret (the one given when the webhook was registered), for X-WC-Webhook-Signature. */
  webhookSecret: z.string().min(1).optional(),
  /** Per-request timeout. */
  timeoutMs: z.number().int().positive().default(30_000),
});

/**
 * Credentials: a WordPress user's application password (HTTP Basic, works over http on a site that allows
 * it), or a WooCommerce REST key pair (HTTP Basic, which WooCommerce accepts over https only). One pair,
 * not both. A plain object (refined), so the editor's JSON Schema lists every field.
 */
export const WooCommerceConfig = Base.extend({
  username: z.string().min(1).optional(),
  /** Use ${env:X} or ${file:/path} in passerelle.yaml. */
  applicationPassword: z.string().min(1).optional(),
  consumerKey: z
    .string()
    .regex(/^ck_\w+$/, { message: 'must be a WooCommerce consumer key "ck_…"' })
    .optional(),
  consumerSecret: z
    .string()
    .regex(/^cs_\w+$/, { message: 'must be a WooCommerce consumer secret "cs_…"' })
    .optional(),
}).superRefine((c, ctx) => {
  const app = c.username !== undefined || c.applicationPassword !== undefined;
  const keys = c.consumerKey !== undefined || c.consumerSecret !== undefined;
  if (app && keys) {
    ctx.addIssue({
      code: "custom",
      path: ["consumerKey"],
      message: "give either username + applicationPassword or consumerKey + consumerSecret, not both",
    });
    return;
  }
  if (!app && !keys) {
    ctx.addIssue({
      code: "custom",
      path: ["applicationPassword"],
      message:
        "credentials are missing: give username + applicationPassword (or consumerKey + consumerSecret over https)",
    });
    return;
  }
  const pair: [string, unknown][] = app
    ? [
        ["username", c.username],
        ["applicationPassword", c.applicationPassword],
      ]
    : [
        ["consumerKey", c.consumerKey],
        ["consumerSecret", c.consumerSecret],
      ];
  for (const [field, value] of pair)
    if (value === undefined) ctx.addIssue({ code: "custom", path: [field], message: `${field} is missing` });
  if (keys && !c.url.startsWith("https://")) {
    ctx.addIssue({
      code: "custom",
      path: ["url"],
      message: `WooCommerce accepts consumerKey/consumerSecret as HTTP Basic over https only; url is ${JSON.stringify(c.url)} (use username + applicationPassword over http)`,
    });
  }
});
export type WooCommerceConfig = z.infer<typeof WooCommerceConfig>;

/** Settings that conflict with the flows using the shop (ConnectorSpec.checkUse). */
export function checkWooUse(config: WooCommerceConfig, use: ConnectionUse): ConfigProblem[] {
  return productPricesProblems(config.productPrices, use, `regular_price (price list "${config.priceList}")`);
}

/** The user and secret sent as HTTP Basic (the refinement guarantees one complete pair). */
export function credentialsOf(config: WooCommerceConfig): [string, string] {
  return config.applicationPassword !== undefined
    ? [config.username ?? "", config.applicationPassword]
    : [config.consumerKey ?? "", config.consumerSecret ?? ""];
}
