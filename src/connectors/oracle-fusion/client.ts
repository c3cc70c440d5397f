/**
 * The client of Oracle Fusion's ADF REST resources (over the shared HTTP client): HTTP basic authentication,
 * collection reads paged by `limit`/`offset` until `hasMore` is false, single reads, creates and actions.
 * The REST-Framework-Version header is not sent: version 1, whose `q` is `;`-separated conditions.
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import type { FusionConfig } from "./config.ts";

export const FUSION_ROOT = "/fscmRestApi/resources/11.13.18.05";
export type FusionRow = Record<string, unknown>;

const Page = z.object({
  items: z.array(z.record(z.string(), z.unknown())),
  count: z.number(),
  hasMore: z.boolean(),
});

export interface FusionQuery {
  q?: string;
  orderBy?: string;
  limit: number;
  signal?: AbortSignal;
}

/** A `q` value literal: quoted, with quotes doubled. */
export const qLiteral = (v: string) => `'${v.replace(/'/g, "''")}'`;

export class FusionClient {
  readonly http: HttpClient;
  writes = 0;

  constructor(
    readonly name: string,
    readonly config: FusionConfig,
    fetchApi?: typeof fetch,
  ) {
    const basic = `Basic ${Buffer.from(`${config.username}:${config.password}`).toString("base64")}`;
    this.http = createHttpClient({
      system: name,
      vendor: "Oracle Fusion",
      baseUrl: config.baseUrl,
      timeoutMs: config.timeoutMs,
      auth: { headers: () => ({ authorization: basic }) },
      redact: [config.password, basic, basic.slice(6)],
      ...(fetchApi ? { fetch: fetchApi } : {}),
    });
  }

  get calls(): number {
    return this.http.stats().calls;
  }

  private async json(
    method: string,
    path: string,
    what: string,
    body?: unknown,
    signal?: AbortSignal,
    accept404 = false,
  ) {
    const res = await this.http.send(method, `${FUSION_ROOT}${path}`, {
      headers: {
        accept: "application/json",
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body } : {}),
      what,
      key: `${method} ${path.replace(/\/[^/]*\d[^/]*(?=\/|$)/g, "/{id}").replace(/\?.*/, "")}`,
      ...(accept404 ? { accept: (s: number) => (s >= 200 && s < 300) || s === 404 } : {}),
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404) return null;
    if (method !== "GET") this.writes++;
    try {
      return JSON.parse(res.text()) as unknown;
    } catch {
      throw new SyncError(
        "retryable",
        `${this.name}: Oracle Fusion answered ${what} with something that is not JSON`,
        {
          system: this.name,
          status: res.status,
        },
      );
    }
  }

  /** Pages of a collection resource, `limit` rows each, until Fusion says `hasMore: false`. */
  async *list(resource: string, q: FusionQuery): AsyncGenerator<FusionRow[]> {
    let offset = 0;
    for (;;) {
      const params = new URLSearchParams();
      if (q.q) params.set("q", q.q);
      if (q.orderBy) params.set("orderBy", q.orderBy);
      params.set("limit", String(q.limit));
      params.set("offset", String(offset));
      params.set("onlyData", "true");
      const page = Page.parse(
        await this.json("GET", `/${resource}?${params}`, `${resource} page`, undefined, q.signal),
      );
      if (page.items.length > 0) yield page.items;
      if (!page.hasMore || page.items.length === 0) return;
      offset += page.items.length;
    }
  }

  /** One row by its key; null on 404. */
  async get(resource: string, key: string, signal?: AbortSignal): Promise<FusionRow | null> {
    const row = await this.json(
      "GET",
      `/${resource}/${encodeURIComponent(key)}?onlyData=true`,
      `${resource} by key`,
      undefined,
      signal,
      true,
    );
    return row === null ? null : z.record(z.string(), z.unknown()).parse(row);
  }

  async post(path: string, body: FusionRow, what: string, signal?: AbortSignal): Promise<FusionRow> {
    return z.record(z.string(), z.unknown()).parse(await this.json("POST", path, what, body, signal));
  }
}
