/** Connection settings for a Magento 2.4 / Adobe Commerce shop (admin REST API, V1). */
import { z } from "zod";
import type { ConfigProblem, ConnectionUse } from "../../ports/definition.ts";
import { ProductPrices, productPricesProblems } from "../price-lists.ts";

const code = z.string().regex(/^[a-z0-9_]+$/, { message: "must be a Magento store code (a-z, 0-9, _)" });

export const MagentoConfig = z.object({
  /** The shop's base URL, e.g. https://shop.example.com (the REST API is at `<url>/rest/<store code>/V1`). */
  url: z.url(),
  /**
   * An integration's access token, sent as `Authorization: Bearer` (System › Integrations; Magento ≥ 2.4.4
   * needs Stores › Configuration › Services › OAuth › "Allow OAuth Access Tokens to be used as standalone
   * Bearer tokens"). Use ${env:X} or ${file:/path} in passerelle.yaml.
   */
  accessToken: z.string().min(1),
  /**
   * The store view orders and customers are read through. Catalogue writes always go through `all` (the
   * global scope): written through a store view, a name or a status would become that view's own value.
   */
  storeCode: code.default("default"),
  /** Website of tier prices: 0 is every website (Magento's default price scope is global). */
  websiteId: z.number().int().min(0).default(0),
  /** Websites new products are assigned to. */
  websiteIds: z.array(z.number().int().min(0)).min(1).default([1]),
  /** Attribute set of new products (4: Default). */
  attributeSetId: z.number().int().positive().default(4),
  /**
   * Variant option name → the code of the global dropdown attribute a configurable product is configured on
   * (default: the name lower-cased, e.g. Size → size). The attribute must exist; missing option values are added.
   */
  attributeMap: z.record(z.string(), code).optional(),
  /** Canonical location → MSI source code (default: the location itself). */
  sourceMap: z.record(z.string(), z.string().min(1)).optional(),
  /** Canonical customer group → Magento customer group code (default: the group code matched case-insensitively). */
  groupMap: z.record(z.string(), z.string().min(1)).optional(),
  /** Price lists whose prices are the products' own (base) price rather than a customer group's tier price. */
  basePriceLists: z.array(z.string().min(1)).default(["default"]),
  /** Whether product writes set the price always or only on create (a price flow owning it after that). */
  productPrices: ProductPrices,
  /**
   * Source items changed in one batch above which stock goes through Magento's asynchronous bulk API
   * (`/rest/all/async/bulk/V1/inventory/source-items`, its consumer `async.operations.all` must run), polled
   * until every operation is done. Absent: always the synchronous route.
   */
  bulkThreshold: z.number().int().min(1).optional(),
  /** How long a bulk may stay open before the batch fails as retryable (ms). */
  bulkTimeoutMs: z.number().int().positive().default(300_000),
  /** Whether Magento e-mails the customer when a shipment is created. */
  notifyCustomer: z.boolean().default(false),
  /** Records per page (searchCriteria[pageSize]); Magento caps pages at 300 when its input limits are on. */
  pageSize: z.number().int().min(1).max(300).default(100),
  /** Per-request timeout. */
  timeoutMs: z.number().int().positive().default(30_000),
});
export type MagentoConfig = z.infer<typeof MagentoConfig>;

/** Settings that conflict with the flows using the shop (ConnectorSpec.checkUse). */
export function checkMagentoUse(config: MagentoConfig, use: ConnectionUse): ConfigProblem[] {
  return productPricesProblems(config.productPrices, use, "products' own price (base price lists)");
}
