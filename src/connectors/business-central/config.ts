import { z } from "zod";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Settings of a Dynamics 365 Business Central connection (API v2.0, OAuth2 client credentials). */
export const BusinessCentralConfig = z.object({
  /** The Microsoft Entra tenant (a GUID or a domain such as contoso.onmicrosoft.com). */
  tenantId: z.string().min(1),
  /** The Business Central environment's name (Production, Sandbox…). */
  environment: z.string().min(1).default("production"),
  /** The environment's root, without /api/v2.0 (default https://api.businesscentral.dynamics.com/v2.0/<tenant>/<environment>). */
  url: z
    .url()
    .transform((u) => u.replace(/\/+$/, "").replace(/\/api\/v2\.0$/, ""))
    .optional(),
  /** The OAuth2 token endpoint (default Entra ID's v2.0 endpoint of the tenant). */
  tokenUrl: z.url().optional(),
  /** The Entra app registration's client id. */
  clientId: z.string().min(1),
  /** That app's client secret; sent only in the token request's body, never logged. */
  clientSecret: z.string().min(1),
  /** The scope asked for. */
  scope: z.string().min(1).default("https://api.businesscentral.dynamics.com/.default"),
  /** The company's id (companies.id, a GUID). */
  companyId: z
    .string()
    .regex(GUID, { message: "must be the company's id, a GUID (GET /api/v2.0/companies lists them)" }),
  /** Records per page asked for (`Prefer: odata.maxpagesize`). */
  pageSize: z.number().int().positive().max(20_000).default(100),
  timeoutMs: z.number().int().positive().default(60_000),
  /** Requests at once; Business Central serves 5 per user and environment and answers 429 beyond its queue. */
  maxConcurrent: z.number().int().positive().max(5).default(5),
  /** The company's local currency (LCY), for items and documents whose currencyCode is empty. */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as EUR" })
    .default("EUR"),
  /** The location name the item's total inventory is reported at (API v2.0 gives no stock per location). */
  inventoryLocation: z.string().min(1).default("ALL"),
  /** Between an item's number and a variant's code in the variant's SKU (`1896-S` + `-` + `RED`). */
  variantSeparator: z.string().min(1).max(3).default("-"),
  /**
   * The webhooks' shared secret, sent as each subscription's `clientState`: Business Central repeats it in
   * every notification, and the server accepts a notification only when it matches (compared in constant
   * time). Give it as ${env:X} or ${file:/path}; it is never logged or stored and is redacted from errors.
   * Without it no subscription is registered and POST /webhooks/<connection> refuses every notification.
   */
  webhookSecret: z
    .string()
    .min(16, { message: "must be at least 16 characters (it is the webhooks' shared secret)" })
    .max(2048, { message: "must be at most 2048 characters (Business Central's limit)" })
    .optional(),
  /**
   * Operations per `$batch` request, at most Business Central's 100 ("A $batch request can contain a
   * maximum of 100 operations": Microsoft Learn, "Work with API limits", training module work-with-api).
   */
  batchSize: z
    .number()
    .int()
    .positive()
    .max(100)
    .default(100)
    .describe("Operations per OData $batch request, at most Business Central's 100"),
  /**
   * The order writer batches a page's lookups, creates and read-backs in OData JSON `$batch` requests when
   * the page holds at least this many orders; below it each order is written with its own calls. A page of
   * N orders then costs a few requests instead of about 6 + lines per order. 0 never batches.
   */
  batchThreshold: z
    .number()
    .int()
    .min(0)
    .default(2)
    .describe(
      "Orders in a page from which the order writer batches its lookups, creates and read-backs in OData JSON $batch requests (0: never)",
    ),
  /** The G/L account an order's shipping charge is posted to (an Account line); without one, orders with a shipping charge are refused. */
  shippingAccount: z.string().min(1).optional(),
});
export type BusinessCentralConfig = z.infer<typeof BusinessCentralConfig>;

/** The environment's root (without /api/v2.0). */
export const environmentUrl = (c: BusinessCentralConfig) =>
  c.url ??
  `https://api.businesscentral.dynamics.com/v2.0/${encodeURIComponent(c.tenantId)}/${encodeURIComponent(c.environment)}`;

/** The token endpoint. */
export const tokenUrl = (c: BusinessCentralConfig) =>
  c.tokenUrl ?? `https://login.microsoftonline.com/${encodeURIComponent(c.tenantId)}/oauth2/v2.0/token`;
