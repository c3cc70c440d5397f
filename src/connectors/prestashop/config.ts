/** Connection settings for a PrestaShop 8 shop (the Webservice, with a webservice key). */
import { z } from "zod";
import type { ConfigProblem, ConnectionUse } from "../../ports/definition.ts";
import { ProductPrices, productPricesProblems } from "../price-lists.ts";

export const PrestaShopConfig = z.object({
  /** The shop's address (`https://shop.example.com/`); the connector calls `<url>/api/...`. */
  url: z.url(),
  /**
   * The webservice key (Advanced Parameters › Webservice), 32 characters, sent as the HTTP Basic user with an
   * empty password. Use ${env:X} or ${file:/path} in passerelle.yaml.
   */
  key: z.string().min(1),
  /** The language whose language-keyed fields (names) are read and written (PrestaShop's id_lang). */
  languageId: z.number().int().positive().default(1),
  /** The shop's default currency, the one product prices are in (products read carry it). */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as EUR" })
    .default("EUR"),
  /** The shop stock and prices are written for (id_shop; 0 for specific prices means every shop). */
  shopId: z.number().int().min(0).default(1),
  /** Canonical location → id_shop whose stock_availables it is (default: every location is `shopId`'s stock). */
  locationMap: z.record(z.string(), z.number().int().positive()).optional(),
  /** Canonical customer group → PrestaShop group name (default: the name matched case-insensitively). */
  groupMap: z.record(z.string(), z.string().min(1)).optional(),
  /** Price lists whose prices are the product's (or combination's) own price rather than a group's specific price. */
  basePriceLists: z.array(z.string().min(1)).default(["default"]),
  /** The order state a shipment moves the order to (PrestaShop's stock "Shipped" is 4). */
  shippedState: z.number().int().positive().default(4),
  /** The order state a cancellation moves the order to (PrestaShop's stock "Canceled" is 6). */
  cancelledState: z.number().int().positive().default(6),
  /** Whether product writes set the price always or only on create (a price flow owning it after that). */
  productPrices: ProductPrices,
  /** Records per page (`limit=offset,count`). */
  pageSize: z.number().int().min(1).max(1000).default(50),
  /** Per-request timeout. */
  timeoutMs: z.number().int().positive().default(30_000),
});
export type PrestaShopConfig = z.infer<typeof PrestaShopConfig>;

export const apiBase = (c: PrestaShopConfig): string => `${c.url.replace(/\/*$/, "")}/api/`;

export function checkPrestaShopUse(config: PrestaShopConfig, use: ConnectionUse): ConfigProblem[] {
  return productPricesProblems(config.productPrices, use, "products' and combinations' own price");
}
