/**
 * The BigCommerce REST client (over the shared HTTP client): the store API token in X-Auth-Token, paths
 * relative to the store's API base (`/v2/...`, `/v3/...`), v3 collections paged by `meta.pagination`, and
 * the store's rate quota as BigCommerce reports it on every answer.
 *
 * BigCommerce gives each store a quota of requests per window (150 per 30 s on Standard and Plus plans,
 * more on Pro and Enterprise), shared by every app of the store, and says on each answer how much is left
 * (X-Rate-Limit-Requests-Quota, -Requests-Left, -Time-Window-Ms, -Time-Reset-Ms). The client keeps the last
 * reading and, once no more than `rateReserve` requests are left, holds the next request until the window
 * resets, so a single connection never meets a 429. A 429 (another app spent the quota) carries no
 * Retry-After, only the reset time: it is turned into one, so the error is rate_limited with the wait the
 * store asked for. Every try also passes the connection's shared governor (createHttpClient does that).
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { RateLimitState } from "../../ports/connector.ts";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import { apiBase, type BigCommerceConfig } from "./config.ts";

export interface RateReading {
  quota: number;
  left: number;
  windowMs: number;
  /** When the window resets, on the local clock (ms). */
  resetAt: number;
}

export const Pagination = z.object({
  meta: z
    .object({
      pagination: z
        .object({ total: z.number(), current_page: z.number(), total_pages: z.number() })
        .loose()
        .nullish(),
    })
    .loose()
    .nullish(),
});

const num = (h: Headers, name: string): number | null => {
  const v = h.get(name);
  return v === null || !/^\d+$/.test(v.trim()) ? null : Number(v);
};

export class BigCommerceClient {
  readonly http: HttpClient;
  /** Calls that change data. */
  writes = 0;
  /** Times the client held a request for the quota window to reset. */
  waits = 0;
  rate: RateReading | null = null;

  constructor(
    readonly name: string,
    readonly config: BigCommerceConfig,
    fetchApi: typeof fetch = fetch,
    readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    const reading: typeof fetch = async (input, init) => {
      const res = await fetchApi(input, init);
      const quota = num(res.headers, "x-rate-limit-requests-quota");
      const left = num(res.headers, "x-rate-limit-requests-left");
      const windowMs = num(res.headers, "x-rate-limit-time-window-ms");
      const resetMs = num(res.headers, "x-rate-limit-time-reset-ms");
      if (left !== null && resetMs !== null) {
        this.rate = {
          quota: quota ?? this.rate?.quota ?? left,
          left,
          windowMs: windowMs ?? this.rate?.windowMs ?? resetMs,
          resetAt: Date.now() + resetMs,
        };
      }
      if (res.status === 429 && !res.headers.has("retry-after") && resetMs !== null) {
        const headers = new Headers(res.headers);
        headers.set("retry-after", String(Math.max(1, Math.ceil(resetMs / 1000))));
        return new Response(await res.arrayBuffer(), { status: 429, headers });
      }
      return res;
    };
    this.http = createHttpClient({
      system: name,
      vendor: "BigCommerce",
      baseUrl: apiBase(config),
      timeoutMs: config.timeoutMs,
      headers: { accept: "application/json", "content-type": "application/json" },
      auth: { headers: () => ({ "x-auth-token": config.accessToken }) },
      redact: [config.accessToken, ...(config.clientSecret ? [config.clientSecret] : [])],
      fetch: reading,
      limit: async (fn) => {
        await this.#paced();
        return fn();
      },
    });
  }

