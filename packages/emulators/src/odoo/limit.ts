/**
 * A request budget in front of the Odoo emulator, as a proxy or a hosting plan imposes one: a token bucket
 * holding `perSecond` requests, refilled at `perSecond` a second. A request finding it empty is answered
 * 429 with Retry-After and counted as refused. `delayMs` adds latency to every answer (benchmarks).
 */
export interface RequestLimitOptions {
  /** Requests a second, and the burst the bucket admits; unset: no limit. */
  perSecond?: number;
  /** Added before every answer, in ms. */
  delayMs?: number;
}

export interface RequestLimitStats {
  accepted: number;
  refused: number;
  /** Times (ms since the epoch) of the first and the last accepted request. */
  firstAt: number | null;
  lastAt: number | null;
}

export class RequestLimiter {
  #opts: RequestLimitOptions;
  #tokens = 0;
  #at = 0;
  readonly stats: RequestLimitStats = { accepted: 0, refused: 0, firstAt: null, lastAt: null };

  constructor(opts: RequestLimitOptions = {}) {
    this.#opts = {};
    this.configure(opts);
  }

  get delayMs(): number {
    return this.#opts.delayMs ?? 0;
  }

  /** Changes the limit (and resets the counters and a full bucket). */
  configure(opts: RequestLimitOptions): void {
    if (opts.perSecond !== undefined && !(opts.perSecond > 0)) {
      throw new RangeError(`requestLimit.perSecond must be above 0, got ${opts.perSecond}`);
    }
    this.#opts = { ...opts };
    this.#tokens = opts.perSecond ?? 0;
    this.#at = Date.now();
    Object.assign(this.stats, { accepted: 0, refused: 0, firstAt: null, lastAt: null });
  }

  /** true: serve the request; false: it is over the budget (answer 429). */
  admit(now = Date.now()): boolean {
    const rate = this.#opts.perSecond;
    if (rate === undefined) {
      this.#count(now);
      return true;
    }
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#at) / 1000) * rate);
    this.#at = now;
    if (this.#tokens < 1) {
      this.stats.refused++;
      return false;
    }
    this.#tokens -= 1;
    this.#count(now);
    return true;
  }

  #count(now: number): void {
    this.stats.accepted++;
    this.stats.firstAt ??= now;
    this.stats.lastAt = now;
  }
}
