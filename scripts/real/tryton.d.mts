/** Types of scripts/real/tryton.mjs, for the TypeScript tests that start a real Tryton. */
export interface TrytonConnection {
  url: string;
  db: string;
  user: string;
  password: string;
}
export interface StartedTryton extends TrytonConnection {
  pid: number | undefined;
  timings: { startMs: number; build: { adminMs: number; totalMs: number } | null };
  stop(): Promise<void>;
}
export interface TrytonSession {
  uid: number;
  readonly context: Record<string, unknown>;
  refreshContext(): Promise<Record<string, unknown>>;
  call(method: string, ...params: unknown[]): Promise<unknown>;
  callWith(extra: Record<string, unknown>, method: string, ...params: unknown[]): Promise<unknown>;
  model(model: string, method: string, ...params: unknown[]): Promise<unknown>;
  find(
    model: string,
    domain: unknown[],
    fields: string[],
    extra?: Record<string, unknown>,
  ): Promise<(Record<string, unknown> & { id: number })[]>;
  one(model: string, domain: unknown[], fields?: string[]): Promise<Record<string, unknown> & { id: number }>;
  create(model: string, values: Record<string, unknown>[]): Promise<number[]>;
}
export interface SeedResult {
  templates: number[];
  skus: string[];
  warehouses: { id: number; code: string }[];
  priceLists: { id: number; name: string; factor: string }[];
  customers: { id: number; email: string; priceList: string }[];
}
export const TRYTON_MODULES: string[];
export const TRYTON_USER: string;
export const TRYTON_PASSWORD: string;
export const TRYTON_DB: string;
export function trytonAvailable(): { ok: boolean; missing: string | null };
export function freePort(): Promise<number>;
export function dec(v: string | number): { __class__: "Decimal"; decimal: string };
export function date(d: Date): { __class__: "date"; year: number; month: number; day: number };
export function trytonSession(conn: TrytonConnection): Promise<TrytonSession>;
export function startTryton(opts: { dir: string; log?: (message: string) => void }): Promise<StartedTryton>;
export function seedTryton(
  conn: TrytonConnection,
  opts?: { products?: number; variantsEvery?: number; prefix?: string; stock?: number },
): Promise<SeedResult>;
/**
 * Ships the sale's customer shipments not yet done with `tracking` as their reference and posts its
 * invoices. `skus`: only those lines leave, split into a shipment of their own (a partial shipment);
 * `post: false`: the invoices are left as they are.
 */
export function fulfilSale(
  conn: TrytonConnection,
  saleId: number,
  tracking: string,
  opts?: { skus?: string[]; post?: boolean },
): Promise<{ shipments: number[]; invoices: number[] }>;
