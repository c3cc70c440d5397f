/**
 * The WooCommerce REST client (wc/v3 over the shared HTTP client): HTTP Basic credentials, the secrets
 * redacted from every error, and a count of calls that change data (for the contract's re-apply check).
 */
import type { z } from "zod";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import { credentialsOf, type WooCommerceConfig } from "./config.ts";

export class WooClient {
  readonly http: HttpClient;
  /** Calls that change data (POST, PUT, DELETE). */
  writes = 0;

  constructor(
    readonly name: string,
    readonly config: WooCommerceConfig,
    fetchApi?: typeof fetch,
  ) {
    const [user, secret] = credentialsOf(config);
    const basic = `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;
    this.http = createHttpClient({
      system: name,
      vendor: "WooCommerce",
      baseUrl: `${config.url.replace(/\/+$/, "")}/wp-json/wc/v3`,
      timeoutMs: config.timeoutMs,
      auth: { headers: () => ({ authorization: basic }) },
      // The webhook secret travels in webhook bodies, and WooCommerce answers it back in its edit context.
      redact: [
        secret,
        basic,
        Buffer.from(`${user}:${secret}`).toString("base64"),
        ...(config.webhookSecret ? [config.webhookSecret] : []),
      ],
      ...(fetchApi ? { fetch: fetchApi } : {}),
    });
  }

  get calls(): number {
    return this.http.stats().calls;
  }

  get<T>(path: string, schema: z.ZodType<T>, what?: string): Promise<T> {
    return this.http.request("GET", path, undefined, schema, what ? { what } : {});
  }

  /** A GET whose 404 means "not there". */
  async find<T>(path: string, schema: z.ZodType<T>): Promise<T | null> {
    const res = await this.http.send("GET", path, {
      headers: { accept: "application/json" },
      accept: (s) => (s >= 200 && s < 300) || s === 404,
    });
    if (res.status === 404) return null;
    return schema.parse(JSON.parse(res.text()));
  }

  /** A GET with the page's total count (X-WP-Total, X-WP-TotalPages). */
  async page<T>(path: string, schema: z.ZodType<T[]>): Promise<{ rows: T[]; totalPages: number }> {
    const res = await this.http.send("GET", path, { headers: { accept: "application/json" } });
    const rows = schema.parse(JSON.parse(res.text()));
    return { rows, totalPages: Number(res.headers.get("x-wp-totalpages") ?? "1") };
  }

  write<T>(
    method: "POST" | "PUT" | "DELETE",
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
    what?: string,
  ) {
    this.writes++;
    return this.http.request(method, path, body, schema, what ? { what } : {});
  }
}

export const q = (params: Record<string, string | number | undefined>): string => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) s.set(k, String(v));
  return s.toString();
};
