/**
 * The Service Layer client (over the shared HTTP client): the session, the collection reads that follow
 * Service Layer's own paging, single reads, creates, updates and bound actions, and a count of calls that
 * change data (for the contract's re-apply check).
 *
 * Session: `POST /b1s/v2/Login` with CompanyDB, UserName and Password answers the session and its
 * SessionTimeout (minutes) and sets the B1SESSION and ROUTEID cookies (ROUTEID pins the session to one
 * Service Layer node behind its load balancer). Both are sent on every call. The session is renewed before
 * it would expire unused, and a 401 (expired, or Service Layer restarted) logs in again once and repeats
 * the call; a second 401 is reported. The password is in the Login body only, and redacted from every error.
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import {
  type BatchAnswer,
  BatchFormatError,
  type BatchRequest,
  buildBatch,
  parseBatchAnswer,
} from "../odata-batch.ts";
import type { SapB1Config } from "./config.ts";

export const ROOT = "/b1s/v2";

const Session = z.object({ SessionId: z.string().min(1), SessionTimeout: z.number().int().positive() });
const Page = z.object({
  value: z.array(z.record(z.string(), z.unknown())),
  "@odata.nextLink": z.string().optional(),
});

export type B1Row = Record<string, unknown>;

export interface ListQuery {
  filter?: string;
  orderby?: string;
  select?: readonly string[];
  /** Records per page (`Prefer: odata.maxpagesize`). */
  pageSize: number;
  signal?: AbortSignal;
}

export class SapB1Client {
  readonly http: HttpClient;
  /** Calls that change data. */
  writes = 0;
  logins = 0;
  private cookie: string | null = null;
  private expiresAt = 0;
  private pending: Promise<string> | null = null;

  constructor(
    readonly name: string,
    readonly config: SapB1Config,
    fetchApi?: typeof fetch,
    private readonly now: () => number = Date.now,
  ) {
    this.http = createHttpClient({
      system: name,
      vendor: "SAP Business One",
      baseUrl: config.url,
      timeoutMs: config.timeoutMs,
      auth: {
        headers: async (signal) => ({ cookie: await this.session(signal) }),
        refresh: () => {
          this.cookie = null;
        },
      },
      redact: [config.password],
      ...(fetchApi ? { fetch: fetchApi } : {}),
    });
  }

  get calls(): number {
    return this.http.stats().calls;
  }

