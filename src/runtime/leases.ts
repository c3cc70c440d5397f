/**
 * Named leases: a lock with an expiry, held in the store so it works across processes. A holder that dies
 * simply stops renewing; once the lease expires anyone may take it. Used for "a flow never runs twice at
 * once" (`flow:<name>`) and to serialize writes of one canonical record (`record:<entity>:<key>`).
 */
import type { Store } from "../ports/store.ts";
import { JobStore } from "../store/jobs.ts";

export interface LeaseOptions {
  now?: () => Date;
}

function check(name: string, holder: string, ttlMs: number): void {
  if (name.trim() === "") throw new Error(`lease name must not be empty (got ${JSON.stringify(name)})`);
  if (holder.trim() === "") throw new Error(`lease holder must not be empty (got ${JSON.stringify(holder)})`);
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new Error(`lease ttlMs must be a positive number of milliseconds (got ${ttlMs})`);
  }
}

/** After checking the arguments: now, and the end of a lease of `ttlMs` taken now (ISO 8601). */
function leaseWindow(
  name: string,
  holder: string,
  ttlMs: number,
  opts: LeaseOptions,
): { now: string; until: string } {
  check(name, holder, ttlMs);
  const now = opts.now?.() ?? new Date();
  return { now: now.toISOString(), until: new Date(now.getTime() + ttlMs).toISOString() };
}

/** True when `holder` now holds `name` for `ttlMs` (it was free, expired, or already `holder`'s). */
export async function acquireLease(
  store: Store,
  name: string,
  holder: string,
  ttlMs: number,
  opts: LeaseOptions = {},
): Promise<boolean> {
  const { now, until } = leaseWindow(name, holder, ttlMs, opts);
  return new JobStore(store).acquireLease(name, holder, now, until);
}

/** Extends `holder`'s lease by `ttlMs` from now; false when it was lost to another holder. */
export async function renewLease(
  store: Store,
  name: string,
  holder: string,
  ttlMs: number,
  opts: LeaseOptions = {},
): Promise<boolean> {
  return new JobStore(store).renewLease(name, holder, leaseWindow(name, holder, ttlMs, opts).until);
}

/** Gives the lease up; a no-op when `holder` does not hold it. */
export async function releaseLease(store: Store, name: string, holder: string): Promise<void> {
  await new JobStore(store).releaseLease(name, holder);
}

/** Who holds `name` now (null: free or expired). */
export async function leaseHolder(
  store: Store,
  name: string,
  opts: LeaseOptions = {},
): Promise<string | null> {
  return new JobStore(store).leaseHolder(name, (opts.now?.() ?? new Date()).toISOString());
}

/**
 * Runs `work` while holding `name`, renewing it every third of `ttlMs`; the signal aborts when the lease is
 * lost. Returns null without running when someone else holds it.
 */
export async function withLease<T>(
  store: Store,
  name: string,
  holder: string,
  ttlMs: number,
  work: (signal: AbortSignal) => Promise<T>,
  opts: LeaseOptions = {},
): Promise<{ value: T } | null> {
  if (!(await acquireLease(store, name, holder, ttlMs, opts))) return null;
  const lost = new AbortController();
  const timer = setInterval(
    () => {
      renewLease(store, name, holder, ttlMs, opts).then(
        (ok) => {
          if (!ok) lost.abort(new Error(`lease ${name} was lost`));
        },
        (err: unknown) => lost.abort(err),
      );
    },
    Math.max(10, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  try {
    return { value: await work(lost.signal) };
  } finally {
    clearInterval(timer);
    await releaseLease(store, name, holder);
  }
}
