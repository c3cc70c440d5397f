/**
 * Named leases: a lock with an expiry, held in the store so it works across processes. A holder that dies
 * simply stops renewing; once the lease expires anyone may take it. Used for "a flow never runs twice at
 * once" (`flow:<name>`) and to serialize writes of one canonical record (`record:<entity>:<key>`).
 */
import { hostname } from "node:os";
import type { Store } from "../ports/store.ts";

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
  return store.leases().acquireLease(name, holder, now, until);
}

/** Extends `holder`'s lease by `ttlMs` from now; false when it was lost to another holder. */
export async function renewLease(
  store: Store,
  name: string,
  holder: string,
  ttlMs: number,
  opts: LeaseOptions = {},
): Promise<boolean> {
  return store.leases().renewLease(name, holder, leaseWindow(name, holder, ttlMs, opts).until);
}

/** Gives the lease up; a no-op when `holder` does not hold it. */
export async function releaseLease(store: Store, name: string, holder: string): Promise<void> {
  await store.leases().releaseLease(name, holder);
}

/**
 * Hands `name` over from `from`, a holder known to be gone (see holderProcessGone), to `holder`; false when
 * `from` no longer holds it.
 */
export async function takeOverLease(
  store: Store,
  name: string,
  from: string,
  holder: string,
  ttlMs: number,
  opts: LeaseOptions = {},
): Promise<boolean> {
  const { now, until } = leaseWindow(name, holder, ttlMs, opts);
  return store.leases().takeOverLease(name, from, holder, now, until);
}

/**
 * The holder name of this process in `role` (sync, run, worker, cli): `<role>-<hostname>-<pid>`. A lease
 * holder of this shape can be recognised as gone by holderProcessGone.
 */
export function processHolder(role: string): string {
  return `${role}-${hostname()}-${process.pid}`;
}

/**
 * True when `holder` (processHolder's shape, with an optional `#n`) names a process on this host that no
 * longer exists: killed (SIGKILL, OOM) or crashed without giving its leases back. A holder on another host,
 * of another shape, or whose process still exists (even if its pid was reused) is not known to be gone.
 */
export function holderProcessGone(holder: string): boolean {
  const host = hostname();
  const m = /^[a-z]+-(.+)-(\d+)(?:#\d+)?$/.exec(holder);
  if (!m || m[1] !== host) return false;
  const pid = Number(m[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Who holds `name` now (null: free or expired). */
export async function leaseHolder(
  store: Store,
  name: string,
  opts: LeaseOptions = {},
): Promise<string | null> {
  return store.leases().leaseHolder(name, (opts.now?.() ?? new Date()).toISOString());
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
