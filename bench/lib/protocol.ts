/** Messages between a benchmark and the process that hosts its emulators (host.ts). */
import type { RateLimitOptions } from "@passerelle/emulators";
import type { DatasetCounts } from "../dataset.ts";

export interface HostSettings {
  size: number;
  seed: number;
  /** Shopify's cost bucket; off unless given. */
  rateLimit?: RateLimitOptions;
}

export type HostRequest =
  | { op: "stats" }
  | { op: "reset" }
  | { op: "change"; fraction: number; round: number };

export interface ShopifyCounters {
  calls: number;
  writes: number;
  throttled: number;
  costSpent: number;
}

export type HostReply =
  | { op: "ready"; seedMs: number; counts: DatasetCounts; env: Record<string, string> }
  | {
      op: "stats";
      odoo: { calls: number; writes: number };
      shopify: ShopifyCounters;
      bulk: { operations: number; lines: number } | null;
      rss: number;
      /** CPU time the emulator host has used so far (user + system), ms. */
      cpuMs: number;
      shop: { products: number; variants: number; priceLists: number };
    }
  | { op: "reset" }
  | { op: "change"; changed: DatasetCounts };
