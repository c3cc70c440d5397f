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
  /** The company currency, for product list prices (which carry no currency of their own). */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as EUR" })
    .default("EUR"),
});
export type OdooConfig = z.infer<typeof OdooConfig>;
