/**
 * The Medusa Admin API client (over the shared HTTP client): a secret API key as HTTP Basic, or an admin's
 * JWT from `/auth/user/emailpass` (logged in on first use and again once after a 401), the secrets redacted
 * from every error, and a count of calls that change data (for the contract's re-apply check).
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import type { MedusaConfig } from "./config.ts";

const Token = z.object({ token: z.string().min(1) });

export class MedusaClient {
  readonly http: HttpClient;
  /** Calls that change data (POST, DELETE). */
  writes = 0;
  private token: string | null = null;

  constructor(
    readonly name: string,
    readonly config: MedusaConfig,
    fetchApi?: typeof fetch,
  ) {
    const base = config.url.replace(/\/+$/, "");
    const redact: string[] = [];
    let headers: () => Promise<Record<string, string>> | Record<string, string>;
    if (config.secretKey !== undefined) {
      const encoded = Buffer.from(`${config.secretKey}:`).toString("base64");
      redact.push(config.secretKey, encoded, `Basic ${encoded}`);
      headers = () => ({ authorization: `Basic ${encoded}` });
    } else {
      redact.push(config.password ?? "");
      headers = async () => ({ authorization: `Bearer ${await this.login()}` });
    }
    this.http = createHttpClient({
      system: name,
      vendor: "Medusa",
      baseUrl: base,
      timeoutMs: config.timeoutMs,
      auth: {
        headers,
        refresh: () => {
          this.token = null;
        },
      },
      redact: redact.filter(Boolean),
      ...(fetchApi ? { fetch: fetchApi } : {}),
    });
  }

  private async login(): Promise<string> {
    if (this.token) return this.token;
    const res = await this.http.send("POST", "/auth/user/emailpass", {
      body: { email: this.config.email, password: this.config.password },
      auth: false,
      retrySafe: true,
      what: "login",
      accept: (s) => (s >= 200 && s < 300) || s === 401,
    });
    if (res.status === 401) {
      throw new SyncError(
        "config",
        `${this.name}: Medusa refused the e-mail and password of ${this.config.email} (HTTP 401)`,
        { system: this.name, field: "password" },
      );
    }
    this.token = Token.parse(JSON.parse(res.text())).token;
    return this.token;
  }

  get calls(): number {
    return this.http.stats().calls;
  }

  get<T>(path: string, schema: z.ZodType<T>, what?: string): Promise<T> {
    return this.http.request("GET", path, undefined, schema, what ? { what } : {});
  }

  /** A GET whose 404 means "not there". */
  async find<T>(path: string, schema: z.ZodType<T>, what?: string): Promise<T | null> {
    const res = await this.http.send("GET", path, {
      headers: { accept: "application/json" },
      accept: (s) => (s >= 200 && s < 300) || s === 404,
      ...(what ? { what } : {}),
    });
    if (res.status === 404) return null;
    return schema.parse(JSON.parse(res.text()));
  }

  write<T>(method: "POST" | "DELETE", path: string, body: unknown, schema: z.ZodType<T>, what?: string) {
    this.writes++;
    return this.http.request(method, path, body, schema, what ? { what } : {});
  }
}

/** A query string; arrays repeat their key with `[]` (`sku[]=a&sku[]=b`), as Medusa's query parser reads them. */
export const q = (params: Record<string, string | number | readonly string[] | undefined>): string => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) s.append(`${k}[]`, one);
    else s.set(k, String(v));
  }
  return s.toString();
};
