/**
 * When the shared HTTP client tries a call again, and how long it waits first.
 *
 * Only calls that are safe to send twice are retried: idempotent methods (GET, HEAD, OPTIONS, PUT,
 * DELETE) and calls the connector marks retry-safe (a JSON-RPC read, a GraphQL query, both POSTs). A
 * write that timed out or got a 502 may have been applied; trying it again is the engine's business,
 * which looks the record up by reference first (src/engine/sync.ts).
 *
 * The wait is "full jitter": a uniformly random delay between 0 and min(maxMs, baseMs · 2^(retry−1)), so
 * clients that failed together do not come back together. A Retry-After the vendor sent (seconds or an
 * HTTP date) replaces the jittered delay, capped at `maxRetryAfterMs` so a vendor cannot park a run for
 * an hour.
 */
import { retryAfterMs } from "../../core/retry-after.ts";

export interface RetryPolicy {
  /** Tries per call, the first included (1: never retried). */
  attempts: number;
  /** Ceiling of the first retry's jittered delay. */
  baseMs: number;
  /** Ceiling of any jittered delay. */
  maxMs: number;
  /** Longest Retry-After obeyed; a longer one is cut to this (default 60 s). */
  maxRetryAfterMs?: number;
}

export const NO_RETRY: RetryPolicy = { attempts: 1, baseMs: 0, maxMs: 0 };
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/** HTTP statuses worth another try of a retry-safe call: throttled, or a gateway/server that may recover. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

const IDEMPOTENT: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase());
}

/** Checks a policy, naming the field and value that is wrong. */
export function checkPolicy(policy: RetryPolicy): RetryPolicy {
  const fields: [keyof RetryPolicy, number | undefined, number][] = [
    ["attempts", policy.attempts, 1],
    ["baseMs", policy.baseMs, 0],
    ["maxMs", policy.maxMs, 0],
    ["maxRetryAfterMs", policy.maxRetryAfterMs, 0],
  ];
  for (const [name, value, min] of fields) {
    if (value === undefined && name === "maxRetryAfterMs") continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      throw new RangeError(`retry.${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
    }
  }
  return policy;
}

/** Full jitter for the `retry`-th retry (1: the first): uniform in [0, min(maxMs, baseMs·2^(retry−1))). */
export function fullJitter(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/** A Retry-After header in ms (seconds or HTTP date), capped; undefined when absent or unreadable. */
export function cappedRetryAfter(
  header: string | null | undefined,
  policy: Pick<RetryPolicy, "maxRetryAfterMs">,
  now: number = Date.now(),
): number | undefined {
  const ms = retryAfterMs(header, now);
  if (ms === undefined) return undefined;
  return Math.min(ms, policy.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS);
}

/** The wait before the `retry`-th retry: the vendor's Retry-After when it sent one, else full jitter. */
export function retryDelay(
  policy: RetryPolicy,
  retry: number,
  retryAfter: number | undefined,
  random: () => number = Math.random,
): number {
  return retryAfter ?? fullJitter(policy, retry, random);
}

/**
 * The wait before a retry, cut short when the caller aborts (a Retry-After can be a minute). Without an
 * injected `sleep` the timer is cleared on abort, so an aborted wait keeps nothing alive.
 */
export function waitOrAbort(
  ms: number,
  signal: AbortSignal | undefined,
  sleep?: (ms: number) => Promise<void>,
): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((done) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = () => {
      clearTimeout(timer);
      done();
    };
    signal?.addEventListener("abort", stop, { once: true });
    const finish = () => {
      signal?.removeEventListener("abort", stop);
      done();
    };
    if (sleep) sleep(ms).then(finish, finish);
    else timer = setTimeout(finish, ms);
  });
}
