/**
 * Pieces every webhook verifier shares, the connectors' and the server's own: constant-time comparison,
 * HMAC over the raw body, and the JSON checks that run only once a signature has been accepted (an
 * unsigned body is never parsed).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { WebhookOutcome, WebhookRequest } from "./connector.ts";

/** Equal bytes, compared in constant time; different lengths are unequal without comparing. */
export function safeEqual(given: string | Buffer, expected: string | Buffer): boolean {
  const a = typeof given === "string" ? Buffer.from(given, "utf8") : given;
  const b = typeof expected === "string" ? Buffer.from(expected, "utf8") : expected;
  return a.length === b.length && timingSafeEqual(a, b);
}

export function hmacSha256(secret: string | Buffer, raw: Buffer): Buffer {
  return createHmac("sha256", secret).update(raw).digest();
}

/**
 * A base64 signature header against HMAC-SHA256(raw body, secret). The header is decoded first and the
 * digests compared as bytes, so padding or whitespace differences in the header cannot leak timing.
 */
export function base64HmacMatches(header: string, secret: string, raw: Buffer): boolean {
  const given = Buffer.from(header.trim(), "base64");
  return safeEqual(given, hmacSha256(secret, raw));
}

export function reject(status: number, reason: string): WebhookOutcome {
  return { kind: "reject", status, reason };
}

export function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || type.endsWith("+json");
}

/** Parses a verified JSON body into an object; a rejection says what was wrong. */
export function jsonBody(
  req: WebhookRequest,
): { ok: true; value: Record<string, unknown> } | { ok: false; outcome: WebhookOutcome } {
  const type = req.headers["content-type"];
  if (!isJsonType(type)) {
    return {
      ok: false,
      outcome: reject(415, `content-type must be application/json, got ${JSON.stringify(type ?? "")}`),
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(req.rawBody.toString("utf8"));
  } catch {
    return { ok: false, outcome: reject(400, "body is not valid JSON") };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, outcome: reject(400, "body must be a JSON object") };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** Longest delivery id accepted: every vendor's ids (UUIDs, `msg_…`, numbers) are far shorter. */
export const MAX_ID_LENGTH = 255;

const PRINTABLE_ID = /^[\x21-\x7e]+$/;

/** A bad value shown in a one-line reason: at most 40 characters, anything but printable ASCII escaped. */
function preview(value: string): string {
  const head = value
    .slice(0, 40)
    .replace(/[^\x20-\x7e]|["\\]/g, (c) =>
      c === '"' || c === "\\" ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  return `"${head}${value.length > 40 ? "…" : ""}"`;
}

/**
 * Refuses a delivery id the dedupe key is made of (400), or returns null when it is fine. The id becomes
 * part of the inbox's unique key and of log lines, so it must be 1 to 255 printable ASCII characters: no
 * spaces, control characters or other bytes a log line or an index would have to carry. A PostgreSQL
 * index entry cannot even hold a few kilobytes, which would fail the whole group commit around it.
 */
export function idProblem(field: string, value: string | undefined): WebhookOutcome | null {
  if (value === undefined) return reject(400, `missing ${field}`);
  if (value === "") return reject(400, `${field} is empty`);
  if (value.length > MAX_ID_LENGTH) {
    return reject(
      400,
      `${field} must be at most ${MAX_ID_LENGTH} characters, got ${value.length}: ${preview(value)}`,
    );
  }
  if (!PRINTABLE_ID.test(value)) {
    return reject(400, `${field} must be printable ASCII without spaces (0x21-0x7E), got ${preview(value)}`);
  }
  return null;
}

export function stringOf(value: unknown): string | null {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return null;
}
