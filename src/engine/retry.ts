import { asSyncError, type SyncError } from "../core/errors.ts";

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

/** Exponential backoff with full jitter; a vendor's Retry-After wins when it asks for longer. */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  err: SyncError,
  random = Math.random,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.round(exp / 2 + random() * (exp / 2));
  return Math.max(jittered, err.details.retryAfterMs ?? 0);
}

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn`, retrying retryable and rate-limited failures; anything else is thrown at once. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  opts: {
    policy?: RetryPolicy;
    system?: string;
    sleep?: Sleep;
    onRetry?: (err: SyncError, delayMs: number) => void;
  } = {},
): Promise<T> {
  const policy = opts.policy ?? DEFAULT_RETRY;
  const sleep = opts.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const err = asSyncError(e, opts.system);
      if (!err.retryable || attempt >= policy.attempts) throw err;
      const delay = backoffDelay(policy, attempt, err);
      opts.onRetry?.(err, delay);
      await sleep(delay);
    }
  }
}
