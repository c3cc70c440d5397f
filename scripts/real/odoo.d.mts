/** Types of scripts/real/odoo.mjs, for the TypeScript tests that start a real Odoo 17. */
export interface OdooConnection {
  url: string;
  db: string;
  user: string;
  password: string;
}
export interface StartedOdoo extends OdooConnection {
  port: number;
  pid: number;
  /** The server's log file. */
  log: string;
  timings: { startMs: number };
  /** Stops the server and drops its database. */
  stop(): Promise<void>;
}
export type OdooValue = unknown;
export type OdooRecord = Record<string, OdooValue> & { id: number };
export interface OdooSession {
  uid: number;
  /** JSON-RPC requests made by this session so far. */
  readonly calls: number;
  call(model: string, method: string, args?: unknown[], kwargs?: Record<string, unknown>): Promise<unknown>;
  find(
    model: string,
    domain: unknown[],
    fields: string[],
    opts?: Record<string, unknown>,
  ): Promise<OdooRecord[]>;
  one(model: string, domain: unknown[], fields?: string[]): Promise<OdooRecord>;
  create(model: string, values: Record<string, unknown>, context?: Record<string, unknown>): Promise<number>;
  create(
    model: string,
    values: Record<string, unknown>[],
    context?: Record<string, unknown>,
  ): Promise<number[]>;
  write(model: string, ids: number[], values: Record<string, unknown>): Promise<boolean>;
}
export interface OdooSeed {
  templates: number[];
  skus: { sku: string; price: string; id: number }[];
  warehouses: { id: number; code: string; stockLocation: number }[];
  pricelists: { id: number; name: string }[];
  customers: { id: number; email: string; pricelist: number }[];
}
export interface OdooAvailability {
  ok: boolean;
  missing: string | null;
  kit: string | null;
  home: string;
  setupDone: boolean;
  wkhtmltopdf: boolean;
}
export const ODOO_USER: string;
export const ODOO_PASSWORD: string;
export const ODOO_TEMPLATE_DB: string;
export const ODOO_CURRENCY: string;
export function odooKit(): string | null;
export function odooAvailable(): OdooAvailability;
export function setupOdoo(opts?: { log?: (message: string) => void }): Promise<{ ms: number }>;
export function startOdoo(opts?: { db?: string; log?: (message: string) => void }): Promise<StartedOdoo>;
export function odooSession(conn: OdooConnection): Promise<OdooSession>;
export function seedOdoo(
  conn: OdooConnection,
  opts?: {
    products?: number;
    variantsEvery?: number;
    prefix?: string;
    stock?: number;
    /** A pricelist of this name with each variant at its list price (the shop's one price for everyone). */
    basePricelist?: string;
  },
): Promise<OdooSeed>;
/** Ships the sale's open delivery with `tracking`; `quantities` (SKU → quantity) ships part, leaving a backorder. */
export function deliverSale(
  conn: OdooConnection,
  saleId: number,
  tracking: string,
  quantities?: Record<string, number>,
): Promise<number>;
/** Invoices the sale's delivered quantities and posts the invoice; returns its account.move id. */
export function invoiceSale(conn: OdooConnection, saleId: number): Promise<number>;
