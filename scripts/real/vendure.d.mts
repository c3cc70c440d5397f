/** Types of vendure.mjs, for the TypeScript tests that start Vendure. */
export interface RunningVendure {
  url: string;
  adminApi: string;
  shopApi: string;
  adminUser: string;
  adminPassword: string;
  dbFile: string;
  logFile: string;
  timings: { seedMs: number; startMs: number };
  stop(): Promise<void>;
}
export function freePort(): Promise<number>;
export function vendureVersion(): string | null;
export function goldenDatabase(): Promise<{ file: string; seedMs: number }>;
export function startVendure(opts: { dir: string; timeoutMs?: number }): Promise<RunningVendure>;
