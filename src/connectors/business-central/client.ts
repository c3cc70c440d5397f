/**
 * The Business Central API v2.0 client (over the shared HTTP client): the OAuth2 client-credentials token,
 * company-scoped collection reads that follow the server's paging, single reads, creates, updates with
 * If-Match, deletes, and a count of calls that change data.
 *
 * Token: `POST <tokenUrl>` with grant_type=client_credentials, client_id, client_secret and scope answers a
 * bearer token and its lifetime (expires_in, seconds). It is reused until a minute before it ends; a 401
 * (expired or revoked) asks for a new one once and repeats the call. The secret is in the token request's
 * form body only, and it and the token are redacted from every error.
 *
 * Limits: Business Central serves 5 requests at once per user and environment and answers 429 with
 * Retry-After beyond its queue. Every try goes through a limit of `maxConcurrent` (≤ 5) in-flight requests,
 * after the connection's shared governor (governor.ts) when one is configured; reads that get a 429 wait for
 * its Retry-After and are tried again.
 *
 * Batches: `batch` sends many operations as one OData JSON batch (`POST /api/v2.0/$batch`, Content-Type
 * application/json, `{"requests":[{id, method, url, headers, body}]}` answered `{"responses":[{id, status,
 * headers, body}]}`; Microsoft Learn, "Using OData transactional $batch requests"), `batchSize` operations a
 * request (Business Central takes at most 100: Microsoft Learn, "Work with API limits"). A batch is one HTTP
 * request: it takes one slot of the concurrency limit and one of the governor, like any call. Only a batch
 * of reads is tried again on a 429, a 5xx or a lost answer; one that carries a write is not, since its
 * operations may have been applied before the answer was lost.
 */
import pLimit from "p-limit";
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import { type BusinessCentralConfig, environmentUrl, tokenUrl } from "./config.ts";

const Token = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive() });
const Page = z.object({
  value: z.array(z.record(z.string(), z.unknown())),
  "@odata.nextLink": z.string().optional(),
});

export type BcRow = Record<string, unknown>;

/** One operation of a `$batch`; `path` is under the company (`salesOrders?$filter=…`), as `get` takes it. */
export interface BatchOperation {
  id: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  headers?: Record<string, string>;
  body?: BcRow;
  /** What a failure of this operation calls it in messages (`sales order create`). */
  what?: string;
}

/** One operation's answer, as Business Central gives it inside the batch's answer. */
export interface BatchAnswer {
  id: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const BatchReply = z.object({
  responses: z.array(
    z.object({
      id: z.union([z.string(), z.number()]).transform(String),
      status: z.number().int(),
      headers: z.record(z.string(), z.string()).optional(),
      body: z.unknown().optional(),
    }),
  ),
});

export interface ListQuery {
  filter?: string;
  orderby?: string;
  select?: readonly string[];
  expand?: readonly string[];
  top?: number;
  /** Records per page (`Prefer: odata.maxpagesize`). */
  pageSize: number;
  signal?: AbortSignal;
}

/** A string literal for `$filter`. */
export const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

export class BusinessCentralClient {
  readonly http: HttpClient;
  /** Calls that change data. */
  writes = 0;
  tokens = 0;
  private token: string | null = null;
  private expiresAt = 0;
  private pending: Promise<string> | null = null;
  /** `/api/v2.0/companies(<id>)`, the root of every company-scoped path. */
  readonly root: string;

