/**
 * JSON-RPC client for Odoo's legacy external API. Authenticates once and caches the uid; every failure
 * becomes a SyncError whose kind decides what the runner does (see core/errors.ts). The password is sent
 * in request bodies only and never appears in an error message or detail.
 */

import pLimit, { type LimitFunction } from "p-limit";
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { maskUrl } from "../../core/redact.ts";
import { retryAfterMs } from "../../core/retry-after.ts";
import type { OdooConfig } from "./config.ts";

const RpcError = z.object({
  code: z.number().optional(),
  message: z.string().optional(),
  data: z.object({ name: z.string().optional(), message: z.string().optional() }).loose().optional(),
});
const RpcResponse = z.union([
  z.object({ result: z.unknown(), error: z.undefined().optional() }).loose(),
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

export class OdooClient {
  calls = 0;
  /** 429 answers received (each paused the connection). */
  throttled = 0;
  private uid: Promise<number> | null = null;
  private readonly governor: Governor;

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
  }

  get url(): string {
    return this.config.url;
  }

  /** Whether requests are held back by a 429's Retry-After right now. */
  get paused(): boolean {
    return this.governor.paused;
  }

  /** Requests waiting for one of the connection's `concurrency` slots. */
  get queued(): number {
    return this.governor.queued;
  }

  /** One request through the governor; `read` consumes the answer while its slot is still held. */
  private send<T>(
    path: string,
    init: RequestInit,
    signal: AbortSignal | undefined,
    read: (res: Response) => Promise<T>,
  ): Promise<T> {
    return this.governor.run(async () => {
      this.calls++;
      // The timeout starts when the request does, not while it waits for a slot or a pause.
      const timeout = AbortSignal.timeout(this.config.timeoutMs);
      let res: Response;
      try {
        res = await fetch(`${this.config.url}${path}`, {
          ...init,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (err) {
        throw this.networkError(err, path);
      }
      if (res.status === 429) {
        this.throttled++;
        this.governor.pauseFor(retryAfterMs(res.headers.get("retry-after")) ?? DEFAULT_PAUSE_MS);
      }
      return read(res);
    });
  }

  private post<T>(
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    read: (res: Response, text: string) => T,
  ): Promise<T> {
    return this.send(
      path,
      {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
      },
      signal,
      async (res) => {
        const text = await res.text().catch((err: unknown) => {
          throw this.networkError(err, path);
        });
        return read(res, text);
      },
    );
  }

  private networkError(err: unknown, path: string): SyncError {
    const e = err instanceof Error ? err : new Error(String(err));
    if (e.name === "TimeoutError") {
      return new SyncError("retryable", `Odoo did not answer ${path} within ${this.config.timeoutMs} ms`, {
        system: this.system,
      });
    }
    if (e.name === "AbortError") {
      return new SyncError("retryable", `request to Odoo ${path} was aborted`, { system: this.system });
    }
    const cause = e.cause instanceof Error ? e.cause : undefined;
    const code = cause && "code" in cause ? String(cause.code) : (cause?.message ?? e.message);
    return new SyncError("retryable", `cannot reach Odoo at ${maskUrl(this.config.url)} (${code})`, {
      system: this.system,
      cause: cause ?? e,
    });
  }

  /** One JSON-RPC call; returns `result` or throws a classified SyncError. */
  async rpc(
    path: string,
    params: Record<string, unknown>,
    what: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const { res, text } = await this.post(
      path,
      { jsonrpc: "2.0", method: "call", params, id: this.calls },
      signal,
      (res, text) => ({ res, text }),
    );
    if (res.status === 404) {
      throw new SyncError(
        "config",
        `no Odoo JSON-RPC endpoint at ${maskUrl(this.config.url)}${path} (HTTP 404)`,
        {
          system: this.system,
          status: 404,
        },
      );
    }
    if (res.status !== 200) {
      const kind =
        res.status === 429
          ? "rate_limited"
          : res.status >= 500 || res.status === 408
            ? "retryable"
            : "permanent";
      throw new SyncError(kind, `Odoo answered HTTP ${res.status} to ${what}`, {
        system: this.system,
        status: res.status,
        retryAfterMs: retryAfterMs(res.headers.get("retry-after")),
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
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
    const auth = await this.post(
      "/web/session/authenticate",
      { jsonrpc: "2.0", method: "call", params: { db, login: username, password }, id: 0 },
      signal,
      (res, text) => {
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {}
        return { cookie: res.headers.get("set-cookie") ?? "", body: RpcResponse.safeParse(json) };
      },
    );
    if (!auth.body.success || ("error" in auth.body.data && auth.body.data.error)) {
      throw new SyncError("config", `Odoo refused the web session login of user "${username}"`, {
        system: this.system,
      });
    }
    const session = /session_id=([^;]+)/.exec(auth.cookie)?.[1];
    if (!session) {
      throw new SyncError("config", "Odoo sent no session cookie after the web login", {
        system: this.system,
      });
    }
    const path = `/report/pdf/account.report_invoice/${invoiceId}`;
    return this.send(
      path,
      { headers: { cookie: `session_id=${session}` }, redirect: "manual" },
      signal,
      async (res) => {
        if (res.status !== 200 || !(res.headers.get("content-type") ?? "").includes("application/pdf")) {
          const kind =
            res.status >= 300 && res.status < 400 ? "config" : res.status === 404 ? "permanent" : "retryable";
          throw new SyncError(
            kind,
            `Odoo did not return the PDF of invoice ${invoiceId} (HTTP ${res.status})`,
            { system: this.system, status: res.status },
          );
        }
        return new Uint8Array(
          await res.arrayBuffer().catch((err: unknown) => {
            throw this.networkError(err, path);
          }),
        );
      },
    );
  }
}
