import { asSyncError, SyncError } from "../core/errors.ts";

export interface RetryPolicy {
  /** Tries per call, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up when the next retry would end after this long since the first try (0 or absent: no cap). */
  maxElapsedMs?: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 30_000,
  maxElapsedMs: 120_000,
};

/** The policy of one flow: the configuration's top-level `retry`, with the flow's own `retry` over it. */
export function retryPolicyFor(
  config: {
    retry?: Partial<RetryPolicy>;
    flows?: Record<string, { retry?: Partial<RetryPolicy> | undefined }>;
  },
  flow: string,
): RetryPolicy {
  const defined = <T extends object>(o: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  return { ...DEFAULT_RETRY, ...defined(config.retry), ...defined(config.flows?.[flow]?.retry) };
}

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

/**
 * Runs `fn`, retrying retryable and rate-limited failures; anything else is thrown at once. A retry that
 * would end past the policy's maxElapsedMs is not attempted: the last error is thrown, saying so.
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  opts: {
    policy?: RetryPolicy;
    system?: string;
    sleep?: Sleep;
    onRetry?: (err: SyncError, delayMs: number) => void;
    /** Clock for the elapsed-time cap (tests pair a fake clock with a fake sleep). */
    now?: () => number;
    random?: () => number;
  } = {},
): Promise<T> {
  const policy = opts.policy ?? DEFAULT_RETRY;
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const err = asSyncError(e, opts.system);
      if (!err.retryable || attempt >= policy.attempts) throw err;
      const delay = backoffDelay(policy, attempt, err, opts.random);
      const cap = policy.maxElapsedMs ?? 0;
      if (cap > 0 && now() - started + delay > cap) {
        throw new SyncError(
          err.kind,
          `${err.message} (gave up: the next retry in ${delay} ms would pass the ${cap} ms cap)`,
          {
            ...err.details,
            cause: err,
          },
        );
      }
      opts.onRetry?.(err, delay);
      await sleep(delay);
    }
  }
}
