/**
 * The HTTP client every connector builds on (undici's `request`; a `fetch` when one is given). One place for:
 * auth headers and one re-login after a refused session, a timeout over the whole call (connecting,
 * sending, and reading the answer to its last byte), retries of retry-safe calls with full jitter and
 * Retry-After (retry.ts), rate-limit notification, bounded latency statistics (latency.ts), and errors
 * classified into the core taxonomy without secrets (errors.ts).
 *
 * The connection phase alone has undici's own connect timeout (10 s); a shorter whole-call `timeoutMs`
 * also bounds it.
 *
 * Calls go through undici's `request` rather than the global `fetch` (which is undici too): `fetch` wraps
 * every call in the WHATWG Request, Response and stream objects and clones the request, which cost more CPU
 * per call than the rest of a record's sync (BENCHMARKS.md, CPU per record). What `fetch` did that the
 * vendors' APIs see is done here: `accept: *\/*` and a text content type for a string body when the
 * caller set none, redirects followed (up to 20) unless `redirect: "manual"`. Answers are not compressed:
 * no accept-encoding is sent.
 */
import { request as undiciRequest } from "undici";
import type { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { AnswerHeaders } from "./answer-headers.ts";
import { DeprecationLog } from "./deprecations.ts";
import { type CallInfo, type ErrorContext, networkError, statusError } from "./errors.ts";
import { sharedGovernor } from "./governor.ts";
import { LatencyStats } from "./latency.ts";
import {
  cappedRetryAfter,
  checkPolicy,
  isIdempotent,
  NO_RETRY,
  RETRY_STATUSES,
  retryDelay,
  waitOrAbort,
} from "./retry.ts";
import { Secrets } from "./secrets.ts";
import type { HttpClientOptions, HttpLogLine, HttpResponse, HttpStats, SendOptions } from "./types.ts";

export type {
  AuthHook,
  HttpClientOptions,
  HttpLogLine,
  HttpResponse,
  HttpStats,
  RateLimitEvent,
  SendOptions,
} from "./types.ts";

const ok = (status: number) => status >= 200 && status < 300;

// Stateless without `stream: true`: one decoder serves every answer.
const utf8 = new TextDecoder();

export type HttpClient = ReturnType<typeof createHttpClient>;

/** Header names as fetch would send them, lower-cased, with fetch's defaults for what the caller left out. */
function requestHeaders(given: Record<string, string>, body: BodyInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) out[k.toLowerCase()] = v;
  out.accept ??= "*/*";
  if (typeof body === "string") out["content-type"] ??= "text/plain;charset=UTF-8";
  return out;
}

/** Leading and trailing HTTP whitespace (tab, line feed, carriage return, space), which Headers strips. */
const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * A request's headers as a record, as `new Headers(given)` would list them. A plain object of strings (what
 * Shopify's official client passes, on every call) is read without building the Headers object; undici
 * refuses a name or value that is not valid, as Headers would have. Anything else goes through Headers.
 */
function headerRecord(given: HeadersInit | undefined): Record<string, string> {
  if (given === undefined) return {};
  if (!(given instanceof Headers) && !Array.isArray(given) && typeof given === "object") {
    const out: Record<string, string> = {};
    let plain = true;
    for (const [k, v] of Object.entries(given)) {
      if (typeof v !== "string") {
        plain = false;
        break;
      }
      // As Headers does: names lower-cased, a name given twice keeps both values, a value's leading and
      // trailing whitespace trimmed (the Fetch standard's "normalize").
      const name = k.toLowerCase();
      const value = v.replace(HTTP_WHITESPACE, "");
      out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
    }
    if (plain) return out;
  }
  return Object.fromEntries(new Headers(given).entries());
}

