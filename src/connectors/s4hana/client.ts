/**
 * The client of the three OData V2 services (over the shared HTTP client): collection reads that page as
 * the services page, single reads, deep inserts and updates, and the CSRF protocol of the SAP Gateway.
 *
 * Authentication is HTTP basic (the communication user of a communication arrangement). The Gateway answers
 * the first call with a session cookie; the client keeps it and sends it with every call.
 *
 * CSRF: a change (POST, PATCH) must carry a token fetched in the same session: a GET of the service document
 * with `x-csrf-token: Fetch` answers it in the `x-csrf-token` header. The token is fetched before the first
 * change and kept; when a change is refused with 403 and `x-csrf-token: Required` ("CSRF token validation
 * failed": the session or the token expired), the token and the cookie are dropped, fetched again once and
 * the change is sent again; a second refusal is reported.
 *
 * Paging: a read asks `$top` records from `$skip` (with `$inlinecount=allpages` on its first call); the
 * server may answer fewer and link the rest of that window with `__next` (`$skiptoken`), which is followed.
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { createHttpClient, type HttpClient, type HttpResponse } from "../http/client.ts";
import {
  type BatchAnswer,
  BatchFormatError,
  type BatchRequest,
  buildBatch,
  parseBatchAnswer,
} from "../odata-batch.ts";
import type { S4HanaConfig } from "./config.ts";

export const ROOT = "/sap/opu/odata/sap";
export type S4Service =
  | "API_PRODUCT_SRV"
  | "API_BUSINESS_PARTNER"
  | "API_SALES_ORDER_SRV"
  | "API_OUTBOUND_DELIVERY_SRV"
  | "API_BILLING_DOCUMENT_SRV"
  | "API_MATERIAL_STOCK_SRV"
  | "API_SLSPRICINGCONDITIONRECORD_SRV";
export type S4Row = Record<string, unknown>;

const Collection = z.object({
  d: z.object({
    results: z.array(z.record(z.string(), z.unknown())),
    __next: z.string().optional(),
    __count: z.string().optional(),
  }),
});
const Single = z.object({ d: z.record(z.string(), z.unknown()) });

export interface ListQuery {
  filter?: string;
  orderby?: string;
  select?: readonly string[];
  expand?: readonly string[];
  pageSize: number;
  signal?: AbortSignal;
}

const enc = (v: string) => encodeURIComponent(v).replace(/%2C/g, ",").replace(/%2F/g, "/");

function query(params: [string, string | undefined][]): string {
  const parts = params
    .filter((p): p is [string, string] => p[1] !== undefined)
    .map(([k, v]) => `${k}=${enc(v)}`);
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

/** A key as V2 writes it: `('A')` for one field, `(K1='A',K2='B')` for several. */
export function keyPath(key: string | Record<string, string>): string {
  const lit = (s: string) => `'${encodeURIComponent(s.replace(/'/g, "''"))}'`;
  if (typeof key === "string") return `(${lit(key)})`;
  return `(${Object.entries(key)
    .map(([k, v]) => `${k}=${lit(v)}`)
    .join(",")})`;
}

const isCsrfRefusal = (res: HttpResponse) =>
  res.status === 403 &&
  ((res.headers.get("x-csrf-token") ?? "").toLowerCase() === "required" ||
    /CSRF token validation failed/i.test(res.text()));

export class S4HanaClient {
  readonly http: HttpClient;
  /** Calls that changed data. */
  writes = 0;
  csrfFetches = 0;
  private cookie: string | null = null;
  private token: string | null = null;
  private pendingToken: Promise<string> | null = null;
  private readonly basic: string;

  constructor(
    readonly name: string,
    readonly config: S4HanaConfig,
    fetchApi?: typeof fetch,
  ) {
    this.basic = `Basic ${Buffer.from(`${config.username}:${config.password}`).toString("base64")}`;
    this.http = createHttpClient({
      system: name,
      vendor: "SAP S/4HANA",
      baseUrl: config.url,
      timeoutMs: config.timeoutMs,
      auth: {
        headers: () => ({ authorization: this.basic, ...(this.cookie ? { cookie: this.cookie } : {}) }),
        refresh: () => {
          this.cookie = null;
          this.token = null;
        },
      },
      redact: [config.password, this.basic, this.basic.slice(6)],
      ...(fetchApi ? { fetch: fetchApi } : {}),
    });
  }

  get calls(): number {
    return this.http.stats().calls;
  }

