/**
 * JSON-RPC client for trytond. Logs in with `common.db.login`, sends `Authorization: Session
 * base64(login:uid:session)` afterwards, and passes the user's preferences as the context (the last
 * parameter of every model call). Every failure becomes a SyncError whose kind decides what the runner
 * does; the password travels in the login body only and never appears in an error.
 */
import { SyncError } from "../../core/errors.ts";
import { maskUrl } from "../../core/redact.ts";
import { createHttpClient, type HttpClient, type HttpStats } from "../http/client.ts";
import { cappedRetryAfter, NO_RETRY } from "../http/retry.ts";
import type { TrytonConfig } from "./config.ts";

export type Domain = unknown[];
export type TrytonRow = Record<string, unknown> & { id: number };
export type Context = Record<string, unknown>;

/** Exceptions a retry can cure: concurrent updates, a locked SQLite file, a lost database connection. */
const TRANSIENT =
  /ConcurrencyException|DatabaseOperationalError|OperationalError|database is locked|TooManyRequests/;

/**
 * Classifies an `error` member of a JSON-RPC answer. Tryton sends `[name, args]`: UserError and
 * UserWarning carry `[message, description, domain]`; an unknown model or method comes back as a bare
 * exception text. `what` names the call and the record it was about.
 */
export function classifyRpcError(error: unknown, what: string, system: string): SyncError {
  const [name, args] = Array.isArray(error) ? error : [String(error), undefined];
  const exception = typeof name === "string" ? name : JSON.stringify(name);
  const parts = Array.isArray(args) ? args : args === undefined ? [] : [args];
  const message =
    parts
      .filter((p): p is string => typeof p === "string" && p.length > 0)
      .join(" — ")
      .trim() || exception;
  const vendorBody = { exception, message };
  if (exception === "LoginException" || exception === "AccessError" || exception === "RPCError.Forbidden") {
    return new SyncError("config", `Tryton refused ${what}: ${message}`, { system, vendorBody });
  }
  if (exception === "UserError" || exception === "UserWarning") {
    return new SyncError("permanent", `Tryton rejected ${what}: ${message}`, { system, vendorBody });
  }
  if (TRANSIENT.test(exception) || TRANSIENT.test(message)) {
    return new SyncError("retryable", `Tryton ${what} hit a transient error: ${message}`, {
      system,
      vendorBody,
    });
  }
  return new SyncError("permanent", `Tryton failed ${what}: ${message}`, { system, vendorBody });
}

/** How long to wait after a 429 that names no Retry-After. */
const DEFAULT_RETRY_AFTER_MS = 5_000;

/** Classifies a non-200 HTTP answer from trytond; `retryAfterMs` is the answer's Retry-After, if any. */
export function classifyStatus(
  status: number,
  what: string,
  system: string,
  url: string,
  retryAfterMs?: number,
): SyncError {
  if (status === 401 || status === 403) {
    return new SyncError(
      "config",
      `Tryton at ${maskUrl(url)} refused the credentials for ${what} (HTTP ${status}): wrong login or password, or the session expired`,
      { system, status },
    );
  }
  if (status === 404) {
    return new SyncError("config", `no Tryton database answers at ${maskUrl(url)} (HTTP 404)`, {
      system,
      status,
    });
  }
  if (status === 429) {
    return new SyncError("rate_limited", `Tryton throttled ${what} (HTTP 429)`, {
      system,
      status,
      retryAfterMs: retryAfterMs ?? DEFAULT_RETRY_AFTER_MS,
    });
  }
  const kind = status >= 500 || status === 408 ? "retryable" : "permanent";
  return new SyncError(kind, `Tryton answered HTTP ${status} to ${what}`, { system, status });
}

interface Session {
  header: string;
  context: Context;
}

export class TrytonClient {
  private session: Promise<Session> | null = null;
  private seq = 0;
  private readonly http: HttpClient;

  /** Deprecation notices the answers carried since the last call, per call site (http/deprecations.ts). */
  drainDeprecations() {
    return this.http.deprecations.drain();
  }

