/**
 * An answer's headers as a `Headers`, read from undici's own record of them (names lower-cased, a list for
 * a header sent more than once) without building the WHATWG object until a caller asks for more than
 * `get` and `has`. Every answer's headers are read (deprecation notices, Retry-After, pagination); building
 * a `Headers` for each, which checks every name and value again as it appends them, was a few per cent of
 * a per-record REST write's CPU (BENCHMARKS.md, "Side by side with n8n").
 *
 * `get` answers as `Headers#get` does: null for a header not sent, a repeated header's values joined with
 * ", ", the name matched whatever its case. Iteration, `getSetCookie` and the mutating methods use a real
 * `Headers` built on first use from the same record, so they answer exactly as one would.
 */
export type RawHeaders = Record<string, string | string[] | undefined>;

export class AnswerHeaders implements Headers {
  readonly #raw: RawHeaders;
  #full: Headers | undefined;

  constructor(raw: RawHeaders) {
    this.#raw = raw;
  }

  /** The whole `Headers`, built once: every method but `get` and `has` answers from it. */
  #headers(): Headers {
    if (this.#full === undefined) {
      const out = new Headers();
      for (const [k, v] of Object.entries(this.#raw)) {
        if (Array.isArray(v)) for (const one of v) out.append(k, one);
        else if (v !== undefined) out.append(k, v);
      }
      this.#full = out;
    }
    return this.#full;
  }

  get(name: string): string | null {
    if (this.#full !== undefined) return this.#full.get(name);
    const v = this.#raw[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(", ") : v;
  }

  has(name: string): boolean {
    if (this.#full !== undefined) return this.#full.has(name);
    return this.#raw[name.toLowerCase()] !== undefined;
  }

  getSetCookie(): string[] {
    return this.#headers().getSetCookie();
  }

  append(name: string, value: string): void {
    this.#headers().append(name, value);
  }

  delete(name: string): void {
    this.#headers().delete(name);
  }

  set(name: string, value: string): void {
    this.#headers().set(name, value);
  }

  forEach(fn: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [k, v] of this.#headers()) fn.call(thisArg, v, k, this);
  }

  entries(): HeadersIterator<[string, string]> {
    return this.#headers().entries();
  }

  keys(): HeadersIterator<string> {
    return this.#headers().keys();
  }

  values(): HeadersIterator<string> {
    return this.#headers().values();
  }

  [Symbol.iterator](): HeadersIterator<[string, string]> {
    return this.#headers()[Symbol.iterator]();
  }
}
