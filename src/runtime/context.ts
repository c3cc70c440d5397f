/**
 * Opens what every command needs from a configuration file: the store, one connector per connection, and
 * the flows resolved against them. Nothing here holds sync logic; that lives in the engine.
 */
import type { Logger } from "pino";
import { loadConfig } from "../config/load.ts";
import { ownershipSide } from "../config/mapping-fields.ts";
import type { PasserelleConfig } from "../config/schema.ts";
import { setSharedGovernor, slotGovernor } from "../connectors/http/governor.ts";
import { connectorsForConfig, loadedConnector } from "../connectors/registry.ts";
import { inRunOrder } from "../core/category.ts";
import { SyncError } from "../core/errors.ts";
import { compileFilter } from "../core/expression.ts";
import { compileMapping } from "../core/mapping.ts";
import type { EntityName } from "../core/model.ts";
import type { Flow } from "../engine/flow.ts";
import { retryPolicyFor } from "../engine/retry.ts";
import { SyncEngine } from "../engine/sync.ts";
import type { Connector, ConnectorDefinition } from "../ports/connector.ts";
import type { Store } from "../ports/store.ts";
import { documentLink, linkExpiry } from "../server/document-links.ts";
import { openStore, urlPassword } from "../store/index.ts";
import { flushDeprecations } from "./alerting.ts";
import { createLogger } from "./logger.ts";

export interface Context {
  configPath: string;
  config: PasserelleConfig;
  /** The store's URL as opened (PASSERELLE_DATABASE_URL, else `store.url`); carries a password: never print it. */
  storeUrl: string;
  secrets: string[];
  warnings: string[];
  store: Store;
  connectors: Map<string, Connector>;
  engine: SyncEngine;
  logger: Logger;
  flow(name: string): Flow;
  flowNames(): string[];
  close(): Promise<void>;
}

/** The definition of a connector type, once loaded (openContext loads those its configuration names). */
export function definitionFor(kind: string): ConnectorDefinition {
  return loadedConnector(kind);
}

/**
 * The store's URL for a loaded configuration and the secrets to redact with it: PASSERELLE_DATABASE_URL wins
 * over the file's store.url, so one configuration serves every process of a deployment and the database
 * password can stay out of it (it is redacted like any secret).
 */
export function storeUrlOf(
  loaded: ReturnType<typeof loadConfig>,
  given?: string,
): { storeUrl: string; secrets: string[] } {
  const storeUrl = given ?? (process.env.PASSERELLE_DATABASE_URL || loaded.config.store.url);
  const secrets = [...loaded.secrets, ...urlPassword(storeUrl).filter((p) => !loaded.secrets.includes(p))];
  return { storeUrl, secrets };
}

export async function openContext(configPath: string, opts: { storeUrl?: string } = {}): Promise<Context> {
  const loaded = loadConfig(configPath, await connectorsForConfig(configPath));
  const { config, warnings } = loaded;
  const { storeUrl, secrets } = storeUrlOf(loaded, opts.storeUrl);
  const logger = createLogger(secrets);
  // The store redacts the configuration's secrets from what it writes, and logs connection losses.
  const store = await openStore(storeUrl, { secrets, logger });
  await store.migrate();
  // Shared request budgets: every HTTP call to a governed connection first takes a slot in the store.
  for (const [name, budget] of Object.entries(config.governor ?? {})) {
    setSharedGovernor(
      name,
      slotGovernor((key, ms) => store.reserveRateSlot(key, ms), name, budget.requestsPerSecond),
    );
  }
  const connectors = new Map<string, Connector>();
  for (const [name, conn] of Object.entries(config.connections)) {
    const { type, ...settings } = conn as { type: string } & Record<string, unknown>;
    const def = definitionFor(type);
    connectors.set(name, def.create(name, def.configSchema.parse(settings)));
  }
  const flows = new Map<string, Flow>();
  const build = (name: string): Flow => {
    const spec = config.flows[name];
    if (!spec) {
      throw new SyncError(
        "config",
        `no flow named ${JSON.stringify(name)} in ${configPath}; flows: ${Object.keys(config.flows).join(", ") || "(none)"}`,
      );
    }
    const source = connectors.get(spec.source.connection);
    const target = connectors.get(spec.target.connection);
    if (!source || !target) throw new SyncError("config", `flow ${name}: connection missing`);
    const flow: Flow = {
      name,
      entity: spec.source.entity as EntityName,
      source,
      target,
      batchSize: spec.batchSize,
      allowFreeItems: spec.allowFreeItems,
      ...(spec.backorders ? { backorders: spec.backorders } : {}),
      retry: retryPolicyFor(config, name),
    };
    const links = config.server.documentLinks;
    if (spec.documentLinks && links) {
      flow.documentLink = (ref, from) =>
        documentLink(links, spec.source.connection, ref, linkExpiry(from, links.days));
    }
    // Products link to their categories only where a category flow puts the categories.
    if (
      flow.entity === "product" &&
      Object.values(config.flows).some(
        (f) => f.source.entity === "category" && f.target.connection === spec.target.connection,
      )
    ) {
      flow.linkCategories = true;
    }
    if (spec.direction === "two-way" && spec.twoWay) {
      const ownership: Record<string, "a" | "b"> = {};
      const sides = { source: spec.source.connection, target: spec.target.connection };
      for (const [side, fields] of Object.entries(spec.twoWay.ownership)) {
        const which = ownershipSide(side, sides);
        for (const f of fields) if (which) ownership[f] = which === "source" ? "a" : "b";
      }
      flow.twoWay = { ownership, conflict: spec.twoWay.conflict, deletes: spec.twoWay.deletes };
    }
    if (spec.mapping && Object.keys(spec.mapping).length > 0) {
      flow.mapping = compileMapping(spec.mapping, { path: `flows.${name}.mapping` });
    }
    if (spec.filter) flow.filter = compileFilter(spec.filter, { path: `flows.${name}.filter` });
    return flow;
  };
  return {
    configPath,
    config,
    storeUrl,
    secrets,
    warnings,
    store,
    connectors,
    engine: new SyncEngine(store),
    logger,
    flow(name) {
      let f = flows.get(name);
      if (!f) {
        f = build(name);
        flows.set(name, f);
      }
      return f;
    },
    // Categories first: the products that reference them find them in the target (core/category.ts).
    flowNames: () =>
      inRunOrder(Object.entries(config.flows).map(([name, spec]) => ({ name, entity: spec.source.entity }))),
    async close() {
      // What the vendors' answers said was deprecated, kept for alerts and `passerelle doctor`.
      await flushDeprecations(store, connectors).catch((err: unknown) =>
        logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          "cannot record the API deprecation notices seen",
        ),
      );
      for (const name of Object.keys(config.governor ?? {})) setSharedGovernor(name, null);
      for (const c of connectors.values()) await c.close();
      await store.close();
    },
  };
}
