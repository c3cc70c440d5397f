/**
 * OData `$batch` (multipart/mixed) for the connectors of OData systems: builds one batch request out of many
 * single requests and reads the batch answer back into one answer per request, in the request's order.
 *
 * The shape, from OData Version 4.0 Part 1: Protocol, §11.7 "Batch Requests" (and the same rules in OData
 * V2's "Batch Processing", which SAP Gateway follows — SAP Help, "$batch Processing"): a POST to
 * `<service root>/$batch` whose Content-Type is `multipart/mixed; boundary=…`; each part is
 * `Content-Type: application/http` + `Content-Transfer-Encoding: binary` and carries one HTTP request
 * (request line, headers, blank line, body). A change set is a nested multipart/mixed part whose requests
 * are one atomic unit: all of them are applied or none (the vendor's rule; SAP Learning, "Performing Batch
 * Operations in Service Layer API": "any failed sub-request in a change set causes the whole change set to
 * be rolled back"); reads may not sit in a change set. The answer is a multipart/mixed of the same
 * structure: one part per read, one nested multipart per change set that succeeded, and — when a change set
 * fails — a single application/http part, the failed request's answer, in the change set's place.
 *
 * Here every write goes in a change set of its own: one record's refusal then never rolls back another's,
 * and each write's Content-ID (its index) ties its answer back to it (a service may reorder the answers
 * inside a change set, never across the batch). Reads go outside change sets.
 *
 * OData V2 (SAP Gateway, S/4HANA) and V4 (Service Layer) differ here only in the headers around the batch:
 * V2 wants `DataServiceVersion`, V4 `OData-Version`, and Gateway wants its CSRF token on the `$batch` POST
 * (the caller adds it); the multipart shape is the same.
 *
 * A `$batch` that carries a write is NOT safe to repeat: the service may have applied it when its answer
 * is lost. `retrySafe` says so; callers pass it to the HTTP client and fail such a batch's records as
 * retryable, so the next attempt's lookup by reference finds what was already written.
 */

import { kindForStatus, SyncError } from "../core/errors.ts";
import type { WriteResult } from "../ports/connector.ts";

export type ODataVersion = "v2" | "v4";
export type BatchMethod = "GET" | "POST" | "PATCH" | "PUT" | "MERGE" | "DELETE";

/** One request of a batch. `url` is as the service wants it inside a batch (Service Layer: `/b1s/v2/Orders`; Gateway: `A_SalesOrder`). */
export interface BatchRequest {
  method: BatchMethod;
  url: string;
  headers?: Record<string, string>;
  /** A JSON body (serialised here), for writes. */
  body?: unknown;
}

/** One request's answer, taken out of the batch answer. */
export interface BatchAnswer {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: string;
}

export interface BuiltBatch {
  /** The `$batch` POST's Content-Type, with its boundary. */
  contentType: string;
  body: string;
  /** Headers the `$batch` POST itself needs for this OData version. */
  headers: Record<string, string>;
  /** False when any request writes: such a batch must never be re-sent blindly. */
  retrySafe: boolean;
}

const CRLF = "\r\n";

/** A boundary of characters RFC 2046 allows, unlikely in any body. */
function boundary(prefix: string, random: () => number): string {
  let s = "";
  for (let i = 0; i < 24; i++) s += "abcdefghijklmnopqrstuvwxyz0123456789"[Math.floor(random() * 36)];
  return `${prefix}_${s}`;
}

function requestPart(r: BatchRequest, contentId: string | null): string {
  const lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"];
  if (contentId !== null) lines.push(`Content-ID: ${contentId}`);
  lines.push("", `${r.method} ${r.url} HTTP/1.1`);
  const body = r.body === undefined ? undefined : JSON.stringify(r.body);
  const headers: Record<string, string> = { accept: "application/json", ...r.headers };
  if (body !== undefined) headers["content-type"] ??= "application/json";
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  lines.push("", body ?? "");
  return lines.join(CRLF);
}

