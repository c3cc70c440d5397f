/** Connection settings for a Medusa 2 server (Admin API). */
import { z } from "zod";
import type { ConfigProblem, ConnectionUse } from "../../ports/definition.ts";
import { ProductPrices, productPricesProblems } from "../price-lists.ts";

/**
 * Credentials: a secret API key (`sk_…`, sent as HTTP Basic with the key as user name), or an admin user's
 * e-mail and password (exchanged for a JWT at `/auth/user/emailpass`, renewed when it is refused). One, not
 * both. A plain object (refined), so the editor's JSON Schema lists every field.
 */
export const MedusaConfig = z
  .object({
    /** The server's base URL, e.g. https://shop.example.com (the Admin API is at `<url>/admin`). */
    url: z.url(),
    /** Use ${env:X} or ${file:/path} in passerelle.yaml. */
    secretKey: z
      .string()
      .regex(/^sk_\w+$/, { message: 'must be a Medusa secret API key "sk_…"' })
      .optional(),
    email: z.email().optional(),
    /** Use ${env:X} or ${file:/path} in passerelle.yaml. */
    password: z.string().min(1).optional(),
    /** Records per page; Medusa takes any limit, pages stay small because orders carry their lines. */
    pageSize: z.number().int().min(1).max(200).default(50),
    /** Canonical location code → Medusa stock location (its name or its id). Unmapped codes are used as names. */
    locationMap: z.record(z.string(), z.string()).optional(),
    /**
     * Canonical price lists whose prices are the variants' own prices in the list's currency (Medusa keeps one
     * price per currency on a variant). Any other price list becomes a Medusa price list for its customer group.
     */
    basePriceLists: z.array(z.string().min(1)).default(["default"]),
    /**
     * Whether the product flow writes the variants' own prices on every change ("always") or only when it
     * creates a variant or brings back an archived one ("on-create"), the price flow's base lists owning
     * them after that. Required when a price flow also writes to this shop.
     */
    productPrices: ProductPrices,
    /** Sales channel new products are sold in; the store's default channel when absent. */
    salesChannelId: z.string().min(1).optional(),
    /** Shipping profile of new products; the default profile when absent. */
    shippingProfileId: z.string().min(1).optional(),
    /** Stock location shipments are fulfilled from when the shipment names none; the first mapped location when absent. */
    shipFromLocation: z.string().min(1).optional(),
    /**
     * A variant metadata key the stock flow keeps the expected restock date in (YYYY-MM-DD; removed when the
     * item is back or has no date), for the storefront to show "ships on"; Medusa has no field of its own.
     * Absent: no date is written (`allow_backorder` is set either way).
     */
    shipsOnMetadata: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, {
        message: "must be a metadata key of letters, digits, _ and -, such as ships_on",
      })
      .optional(),
    /** Per-request timeout. */
    timeoutMs: z.number().int().positive().default(30_000),
  })
  .superRefine((c, ctx) => {
    const user = c.email !== undefined || c.password !== undefined;
    if (c.secretKey !== undefined && user) {
      ctx.addIssue({
        code: "custom",
        path: ["secretKey"],
        message: "give either secretKey or email + password, not both",
      });
      return;
    }
    if (c.secretKey === undefined && !user) {
      ctx.addIssue({
        code: "custom",
        path: ["secretKey"],
        message:
          "credentials are missing: give secretKey (a secret API key) or email + password of an admin user",
      });
      return;
    }
    if (user) {
      if (c.email === undefined)
        ctx.addIssue({ code: "custom", path: ["email"], message: "email is missing" });
      if (c.password === undefined)
        ctx.addIssue({ code: "custom", path: ["password"], message: "password is missing" });
    }
  });
export type MedusaConfig = z.infer<typeof MedusaConfig>;

/** Settings that conflict with the flows using the shop (ConnectorSpec.checkUse). */
export function checkMedusaUse(config: MedusaConfig, use: ConnectionUse): ConfigProblem[] {
  return productPricesProblems(
    config.productPrices,
    use,
    `variant prices (base price lists ${config.basePriceLists.map((l) => JSON.stringify(l)).join(", ")})`,
  );
}
