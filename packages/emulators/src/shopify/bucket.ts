/** Shopify's calculated-cost leaky bucket: capacity `maximumAvailable`, refilled at `restoreRate` per second. */
export interface RateLimitOptions {
  enabled: boolean;
  maximumAvailable: number;
  restoreRate: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = {
  enabled: true,
  maximumAvailable: 2000,
  restoreRate: 100,
};

export class LeakyBucket {
  private level: number;
  private at: number;

  constructor(
    readonly opts: RateLimitOptions,
    private readonly clock: () => number,
  ) {
    this.level = opts.maximumAvailable;
    this.at = clock();
  }

  available(): number {
    const now = this.clock();
    const restored = ((now - this.at) / 1000) * this.opts.restoreRate;
    this.level = Math.min(this.opts.maximumAvailable, this.level + restored);
    this.at = now;
    return this.level;
  }

  /** Takes `cost` points if they are there; false (and nothing taken) when the request must be throttled. */
  take(cost: number): boolean {
    if (!this.opts.enabled) return true;
    if (cost > this.available()) return false;
    this.level -= cost;
    return true;
  }

  /** Gives back points charged but not used (requested cost above the actual cost). */
  refund(points: number): void {
    if (!this.opts.enabled || points <= 0) return;
    this.available();
    this.level = Math.min(this.opts.maximumAvailable, this.level + points);
  }

  status(): { maximumAvailable: number; currentlyAvailable: number; restoreRate: number } {
    return {
      maximumAvailable: this.opts.maximumAvailable,
      currentlyAvailable: Math.floor(this.opts.enabled ? this.available() : this.opts.maximumAvailable),
      restoreRate: this.opts.restoreRate,
    };
  }
}