  constructor(
    readonly name: string,
    readonly config: BusinessCentralConfig,
    fetchApi?: typeof fetch,
    private readonly now: () => number = Date.now,
  ) {
    this.root = `/api/v2.0/companies(${config.companyId})`;
    this.http = createHttpClient({
      system: name,
      vendor: "Business Central",
      baseUrl: environmentUrl(config),
      timeoutMs: config.timeoutMs,
      retry: { attempts: 4, baseMs: 250, maxMs: 5_000 },
      limit: pLimit(config.maxConcurrent),
      auth: {
        headers: async (signal) => ({ authorization: `Bearer ${await this.bearer(signal)}` }),
        refresh: () => {
          this.token = null;
        },
      },
      redact: [config.clientSecret, ...(config.webhookSecret ? [config.webhookSecret] : [])],
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
    const { clientId, clientSecret, scope } = this.config;
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
      scope,
    });
    const res = await this.http.send("POST", tokenUrl(this.config), {
      body: form.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      auth: false,
      retrySafe: true,
      what: "OAuth2 token",
      key: "POST token",
      accept: (s) => (s >= 200 && s < 300) || s === 400 || s === 401,
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 200 && (res.status === 400 || res.status === 401)) {
      throw new SyncError(
        "config",
        `${this.name}: the token endpoint refused client ${JSON.stringify(clientId)} (HTTP ${res.status}: ${tokenError(res.text())})`,
        { system: this.name, status: res.status, field: "clientSecret" },
      );
    }
    const t = Token.parse(JSON.parse(res.text()));
    this.tokens++;
    this.token = t.access_token;
    // A minute's margin under the token's lifetime, so a call never races the expiry.
    this.expiresAt = this.now() + Math.max(30, t.expires_in - 60) * 1000;
    return t.access_token;
  }

  /**
   * Pages of a company's collection, as Business Central pages it: the first request carries the query and
   * `Prefer: odata.maxpagesize`, each next one is the answer's `@odata.nextLink` (absolute, with a
   * `$skiptoken`), until there is none.
   */
  async *list(set: string, q: ListQuery): AsyncGenerator<BcRow[]> {
    const params = new URLSearchParams();
    if (q.filter) params.set("$filter", q.filter);
    if (q.orderby) params.set("$orderby", q.orderby);
    if (q.select) params.set("$select", q.select.join(","));
    if (q.expand && q.expand.length > 0) params.set("$expand", q.expand.join(","));
    if (q.top !== undefined) params.set("$top", String(q.top));
    let path: string | null = `${this.root}/${set}${params.size > 0 ? `?${params.toString()}` : ""}`;
    while (path) {
      const page: z.infer<typeof Page> = await this.http.request("GET", path, undefined, Page, {
        headers: { prefer: `odata.maxpagesize=${q.pageSize}`, accept: "application/json" },
        what: `${set} page`,
        key: `GET ${set}`,
        ...(q.signal ? { signal: q.signal } : {}),
      });
      yield page.value;
      const next = page["@odata.nextLink"];
      if (next && !next.startsWith(environmentUrl(this.config)) && /^https?:/.test(next)) {
        throw new SyncError(
          "retryable",
          `${this.name}: the next page's link ${next} leaves the environment`,
          {
            system: this.name,
          },
        );
      }
      path = next ?? null;
    }
  }

  /**
   * Operations in OData JSON batches of `batchSize`, answered per operation (in the order given). A batch's
   * own failure (unreachable, throttled, refused) throws; an operation's status is its answer's, for the
   * caller to judge as it would a single call's (`operationError`). Each batch is one request through the
   * concurrency limit and the governor; batches of one call run one after another, since each already
   * carries up to 100 operations.
   */
  async batch(ops: readonly BatchOperation[], signal?: AbortSignal): Promise<BatchAnswer[]> {
    const out: BatchAnswer[] = [];
    for (let at = 0; at < ops.length; at += this.config.batchSize) {
      out.push(...(await this.batchOnce(ops.slice(at, at + this.config.batchSize), signal)));
    }
    return out;
  }

  private async batchOnce(ops: readonly BatchOperation[], signal?: AbortSignal): Promise<BatchAnswer[]> {
    const reads = ops.every((o) => o.method === "GET");
    const requests = ops.map((o) => ({
      id: o.id,
      method: o.method,
      // Relative to the batch's URL, the service root (/api/v2.0/).
      url: `companies(${this.config.companyId})/${o.path}`,
      headers: {
        accept: "application/json",
        ...(o.body !== undefined ? { "content-type": "application/json" } : {}),
        ...o.headers,
      },
      ...(o.body !== undefined ? { body: o.body } : {}),
    }));
    const res = await this.http.send("POST", "/api/v2.0/$batch", {
      body: JSON.stringify({ requests }),
      headers: { "content-type": "application/json", accept: "application/json" },
      // A batch of reads changes nothing and may be sent again; one with a write may not (not retry-safe).
      retrySafe: reads,
      what: `batch of ${ops.length} operation${ops.length === 1 ? "" : "s"}${reads ? "" : " with writes"}`,
      key: "POST $batch",
      ...(signal ? { signal } : {}),
    });
    let reply: z.infer<typeof BatchReply>;
    try {
      reply = BatchReply.parse(JSON.parse(res.text()));
    } catch (e) {
      // The batch was answered (so applied) but its answer cannot be read: whether each write happened is
      // unknown, and only a later lookup can tell. Retryable, never permanent.
      throw new SyncError(
        "retryable",
        `${this.name}: Business Central's answer to a batch of ${ops.length} operations cannot be read (${e instanceof Error ? e.message.slice(0, 200) : String(e)})`,
        { system: this.name, status: res.status },
      );
    }
    if (!reads) this.writes += ops.filter((o) => o.method !== "GET").length;
    const byId = new Map(reply.responses.map((r) => [r.id, r]));
    return ops.map((o) => {
      const r = byId.get(o.id);
      if (!r) {
        throw new SyncError(
          "retryable",
          `${this.name}: Business Central's answer to a batch has no answer for operation ${JSON.stringify(o.id)} (${o.method} ${o.path.split("?")[0]})`,
          { system: this.name },
        );
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
      return { id: o.id, status: r.status, headers, body: r.body ?? null };
    });
  }

  /** The error a single call with this operation's answer would have thrown, classified the same way. */
  operationError(op: BatchOperation, answer: BatchAnswer): SyncError {
    const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? "");
    return this.http.statusError(
      {
        method: op.method,
        path: `${this.root}/${op.path.split("?")[0]}`,
        what: `${op.what ?? op.path.split("?")[0]?.replace(/\([^)]*\)/g, "(id)")} in a batch: ${errorText(text)}`,
      },
      { status: answer.status, headers: new Headers(answer.headers), text: () => text },
    );
  }

  /** One entity by id (with `$expand` when asked); null when Business Central answers 404. */
  async get(
    path: string,
    opts: { select?: readonly string[]; expand?: readonly string[]; signal?: AbortSignal } = {},
  ): Promise<BcRow | null> {
    const params = new URLSearchParams();
    if (opts.select) params.set("$select", opts.select.join(","));
    if (opts.expand && opts.expand.length > 0) params.set("$expand", opts.expand.join(","));
    const shape = path.replace(/\([^)]*\)/g, "(id)");
    const res = await this.http.send("GET", `${this.root}/${path}${params.size > 0 ? `?${params}` : ""}`, {
      headers: { accept: "application/json" },
      what: shape.includes("/") ? shape : `${shape.replace(/\(id\)$/, "")} by id`,
      key: `GET ${shape}`,
      accept: (s) => (s >= 200 && s < 300) || s === 404,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (res.status === 404) return null;
    return JSON.parse(res.text()) as BcRow;
  }

  async create(path: string, body: BcRow, signal?: AbortSignal): Promise<BcRow> {
    const row = await this.http.request<BcRow>("POST", `${this.root}/${path}`, body, undefined, {
      headers: { "content-type": "application/json" },
      what: `${path.replace(/\(.*\)/, "(id)")} create`,
      key: `POST ${path.replace(/\([^)]*\)/g, "(id)")}`,
      ...(signal ? { signal } : {}),
    });
    this.writes++;
    return row;
  }

  /** A PATCH guarded by the entity's `@odata.etag` (412 when someone changed it since it was read). */
  async update(path: string, etag: string, body: BcRow, signal?: AbortSignal): Promise<BcRow> {
    const row = await this.http.request<BcRow>("PATCH", `${this.root}/${path}`, body, undefined, {
      headers: { "content-type": "application/json", "if-match": etag },
      what: `${path.replace(/\(.*\)/, "(id)")} update`,
      key: `PATCH ${path.replace(/\([^)]*\)/g, "(id)")}`,
      ...(signal ? { signal } : {}),
    });
    this.writes++;
    return row;
  }

  async delete(path: string, etag: string, signal?: AbortSignal): Promise<void> {
    await this.http.send("DELETE", `${this.root}/${path}`, {
      headers: { "if-match": etag },
      what: `${path.replace(/\(.*\)/, "(id)")} delete`,
      key: `DELETE ${path.replace(/\([^)]*\)/g, "(id)")}`,
      ...(signal ? { signal } : {}),
    });
    this.writes++;
  }
}

/**
 * Media reads and the environment-level entity sets (`/api/v2.0/subscriptions`) of a client, kept apart
 * from the company-scoped calls above.
 */
export class BusinessCentralPlatform {
  constructor(private readonly c: BusinessCentralClient) {}

  /**
   * A stream field read as media (`…/pdfDocument/pdfDocumentContent`), by its `@odata.mediaReadLink` or a
   * path under the company: its bytes, or null when Business Central has none (404, or 204 No Content).
   * A link that leaves the environment is refused.
   */
  async media(link: string, what: string, signal?: AbortSignal): Promise<Uint8Array | null> {
    const env = environmentUrl(this.c.config);
    if (/^https?:/i.test(link) && !link.startsWith(`${env}/`))
      // Permanent: the same link leaves the environment however often it is followed.
      throw new SyncError("permanent", `${this.c.name}: the media link ${link} leaves the environment`, {
        system: this.c.name,
      });
    const path = /^https?:/i.test(link) ? link : `${this.c.root}/${link}`;
    const res = await this.c.http.send("GET", path, {
      headers: { accept: "application/octet-stream, application/pdf, */*" },
      what,
      key: `GET ${link.replace(/^https?:\/\/[^?]*\/companies\([^)]*\)\//i, "").replace(/\([^)]*\)/g, "(id)")}`,
      accept: (s) => (s >= 200 && s < 300) || s === 404,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404 || res.status === 204) return null;
    return res.bytes;
  }

  /** `GET /api/v2.0/subscriptions`: every subscription of this app in the environment. */
  async subscriptions(signal?: AbortSignal): Promise<BcRow[]> {
    const page: z.infer<typeof Page> = await this.c.http.request(
      "GET",
      "/api/v2.0/subscriptions",
      undefined,
      Page,
      {
        headers: { accept: "application/json" },
        what: "subscriptions",
        key: "GET subscriptions",
        ...(signal ? { signal } : {}),
      },
    );
    return page.value;
  }

  /** POST (create), PATCH (renew, with If-Match) or DELETE (with If-Match) of a subscription. */
  async subscription(
    method: "POST" | "PATCH" | "DELETE",
    id: string | null,
    body: BcRow | undefined,
    etag?: string,
    signal?: AbortSignal,
  ): Promise<BcRow | null> {
    const path = `/api/v2.0/subscriptions${id === null ? "" : `(${literal(id)})`}`;
    const res = await this.c.http.send(method, path, {
      ...(body ? { body } : {}),
      headers: {
        accept: "application/json",
        ...(body ? { "content-type": "application/json" } : {}),
        ...(etag ? { "if-match": etag } : {}),
      },
      what: `subscription ${method === "POST" ? "create" : method === "PATCH" ? "renewal" : "delete"}`,
      key: `${method} subscriptions${id === null ? "" : "(id)"}`,
      ...(signal ? { signal } : {}),
    });
    this.c.writes++;
    const text = res.text();
    return text.trim() === "" ? null : (JSON.parse(text) as BcRow);
  }
}

/** Entra ID's error text (`{"error","error_description"}`). */
function tokenError(body: string): string {
  try {
    const e = JSON.parse(body) as { error?: string; error_description?: string };
    return [e.error, e.error_description?.split("\n")[0]].filter(Boolean).join(": ") || body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}

/** Business Central's error text (`{"error":{"code","message"}}`). */
export function errorText(body: string): string {
  try {
    const e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
    return e?.message ? `${e.message}${e.code ? ` (${e.code})` : ""}` : body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}