  private keepCookie(res: HttpResponse): void {
    const jar = new Map<string, string>();
    for (const part of (this.cookie ?? "").split("; ")) {
      const i = part.indexOf("=");
      if (i > 0) jar.set(part.slice(0, i), part.slice(i + 1));
    }
    const set = typeof res.headers.getSetCookie === "function" ? res.headers.getSetCookie() : [];
    for (const line of set) {
      const [pair] = line.split(";");
      const i = pair?.indexOf("=") ?? -1;
      if (pair && i > 0) jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    if (jar.size > 0) this.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  /** A GET of JSON, keeping the session cookie the answer sets. */
  private async getJson(path: string, what: string, key: string, signal?: AbortSignal, accept404 = false) {
    const res = await this.http.send("GET", path, {
      headers: { accept: "application/json" },
      what,
      key,
      ...(accept404 ? { accept: (s: number) => (s >= 200 && s < 300) || s === 404 } : {}),
      ...(signal ? { signal } : {}),
    });
    this.keepCookie(res);
    if (res.status === 404) return null;
    try {
      return JSON.parse(res.text()) as unknown;
    } catch {
      throw new SyncError(
        "retryable",
        `${this.name}: SAP S/4HANA answered ${what} with something that is not JSON`,
        {
          system: this.name,
          status: res.status,
        },
      );
    }
  }

  /** The service document, read with `x-csrf-token: Fetch`: the session's CSRF token. */
  private fetchToken(service: S4Service, signal?: AbortSignal): Promise<string> {
    this.pendingToken ??= (async () => {
      const res = await this.http.send("GET", `${ROOT}/${service}/`, {
        headers: { accept: "application/json", "x-csrf-token": "Fetch" },
        what: "CSRF token fetch",
        key: "GET (service document)",
        ...(signal ? { signal } : {}),
      });
      this.keepCookie(res);
      const token = res.headers.get("x-csrf-token");
      if (!token || token.toLowerCase() === "required") {
        throw new SyncError(
          "config",
          `${this.name}: SAP S/4HANA answered no CSRF token to ${service}'s service document`,
          {
            system: this.name,
          },
        );
      }
      this.csrfFetches++;
      this.token = token;
      return token;
    })().finally(() => {
      this.pendingToken = null;
    });
    return this.pendingToken;
  }

  /** A change with the CSRF token; one refetch when the Gateway refuses the token. */
  private async change(
    method: "POST" | "PATCH",
    service: S4Service,
    path: string,
    body: S4Row,
    what: string,
    key: string,
    signal?: AbortSignal,
  ): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      const token = this.token ?? (await this.fetchToken(service, signal));
      const res = await this.http.send(method, `${ROOT}/${service}/${path}`, {
        body,
        headers: { accept: "application/json", "content-type": "application/json", "x-csrf-token": token },
        what,
        key,
        accept: (s) => (s >= 200 && s < 300) || s === 403,
        ...(signal ? { signal } : {}),
      });
      this.keepCookie(res);
      if (res.status !== 403) {
        this.writes++;
        return res;
      }
      if (attempt === 0 && isCsrfRefusal(res)) {
        // The token or its session expired: a new session and a new token, once. Calls refused together
        // share one refetch: only the first to see the refused token drops it.
        if (this.token === token) {
          this.token = null;
          this.cookie = null;
        }
        continue;
      }
      throw new SyncError(
        "config",
        `${this.name}: SAP S/4HANA refused ${what} (HTTP 403${isCsrfRefusal(res) ? ": CSRF token validation failed twice" : ": the communication user lacks the authorization"})`,
        { system: this.name, status: 403 },
      );
    }
  }

  /**
   * Requests of one service in `$batch` requests of at most `config.batchSize` (../odata-batch.ts), one
   * answer per request in their order; each write is a change set of its own, and a part's URL is relative
   * to the service root (`A_SalesOrder?…`). The `$batch` POST is a change to the Gateway: it carries the CSRF
   * token, and a refused token is fetched again once and the batch re-sent (refused, it was never run).
   *
   * A `$batch` that writes is not retry-safe (its answer may be lost after the Gateway applied it): it goes
   * out once, and when it fails as a whole the error is thrown for the caller to fail its records as
   * retryable. One that only reads may be repeated.
   */
  async batch(
    service: S4Service,
    requests: readonly BatchRequest[],
    signal?: AbortSignal,
  ): Promise<BatchAnswer[]> {
    const out: BatchAnswer[] = [];
    for (let at = 0; at < requests.length; at += this.config.batchSize) {
      const chunk = requests.slice(at, at + this.config.batchSize);
      const built = buildBatch(chunk, "v2");
      let res: HttpResponse | undefined;
      for (let attempt = 0; ; attempt++) {
        const token = this.token ?? (await this.fetchToken(service, signal));
        res = await this.http.send("POST", `${ROOT}/${service}/$batch`, {
          body: built.body,
          headers: {
            ...built.headers,
            "content-type": built.contentType,
            accept: "multipart/mixed",
            "x-csrf-token": token,
          },
          retrySafe: built.retrySafe,
          what: `$batch of ${chunk.length}`,
          key: `POST ${service}/$batch`,
          accept: (s) => (s >= 200 && s < 300) || s === 403,
          ...(signal ? { signal } : {}),
        });
        this.keepCookie(res);
        if (res.status !== 403) break;
        if (attempt === 0 && isCsrfRefusal(res)) {
          if (this.token === token) {
            this.token = null;
            this.cookie = null;
          }
          continue;
        }
        throw new SyncError(
          "config",
          `${this.name}: SAP S/4HANA refused a $batch of ${service} (HTTP 403${isCsrfRefusal(res) ? ": CSRF token validation failed twice" : ": the communication user lacks the authorization"})`,
          { system: this.name, status: 403 },
        );
      }
      let answers: (BatchAnswer | undefined)[];
      try {
        answers = parseBatchAnswer(res.headers.get("content-type"), res.text(), chunk);
      } catch (e) {
        if (!(e instanceof BatchFormatError)) throw e;
        throw new SyncError(
          "retryable",
          `${this.name}: SAP S/4HANA's $batch answer could not be read: ${e.message}`,
          { system: this.name },
        );
      }
      // The Gateway answers every part of a V2 batch; one it left out is reported, never guessed.
      const missing = answers.indexOf(undefined);
      if (missing >= 0) {
        throw new SyncError(
          "retryable",
          `${this.name}: SAP S/4HANA's $batch answer has no answer for part ${missing + 1} of ${chunk.length}`,
          { system: this.name },
        );
      }
      answers.forEach((a, i) => {
        if (a && a.status < 300 && chunk[i]?.method !== "GET") this.writes++;
      });
      out.push(...(answers as BatchAnswer[]));
    }
    return out;
  }

