/**
 * The dashboard's only way to the server: /api/v1 with the bearer token the operator entered (kept in this
 * tab's sessionStorage, sent as `Authorization`, never shown again). Every non-2xx answer becomes an
 * ApiError carrying the server's one-line `{ error }` message, which the views show as it is.
 */

// Types the server defines are imported from it (type-only: nothing of the server is bundled), so the
// dashboard cannot drift from what the API sends.
import type { ApiVersionInfo } from "../../src/ports/connector.ts";
import type { FailureStatus, Run, RunCounts, RunStatus } from "../../src/ports/store.ts";
import type { FlowLag } from "../../src/runtime/lag.ts";

export type { ApiVersionInfo, FailureStatus, Run, RunCounts, RunStatus };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = "passerelle.token";

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** The API's root, relative to the page (the dashboard is served at the server's `/`). */
const BASE = new URL("api/v1/", new URL(".", window.location.href)).pathname;

export async function api<T>(method: "GET" | "POST" | "PUT", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(BASE + path.replace(/^\//, ""), {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (e) {
    throw new ApiError(0, `the server did not answer (${e instanceof Error ? e.message : String(e)})`);
  }
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const message =
      parsed && typeof parsed === "object" && typeof (parsed as { error?: unknown }).error === "string"
        ? (parsed as { error: string }).error
        : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message);
  }
  return parsed as T;
}

export const enc = encodeURIComponent;

// ---- the shapes the views read (see src/server/api/schemas.ts) --------------------------------------------

export interface SyncEvent {
  id?: number;
  runId?: number | null;
  flow: string;
  entity: string;
  key: string;
  system: string;
  externalId?: string | null;
  kind: string;
  message?: string | null;
  detail?: Record<string, unknown> | null;
  at: string;
}

export interface Link {
  entity: string;
  key: string;
  system: string;
  externalId: string;
  updatedAt?: string;
}

export interface FlowInfo {
  name: string;
  entity: string;
  source?: { connection: string; entity: string };
  target?: { connection: string; entity: string };
  trigger?: string;
  schedule?: string | null;
  state: "running" | "idle" | "failing" | "never-run";
  runningBy?: string | null;
  lastRun: Run | null;
  nextRun: string | null;
  lagSeconds: FlowLag["seconds"];
  lagSince?: FlowLag["since"];
  lagBasis?: FlowLag["basis"];
  openFailures: number;
  callsToday?: number;
  recentRuns?: Run[];
}

export interface Failure {
  id: number;
  flow: string;
  entity: string;
  key: string;
  sourceSystem?: string;
  sourceId?: string;
  sourcePayload?: unknown;
  mappedPayload?: unknown;
  errorKind: string;
  errorMessage: string;
  attempts: number;
  status: FailureStatus;
  reason?: string | null;
  firstFailedAt?: string;
  lastFailedAt?: string;
}

export interface RetryOutcome {
  id: number;
  key: string;
  ok: boolean;
  action: string;
  message: string | null;
}

export interface Connection {
  name: string;
  type: string;
  flows: string[];
  health: { ok: boolean; checkedAt: string; error: string | null } | null;
  calls: { sinceStart: number; today: number; todayByFlow: Record<string, number> };
  throttled: number;
  retries?: number | null;
  rateLimit: { maximumAvailable?: number; currentlyAvailable?: number; restoreRatePerSecond?: number } | null;
  budget: { callsPerDay: number; usedToday: number; remaining: number; basis: string } | null;
  apiVersion?: ApiVersionInfo | null;
}

export interface Usage {
  since: string;
  calls: { day: string; connection: string; flow: string; calls: number }[];
  totals: Record<string, number>;
}

export interface Preview {
  flow: string;
  entity: string;
  sourceId: string | null;
  canonical: unknown;
  mapped: unknown;
  fields: { field: string; rule: string; before: unknown; after: unknown }[];
  problems: { field: string | null; message: string }[];
  plan: { key: string; action: string; sourceId: string; targetId: string | null; reason?: string } | null;
}
