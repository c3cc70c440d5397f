/**
 * The SuiteTalk REST client (over the shared HTTP client). Every try is signed afresh (a new nonce and
 * timestamp per try, so a retried call is not refused as a replay): the signing wraps the transport, which
 * sees the final method and URL. At most `maxConcurrent` requests are in flight (NetSuite's account
 * concurrency governance answers 429 beyond the account's limit; the shared client then waits for
 * Retry-After). The four TBA values are redacted from every error.
 */
import pLimit from "p-limit";
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import { baseUrlOf, type NetSuiteConfig } from "./config.ts";
import { tbaHeader } from "./signing.ts";

export const SUITEQL = "/services/rest/query/v1/suiteql";
export const RECORD = "/services/rest/record/v1";

export type NsRow = Record<string, unknown>;

const Page = z.object({
  items: z.array(z.record(z.string(), z.unknown())),
  hasMore: z.boolean(),
  offset: z.number().int().optional(),
  count: z.number().int().optional(),
  totalResults: z.number().int().optional(),
});

/** A SuiteQL string literal ('' doubles a quote). */
export const sql = (v: string) => `'${v.replace(/'/g, "''")}'`;

export class NetSuiteClient {
  readonly http: HttpClient;
  writes = 0;

  constructor(
    readonly name: string,
    readonly config: NetSuiteConfig,
    fetchApi: typeof fetch = fetch,
  ) {
    const creds = {
      accountId: config.accountId,
      consumerKey: config.consumerKey,
      consumerSecret: config.consumerSecret,
      tokenId: config.tokenId,
      tokenSecret: config.tokenSecret,
    };
    const signed: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set("authorization", tbaHeader(creds, init?.method ?? "GET", String(input)));
      return fetchApi(input, { ...init, headers });
    };
    this.http = createHttpClient({
      system: name,
      vendor: "NetSuite",
      baseUrl: baseUrlOf(config),
      timeoutMs: config.timeoutMs,
      retry: { attempts: 4, baseMs: 250, maxMs: 5_000 },
      limit: pLimit(config.maxConcurrent),
      redact: [config.consumerSecret, config.tokenSecret, config.consumerKey, config.tokenId],
      fetch: signed,
    });
  }

  get calls(): number {
    return this.http.stats().calls;
  }

  /** Pages of a SuiteQL query, paged by `offset` while the answer says `hasMore`. */
  async *suiteql(q: string, pageSize: number, signal?: AbortSignal): AsyncGenerator<NsRow[]> {
    const limit = Math.max(1, Math.min(pageSize, 1000));
    for (let offset = 0; ; offset += limit) {
      const page: z.infer<typeof Page> = await this.http.request(
        "POST",
        `${SUITEQL}?limit=${limit}&offset=${offset}`,
        { q },
        Page,
        {
          headers: { prefer: "transient" },
          what: "SuiteQL page",
          key: "POST suiteql",
          retrySafe: true,
          ...(signal ? { signal } : {}),
        },
      );
      yield page.items.map(({ links: _links, ...row }) => row);
      if (!page.hasMore) return;
    }
  }

  /** The first row of a query, or null. */
  async first(q: string, signal?: AbortSignal): Promise<NsRow | null> {
    for await (const page of this.suiteql(q, 1, signal)) return page[0] ?? null;
    return null;
  }

  async get(type: string, id: string, signal?: AbortSignal): Promise<NsRow | null> {
    const res = await this.http.send("GET", `${RECORD}/${type}/${encodeURIComponent(id)}`, {
      what: `${type} by id`,
      key: `GET ${type}/{id}`,
      accept: (s) => (s >= 200 && s < 300) || s === 404,
      ...(signal ? { signal } : {}),
    });
    return res.status === 404 ? null : (JSON.parse(res.text()) as NsRow);
  }

  /** Creates a record; NetSuite answers 204 and the new record's URL in Location: its id is the last segment. */
  async create(type: string, body: NsRow, signal?: AbortSignal): Promise<string> {
    const res = await this.http.send("POST", `${RECORD}/${type}`, {
      body,
      what: `${type} create`,
      key: `POST ${type}`,
      ...(signal ? { signal } : {}),
    });
    this.writes++;
    const id = /\/(\d+)\/?$/.exec(res.headers.get("location") ?? "")?.[1];
    if (!id) {
      throw new SyncError(
        "retryable",
        `${this.name}: NetSuite created a ${type} but sent no Location with its id`,
        {
          system: this.name,
        },
      );
    }
    return id;
  }

  async update(type: string, id: string, body: NsRow, signal?: AbortSignal): Promise<void> {
    await this.http.send("PATCH", `${RECORD}/${type}/${encodeURIComponent(id)}`, {
      body,
      what: `${type} update`,
      key: `PATCH ${type}/{id}`,
      ...(signal ? { signal } : {}),
    });
    this.writes++;
  }
}