  constructor(
    private readonly config: TrytonConfig,
    /** Connection name, carried in every error. */
    readonly system: string,
  ) {
    this.http = createHttpClient({
      system,
      vendor: "Tryton",
      baseUrl: config.url,
      timeoutMs: config.timeoutMs,
      // Every call is a POST; the engine retries writes after a lookup (see docs/architecture.md).
      retry: NO_RETRY,
      redact: [config.password],
      headers: { accept: "application/json" },
      auth: {
        headers: async (signal) => ({ authorization: (await this.login(signal)).header }),
        // A 401 means the session expired: the next call logs in again, once.
        refresh: () => {
          this.session = null;
        },
      },
    });
  }

  /** trytond's version (`common.server.version`, answered at the server's root without a session). */
  async serverVersion(signal?: AbortSignal): Promise<string | null> {
    const v = await this.post(
      "common.server.version",
      [],
      "server version",
      false,
      signal,
      `${this.config.url}/`,
    );
    return typeof v === "string" ? v : null;
  }

  get endpoint(): string {
    return `${this.config.url}/${encodeURIComponent(this.config.db)}/`;
  }

  /** Requests sent (each try counts). */
  get calls(): number {
    return this.http.stats().calls;
  }

  /** Calls, throttles and latency per JSON-RPC method (bounded: see connectors/http/latency.ts). */
  stats(): HttpStats {
    return this.http.stats();
  }

  /** A sample of call latencies per JSON-RPC method, ms (at most 512 per method, whatever the calls). */
  get latencies(): Map<string, number[]> {
    return this.http.latency.samples();
  }

  /**
   * One raw JSON-RPC request; returns `result` or throws a classified SyncError. `auth`: the session
   * header to send (the login's own calls), or true for the current session (logging in first).
   */
  private async post(
    method: string,
    params: unknown[],
    what: string,
    auth: string | boolean,
    signal?: AbortSignal,
    endpoint = this.endpoint,
  ): Promise<unknown> {
    const res = await this.http.send("POST", endpoint, {
      body: { id: ++this.seq, method, params },
      what,
      key: method,
      auth: auth === true,
      ...(typeof auth === "string" ? { headers: { authorization: auth } } : {}),
      accept: () => true,
      ...(signal ? { signal } : {}),
    });
    const status = res.status;
    if (status !== 200) {
      const retryAfterMs = cappedRetryAfter(res.headers.get("retry-after"), {});
      throw classifyStatus(status, what, this.system, this.config.url, retryAfterMs);
    }
    let json: unknown;
    try {
      json = JSON.parse(res.text());
    } catch {
      throw new SyncError("retryable", `Tryton answered ${what} with something that is not JSON`, {
        system: this.system,
        status,
      });
    }
    if (typeof json !== "object" || json === null) {
      throw new SyncError("permanent", `Tryton answered ${what} with a malformed JSON-RPC response`, {
        system: this.system,
      });
    }
    const body = json as { result?: unknown; error?: unknown };
    if (body.error !== undefined && body.error !== null)
      throw classifyRpcError(body.error, what, this.system);
    return body.result;
  }

  /** Logs in once; a 401 later clears the session so the next call logs in again. */
  login(signal?: AbortSignal): Promise<Session> {
    if (!this.session) {
      const { username, password, db, language } = this.config;
      this.session = (async () => {
        let result: unknown;
        try {
          result = await this.post(
            "common.db.login",
            [username, { password }, language],
            "login",
            false,
            signal,
          );
        } catch (err) {
          if (err instanceof SyncError && err.kind === "config") {
            throw new SyncError(
              "config",
              `Tryton at ${maskUrl(this.config.url)} rejected the login of user "${username}" on database "${db}" (wrong login or password)`,
              { system: this.system, status: err.details.status },
            );
          }
          throw err;
        }
        if (!Array.isArray(result) || typeof result[0] !== "number" || typeof result[1] !== "string") {
          throw new SyncError(
            "config",
            `Tryton at ${maskUrl(this.config.url)} rejected the login of user "${username}" on database "${db}"`,
            { system: this.system },
          );
        }
        const header = `Session ${Buffer.from(`${username}:${result[0]}:${result[1]}`).toString("base64")}`;
        // The session id and the header carrying it are credentials: never in an error or a log line.
        this.http.addSecret(result[1]);
        this.http.addSecret(header.slice("Session ".length));
        const prefs = await this.post(
          "model.res.user.get_preferences",
          [true, {}],
          "get_preferences",
          header,
          signal,
        );
        const context = typeof prefs === "object" && prefs !== null ? (prefs as Context) : {};
        return { header, context };
      })();
      this.session.catch(() => {
        this.session = null;
      });
    }
    return this.session;
  }

