/**
 * JSON-RPC client for Odoo's legacy external API. Authenticates once and caches the uid; every failure
 * becomes a SyncError whose kind decides what the runner does (see core/errors.ts). The password is sent
 * in request bodies only and never appears in an error message or detail.
 */

import pLimit, { type LimitFunction } from "p-limit";
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { maskUrl } from "../../core/redact.ts";
import { createHttpClient, type HttpClient, type HttpStats } from "../http/client.ts";
import { NO_RETRY } from "../http/retry.ts";
import type { OdooConfig } from "./config.ts";

const RpcError = z.object({
  code: z.number().optional(),
  message: z.string().optional(),
  data: z.object({ name: z.string().optional(), message: z.string().optional() }).loose().optional(),
});
const RpcResponse = z.union([
  // A method that returns None (action_unlock, action_apply_inventory…) answers with no `result` key.
  z.object({ result: z.unknown().optional(), error: z.undefined().optional() }).loose(),
  z.object({ error: RpcError }).loose(),
]);

export type Domain = unknown[];
export type OdooRow = Record<string, unknown> & { id: number };
const Rows = z.array(z.object({ id: z.number() }).loose());

/** Exceptions a retry can cure: concurrent-update conflicts and lost database connections. */
const TRANSIENT = /SerializationFailure|TransactionRollbackError|OperationalError|LockNotAvailable/;

/** How long every request of a connection waits after a 429 that names no Retry-After. */
const DEFAULT_PAUSE_MS = 1_000;

export interface OdooClientOptions {
  /** Waits out a 429's pause (tests pass a fake one with `now`). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * The connection's rate governor: at most `concurrency` requests in flight, and after a 429 none starts
 * until its Retry-After has passed. The pause is the connection's, not the caller's: Odoo (or the proxy in
 * front of it) limits the client as a whole, so every writer and reader of the connection waits for it.
 */
class Governor {
  readonly #limit: LimitFunction;
  #until = 0;
  #pause: Promise<void> | null = null;

  constructor(
    concurrency: number,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly now: () => number,
  ) {
    this.#limit = pLimit(concurrency);
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.#limit(async () => {
      while (this.#pause) await this.#pause;
      return fn();
    });
  }

  pauseFor(ms: number): void {
    this.#until = Math.max(this.#until, this.now() + ms);
    this.#pause ??= (async () => {
      // A 429 that arrives during the pause may extend it; a fake sleep never moves the clock, so the
      // pause ends once the last deadline asked for has been slept for, not when the clock says so.
      for (let slept = this.now(); this.#until > slept; ) {
        const until = this.#until;
        await this.sleep(until - slept);
        slept = until;
      }
      this.#pause = null;
    })();
  }

  get paused(): boolean {
    return this.#pause !== null;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#limit.pendingCount;
  }
}

/** Latency is kept per model method (`product.product.search_read`), not per record. */
function rpcKey(params: Record<string, unknown>, what: string): string {
  const args = params.args;
  if (params.method === "execute_kw" && Array.isArray(args) && typeof args[3] === "string") {
    return `${args[3]}.${String(args[4])}`;
  }
  return what;
}

export class OdooClient {
  private uid: Promise<number> | null = null;
  private readonly governor: Governor;
  private readonly http: HttpClient;

  /** Deprecation notices the answers carried since the last call, per call site (http/deprecations.ts). */
  drainDeprecations() {
    return this.http.deprecations.drain();
  }

  constructor(
    private readonly config: OdooConfig,
    /** Connection name, carried in every error. */
    readonly system: string,
    opts: OdooClientOptions = {},
  ) {
    this.governor = new Governor(
      config.concurrency,
      opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      opts.now ?? Date.now,
    );
    this.http = createHttpClient({
      system,
      vendor: "Odoo",
      baseUrl: config.url,
      timeoutMs: config.timeoutMs,
      // Every Odoo call is a POST; the engine retries writes after a lookup, and a failed read fails the
      // run, which the worker queues again (see docs/architecture.md, "Connector clients").
      retry: NO_RETRY,
      redact: [config.password],
      limit: (fn) => this.governor.run(fn),
      onRateLimit: ({ retryAfterMs }) => this.governor.pauseFor(retryAfterMs ?? DEFAULT_PAUSE_MS),
    });
  }

  get url(): string {
    return this.config.url;
  }

  /** Requests sent (each try counts). */
  get calls(): number {
    return this.http.stats().calls;
  }

  /** 429 answers received (each paused the connection). */
  get throttled(): number {
    return this.http.stats().throttled;
  }

  /** Calls, throttles and latency per JSON-RPC method (bounded: see connectors/http/latency.ts). */
  stats(): HttpStats {
    return this.http.stats();
  }

  /** Whether requests are held back by a 429's Retry-After right now. */
  get paused(): boolean {
    return this.governor.paused;
  }

  /** Requests waiting for one of the connection's `concurrency` slots. */
  get queued(): number {
    return this.governor.queued;
  }

