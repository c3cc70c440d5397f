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

/**
 * Exponential backoff with equal jitter (half of the delay fixed, half random, so no retry comes sooner than
 * half its step); a vendor's Retry-After wins when it asks for longer.
 */
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
 * After a failed try: how long to wait before the next one, or the error to give up with (not retryable,
 * out of tries, or a wait that would end past the policy's maxElapsedMs counted from the first try).
 */
export function nextTry(
  policy: RetryPolicy,
  attempt: number,
  err: SyncError,
  elapsedMs: number,
  random = Math.random,
): { delayMs: number } | { giveUp: SyncError } {
  if (!err.retryable || attempt >= policy.attempts) return { giveUp: err };
  const delayMs = backoffDelay(policy, attempt, err, random);
  const cap = policy.maxElapsedMs ?? 0;
  if (cap > 0 && elapsedMs + delayMs > cap) {
    return {
      giveUp: new SyncError(
        err.kind,
        `${err.message} (gave up: the next retry in ${delayMs} ms would pass the ${cap} ms cap)`,
        { ...err.details, cause: err },
      ),
    };
  }
  return { delayMs };
}

export interface RetryOptions {
  policy?: RetryPolicy;
  system?: string;
  sleep?: Sleep;
  /** Clock for the elapsed-time cap (tests pair a fake clock with a fake sleep). */
  now?: () => number;
  random?: () => number;
}

/**
 * Runs `fn`, retrying retryable and rate-limited failures; anything else is thrown at once. A retry that
 * would end past the policy's maxElapsedMs is not attempted: the last error is thrown, saying so.
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  opts: RetryOptions & { onRetry?: (err: SyncError, delayMs: number) => void } = {},
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
      const next = nextTry(policy, attempt, err, now() - started, opts.random);
      if ("giveUp" in next) throw next.giveUp;
      opts.onRetry?.(err, next.delayMs);
      await sleep(next.delayMs);
    }
  }
}

/** One item handed to `retryEach`'s try function, with the try it is on (1: the first). */
export interface DueItem<T> {
  item: T;
  attempt: number;
}

interface Queued<T> extends DueItem<T> {
  dueAt: number;
  startedAt: number;
  /** Consecutive tries in which nothing was attempted (`tryDue` threw), and when that streak began. */
  throws: number;
  throwsSince: number;
}

/**
 * Tries every item until it succeeds or its retries are spent, each on its own schedule: an item waiting
 * for its backoff or a vendor's Retry-After waits alone, and the items that come due meanwhile are tried
 * while it waits (with one shared wait, a single Retry-After of one item would hold back all the others).
 *
 * `tryDue` gets the items due at one moment and returns, in the same order, null for each item done and
 * the error for each that failed: retryable errors are tried again after their delay, others are final.
 * Calls to `tryDue` never overlap, so a caller that is not safe to run twice at once stays safe. When
 * `tryDue` throws, nothing was attempted: its items are tried again like one call under `withRetry`, and
 * the error is thrown once that call's retries are spent. Returns the final error of each item that failed.
 */
export async function retryEach<T>(
  items: readonly T[],
  tryDue: (due: DueItem<T>[]) => Promise<(SyncError | null)[]>,
  opts: RetryOptions = {},
): Promise<Map<T, SyncError>> {
  const policy = opts.policy ?? DEFAULT_RETRY;
  const sleep = opts.sleep ?? realSleep;
  const clock = opts.now ?? Date.now;
  // After a wait, time has reached the moment waited for, even under a sleep that does not move the clock.
  let waitedUntil = Number.NEGATIVE_INFINITY;
  const now = () => Math.max(clock(), waitedUntil);
  const start = now();
  let queue: Queued<T>[] = items.map((item) => ({
    item,
    attempt: 1,
    dueAt: start,
    startedAt: start,
    throws: 0,
    throwsSince: start,
  }));
  const failed = new Map<T, SyncError>();
  while (queue.length > 0) {
    const next = queue.reduce((min, q) => Math.min(min, q.dueAt), Number.POSITIVE_INFINITY);
    if (next > now()) {
      await sleep(next - now());
      waitedUntil = Math.max(waitedUntil, next);
    }
    const at = now();
    const due = queue.filter((q) => q.dueAt <= at);
    queue = queue.filter((q) => q.dueAt > at);
    let errors: (SyncError | null)[];
    try {
      errors = await tryDue(due.map(({ item, attempt }) => ({ item, attempt })));
    } catch (e) {
      const err = asSyncError(e, opts.system);
      const t = now();
      // One failed call: its items wait the same delay, so they are tried again together.
      let delayMs = 0;
      for (const q of due) {
        if (q.throws === 0) q.throwsSince = at;
        q.throws++;
        const decision = nextTry(policy, q.throws, err, t - q.throwsSince, opts.random);
        if ("giveUp" in decision) throw decision.giveUp;
        delayMs = Math.max(delayMs, decision.delayMs);
      }
      for (const q of due) q.dueAt = t + delayMs;
      queue.push(...due);
      continue;
    }
    const t = now();
    due.forEach((q, i) => {
      const err = errors[i];
      if (!err) return;
      const decision = nextTry(policy, q.attempt, err, t - q.startedAt, opts.random);
      if ("giveUp" in decision) {
        failed.set(q.item, decision.giveUp);
        return;
      }
      q.attempt++;
      q.throws = 0;
      q.dueAt = t + decision.delayMs;
      queue.push(q);
    });
  }
  return failed;
}
