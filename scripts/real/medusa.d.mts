/** Types of scripts/real/medusa.mjs, for the TypeScript tests that start a real Medusa. */
export interface MedusaSeed {
  admin_email: string;
  admin_password: string;
  template_db: string;
  store_id: string;
  sales_channel_id: string;
  region_eur_id: string;
  region_usd_id: string;
  stock_location_id: string;
  shipping_profile_id: string;
  fulfillment_set_id: string;
  service_zone_id: string;
  shipping_options: Record<string, string>;
  publishable_key: string;
  publishable_key_id: string;
  secret_key: string;
  secret_key_id: string;
}
export interface StartedMedusa {
  url: string;
  port: number;
  /** The database of this start (a clone of the template), dropped by stop(). */
  database: string;
  adminEmail: string;
  adminPassword: string;
  secretKey: string;
  publishableKey: string;
  seed: MedusaSeed;
  timings: { setupMs: number | null; startMs: number };
  stop(): Promise<void>;
}
export const MEDUSA_KIT: string;
export const MEDUSA_HOME: string;
export function medusaAvailable(): { ok: boolean; missing: string | null };
export function setupMedusa(opts?: { log?: (message: string) => void }): { setupMs: number };
export function freePort(): Promise<number>;
/** `instance`: part of the database name, so concurrent test files never share a server. */
export function startMedusa(opts?: {
  log?: (message: string) => void;
  instance?: string;
}): Promise<StartedMedusa>;