/** The `$batch` body of `requests`: reads as plain parts, each write in a change set of its own. */
export function buildBatch(
  requests: readonly BatchRequest[],
  version: ODataVersion,
  random: () => number = Math.random,
): BuiltBatch {
  if (requests.length === 0) throw new RangeError("a $batch needs at least one request");
  const outer = boundary("batch", random);
  const parts: string[] = [];
  let retrySafe = true;
  requests.forEach((r, i) => {
    if (r.method === "GET") {
      parts.push(requestPart(r, null));
      return;
    }
    retrySafe = false;
    const cs = boundary("changeset", random);
    parts.push(
      [
        `Content-Type: multipart/mixed; boundary=${cs}`,
        "",
        `--${cs}`,
        requestPart(r, String(i + 1)),
        `--${cs}--`,
        "",
      ].join(CRLF),
    );
  });
  const body = `${parts.map((p) => `--${outer}${CRLF}${p}`).join(CRLF)}${CRLF}--${outer}--${CRLF}`;
  return {
    contentType: `multipart/mixed; boundary=${outer}`,
    body,
    headers:
      version === "v4"
        ? { "odata-version": "4.0", "odata-maxversion": "4.0" }
        : { dataserviceversion: "2.0", maxdataserviceversion: "2.0" },
    retrySafe,
  };
}