/** One call through undici's `request`; errors shaped as fetch's (a TypeError whose cause is the reason). */
async function viaUndici(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: BodyInit | undefined,
  o: SendOptions,
  signal: AbortSignal,
): Promise<{ status: number; headers: Headers; bytes: Uint8Array<ArrayBuffer> }> {
  let res: Awaited<ReturnType<typeof undiciRequest>>;
  // As fetch does: credentials in a URL are refused, never sent.
  if (/^[a-z]+:\/\/[^/?#]*@/i.test(url)) {
    throw new TypeError("fetch failed", {
      cause: new TypeError("the URL includes credentials; give them as the connection's settings instead"),
    });
  }
  try {
    res = await undiciRequest(url, {
      method: method as "GET",
      headers: requestHeaders(headers, body),
      ...(body !== undefined ? { body: body as string | Uint8Array } : {}),
      maxRedirections: o.redirect === "manual" ? 0 : 20,
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw new TypeError("fetch failed", { cause: err });
  }
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await res.body.arrayBuffer());
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw new TypeError("fetch failed", { cause: err });
  }
  return { status: res.statusCode, headers: new AnswerHeaders(res.headers), bytes };
}

/**
 * One call's signal: aborted when the caller's is, or once `timeoutMs` has passed (a "TimeoutError", as
 * `AbortSignal.timeout` gives). One controller and one timer, both released by `done()` when the call
 * ends: `AbortSignal.any` over a run's long-lived signal and an `AbortSignal.timeout` cost about 20 µs per
 * call, and the caller's signal keeps a reference to every signal derived from it until they are collected.
 */
export function callSignal(
  outer: AbortSignal | undefined,
  timeoutMs: number,
): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
    timeoutMs,
  );
  // As AbortSignal.timeout's: a call's timer alone does not keep the process running.
  timer.unref();
  if (outer === undefined) return { signal: controller.signal, done: () => clearTimeout(timer) };
  const follow = () => controller.abort(outer.reason);
  if (outer.aborted) follow();
  else outer.addEventListener("abort", follow, { once: true });
  return {
    signal: controller.signal,
    done() {
      clearTimeout(timer);
      outer.removeEventListener("abort", follow);
    },
  };
}

