/**
 * The shared rate governor: a connection's request budget (`governor:` in passerelle.yaml, requests per
 * second) kept for all the processes that share one store. Every try of every call the HTTP client sends
 * for that connection first reserves a slot in the store (`Store.reserveRateSlot`: one atomic upsert per
 * call, on the database's clock) and waits for it, so four workers together send no more than the budget,
 * spaced evenly, instead of each pacing itself on the vendor's answers and meeting 429s.
 *
 * Connectors build their clients with their connection's name (`system`); the client looks the governor up
 * here by that name at each call, so a governor registered after a connector was created still applies.
 */

export interface RateGovernor {
  /** Resolves when the next request may be sent; rejects when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
}

const governors = new Map<string, RateGovernor>();

/** Sets (or, with null, removes) the governor of connection `system` for this process. */
export function setSharedGovernor(system: string, governor: RateGovernor | null): void {
  if (governor) governors.set(system, governor);
  else governors.delete(system);
}

export function sharedGovernor(system: string): RateGovernor | undefined {
  return governors.get(system);
}

/** A governor over a slot reservation (`reserve(key, intervalMs)` → ms to wait), `perSecond` requests a second. */
export function slotGovernor(
  reserve: (key: string, intervalMs: number) => Promise<number>,
  key: string,
  perSecond: number,
): RateGovernor {
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) {
    throw new RangeError(`governor ${key}: requestsPerSecond must be a number above 0, got ${perSecond}`);
  }
  const intervalMs = 1000 / perSecond;
  return {
    async acquire(signal) {
      signal?.throwIfAborted();
      const wait = await reserve(`rate:${key}`, intervalMs);
      if (wait <= 0) return;
      await new Promise<void>((done, fail) => {
        const timer = setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          done();
        }, wait);
        const onAbort = () => {
          clearTimeout(timer);
          fail(signal?.reason);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}
