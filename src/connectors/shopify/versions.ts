/**
 * Shopify's API versions and their support window. Shopify releases a stable Admin API version each quarter,
 * named after its release month (2026-01, 2026-04, 2026-07, 2026-10), and supports each for at least twelve
 * months after its release (shopify.dev, "About Shopify API versioning"). A call naming a version that is no
 * longer supported is served by the oldest supported stable version instead, which the answer's
 * `X-Shopify-API-Version` header names; a call using a deprecated field or version carries
 * `X-Shopify-API-Deprecated-Reason`.
 */
import type { ApiVersionInfo } from "../../ports/connector.ts";

export const SHOPIFY_VERSION_POLICY =
  "Shopify supports each quarterly stable version for at least 12 months after its release";

/** The support window of a version name ("2026-10" → supported until 2027-10-01); unstable has none. */
export function shopifyVersionInfo(version: string): ApiVersionInfo {
  const m = /^(\d{4})-(01|04|07|10)$/.exec(version);
  const api = "Shopify Admin GraphQL API";
  if (!m?.[1] || !m[2]) {
    return {
      api,
      version,
      supportedUntil: null,
      policy: "unstable: no support promised, may change any day",
    };
  }
  return {
    api,
    version,
    supportedUntil: `${Number(m[1]) + 1}-${m[2]}-01`,
    policy: SHOPIFY_VERSION_POLICY,
  };
}
