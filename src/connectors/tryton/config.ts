import { z } from "zod";

/** Settings of a Tryton connection (JSON-RPC, trytond 6.0 and later). */
export const TrytonConfig = z.object({
  /** Base URL of trytond, e.g. http://127.0.0.1:8000 (without the database). */
  url: z.url().transform((u) => u.replace(/\/+$/, "")),
  /** Database name: requests go to `<url>/<db>/`. */
  db: z.string().min(1),
  /** Login of the integration user. */
  username: z.string().min(1),
  password: z.string().min(1),
  /** Records per page. */
  pageSize: z.number().int().positive().max(5000).default(200),
  /** Per-request timeout. */
  timeoutMs: z.number().int().positive().default(30_000),
  /** Code of the warehouse (stock.location of type warehouse) that ships the sales written here. */
  warehouse: z.string().min(1).default("WH"),
  /** Language sent at login. */
  language: z.string().min(2).default("en"),
});
export type TrytonConfig = z.infer<typeof TrytonConfig>;
