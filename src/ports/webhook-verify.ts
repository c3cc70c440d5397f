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

export function stringOf(value: unknown): string | null {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return null;
}