  /** The user's context (company, language…), as sent with every call. */
  async context(signal?: AbortSignal): Promise<Context> {
    return (await this.login(signal)).context;
  }

  /**
   * `method` with `params`, the context appended (merged with `extra`). Re-logs in once on an expired
   * session. `what` names the call in errors ("party.party.create for customer a@b.c").
   */
  async call(
    method: string,
    params: unknown[],
    opts: { what?: string; context?: Context; signal?: AbortSignal } = {},
  ): Promise<unknown> {
    const session = await this.login(opts.signal);
    return this.post(
      method,
      [...params, { ...session.context, ...opts.context }],
      opts.what ?? method,
      true,
      opts.signal,
    );
  }

  model(
    model: string,
    method: string,
    params: unknown[],
    opts: { what?: string; context?: Context; signal?: AbortSignal } = {},
  ): Promise<unknown> {
    return this.call(`model.${model}.${method}`, params, {
      what: opts.what ?? `${model}.${method}`,
      ...opts,
    });
  }

  async searchRead(
    model: string,
    domain: Domain,
    fields: string[],
    opts: {
      offset?: number;
      limit?: number | null;
      order?: [string, "ASC" | "DESC"][];
      context?: Context;
      signal?: AbortSignal;
    } = {},
  ): Promise<TrytonRow[]> {
    const result = await this.model(
      model,
      "search_read",
      [domain, opts.offset ?? 0, opts.limit ?? null, opts.order ?? [["id", "ASC"]], fields],
      { context: opts.context, signal: opts.signal },
    );
    return rows(result, `${model}.search_read`, this.system);
  }

  async read(
    model: string,
    ids: number[],
    fields: string[],
    opts: { context?: Context; signal?: AbortSignal } = {},
  ): Promise<TrytonRow[]> {
    if (ids.length === 0) return [];
    const result = await this.model(model, "read", [ids, fields], opts);
    return rows(result, `${model}.read`, this.system);
  }

  async create(
    model: string,
    values: Record<string, unknown>[],
    what: string,
    signal?: AbortSignal,
  ): Promise<number[]> {
    const result = await this.model(model, "create", [values], { what, signal });
    if (!Array.isArray(result) || !result.every((x) => typeof x === "number")) {
      throw new SyncError("permanent", `Tryton's ${model}.create returned no ids (${what})`, {
        system: this.system,
      });
    }
    return result;
  }

  async write(
    model: string,
    ids: number[],
    values: Record<string, unknown>,
    what: string,
    signal?: AbortSignal,
  ) {
    await this.model(model, "write", [ids, values], { what, signal });
  }

  /** Renders a report (`report.<name>.execute`): [format, bytes, direct print, file name]. */
  async report(name: string, ids: number[], what: string, signal?: AbortSignal): Promise<unknown> {
    return this.call(`report.${name}.execute`, [ids, {}], { what, signal });
  }
}

function rows(result: unknown, what: string, system: string): TrytonRow[] {
  if (
    !Array.isArray(result) ||
    !result.every((r) => typeof r === "object" && r !== null && typeof r.id === "number")
  ) {
    throw new SyncError("permanent", `Tryton answered ${what} with something that is not a list of records`, {
      system,
    });
  }
  return result as TrytonRow[];
}
