/**
 * Turns what can go wrong with one HTTP call into a SyncError of the core taxonomy (src/core/errors.ts),
 * naming the connection, the vendor, the method and the path (and the call, when the connector names it:
 * "product.product.search_read"). Messages pass through the client's redactor before they are built into
 * an error, so a token, password, session id or basic-auth password echoed by a vendor never reaches a
 * log line or the failed-records inbox.
 */
import { kindForStatus, SyncError } from "../../core/errors.ts";
import { maskUrl, type Redactor } from "../../core/redact.ts";

/** What a message says about the call: `POST /jsonrpc (sale.order.create)`. */
export interface CallInfo {
  method: string;
  path: string;
  what?: string;
}

export interface ErrorContext {
  /** Connection name (`erp`, `shop`). */
  system: string;
  /** Vendor name for messages (`Odoo`). */
  vendor: string;
  baseUrl: string;
  redactor: Redactor;
}

export function describeCall(call: CallInfo): string {
  return `${call.method} ${call.path}${call.what ? ` (${call.what})` : ""}`;
}

/** `Odoo (erp)`; just `Odoo` when the connection has the vendor's name. */
export function who(ctx: ErrorContext): string {
  return ctx.system && ctx.system !== ctx.vendor.toLowerCase() ? `${ctx.vendor} (${ctx.system})` : ctx.vendor;
}

/** Longest vendor body kept in an error's details. */
const BODY_CHARS = 2_000;

/** A non-2xx answer. `retryAfterMs` is the (capped) Retry-After, `fallbackRetryAfterMs` its default. */
export function statusError(
  ctx: ErrorContext,
  call: CallInfo,
  status: number,
  body: string,
  retryAfterMs: number | undefined,
): SyncError {
  const kind = kindForStatus(status);
  const vendorBody = body.length > 0 ? ctx.redactor.string(body.slice(0, BODY_CHARS)) : undefined;
  const why =
    kind === "config"
      ? ": the credentials were refused or lack a permission"
      : kind === "rate_limited"
        ? `: throttled${retryAfterMs !== undefined ? `, retry after ${retryAfterMs} ms` : ""}`
        : "";
  return new SyncError(
    kind,
    ctx.redactor.string(`${who(ctx)} answered HTTP ${status} to ${describeCall(call)}${why}`),
    {
      system: ctx.system,
      status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(vendorBody !== undefined ? { vendorBody } : {}),
    },
  );
}

/** fetch threw: our timeout, the caller's abort, or the network (refused, reset, DNS, TLS). */
export function networkError(
  ctx: ErrorContext,
  call: CallInfo,
  err: unknown,
  timeoutMs: number,
  callerAborted: boolean,
): SyncError {
  const e = err instanceof Error ? err : new Error(String(err));
  const at = `${ctx.vendor} at ${maskUrl(ctx.baseUrl)} (connection ${ctx.system})`;
  const text = (s: string) => ctx.redactor.string(s);
  if (e.name === "TimeoutError" && !callerAborted) {
    return new SyncError(
      "retryable",
      text(`${at} did not answer ${describeCall(call)} within ${timeoutMs} ms`),
      {
        system: ctx.system,
      },
    );
  }
  if (e.name === "AbortError" || callerAborted) {
    return new SyncError("retryable", text(`request to ${at} (${describeCall(call)}) was aborted`), {
      system: ctx.system,
    });
  }
  const cause = e.cause instanceof Error ? e.cause : undefined;
  const code = cause && "code" in cause ? String(cause.code) : (cause?.message ?? e.message);
  const message =
    code === "UND_ERR_CONNECT_TIMEOUT"
      ? `could not connect to ${at} for ${describeCall(call)} (connect timeout)`
      : `cannot reach ${at} for ${describeCall(call)} (${code})`;
  // The cause is kept for debugging but never printed by SyncError.toJSON; its message is redacted too.
  return new SyncError("retryable", text(message), {
    system: ctx.system,
    cause: new Error(text(cause?.message ?? e.message)),
  });
}
