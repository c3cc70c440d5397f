/**
 * The SCAPI admin client (over the shared HTTP client): Account Manager's OAuth2 client-credentials token,
 * the four APIs' base paths with the organization id, a 404 read as "not there", and a count of calls that
 * change data.
 *
 * Token: `POST <tokenUrl>` with grant_type=client_credentials and scope `SALESFORCE_COMMERCE_API:<tenant>
 * <scopes>`, the client id and secret as HTTP Basic. The token is reused until a minute before its
 * `expires_in`; a 401 asks for a new one once and repeats the call. The secret travels in the token
 * request's Authorization header only, and it and the token are redacted from every error.
 *
 * Limits: SCAPI answers 429 with Retry-After over the client's quota. Every try goes through the
 * connection's shared governor (governor.ts) when one is configured; calls that are safe to send twice
 * (GET, PUT, PATCH and DELETE, which set values here; searches, sent as POST) that get a 429 or 5xx wait
 * (Retry-After) and are tried again, up to 4 tries.
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import { apiHost, type SfccConfig, tenantOf } from "./config.ts";

const Token = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive() });

export const API = {
  products: "/product/products/v1",
  catalogs: "/product/catalogs/v1",
  customers: "/customer/customers/v1",
  orders: "/checkout/orders/v1",
} as const;
export type Api = keyof typeof API;

const enc = encodeURIComponent;

export class SfccClient {
  readonly http: HttpClient;
  /** Calls that change data. */
  writes = 0;
  /** Tokens fetched. */
  tokens = 0;
  private token: string | null = null;
  private expiresAt = 0;
  private pending: Promise<string> | null = null;

  constructor(
    readonly name: string,
    readonly config: SfccConfig,
    fetchApi?: typeof fetch,
    private readonly now: () => number = Date.now,
  ) {
    this.http = createHttpClient({
      system: name,
      vendor: "Salesforce B2C Commerce",
      baseUrl: apiHost(config),
      timeoutMs: config.timeoutMs,
      retry: { attempts: 4, baseMs: 250, maxMs: 5_000 },
      auth: {
        headers: async (signal) => ({ authorization: `Bearer ${await this.bearer(signal)}` }),
        refresh: () => {
          this.token = null;
        },
      },
      redact: [
        config.clientSecret,
        Buffer.from(`${config.clientId}:${config.clientSecret}`).toString("base64"),
      ],
      ...(fetchApi ? { fetch: fetchApi } : {}),
    });
  }

  get calls(): number {
    return this.http.stats().calls;
  }

  private bearer(signal?: AbortSignal): Promise<string> {
    if (this.token && this.now() < this.expiresAt) return Promise.resolve(this.token);
    this.pending ??= this.fetchToken(signal).finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async fetchToken(signal?: AbortSignal): Promise<string> {
    const { clientId, clientSecret, scopes, tokenUrl } = this.config;
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      scope: [`SALESFORCE_COMMERCE_API:${tenantOf(this.config)}`, ...scopes].join(" "),
    });
    const res = await this.http.send("POST", tokenUrl, {
      body: form.toString(),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
      },
      auth: false,
      retrySafe: true,
      what: "Account Manager token",
      key: "POST token",
      accept: (s) => (s >= 200 && s < 300) || s === 400 || s === 401,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 400 || res.status === 401) {
      throw new SyncError(
        "config",
        `${this.name}: Account Manager refused API client ${JSON.stringify(clientId)} (HTTP ${res.status}: ${this.http.redact(tokenError(res.text()))})`,
        { system: this.name, status: res.status, field: res.status === 401 ? "clientSecret" : "scopes" },
      );
    }
    const t = Token.parse(JSON.parse(res.text()));
    this.tokens++;
    this.token = t.access_token;
    // A minute's margin under the token's lifetime, so a call never races the expiry.
    this.expiresAt = this.now() + Math.max(30, t.expires_in - 60) * 1000;
    return t.access_token;
  }

  /** `/…/organizations/<org>` of one API, then `rest` (already encoded). */
  path(api: Api, rest: string, query?: Record<string, string | number | undefined>): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    return `${API[api]}/organizations/${enc(this.config.organizationId)}${rest}${qs ? `?${qs}` : ""}`;
  }

  get<T>(path: string, schema: z.ZodType<T>, what: string): Promise<T> {
    return this.http.request("GET", path, undefined, schema, { what });
  }

  /** A search (POST that changes nothing). */
  search<T>(path: string, body: unknown, schema: z.ZodType<T>, what: string): Promise<T> {
    return this.http.request("POST", path, body, schema, { retrySafe: true, what });
  }

  /** A GET whose 404 means "not there". */
  async find<T>(path: string, schema: z.ZodType<T>, what: string): Promise<T | null> {
    const res = await this.http.send("GET", path, {
      headers: { accept: "application/json" },
      accept: (s) => (s >= 200 && s < 300) || s === 404,
      what,
    });
    if (res.status === 404) return null;
    return schema.parse(JSON.parse(res.text()));
  }

  /** A write; an answer without a body (204) gives undefined. */
  async write(
    method: "PUT" | "PATCH" | "POST" | "DELETE",
    path: string,
    body: unknown,
    what: string,
  ): Promise<unknown> {
    this.writes++;
    // PUT and PATCH here set values (a product, an attribute, a status): sending one twice does no harm, so a
    // 429 or 5xx is waited out and the call tried again, as for reads.
    const res = await this.http.send(method, path, {
      body,
      headers: { accept: "application/json" },
      retrySafe: method !== "POST",
      what,
    });
    const text = res.text();
    return text.trim() === "" ? undefined : JSON.parse(text);
  }
}

function tokenError(body: string): string {
  try {
    const e = JSON.parse(body) as { error?: string; error_description?: string };
    return [e.error, e.error_description].filter(Boolean).join(": ") || body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}

/** SCAPI's error body (`{title, detail}`) of a SyncError, added to its message. */
export function explained(err: unknown): unknown {
  if (!(err instanceof SyncError)) return err;
  const body = err.details.vendorBody as { title?: unknown; detail?: unknown } | string | undefined;
  let said: string | undefined;
  try {
    const j = typeof body === "string" ? (JSON.parse(body) as { title?: unknown; detail?: unknown }) : body;
    if (j && typeof j.detail === "string") said = j.detail;
    else if (j && typeof j.title === "string") said = j.title;
  } catch {
    said = undefined;
  }
  return said ? new SyncError(err.kind, `${err.message}: ${said}`, err.details) : err;
}
