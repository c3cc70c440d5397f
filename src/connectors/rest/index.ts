import { defineConnector } from "../../ports/connector.ts";
import { everyEntity } from "../rows.ts";
import { createClient, type RestClient } from "./client.ts";
import { RestConfig } from "./config.ts";
import { discoverOpenApi } from "./discover.ts";
import { RestStream } from "./stream.ts";
import { RestWriter } from "./writer.ts";

export { RestConfig } from "./config.ts";

const entities = everyEntity<RestClient>(
  (entity, client) => new RestStream(entity, client),
  (entity, client) => new RestWriter(entity, client),
);

export const rest = defineConnector({
  id: "rest",
  version: "1.0.0",
  description:
    "Any plain JSON REST API configured in YAML, not code: bearer, basic, API key or OAuth2 client credentials; page, offset, cursor or Link header pagination; an incremental filter; records mapped with the rule language; writes by POST/PUT/PATCH; record shapes discovered from an OpenAPI 3 document",
  config: RestConfig,
  client: (name, config): RestClient => createClient(name, config),
  entities,
  // Paced by the rateLimit setting (calls per second and in flight); a 429 is rate_limited with its Retry-After.
  capabilities: { rateModel: "calls-per-second" },
  connection: (x) => ({
    async check() {
      const first = Object.values(x.config.entities)[0];
      const path = x.config.checkPath ?? first?.list.path ?? "/";
      const p = first?.list.pagination;
      const size =
        p && (p.style === "page" || p.style === "cursor" || p.style === "link")
          ? { [p.sizeParam]: 1 }
          : p?.style === "offset"
            ? { [p.limitParam]: 1 }
            : {};
      await x.getJson(x.url(path, x.config.checkPath ? {} : { ...first?.list.params, ...size }));
    },
    apiVersion: () => ({
      api: "configured REST API",
      version: "n/a: a generic REST connection has no vendor version to read",
      supportedUntil: null,
      policy: "whatever the configured API documents; Deprecation and Sunset headers it sends are counted",
    }),
    stats: () => {
      const s = x.http.stats();
      return { calls: s.calls, throttled: s.throttled };
    },
    async close() {},
    /** Calls made that change data (POST, PUT, PATCH). */
    writes: () => x.writes,
    /** OAuth2 tokens fetched so far. */
    tokens: () => x.tokens,
  }),
  discover: (client, signal) => discoverOpenApi(client, signal),
});

export type RestConnector = ReturnType<typeof rest.create>;