  /** Waits for the quota window to reset when the last answer left no more than the reserve. */
  async #paced(): Promise<void> {
    const r = this.rate;
    if (!r || r.left > this.config.rateReserve) return;
    const wait = r.resetAt - Date.now();
    if (wait <= 0) return;
    this.waits++;
    await this.sleep(wait);
    this.rate = { ...r, left: r.quota, resetAt: Date.now() + r.windowMs };
  }

  get calls(): number {
    return this.http.stats().calls;
  }

  rateLimit(): RateLimitState | undefined {
    const r = this.rate;
    if (!r) return undefined;
    return {
      maximumAvailable: r.quota,
      currentlyAvailable: r.left,
      restoreRatePerSecond: r.windowMs > 0 ? (r.quota * 1000) / r.windowMs : 0,
    };
  }

  get<T>(path: string, schema: z.ZodType<T>, what?: string): Promise<T> {
    return this.http.request("GET", path, undefined, schema, what ? { what } : {});
  }

  /** A GET whose 404 means "not there" and whose 204 (a v2 list with nothing in it) means `empty`. */
  async find<T>(path: string, schema: z.ZodType<T>, what: string, empty: T | null = null): Promise<T | null> {
    const res = await this.http.send("GET", path, {
      headers: { accept: "application/json" },
      accept: (s) => (s >= 200 && s < 300) || s === 404,
      what,
    });
    if (res.status === 404) return null;
    if (res.status === 204 || res.text().trim() === "") return empty;
    const parsed = schema.safeParse(JSON.parse(res.text()));
    if (!parsed.success)
      throw new SyncError(
        "permanent",
        `BigCommerce's answer to ${what} has an unexpected shape: ${parsed.error.message}`,
        {
          system: this.name,
        },
      );
    return parsed.data;
  }

  /** Every page of a v3 collection (`page`/`limit`, `meta.pagination.total_pages`). */
  async all<T>(path: string, item: z.ZodType<T>, what: string, limit = 250): Promise<T[]> {
    const out: T[] = [];
    const schema = Pagination.extend({ data: z.array(item) });
    for (let page = 1; ; page++) {
      const sep = path.includes("?") ? "&" : "?";
      const r = await this.get(`${path}${sep}page=${page}&limit=${limit}`, schema, what);
      out.push(...r.data);
      const p = r.meta?.pagination;
      if (!p || page >= p.total_pages || r.data.length === 0) return out;
    }
  }

  /** A call that changes data; an empty answer (BigCommerce answers some writes with no body) is null. */
  async write<T>(
    method: "POST" | "PUT" | "DELETE",
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
    what?: string,
  ): Promise<T> {
    this.writes++;
    const res = await this.http.send(method, path, {
      ...(body !== undefined ? { body } : {}),
      ...(what ? { what } : {}),
    });
    const text = res.text();
    let json: unknown = null;
    if (text.trim() !== "") {
      try {
        json = JSON.parse(text);
      } catch {
        throw new SyncError(
          "retryable",
          `BigCommerce answered ${method} ${path} (${what ?? "write"}) with something that is not JSON`,
          { system: this.name, status: res.status },
        );
      }
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new SyncError(
        "permanent",
        `BigCommerce's answer to ${method} ${path} (${what ?? "write"}) has an unexpected shape: ${parsed.error.message}`,
        { system: this.name },
      );
    return parsed.data;
  }
}

/** What BigCommerce said in an error body: v3 `{title, errors{}}`, v2 `[{message}]`. */
export function bigcommerceMessage(body: unknown): string | null {
  let j = body;
  if (typeof j === "string") {
    try {
      j = JSON.parse(j);
    } catch {
      return null;
    }
  }
  if (Array.isArray(j)) {
    const m = j
      .map((e) => (e && typeof e === "object" ? (e as { message?: unknown }).message : null))
      .filter((m): m is string => typeof m === "string");
    return m.length > 0 ? m.join("; ") : null;
  }
  if (!j || typeof j !== "object") return null;
  const o = j as { title?: unknown; errors?: unknown; batch_errors?: unknown };
  const parts: string[] = [];
  if (typeof o.title === "string") parts.push(o.title);
  if (o.errors && typeof o.errors === "object" && !Array.isArray(o.errors)) {
    const details = Object.entries(o.errors as Record<string, unknown>).map(([k, v]) => `${k}: ${String(v)}`);
    if (details.length > 0) parts.push(`(${details.join("; ")})`);
  }
  return parts.length > 0 ? parts.join(" ") : null;
}

/** A SyncError whose message also says what BigCommerce said. */
export function explained(err: unknown): unknown {
  if (!(err instanceof SyncError)) return err;
  const said = bigcommerceMessage(err.details.vendorBody);
  if (!said) return err;
  return new SyncError(err.kind, `${err.message}: ${said}`, err.details);
}

/** BigCommerce v2 dates are RFC 2822 (`Tue, 20 Nov 2012 00:00:00 +0000`); v3 ones RFC 3339. */
export const toIso = (t: string): string => new Date(t).toISOString().replace(".000Z", "Z");