export function createHttpClient(opts: HttpClientOptions) {
  const policy = checkPolicy(opts.retry ?? NO_RETRY);
  if (!Number.isInteger(opts.timeoutMs) || opts.timeoutMs <= 0) {
    throw new RangeError(`timeoutMs must be a positive integer, got ${JSON.stringify(opts.timeoutMs)}`);
  }
  const doFetch = opts.fetch;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const limit = opts.limit ?? (<T>(fn: () => Promise<T>) => fn());
  const latency = new LatencyStats(opts.latency);
  const secrets = new Secrets(opts.redact ?? []);
  const ctx = (): ErrorContext => ({
    system: opts.system,
    vendor: opts.vendor,
    baseUrl: opts.baseUrl,
    redactor: secrets.redactor,
  });
  const counters = { calls: 0, throttled: 0, retries: 0 };
  const deprecations = new DeprecationLog();
  const base = opts.baseUrl.replace(/\/+$/, "");
  /** A path as messages show it: relative to the base URL (whose credentials are never shown). */
  const shownPath = (path: string) => (path.startsWith(base) ? path.slice(base.length) || "/" : path);
  const urlOf = (path: string) => (/^https?:\/\//i.test(path) ? path : `${base}${path}`);

  function log(line: Omit<HttpLogLine, "system">): void {
    opts.log?.({ ...line, system: opts.system, message: secrets.redactor.string(line.message) });
  }

  /** One try: the answer, or a classified network error. Never throws for a status. */
  async function once(method: string, path: string, o: SendOptions, call: CallInfo): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...opts.headers, ...o.headers };
    if (opts.auth && o.auth !== false) {
      const auth = await opts.auth.headers(o.signal);
      secrets.fromHeaders(auth);
      Object.assign(headers, auth);
    }
    let body: BodyInit | undefined;
    if (typeof o.body === "string") body = o.body;
    else if (o.body instanceof Uint8Array) body = o.body as Uint8Array<ArrayBuffer>;
    else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    return limit(async () => {
      // The connection's shared budget (governor.ts), when one is configured: wait for this try's slot.
      const governor = opts.governor ?? sharedGovernor(opts.system);
      if (governor) await governor.acquire(o.signal);
      counters.calls++;
      const { signal, done } = callSignal(o.signal, opts.timeoutMs);
      const started = performance.now();
      try {
        let status: number;
        let resHeaders: Headers;
        let bytes: Uint8Array<ArrayBuffer>;
        if (doFetch) {
          const res = await doFetch(urlOf(path), {
            method,
            headers,
            ...(body !== undefined ? { body } : {}),
            ...(o.redirect ? { redirect: o.redirect } : {}),
            signal,
          });
          bytes = new Uint8Array(await res.arrayBuffer());
          status = res.status;
          resHeaders = res.headers;
        } else {
          ({
            status,
            headers: resHeaders,
            bytes,
          } = await viaUndici(urlOf(path), method, headers, body, o, signal));
        }
        let text: string | undefined;
        return {
          status,
          headers: resHeaders,
          bytes,
          text: () => (text ??= utf8.decode(bytes)),
        };
      } catch (err) {
        throw networkError(ctx(), call, err, opts.timeoutMs, o.signal?.aborted === true);
      } finally {
        done();
        latency.record(o.key ?? `${method} ${shownPath(path)}`, performance.now() - started);
      }
    });
  }

  /**
   * One call with its retries and its one re-login. Returns the answer when its status is accepted
   * (2xx by default); otherwise throws the classified SyncError.
   */
  async function send(method: string, path: string, o: SendOptions = {}): Promise<HttpResponse> {
    const call: CallInfo = { method, path: shownPath(path), ...(o.what ? { what: o.what } : {}) };
    const safe = o.retrySafe ?? isIdempotent(method);
    const accept = o.accept ?? ok;
    let reauthed = false;
    for (let attempt = 1; ; attempt++) {
      const outcome = await once(method, path, o, call).catch((e: unknown) => {
        if (!(e instanceof SyncError) || o.signal?.aborted) throw e;
        return e;
      });
      const res = outcome instanceof SyncError ? undefined : outcome;
      let retryAfter: number | undefined;
      let err: SyncError;
      if (outcome instanceof SyncError) err = outcome;
      else {
        deprecations.noteHeaders(
          o.key ?? (o.what ? `${method} ${call.path} (${o.what})` : `${method} ${call.path}`),
          outcome.headers,
        );
        const auth = opts.auth;
        const rejected = auth?.rejected ?? ((r: HttpResponse) => r.status === 401);
        if (auth?.refresh && o.auth !== false && !reauthed && rejected(outcome)) {
          // The session expired or was revoked: log in again once; a second refusal is reported.
          reauthed = true;
          auth.refresh();
          attempt--;
          continue;
        }
        retryAfter = cappedRetryAfter(outcome.headers.get("retry-after"), policy, now());
        if (outcome.status === 429) {
          counters.throttled++;
          opts.onRateLimit?.({ status: outcome.status, retryAfterMs: retryAfter, call });
        }
        if (accept(outcome.status)) return outcome;
        err = statusError(ctx(), call, outcome.status, outcome.text(), retryAfter);
      }
      const again =
        safe && attempt < policy.attempts && (res === undefined || RETRY_STATUSES.has(res.status));
      if (!again) {
        log({ event: "failed", method, path, message: err.message, ...(res ? { status: res.status } : {}) });
        throw err;
      }
      const delayMs = retryDelay(policy, attempt, retryAfter, random);
      counters.retries++;
      log({
        event: "retry",
        method,
        path,
        message: err.message,
        delayMs,
        ...(res ? { status: res.status } : {}),
      });
      await waitOrAbort(delayMs, o.signal, opts.sleep);
      if (o.signal?.aborted) throw err;
    }
  }

  /** A JSON call: the body sent as JSON, the answer parsed and, when given a schema, checked against it. */
  async function request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    schema?: z.ZodType<T>,
    o: Omit<SendOptions, "body"> = {},
  ): Promise<T> {
    const res = await send(method, path, {
      ...o,
      body,
      headers: { accept: "application/json", ...o.headers },
    });
    const call = { method, path: shownPath(path), ...(o.what ? { what: o.what } : {}) };
    let json: unknown;
    try {
      json = JSON.parse(res.text());
    } catch {
      throw new SyncError(
        "retryable",
        secrets.redactor.string(
          `${opts.vendor} answered ${call.method} ${call.path} with something that is not JSON`,
        ),
        {
          system: opts.system,
          status: res.status,
        },
      );
    }
    if (schema === undefined) return json as T;
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new SyncError(
        "permanent",
        secrets.redactor.string(
          `${opts.vendor}'s answer to ${method} ${shownPath(path)} has an unexpected shape: ${parsed.error.message}`,
        ),
        {
          system: opts.system,
          vendorBody: secrets.redactor.value(json),
        },
      );
    }
    return parsed.data;
  }

  /**
   * A fetch for libraries that want one (Shopify's official client): the same timeout, latency and
   * call counting, statuses handed back untouched. A network failure throws the classified SyncError;
   * since a library may wrap it, it is also kept by the request's signal (`errorFor`).
   */
  const thrown = new WeakMap<AbortSignal, SyncError>();
  /**
   * One try of a fetch-shaped call, the answer as this client's HttpResponse: what `asFetch` does without
   * building the WHATWG Response (and its body stream) around it, for a caller that reads the answer itself.
   */
  const exchange = async (input: string | URL | Request, init: RequestInit = {}): Promise<HttpResponse> => {
    const url = input instanceof Request ? input.url : String(input);
    const method = (init.method ?? "GET").toUpperCase();
    const signal = init.signal ?? undefined;
    try {
      const res = await once(
        method,
        url,
        {
          body: init.body ?? undefined,
          headers: headerRecord(init.headers),
          auth: false,
          ...(signal ? { signal } : {}),
        },
        { method, path: shownPath(url) },
      );
      if (res.status === 429) {
        counters.throttled++;
        const retryAfterMs = cappedRetryAfter(res.headers.get("retry-after"), policy, now());
        opts.onRateLimit?.({ status: 429, retryAfterMs, call: { method, path: shownPath(url) } });
      }
      return res;
    } catch (err) {
      if (signal && err instanceof SyncError) thrown.set(signal, err);
      throw err;
    }
  };
  const asFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const res = await exchange(input, init);
    return new Response(res.status === 204 || res.status === 304 ? null : res.bytes, {
      status: res.status,
      headers: res.headers,
    });
  };

  return {
    system: opts.system,
    send,
    request,
    fetch: asFetch,
    exchange,
    errorFor: (signal: AbortSignal): SyncError | undefined => thrown.get(signal),
    /** The classified error of a status, for callers that take answers with `accept`. */
    statusError: (call: CallInfo, res: Pick<HttpResponse, "status" | "headers" | "text">): SyncError =>
      statusError(
        ctx(),
        call,
        res.status,
        res.text(),
        cappedRetryAfter(res.headers.get("retry-after"), policy, now()),
      ),
    /** Hides a secret learnt at run time (a session id read from a login answer). */
    addSecret: (secret: string): void => secrets.add(secret),
    redact: (text: string): string => secrets.redactor.string(text),
    latency,
    stats: (): HttpStats => {
      let summary: HttpStats["latency"] | undefined;
      return {
        ...counters,
        // Summarised when read, once: most callers only count calls (an Odoo RPC's id on every call, the
        // engine once a page), and summarising sorts every operation's kept samples.
        get latency() {
          summary ??= latency.summary();
          return summary;
        },
      };
    },
    /** Deprecation notices the answers carried since the last drain, per call site (deprecations.ts). */
    deprecations,
  };
}
