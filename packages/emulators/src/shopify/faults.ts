/**
 * Shopify's answers to injected faults (the die and the rates are shared with the Odoo emulator):
 * - 5xx: HTTP 503 with a JSON error body, as Shopify's edge answers during an incident;
 * - 429: alternately HTTP 429 with Retry-After (the REST-style limit, also used by the GraphQL endpoint when
 *   a shop is over its request limit) and HTTP 200 with a THROTTLED GraphQL error and the cost extensions
 *   showing an empty bucket (the GraphQL cost limit);
 * - timeout, slow and drop as in faults.ts of the Odoo emulator.
 */
import type { ServerResponse } from "node:http";
import type { FaultDecision, FaultInjector } from "../odoo/faults.ts";
import type { RateLimitOptions } from "./bucket.ts";

export {
  dropConnection,
  FaultInjector,
  type FaultOptions,
  parseFaults,
  sleep,
} from "../odoo/faults.ts";

/** Per emulator, which style the next 429 takes. */
const throttleStyle = new WeakMap<FaultInjector, number>();

/** True when the fault answered (or deliberately left hanging) the request. */
export function shopifyFaultBefore(
  fault: FaultDecision,
  faults: FaultInjector,
  res: ServerResponse,
  limits: RateLimitOptions,
): boolean {
  if (fault === "5xx") {
    res.writeHead(503, { "content-type": "application/json; charset=utf-8", "retry-after": "1" });
    res.end(JSON.stringify({ errors: "Service Unavailable" }));
    return true;
  }
  if (fault === "429") {
    const n = (throttleStyle.get(faults) ?? 0) + 1;
    throttleStyle.set(faults, n);
    if (n % 2 === 1) {
      res.writeHead(429, {
        "content-type": "application/json; charset=utf-8",
        "retry-after": String(faults.retryAfterS),
      });
      res.end(
        JSON.stringify({
          errors:
            "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
        }),
      );
      return true;
    }
    res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
    res.end(
      JSON.stringify({
        errors: [
          {
            message: "Throttled",
            extensions: { code: "THROTTLED", documentation: "https://shopify.dev/api/usage/rate-limits" },
          },
        ],
        extensions: {
          cost: {
            requestedQueryCost: 10,
            actualQueryCost: null,
            throttleStatus: {
              maximumAvailable: limits.maximumAvailable,
              currentlyAvailable: 0,
              restoreRate: limits.restoreRate,
            },
          },
        },
      }),
    );
    return true;
  }
  return fault === "timeout";
}
