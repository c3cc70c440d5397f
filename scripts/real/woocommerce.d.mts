/** Types of scripts/real/woocommerce.mjs, for the TypeScript tests that start a real WooCommerce. */
export interface StartedWoo {
  url: string;
  home: string;
  username: string;
  applicationPassword: string;
  basicAuth: string;
  consumerKey: string;
  consumerSecret: string;
  version: string;
  timings: { setupMs: number | null; resetMs: number; startMs: number };
  runQueue(): Promise<{ processed: number; pending_due: number }>;
  stop(): Promise<void>;
}
export const WOO_KIT: string;
export const WOO_HOME: string;
export const WOO_DB_NAME: string;
export function wooAvailable(): { ok: boolean; missing: string | null };
/** `instance`: a shop of its own (work dir and database) for a test file that runs beside another. */
export function setupWoo(opts?: { log?: (message: string) => void; instance?: string }): { setupMs: number };
export function freePort(): Promise<number>;
export function startWoo(opts?: {
  log?: (message: string) => void;
  webhooksSync?: boolean;
  instance?: string;
}): Promise<StartedWoo>;
