/**
 * Deprecation notices read from vendors' answers, counted per call site (an operation name, or method and
 * path) until drained. What is read:
 * - `Deprecation` (RFC 9745: `@<epoch seconds>`, the date the resource was or will be deprecated; older
 *   drafts sent `true` or an HTTP date) with `Sunset` (RFC 8594: the HTTP date after which it may stop
 *   answering);
 * - `X-Shopify-API-Deprecated-Reason`: Shopify's, set when a call used a deprecated field or version;
 * - `X-WP-DeprecatedFunction` / `X-WP-DeprecatedParam`: WordPress's REST API (WooCommerce's host), naming a
 *   deprecated function or argument the request reached;
 * - `Warning: 299 <agent> "<text>"`: a persistent warning, the way some APIs announce deprecations;
 * - whatever a connector notes itself (an answer served by another API version than the one asked for).
 * At most `maxEntries` distinct (site, reason) pairs are kept between drains; more are counted under the
 * last one, so memory never grows with the number of calls.
 */
import type { DeprecationSeen } from "../../ports/connector.ts";

/** An HTTP date or RFC 9745's `@<seconds>` as ISO 8601; null when neither. */
export function headerDate(value: string | null): string | null {
  if (value === null) return null;
  const v = value.trim();
  const epoch = /^@(-?\d+)$/.exec(v);
  const ms = epoch?.[1] ? Number(epoch[1]) * 1000 : Date.parse(v);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

export class DeprecationLog {
  readonly #seen = new Map<string, DeprecationSeen>();
  readonly #max: number;

  constructor(maxEntries = 64) {
    this.#max = maxEntries;
  }

  note(site: string, reason: string, sunset: string | null): void {
    let id = `${site}\u0000${reason}`;
    if (!this.#seen.has(id) && this.#seen.size >= this.#max) id = "(other)\u0000(other)";
    const entry = this.#seen.get(id);
    if (entry) {
      entry.count += 1;
      if (sunset !== null) entry.sunset = sunset;
      return;
    }
    const other = id.startsWith("(other)");
    this.#seen.set(id, {
      site: other ? "(other)" : site,
      reason: other ? "more call sites than are kept between drains" : reason,
      sunset,
      count: 1,
    });
  }

  /** Reads the standard deprecation headers and Shopify's from one answer; true when one was there. */
  noteHeaders(site: string, headers: Headers): boolean {
    const sunset = headerDate(headers.get("sunset"));
    const shopify = headers.get("x-shopify-api-deprecated-reason");
    if (shopify !== null && shopify.trim() !== "") {
      this.note(site, shopify.trim(), sunset);
      return true;
    }
    const deprecation = headers.get("deprecation");
    if (deprecation !== null) {
      const at = headerDate(deprecation);
      const link = /<([^>]+)>\s*;\s*rel="?deprecation"?/i.exec(headers.get("link") ?? "")?.[1];
      const when = at ? `deprecated since ${at.slice(0, 10)}` : "deprecated";
      this.note(site, link ? `${when}; see ${link}` : when, sunset);
      return true;
    }
    // WordPress (and so WooCommerce's REST API) names a deprecated function or argument a request used.
    const wp = ["x-wp-deprecatedfunction", "x-wp-deprecatedparam"]
      .map((h) => headers.get(h))
      .filter((v): v is string => v !== null && v.trim() !== "");
    if (wp.length > 0) {
      this.note(site, `WordPress deprecated: ${wp.join("; ")}`, sunset);
      return true;
    }
    // A persistent warning (HTTP Warning code 299), which some APIs use for deprecations.
    const warning = /^\s*299\s+\S+\s+"([^"]*)"/.exec(headers.get("warning") ?? "")?.[1];
    if (warning) {
      this.note(site, warning, sunset);
      return true;
    }
    if (sunset !== null) {
      this.note(site, `sunset announced for ${sunset.slice(0, 10)}`, sunset);
      return true;
    }
    return false;
  }

  /** What was seen since the last drain; the counts start again at zero. */
  drain(): DeprecationSeen[] {
    const out = [...this.#seen.values()];
    this.#seen.clear();
    return out;
  }
}