  /** Pages of a collection, each at most `pageSize` records (see the paging note above). */
  async *list(service: S4Service, set: string, q: ListQuery): AsyncGenerator<S4Row[]> {
    let skip = 0;
    let total: number | undefined;
    for (;;) {
      let path: string | null = `${ROOT}/${service}/${set}${query([
        ["$filter", q.filter],
        ["$orderby", q.orderby],
        ["$select", q.select?.join(",")],
        ["$expand", q.expand && q.expand.length > 0 ? q.expand.join(",") : undefined],
        ["$top", String(q.pageSize)],
        ["$skip", skip > 0 ? String(skip) : undefined],
        ["$inlinecount", skip === 0 ? "allpages" : undefined],
      ])}`;
      let got = 0;
      while (path) {
        const page = Collection.parse(await this.getJson(path, `${set} page`, `GET ${set}`, q.signal));
        if (page.d.__count !== undefined) total = Number(page.d.__count);
        got += page.d.results.length;
        if (page.d.results.length > 0) yield page.d.results;
        path = page.d.__next ? pathOf(page.d.__next) : null;
      }
      skip += got;
      if (got < q.pageSize || (total !== undefined && skip >= total)) return;
    }
  }

  /** One entity by key; null when the service answers 404. */
  async get(
    service: S4Service,
    set: string,
    key: string | Record<string, string>,
    opts: { select?: readonly string[]; expand?: readonly string[]; signal?: AbortSignal } = {},
  ): Promise<S4Row | null> {
    const path = `${ROOT}/${service}/${set}${keyPath(key)}${query([
      ["$select", opts.select?.join(",")],
      ["$expand", opts.expand && opts.expand.length > 0 ? opts.expand.join(",") : undefined],
    ])}`;
    const json = await this.getJson(path, `${set} by key`, `GET ${set}(key)`, opts.signal, true);
    return json === null ? null : Single.parse(json).d;
  }

  /**
   * A function import called with GET (`GetPDF?BillingDocument='90000001'`), each parameter an Edm.String
   * literal; the answer's `d`.
   */
  async callFunction(
    service: S4Service,
    name: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<S4Row> {
    const path = `${ROOT}/${service}/${name}${query(
      Object.entries(params).map(([k, v]): [string, string] => [k, `'${v.replace(/'/g, "''")}'`]),
    )}`;
    const json = await this.getJson(path, name, `GET ${name}`, signal);
    return Single.parse(json).d;
  }

  /** A create (a deep insert when the body holds navigation properties); the created entity. */
  async create(service: S4Service, set: string, body: S4Row, signal?: AbortSignal): Promise<S4Row> {
    const res = await this.change("POST", service, set, body, `${set} create`, `POST ${set}`, signal);
    return Single.parse(JSON.parse(res.text())).d;
  }

  async update(
    service: S4Service,
    set: string,
    key: string | Record<string, string>,
    body: S4Row,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.change(
      "PATCH",
      service,
      `${set}${keyPath(key)}`,
      body,
      `${set} update`,
      `PATCH ${set}(key)`,
      signal,
    );
  }
}

const pathOf = (url: string) => {
  if (!/^https?:\/\//.test(url)) return url.startsWith("/") ? url : `/${url}`;
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

/** The message of an OData V2 error body (`{"error":{"code","message":{"value"}}}`). */
export function errorText(body: string | undefined): string {
  if (!body) return "";
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown; message?: { value?: unknown } | string } })
      .error;
    const m = typeof e?.message === "string" ? e.message : e?.message?.value;
    return typeof m === "string" ? `${m}${e?.code ? ` (${String(e.code)})` : ""}` : body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}