  private session(signal?: AbortSignal): Promise<string> {
    if (this.cookie && this.now() < this.expiresAt) {
      // Every call keeps the session alive on the server: the deadline moves with it.
      this.expiresAt = this.now() + this.lifetimeMs;
      return Promise.resolve(this.cookie);
    }
    this.pending ??= this.login(signal).finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private lifetimeMs = 0;

  private async login(signal?: AbortSignal): Promise<string> {
    const { companyDB, username, password } = this.config;
    const res = await this.http.send("POST", `${ROOT}/Login`, {
      body: { CompanyDB: companyDB, UserName: username, Password: password },
      auth: false,
      retrySafe: true,
      what: "Login",
      accept: (s) => (s >= 200 && s < 300) || s === 401,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 401) {
      throw new SyncError(
        "config",
        `${this.name}: SAP Business One refused the login of user ${JSON.stringify(username)} on company ${JSON.stringify(companyDB)} (HTTP 401: ${errorText(res.text())})`,
        { system: this.name, status: 401, field: "password" },
      );
    }
    const session = Session.parse(JSON.parse(res.text()));
    const jar = new Map<string, string>();
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const i = pair?.indexOf("=") ?? -1;
      if (pair && i > 0) jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    if (!jar.has("B1SESSION")) jar.set("B1SESSION", session.SessionId);
    this.logins++;
    this.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    // A minute's margin under the server's timeout, so a call never races the expiry.
    this.lifetimeMs = Math.max(30_000, (session.SessionTimeout - 1) * 60_000);
    this.expiresAt = this.now() + this.lifetimeMs;
    return this.cookie;
  }

  /** Ends the session on the server (Service Layer keeps a licence seat per live session). */
  async logout(): Promise<void> {
    if (!this.cookie) return;
    await this.http
      .send("POST", `${ROOT}/Logout`, { what: "Logout", accept: () => true })
      .catch(() => undefined);
    this.cookie = null;
  }

  /**
   * Pages of a collection, as Service Layer pages it: the first request carries the query and
   * `Prefer: odata.maxpagesize`, each next one is the answer's `@odata.nextLink`, until there is none.
   */
  async *list(set: string, q: ListQuery): AsyncGenerator<B1Row[]> {
    const params = new URLSearchParams();
    if (q.filter) params.set("$filter", q.filter);
    if (q.orderby) params.set("$orderby", q.orderby);
    if (q.select) params.set("$select", q.select.join(","));
    let path: string | null = `${ROOT}/${set}${params.size > 0 ? `?${params.toString()}` : ""}`;
    while (path) {
      const page: z.infer<typeof Page> = await this.http.request("GET", path, undefined, Page, {
        headers: { prefer: `odata.maxpagesize=${q.pageSize}` },
        what: `${set} page`,
        key: `GET ${set}`,
        ...(q.signal ? { signal: q.signal } : {}),
      });
      yield page.value;
      const next = page["@odata.nextLink"];
      // Service Layer writes the link relative to the service root (`Items?$skip=20`); v1 and proxies may
      // write it from the server root or as an absolute URL.
      path = next
        ? /^https?:\/\//.test(next)
          ? pathOf(next)
          : next.startsWith("/")
            ? next
            : `${ROOT}/${next}`
        : null;
    }
  }

  /** One entity by key (a string key quoted, a number bare); null when Service Layer answers 404. */
  async get(
    set: string,
    key: string | number,
    select?: readonly string[],
    signal?: AbortSignal,
  ): Promise<B1Row | null> {
    const q = select ? `?$select=${select.join(",")}` : "";
    const res = await this.http.send("GET", `${ROOT}/${set}(${keyLiteral(key)})${q}`, {
      headers: { accept: "application/json" },
      what: `${set} by key`,
      key: `GET ${set}(key)`,
      accept: (s) => (s >= 200 && s < 300) || s === 404,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404) return null;
    return JSON.parse(res.text()) as B1Row;
  }

  async create(set: string, body: B1Row, signal?: AbortSignal): Promise<B1Row> {
    const row = await this.http.request<B1Row>("POST", `${ROOT}/${set}`, body, undefined, {
      what: `${set} create`,
      ...(signal ? { signal } : {}),
    });
    this.writes++;
    return row;
  }

  async update(set: string, key: string | number, body: B1Row, signal?: AbortSignal): Promise<void> {
    await this.http.send("PATCH", `${ROOT}/${set}(${keyLiteral(key)})`, {
      body,
      what: `${set} update`,
      key: `PATCH ${set}(key)`,
      ...(signal ? { signal } : {}),
    });
    this.writes++;
  }

  async action(set: string, key: string | number, action: string, signal?: AbortSignal): Promise<void> {
    await this.http.send("POST", `${ROOT}/${set}(${keyLiteral(key)})/${action}`, {
      what: `${set} ${action}`,
      key: `POST ${set}(key)/${action}`,
      ...(signal ? { signal } : {}),
    });
    this.writes++;
  }

  /**
   * Many requests in `$batch` requests of at most `config.batchSize` (odata-batch.ts), one answer per request
   * in their order. Each write is a change set of its own. `Prefer: odata.continue-on-error` asks Service
   * Layer to run every part even after one fails (OData v4 §8.2.8.3); a part it nonetheless left unanswered
   * was never run, and is sent again in a further `$batch`.
   *
   * A `$batch` that writes is not retry-safe (its answer may be lost after Service Layer applied it): it goes
   * out once, and when it fails as a whole the error is thrown for the caller to fail its records as
   * retryable. One that only reads may be repeated.
   */
  async batch(requests: readonly BatchRequest[], signal?: AbortSignal): Promise<BatchAnswer[]> {
    const out: (BatchAnswer | undefined)[] = requests.map(() => undefined);
    for (let at = 0; at < requests.length; at += this.config.batchSize) {
      let todo = requests.slice(at, at + this.config.batchSize).map((r, i) => ({ r, i: at + i }));
      while (todo.length > 0) {
        const answers = await this.batchOnce(
          todo.map((t) => t.r),
          signal,
        );
        answers.forEach((a, j) => {
          if (a) out[(todo[j] as { i: number }).i] = a;
        });
        const left = todo.filter((_, j) => answers[j] === undefined);
        if (left.length === todo.length) {
          throw new SyncError(
            "retryable",
            `${this.name}: SAP Business One answered a $batch of ${todo.length} requests without answering any of them`,
            { system: this.name },
          );
        }
        todo = left;
      }
    }
    return out as BatchAnswer[];
  }

  private async batchOnce(
    requests: readonly BatchRequest[],
    signal?: AbortSignal,
  ): Promise<(BatchAnswer | undefined)[]> {
    const built = buildBatch(requests, "v4");
    const res = await this.http.send("POST", `${ROOT}/$batch`, {
      body: built.body,
      headers: {
        ...built.headers,
        "content-type": built.contentType,
        accept: "multipart/mixed",
        prefer: "odata.continue-on-error",
      },
      retrySafe: built.retrySafe,
      what: `$batch of ${requests.length}`,
      key: "POST $batch",
      ...(signal ? { signal } : {}),
    });
    let answers: (BatchAnswer | undefined)[];
    try {
      answers = parseBatchAnswer(res.headers.get("content-type"), res.text(), requests);
    } catch (e) {
      if (!(e instanceof BatchFormatError)) throw e;
      // What was applied is unknown: the records are retried, and their lookup by reference finds what was.
      throw new SyncError(
        "retryable",
        `${this.name}: SAP Business One's $batch answer could not be read: ${e.message}`,
        {
          system: this.name,
        },
      );
    }
    answers.forEach((a, i) => {
      if (a && a.status < 300 && requests[i]?.method !== "GET") this.writes++;
    });
    return answers;
  }
}

const pathOf = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

export const keyLiteral = (key: string | number) =>
  typeof key === "number" ? String(key) : `'${encodeURIComponent(key.replace(/'/g, "''"))}'`;

/** Service Layer's error text (`{"error":{"code","message"}}`, message a string in v2, {lang,value} in v1). */
export function errorText(body: string): string {
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
    const m = e?.message;
    const text = typeof m === "string" ? m : (m as { value?: string } | undefined)?.value;
    return text ? `${text}${e?.code !== undefined ? ` (${String(e.code)})` : ""}` : body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}
