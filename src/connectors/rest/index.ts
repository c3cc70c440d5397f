/**
 * The configurable REST connector: any entity of a plain JSON API (a CRM, a PIM, a shop) described in
 * passerelle.yaml rather than in code — base URL, credentials, per entity the list path, pagination,
 * incremental filter, record selector, mapping and write calls — and, from the API's OpenAPI 3 document,
 * the record shapes it offers (`passerelle discover`). See docs/connectors/rest.md.
 */
import { ENTITIES, type EntityName } from "../../core/model.ts";
import { defineConnector } from "../../ports/connector.ts";
import type { EntitySpec, EntitySpecs } from "../../ports/definition.ts";
import { createClient, type RestClient } from "./client.ts";
import { RestConfig } from "./config.ts";
import { discoverOpenApi } from "./discover.ts";
import { RestStream } from "./stream.ts";
import { RestWriter } from "./writer.ts";

export { RestConfig } from "./config.ts";

/** Every entity can be read and written; which ones a connection has is its configuration's business. */
const entities = Object.fromEntries(
  ENTITIES.map((entity): [EntityName, EntitySpec<EntityName, RestClient>] => [
    entity,
    {
      read: (client) => new RestStream(entity, client) as never,
      write: (client) => new RestWriter(entity, client) as never,
    },
  ]),
) as EntitySpecs<RestClient>;

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
