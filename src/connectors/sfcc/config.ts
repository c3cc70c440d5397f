/** Connection settings for Salesforce B2C Commerce through the B2C Commerce API (SCAPI) admin APIs. */
import { z } from "zod";

const id = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/, { message: `must be a B2C Commerce ${what} (letters, digits, _ . -)` });

export const SfccConfig = z
  .object({
    /**
     * The realm's short code (Business Manager › Administration › Site Development › Salesforce Commerce
     * API Settings): the API host is `https://<shortCode>.api.commercecloud.salesforce.com`.
     */
    shortCode: z
      .string()
      .regex(/^[a-z0-9]{8}$/, { message: "must be the realm's eight-character short code (a-z, 0-9)" })
      .optional(),
    /** The API host itself, instead of `shortCode` (a proxy, or the emulator). */
    baseUrl: z.url().optional(),
    /** The instance's organization id, `f_ecom_<realm>_<instance>` (e.g. f_ecom_zzte_001). */
    organizationId: z.string().regex(/^f_ecom_[a-z0-9]{4}_[a-z0-9_]+$/, {
      message: "must be f_ecom_<realm>_<instance>, e.g. f_ecom_zzte_001",
    }),
    /** Account Manager's token endpoint. */
    tokenUrl: z.url().default("https://account.demandware.com/dwsso/oauth2/access_token"),
    /** The API client's id in Account Manager. */
    clientId: z.string().min(1),
    /** The API client's password. Use ${env:X} or ${file:/path} in passerelle.yaml. */
    clientSecret: z.string().min(1),
    /**
     * Scopes asked for besides `SALESFORCE_COMMERCE_API:<tenant>` (the tenant is the organization id without
     * `f_ecom_`); the API client must be granted them in Account Manager.
     */
    scopes: z
      .array(
        z.string().regex(/^sfcc\.[a-z_.]+$/, { message: "must be an SCAPI scope such as sfcc.orders.rw" }),
      )
      .default(["sfcc.products.rw", "sfcc.catalogs.rw", "sfcc.customerlists", "sfcc.orders.rw"]),
    /** The site orders are read from and written back to. */
    siteId: id("site id"),
    /** The catalog products are assigned to categories in (the site's storefront catalog). */
    catalogId: id("catalog id"),
    /** The customer list customers are read from (default: the site id, as B2C Commerce names a site's list). */
    customerListId: id("customer list id").optional(),
    /** Locale of the names written (`default` is the fallback locale). */
    locale: z
      .string()
      .regex(/^(default|[a-z]{2}(_[A-Z]{2})?)$/)
      .default("default"),
    /**
     * Variant option name → variation attribute id on the master (default: the name lower-cased with spaces
     * as underscores, e.g. Size → size). The attribute definitions must exist in the product's attribute system.
     */
    attributeMap: z.record(z.string(), id("variation attribute id")).optional(),
    /**
     * Canonical category key → category id in `catalogId`: a product's categories found here are assigned
     * to it in the catalog (the categories must exist there); others are left alone. Absent: no category
     * assignment.
     */
    categoryMap: z.record(z.string(), id("category id")).optional(),
    /**
     * An order custom attribute (defined on Basket and Order in Business Manager) the tracking numbers of a
     * shipment are written to; absent, shipments only move the order's shipping status.
     */
    trackingAttribute: z
      .string()
      .regex(/^c_[A-Za-z0-9_]+$/, { message: "must be a custom attribute id starting with c_" })
      .optional(),
    /** Records per call (SCAPI pages at most 200). */
    pageSize: z.number().int().min(1).max(200).default(100),
    timeoutMs: z.number().int().positive().default(30_000),
  })
  .superRefine((c, ctx) => {
    if (!c.shortCode === !c.baseUrl)
      ctx.addIssue({
        code: "custom",
        path: ["shortCode"],
        message: "give either shortCode (the realm's API host) or baseUrl, not both or neither",
      });
  });
export type SfccConfig = z.infer<typeof SfccConfig>;

export const apiHost = (c: SfccConfig): string =>
  (c.baseUrl ?? `https://${c.shortCode}.api.commercecloud.salesforce.com`).replace(/\/+$/, "");

export const tenantOf = (c: SfccConfig): string => c.organizationId.replace(/^f_ecom_/, "");
