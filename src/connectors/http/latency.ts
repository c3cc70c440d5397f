/**
 * Bounded latency statistics. Each operation keeps a fixed-size reservoir of samples (Vitter's algorithm
 * R: after n calls every call has had the same chance, size/n, of being among the kept samples) and an
 * exact count and maximum, so memory does not grow with the number of calls. Operations are bounded too:
 * past `maxKeys` distinct names, further ones are counted under OTHER, so a caller that builds a name per
 * record cannot make the table grow either. Percentiles are read from the samples (nearest rank).
 */

export const OTHER = "(other)";

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface LatencyOptions {
  /** Samples kept per operation (default 512). */
  samples?: number;
  /** Distinct operation names tracked before the rest share OTHER (default 64). */
  maxKeys?: number;
  /** Source of randomness for the reservoir (tests pass a seeded one). */
  random?: () => number;
}

class Reservoir {
  count = 0;
  max = 0;
  readonly samples: Float64Array;

  constructor(size: number) {
    this.samples = new Float64Array(size);
  }

  add(ms: number, random: () => number): void {
    this.count++;
    if (ms > this.max) this.max = ms;
    if (this.count <= this.samples.length) {
      this.samples[this.count - 1] = ms;
      return;
    }
    const slot = Math.floor(random() * this.count);
    if (slot < this.samples.length) this.samples[slot] = ms;
  }

  kept(): number[] {
    return Array.from(this.samples.subarray(0, Math.min(this.count, this.samples.length)));
  }

  summary(): LatencySummary {
    const sorted = this.kept().sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0;
    return { count: this.count, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: this.max };
  }
}

export class LatencyStats {
  readonly #byKey = new Map<string, Reservoir>();
  readonly #size: number;
  readonly #maxKeys: number;
  readonly #random: () => number;

  constructor(opts: LatencyOptions = {}) {
    const samples = opts.samples ?? 512;
    const maxKeys = opts.maxKeys ?? 64;
    if (!Number.isInteger(samples) || samples < 1) {
      throw new RangeError(`latency samples must be a positive integer, got ${JSON.stringify(samples)}`);
    }
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`latency maxKeys must be a positive integer, got ${JSON.stringify(maxKeys)}`);
    }
    this.#size = samples;
    this.#maxKeys = maxKeys;
    this.#random = opts.random ?? Math.random;
  }

  record(key: string, ms: number): void {
    let r = this.#byKey.get(key);
    if (r === undefined) {
      const name = this.#byKey.size < this.#maxKeys ? key : OTHER;
      r = this.#byKey.get(name);
      if (r === undefined) {
        r = new Reservoir(this.#size);
        this.#byKey.set(name, r);
      }
    }
    r.add(ms, this.#random);
  }

  /** Per operation: count, p50, p95, p99 and max, in ms. */
  summary(): Record<string, LatencySummary> {
    return Object.fromEntries([...this.#byKey].map(([k, r]) => [k, r.summary()]));
  }

  /** The samples kept per operation (at most `samples` each), in no particular order. */
  samples(): Map<string, number[]> {
    return new Map([...this.#byKey].map(([k, r]) => [k, r.kept()]));
  }

  /** Numbers held in memory: operations × samples per operation. Constant once every slot is filled. */
  get footprint(): number {
    let n = 0;
    for (const r of this.#byKey.values()) n += r.samples.length;
    return n;
  }

  get keys(): number {
    return this.#byKey.size;
  }
}