  /** One JSON-RPC call; returns `result` or throws a classified SyncError. */
  async rpc(
    path: string,
    params: Record<string, unknown>,
    what: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const call = { method: "POST", path, what };
    const res = await this.http.send("POST", path, {
      body: { jsonrpc: "2.0", method: "call", params, id: this.calls },
      headers: { accept: "application/json" },
      what,
      key: rpcKey(params, what),
      accept: () => true,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404) {
      throw new SyncError(
        "config",
        `no Odoo JSON-RPC endpoint at ${maskUrl(this.config.url)}${path} (HTTP 404)`,
        { system: this.system, status: 404 },
      );
    }
    // Any other status is classified the shared way (429 rate limited, 5xx retryable, 401/403 config).
    if (res.status !== 200) throw this.http.statusError(call, res);
    let json: unknown;
    try {
      json = JSON.parse(res.text());
    } catch {
      throw new SyncError("retryable", `Odoo answered ${what} with something that is not JSON`, {
        system: this.system,
        status: res.status,
      });
    }
    const parsed = RpcResponse.safeParse(json);
    if (!parsed.success) {
      throw new SyncError("permanent", `Odoo answered ${what} with a malformed JSON-RPC response`, {
        system: this.system,
      });
    }
    if ("error" in parsed.data && parsed.data.error) throw this.serverError(parsed.data.error, what);
    return parsed.data.result;
  }

  private serverError(error: z.infer<typeof RpcError>, what: string): SyncError {
    const name = error.data?.name ?? "";
    const message = error.data?.message ?? error.message ?? "unknown error";
    const vendorBody = { name, message };
    if (name.endsWith("AccessDenied") || name.endsWith("AccessError") || error.code === 100) {
      this.uid = null;
      return new SyncError("config", `Odoo refused ${what}: ${message} (${name || "session"})`, {
        system: this.system,
        vendorBody,
      });
    }
    if (TRANSIENT.test(name)) {
      return new SyncError("retryable", `Odoo ${what} hit a transient database error: ${message}`, {
        system: this.system,
        vendorBody,
      });
    }
    return new SyncError("permanent", `Odoo rejected ${what}: ${message} (${name || "error"})`, {
      system: this.system,
      vendorBody,
    });
  }

  /** Logs in once per client; a later AccessDenied clears the cache so the next call logs in again. */
  authenticate(signal?: AbortSignal): Promise<number> {
    if (!this.uid) {
      const { db, username, password } = this.config;
      this.uid = this.rpc(
        "/jsonrpc",
        { service: "common", method: "authenticate", args: [db, username, password, {}] },
        "authenticate",
        signal,
      ).then((uid) => {
        if (typeof uid !== "number") {
          throw new SyncError(
            "config",
            `Odoo rejected the login of user "${username}" on database "${db}" (wrong login, password or API key)`,
            { system: this.system },
          );
        }
        return uid;
      });
      this.uid.catch(() => {
        this.uid = null;
      });
    }
    return this.uid;
  }

  async execute(
    model: string,
    method: string,
    args: unknown[],
    kwargs: Record<string, unknown> = {},
    signal?: AbortSignal,
  ): Promise<unknown> {
    const uid = await this.authenticate(signal);
    const { db, password } = this.config;
    return this.rpc(
      "/jsonrpc",
      { service: "object", method: "execute_kw", args: [db, uid, password, model, method, args, kwargs] },
      `${model}.${method}`,
      signal,
    );
  }

  async searchRead(
    model: string,
    domain: Domain,
    fields: string[],
    opts: { limit?: number; order?: string; signal?: AbortSignal } = {},
  ): Promise<OdooRow[]> {
    const kwargs: Record<string, unknown> = { fields };
    if (opts.limit !== undefined) kwargs.limit = opts.limit;
    if (opts.order !== undefined) kwargs.order = opts.order;
    const result = await this.execute(model, "search_read", [domain], kwargs, opts.signal);
    return this.rows(result, `${model}.search_read`);
  }

  async read(model: string, ids: number[], fields: string[], signal?: AbortSignal): Promise<OdooRow[]> {
    if (ids.length === 0) return [];
    const result = await this.execute(model, "read", [ids], { fields }, signal);
    return this.rows(result, `${model}.read`);
  }

  private rows(result: unknown, what: string): OdooRow[] {
    const parsed = Rows.safeParse(result);
    if (!parsed.success) {
      throw new SyncError("permanent", `Odoo answered ${what} with something that is not a list of records`, {
        system: this.system,
      });
    }
    return parsed.data;
  }

  /**
   * The invoice PDF. Odoo's report routes want a web session, not RPC credentials: log in through
   * /web/session/authenticate, then fetch the report with the session cookie.
   */
  async invoicePdf(invoiceId: number, signal?: AbortSignal): Promise<Uint8Array> {
    const { db, username, password } = this.config;
    const login = await this.http.send("POST", "/web/session/authenticate", {
      body: { jsonrpc: "2.0", method: "call", params: { db, login: username, password }, id: 0 },
      headers: { accept: "application/json" },
      what: "web session login",
      accept: () => true,
      ...(signal ? { signal } : {}),
    });
    let json: unknown = null;
    try {
      json = JSON.parse(login.text());
    } catch {}
    const body = RpcResponse.safeParse(json);
    if (login.status !== 200 || !body.success || ("error" in body.data && body.data.error)) {
      throw new SyncError("config", `Odoo refused the web session login of user "${username}"`, {
        system: this.system,
      });
    }
    const session = /session_id=([^;]+)/.exec(login.headers.get("set-cookie") ?? "")?.[1];
    if (!session) {
      throw new SyncError("config", "Odoo sent no session cookie after the web login", {
        system: this.system,
      });
    }
    this.http.addSecret(session);
    const res = await this.http.send("GET", `/report/pdf/account.report_invoice/${invoiceId}`, {
      headers: { cookie: `session_id=${session}` },
      redirect: "manual",
      what: `the PDF of invoice ${invoiceId}`,
      key: "report/pdf",
      retrySafe: false,
      accept: () => true,
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 200 || !(res.headers.get("content-type") ?? "").includes("application/pdf")) {
      const kind =
        res.status >= 300 && res.status < 400 ? "config" : res.status === 404 ? "permanent" : "retryable";
      throw new SyncError(kind, `Odoo did not return the PDF of invoice ${invoiceId} (HTTP ${res.status})`, {
        system: this.system,
        status: res.status,
      });
    }
    return res.bytes;
  }
}
