/** The shapes the shared HTTP client takes and gives (client.ts). */
import type { CallInfo } from "./errors.ts";
import type { LatencyOptions, LatencySummary } from "./latency.ts";
import type { RetryPolicy } from "./retry.ts";

export interface HttpResponse {
  status: number;
  headers: Headers;
  bytes: Uint8Array<ArrayBuffer>;
  text(): string;
}

export interface AuthHook {
  /** Headers for the next request (a token, a session); may log in first. */
  headers(signal?: AbortSignal): Promise<Record<string, string>> | Record<string, string>;
  /** Forgets the session after a refusal, so the next `headers` logs in again. Called once per call. */
  refresh?(): void;
  /** Whether an answer means the session is no longer valid (default: HTTP 401). */
  rejected?(res: HttpResponse): boolean;
}

export interface RateLimitEvent {
  status: number;
  /** The vendor's Retry-After, capped; undefined when it sent none. */
  retryAfterMs: number | undefined;
  call: CallInfo;
}

/** A line the client logs; every string in it is already redacted. */
export interface HttpLogLine {
  event: "retry" | "failed";
  system: string;
  method: string;
  path: string;
  message: string;
  status?: number;
  delayMs?: number;
}

export interface HttpClientOptions {
  /** Connection name, carried in every error. */
  system: string;
  /** Vendor name for messages: "Odoo". */
  vendor: string;
  baseUrl: string;
  auth?: AuthHook;
  /** Whole-call timeout, ms. */
  timeoutMs: number;
  /** Default NO_RETRY: the engine retries writes itself, after looking the record up. */
  retry?: RetryPolicy;
  /** Told of every 429 (Odoo pauses the whole connection on it). */
  onRateLimit?: (event: RateLimitEvent) => void;
  /** Secret values never to show in an error or a log line (passwords, API tokens). */
  redact?: readonly string[];
  /** Paces every try against a shared budget (default: the one registered for `system`, governor.ts). */
  governor?: import("./governor.ts").RateGovernor;
  /** Runs each try (a concurrency governor); the timeout starts inside it, not while queued. */
  limit?: <T>(fn: () => Promise<T>) => Promise<T>;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  log?: (line: HttpLogLine) => void;
  latency?: LatencyOptions;
}

export interface SendOptions {
  /** A string or bytes are sent as they are; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Safe to send twice (a read over POST). Default: the method is idempotent. */
  retrySafe?: boolean;
  /** Names the call in errors: "sale.order.create". */
  what?: string;
  /** Send the auth hook's headers (default true; false for the login call itself). */
  auth?: boolean;
  redirect?: RequestRedirect;
  /** Statuses handed back instead of thrown (default: 2xx). */
  accept?: (status: number) => boolean;
  /** Name in the latency table (default: method and path). */
  key?: string;
}

export interface HttpStats {
  calls: number;
  throttled: number;
  retries: number;
  latency: Record<string, LatencySummary>;
}