/** The boundary parameter of a multipart Content-Type (quoted or bare), or null. */
export function boundaryOf(contentType: string | null | undefined): string | null {
  if (!contentType || !/^\s*multipart\/mixed\b/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? ((m[1] ?? m[2]) as string) : null;
}

/** The bodies between `--boundary` delimiters (the preamble and epilogue dropped). */
function splitParts(body: string, b: string): string[] {
  const delimiter = new RegExp(
    `(?:^|\\r?\\n)--${b.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(--)?[ \\t]*(?=\\r?\\n|$)`,
  );
  const out: string[] = [];
  let rest = body;
  let first = true;
  for (;;) {
    const m = delimiter.exec(rest);
    if (!m) throw new BatchFormatError(`no closing delimiter --${b}-- in the batch answer`);
    if (!first) out.push(rest.slice(0, m.index));
    first = false;
    rest = rest.slice(m.index + m[0].length).replace(/^\r?\n/, "");
    if (m[1] === "--") return out;
  }
}

/** Headers, blank line, body. Header names lower-cased. */
function splitHead(text: string): { headers: Record<string, string>; body: string } {
  // No headers at all: the blank line comes first.
  const m = /^\r?\n/.exec(text) ?? /\r?\n\r?\n/.exec(text);
  const head = m ? text.slice(0, m.index) : text;
  const body = m ? text.slice(m.index + m[0].length) : "";
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

export class BatchFormatError extends Error {}

interface ParsedPart {
  contentId: string | undefined;
  answer: BatchAnswer;
}

function httpPart(text: string): ParsedPart {
  const mime = splitHead(text);
  const inner = mime.body;
  const status = /^HTTP\/\d(?:\.\d)?\s+(\d{3})\b/.exec(inner);
  if (!status)
    throw new BatchFormatError(`a batch answer part has no HTTP status line: ${inner.slice(0, 60)}`);
  const nl = /\r?\n/.exec(inner);
  const rest = splitHead(nl ? inner.slice(nl.index + nl[0].length) : "");
  return {
    contentId: mime.headers["content-id"] ?? rest.headers["content-id"],
    answer: {
      status: Number(status[1]),
      headers: rest.headers,
      // Parts end with the CRLF before the next delimiter, which belongs to the delimiter.
      body: rest.body.replace(/\r?\n$/, ""),
    },
  };
}

/**
 * The batch answer read back as one answer per request of `requests`, in their order. A request with no
 * answer (the service stopped processing the batch at an earlier failure) is `undefined`: it was not
 * applied and may be sent again. A failed change set's single answer is its (only) request's answer.
 */
export function parseBatchAnswer(
  contentType: string | null,
  body: string,
  requests: readonly BatchRequest[],
): (BatchAnswer | undefined)[] {
  const b = boundaryOf(contentType);
  if (!b)
    throw new BatchFormatError(
      `the batch answer is not multipart/mixed with a boundary (${String(contentType)})`,
    );
  const out: (BatchAnswer | undefined)[] = requests.map(() => undefined);
  const parts = splitParts(body, b);
  // Answers come in the order of the batch's reads and change sets; ours hold one request each.
  parts.forEach((text, i) => {
    if (i >= requests.length)
      throw new BatchFormatError(
        `the batch answer has ${parts.length} parts for ${requests.length} requests`,
      );
    const { headers, body: inner } = splitHead(text);
    const nested = boundaryOf(headers["content-type"]);
    if (nested) {
      for (const p of splitParts(inner, nested)) {
        const { contentId, answer } = httpPart(p);
        const at = contentId !== undefined && /^\d+$/.test(contentId) ? Number(contentId) - 1 : i;
        if (at < 0 || at >= requests.length) {
          throw new BatchFormatError(
            `a change set answer names Content-ID ${String(contentId)}, which no request has`,
          );
        }
        out[at] = answer;
      }
    } else out[i] = httpPart(text).answer;
  });
  return out;
}

/**
 * Writes records' requests, `size` per `$batch` sent by `send`, each answer handed to `onAnswer` with its
 * record's key. A `$batch` that fails as a whole fails every record it carried through `onFailed` and is never
 * sent again here: its answer may be lost after the server applied it. A refusal of the batch as a whole
 * (credentials, a malformed batch) keeps its kind; anything else is retryable, and the retry looks each
 * record up first (by `lookedUpBy`, named in the message).
 */
export async function writeInBatches<Req, Ans>(o: {
  parts: readonly { key: string; request: Req }[];
  size: number;
  send: (requests: Req[]) => Promise<Ans[]>;
  system: string;
  lookedUpBy: string;
  signal?: AbortSignal | undefined;
  onAnswer: (key: string, request: Req, answer: Ans) => void;
  onFailed: (key: string, error: SyncError) => void;
}): Promise<void> {
  for (let at = 0; at < o.parts.length; at += o.size) {
    const chunk = o.parts.slice(at, at + o.size);
    let answers: Ans[];
    try {
      answers = await o.send(chunk.map((c) => c.request));
    } catch (err) {
      if (!(err instanceof SyncError) || o.signal?.aborted) throw err;
      const kind =
        err.kind === "permanent" || err.kind === "data" || err.kind === "config" ? err.kind : "retryable";
      const e = new SyncError(
        kind,
        `${err.message} (a $batch of ${chunk.length} writes: whether it was applied is unknown; the next attempt looks each order up by ${o.lookedUpBy} first)`,
        {
          system: o.system,
          cause: err,
          ...(err.details.status !== undefined ? { status: err.details.status } : {}),
        },
      );
      for (const c of chunk) o.onFailed(c.key, e);
      continue;
    }
    chunk.forEach((c, i) => {
      o.onAnswer(c.key, c.request, answers[i] as Ans);
    });
  }
}

/**
 * A record's failure from a part of a `$batch` answered outside 2xx: worded and classified as the same call's
 * would be on its own (the status's kind, its Retry-After, the vendor's text and body).
 */
export function partFailure(o: {
  key: string;
  system: string;
  vendor: string;
  /** The part's method and path as the message shows them. */
  method: string;
  path: string;
  what: string;
  answer: BatchAnswer;
  /** The vendor's error message, read from the answer's body. */
  text: string;
}): WriteResult {
  const a = o.answer;
  const retryAfter = Number(a.headers["retry-after"]);
  return {
    key: o.key,
    ok: false,
    error: new SyncError(
      kindForStatus(a.status),
      `${o.vendor} (${o.system}) answered HTTP ${a.status} to ${o.method} ${o.path} (${o.what}, in a $batch): ${o.text}`,
      {
        system: o.system,
        status: a.status,
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
        ...(a.body ? { vendorBody: a.body.slice(0, 2000) } : {}),
      },
    ),
  };
}
