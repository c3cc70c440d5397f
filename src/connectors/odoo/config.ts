import { z } from "zod";

/** Settings of an Odoo connection (legacy JSON-RPC external API, Odoo 14–18). */
export const OdooConfig = z.object({
  /** Base URL of the Odoo server, e.g. https://erp.example.com (no trailing /jsonrpc). */
  url: z.url().transform((u) => u.replace(/\/+$/, "")),
  /** Database name. */
  db: z.string().min(1),
  /** Login of the integration user. */
  username: z.string().min(1),
  /** Password or API key of that user. */
  password: z.string().min(1),
  /** Records per search_read call. */
  pageSize: z.number().int().positive().max(5000).default(200),
  /** Per-request timeout. */
  timeoutMs: z.number().int().positive().default(30_000),
  /**
   * Requests in flight at once on this connection; the order writer writes this many sales at a time. Each
   * takes one Odoo worker process while it runs, so stay below the server's `workers`.
   */
  concurrency: z.number().int().positive().max(64).default(4),
  /**
   * Stock locations that stand for several warehouses, summed: `{ online: [WH, WH2] }` reports one level
   * per variant at location `online` (on hand and reserved of both warehouses added up), e.g. for a shop
   * that keeps one stock figure. A warehouse listed under none is reported under its own code.
   */
  stockLocations: z
    .record(z.string().min(1), z.array(z.string().min(1)).min(1))
    .optional()
    .superRefine((groups, ctx) => {
      const seen = new Map<string, string>();
      for (const [location, codes] of Object.entries(groups ?? {})) {
        for (const code of codes) {
          const first = seen.get(code);
          if (first !== undefined)
            ctx.addIssue({
              code: "custom",
              path: [location],
              message: `warehouse ${JSON.stringify(code)} is already summed into ${JSON.stringify(first)}`,
            });
          else seen.set(code, location);
        }
      }
    }),
  /** The company currency, for product list prices (which carry no currency of their own). */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as EUR" })
    .default("EUR"),
});
export type OdooConfig = z.infer<typeof OdooConfig>;
