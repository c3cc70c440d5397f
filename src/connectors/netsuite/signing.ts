/**
 * NetSuite Token-Based Authentication: an OAuth 1.0a signature (RFC 5849 §3.4) with HMAC-SHA256, the
 * realm being the account id. Built on node:crypto only. The base string is the method, the base string
 * URI (scheme and host lower case, default port left out, no query) and the normalised parameters (the
 * query's, a form body's when there is one, and the oauth_* ones; each name and value percent-encoded as
 * RFC 5849 §3.6 says, sorted by name then value, joined with `=` and `&`), each percent-encoded and joined
 * with `&`. The key is consumer secret & token secret, each percent-encoded. The secrets are used for the
 * HMAC only: nothing here puts them in a string that could reach an error or a log.
 */
import { createHmac, randomBytes } from "node:crypto";

/** RFC 5849 §3.6: everything but ALPHA, DIGIT, "-", ".", "_", "~" as %XX of its UTF-8 bytes, hex in upper case. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Pairs of an application/x-www-form-urlencoded string (a query or a form body), decoded ("+" is a space). */
export function formPairs(encoded: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of encoded.split("&")) {
    if (part === "") continue;
    const i = part.indexOf("=");
    const name = i < 0 ? part : part.slice(0, i);
    const value = i < 0 ? "" : part.slice(i + 1);
    const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
    out.push([dec(name), dec(value)]);
  }
  return out;
}

/** RFC 5849 §3.4.1.2: scheme and host lower case, the port only when not the scheme's default, the path. */
export function baseStringUri(url: URL): string {
  const scheme = url.protocol.replace(/:$/, "").toLowerCase();
  const host = url.hostname.toLowerCase();
  const port =
    url.port && !((scheme === "http" && url.port === "80") || (scheme === "https" && url.port === "443"))
      ? `:${url.port}`
      : "";
  return `${scheme}://${host}${port}${url.pathname || "/"}`;
}

/** RFC 5849 §3.4.1.3.2: encoded, sorted by name then value, joined. */
export function normaliseParameters(pairs: readonly [string, string][]): string {
  return pairs
    .map(([k, v]) => [percentEncode(k), percentEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** RFC 5849 §3.4.1.1: METHOD&uri&params, the last two percent-encoded. */
export function signatureBaseString(
  method: string,
  url: string,
  oauthParams: Record<string, string>,
  formBody?: string,
): string {
  const u = new URL(url);
  const pairs: [string, string][] = [
    ...formPairs(u.search.replace(/^\?/, "")),
    ...(formBody ? formPairs(formBody) : []),
    ...Object.entries(oauthParams).filter(([k]) => k !== "oauth_signature" && k !== "realm"),
  ];
  return [
    method.toUpperCase(),
    percentEncode(baseStringUri(u)),
    percentEncode(normaliseParameters(pairs)),
  ].join("&");
}

/** HMAC-SHA256 of the base string with key `consumerSecret&tokenSecret`, base64. */
export function hmacSha256Signature(base: string, consumerSecret: string, tokenSecret: string): string {
  return createHmac("sha256", `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`)
    .update(base)
    .digest("base64");
}

export interface TbaCredentials {
  /** The account id (realm), e.g. 1234567 or 1234567_SB1. */
  accountId: string;
  consumerKey: string;
  consumerSecret: string;
  tokenId: string;
  tokenSecret: string;
}

/**
 * The Authorization header of one request: realm is the account id upper case with `-` as `_` (how the
 * account appears in the realm; the URL's host uses lower case and `-`).
 */
export function tbaHeader(
  creds: TbaCredentials,
  method: string,
  url: string,
  o: { nonce?: string; timestamp?: number } = {},
): string {
  const params: Record<string, string> = {
    oauth_consumer_key: creds.consumerKey,
    oauth_token: creds.tokenId,
    oauth_signature_method: "HMAC-SHA256",
    oauth_timestamp: String(o.timestamp ?? Math.floor(Date.now() / 1000)),
    oauth_nonce: o.nonce ?? randomBytes(16).toString("hex"),
    oauth_version: "1.0",
  };
  const signature = hmacSha256Signature(
    signatureBaseString(method, url, params),
    creds.consumerSecret,
    creds.tokenSecret,
  );
  const realm = creds.accountId.toUpperCase().replace(/-/g, "_");
  const fields = [
    `realm="${percentEncode(realm)}"`,
    ...Object.entries({ ...params, oauth_signature: signature }).map(
      ([k, v]) => `${k}="${percentEncode(v)}"`,
    ),
  ];
  return `OAuth ${fields.join(", ")}`;
}

/** The fields of an `Authorization: OAuth ...` header (values decoded); null when it is not one. */
export function parseOAuthHeader(header: string | undefined): Record<string, string> | null {
  if (!header || !/^OAuth\s+/i.test(header)) return null;
  const out: Record<string, string> = {};
  for (const m of header.replace(/^OAuth\s+/i, "").matchAll(/([A-Za-z_]+)="([^"]*)"/g)) {
    out[m[1] as string] = decodeURIComponent(m[2] as string);
  }
  return out;
}
