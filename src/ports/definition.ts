/**
 * `defineConnector`: one declaration per system, the single source of what a connector is. Its entity map
 * builds the connector's streams and writers, and everything else that says what a connector can do — the
 * `reads`/`writes` lists, `passerelle connectors`, the config JSON Schema, `validate`'s "cannot read X"
 * check, the generated support table in docs/connectors.md and the contract suite — is derived from it, so
 * no hand-written list can disagree with what `create()` builds.
 */
import type { z } from "zod";
import type { RemoveHow } from "../core/merge.ts";
import { ENTITIES, type EntityName } from "../core/model.ts";
import type {
  ApiVersionInfo,
  Connector,
  DeprecationSeen,
  DocumentFile,
  RateLimitState,
  Stream,
  WebhookManager,
  WebhookReceiver,
  Writer,
} from "./connector.ts";
import type { Discover } from "./discovery.ts";
import type { ConnectionUse, RightCheck } from "./permissions.ts";

/**
 * How a system limits the rate of calls, and so how its client paces itself:
 * - `cost-bucket`: a budget of query cost points that refills at a fixed rate (each call reports its cost);
 * - `leaky-bucket`: a bucket of calls that drains at a fixed rate;
 * - `calls-per-second`: a fixed number of calls per second;
 * - `quota-window`: a quota of requests per fixed window, each answer saying how many are left and when the
 *   window resets (BigCommerce's X-Rate-Limit-* headers); the client waits for the reset when none are left;
 * - `retry-after`: no published budget; bounded concurrency, and a 429 pauses the connection for its
 *   Retry-After;
 * - `none`: the system sets no limit (self-hosted); the client answers a 429 with a rate_limited error
 *   carrying the Retry-After, which the engine waits out.
 */
export const RATE_MODELS = [
  "cost-bucket",
  "leaky-bucket",
  "calls-per-second",
  "quota-window",
  "retry-after",
  "none",
] as const;
export type RateModel = (typeof RATE_MODELS)[number];

/** What a system can do beyond reading and writing entities. */
export interface CapabilitiesSpec {
  /** Large writes can go through the system's asynchronous bulk API. */
  bulk?: boolean;
  /** The connection renders documents (an invoice's PDF) by the ref its streams put on records. */
  documents?: boolean;
  rateModel: RateModel;
}

export interface Capabilities extends Required<CapabilitiesSpec> {
  /** Derived: the definition has a webhook receiver. */
  webhooks: boolean;
  /** Derived: the definition can discover its source's record shapes (`passerelle discover`). */
  discover: boolean;
}

/**
 * One canonical entity as a connector supports it. `read` builds the stream (with its `get`, the lookup
 * by id in this system); `write` builds the writer (with its `findByExternalRef`, the lookup by the
 * reference a written document carries). Either may be absent; an entity with neither is an error.
 */
export interface EntitySpec<E extends EntityName, X> {
  read?: (client: X) => Stream<E>;
  write?: (client: X) => Writer<E>;
  /**
   * Two-way delete policies: the ways the writer can remove a record (its `remove`); declaring any also
   * says the stream reports removals (its `removed`). Absent: the connector neither reports nor writes them.
   */
  removal?: readonly RemoveHow[];
  /**
   * The canonical fields the writer sets, where it sets only some (Tryton's product writer: description).
   * A two-way flow must then leave every other field to this side's ownership, or the other side's
   * changes to them would be dropped here without a word; config validation says so. Absent: every field.
   */
  writesFields?: readonly string[];
}

export type EntitySpecs<X> = { [E in EntityName]?: EntitySpec<E, X> };

/** The parts of a connection that are not per entity. */
export interface ConnectionParts {
  check(): Promise<void>;
  stats(): { calls: number; throttled: number; rateLimit?: RateLimitState };
  close(): Promise<void>;
  webhooks?: WebhookManager;
  document?(ref: string, signal?: AbortSignal): Promise<DocumentFile>;
  apiVersion?(): ApiVersionInfo;
  drainDeprecations?(): DeprecationSeen[];
  permissions?(use: ConnectionUse, signal?: AbortSignal): Promise<RightCheck[]>;
}

export interface ConnectorSpec<C extends z.ZodType, X, P extends ConnectionParts> {
  /** The `type:` of a connection in passerelle.yaml. */
  id: string;
  /** The connector's own version, bumped when what it reads or writes changes meaning. */
  version: string;
  description: string;
  /** Connection settings (everything but `type`). Drives validation, docs and the JSON Schema. */
  config: C;
  /** The connection's client and what its entities share (caches, lookups), built once per connection. */
  client: (name: string, config: z.infer<C>) => X;
  entities: EntitySpecs<X>;
  capabilities: CapabilitiesSpec;
  /** check, stats, close and the optional parts (webhook subscriptions, documents, system-specific extras). */
  connection: (client: X, name: string) => P;
  /** How `POST /webhooks/<connection>` verifies and parses this system's deliveries; absent: none accepted. */
  webhooks?: WebhookReceiver<z.infer<C>>;
  /**
   * Problems of a connection's settings that show only beside the flows using it (e.g. two flows that
   * would write the same field of the system): each names the setting (`path`, inside the connection).
   * Checked when passerelle.yaml is loaded.
   */
  checkUse?: (config: z.infer<C>, use: ConnectionUse) => ConfigProblem[];
  /**
   * The record shapes the connection's source describes (tables and columns, a file's header, an OpenAPI
   * document), for `passerelle discover`. Absent: the connector has nothing to discover (its entities are
   * fixed by the vendor's API and documented in docs/connectors/).
   */
  discover?: Discover<X>;
}

export type { ConnectionUse };

/** A setting that cannot work as given, and why. */
export interface ConfigProblem {
  path: (string | number)[];
  message: string;
}

/** What each entity supports, for listings and docs. */
export type EntitySupport = { [E in EntityName]?: { read: boolean; write: boolean } };

export interface ConnectorDefinition<C extends z.ZodType = z.ZodType> {
  id: string;
  /** Same as id: the `type:` of a connection. */
  kind: string;
  version: string;
  description: string;
  configSchema: C;
  /** Derived from the entity map, in canonical entity order. */
  entities: EntitySupport;
  reads: readonly EntityName[];
  writes: readonly EntityName[];
  /** Per entity, how the connector removes a record (and so reports removals); see EntitySpec.removal. */
  removals: { [E in EntityName]?: readonly RemoveHow[] };
  /** Per entity, the only fields its writer sets, where it sets only some (see EntitySpec.writesFields). */
  writesFields: { [E in EntityName]?: readonly string[] };
  capabilities: Capabilities;
  create(name: string, config: z.infer<C>): Connector;
  webhooks?: WebhookReceiver<z.infer<C>>;
  /** See ConnectorSpec.checkUse (a method, so a definition of any settings fits the registry's list). */
  checkUse?(config: z.infer<C>, use: ConnectionUse): ConfigProblem[];
}

/** A definition that also keeps its spec, so tests can build connections from a client and derive variants. */
export interface DefinedConnector<C extends z.ZodType, X, P extends ConnectionParts>
  extends ConnectorDefinition<C> {
  spec: ConnectorSpec<C, X, P>;
  create(name: string, config: z.infer<C>): Connector & Omit<P, keyof ConnectionParts>;
  /** A connection from an already built client (tests pass clients with fake timers or fetch). */
  assemble(name: string, client: X): Connector & Omit<P, keyof ConnectionParts>;
}

export function defineConnector<C extends z.ZodType, X, P extends ConnectionParts>(
  spec: ConnectorSpec<C, X, P>,
): DefinedConnector<C, X, P> {
  if (!/^[a-z][a-z0-9-]*$/.test(spec.id)) {
    throw new Error(
      `connector id must be lower-case letters, digits and dashes, got ${JSON.stringify(spec.id)}`,
    );
  }
  const entities: EntitySupport = {};
  for (const [entity, e] of Object.entries(spec.entities) as [EntityName, EntitySpec<EntityName, X>][]) {
    if (!ENTITIES.includes(entity)) {
      throw new Error(`${spec.id}: unknown entity ${JSON.stringify(entity)}; known: ${ENTITIES.join(", ")}`);
    }
    if (!e?.read && !e?.write) throw new Error(`${spec.id}: entity ${entity} has neither read nor write`);
  }
  for (const entity of ENTITIES) {
    const e = spec.entities[entity];
    if (e) entities[entity] = { read: Boolean(e.read), write: Boolean(e.write) };
  }
  const removals: { [E in EntityName]?: readonly RemoveHow[] } = {};
  for (const entity of ENTITIES) {
    const e = spec.entities[entity];
    if (!e?.removal || e.removal.length === 0) continue;
    if (!e.read || !e.write) {
      throw new Error(`${spec.id}: entity ${entity} declares removal and must both read and write`);
    }
    removals[entity] = e.removal;
  }
  const writesFields: { [E in EntityName]?: readonly string[] } = {};
  for (const entity of ENTITIES) {
    const fields = spec.entities[entity]?.writesFields;
    if (!fields) continue;
    if (!spec.entities[entity]?.write) {
      throw new Error(`${spec.id}: entity ${entity} declares writesFields and has no writer`);
    }
    writesFields[entity] = fields;
  }
  const reads = ENTITIES.filter((e) => entities[e]?.read);
  const writes = ENTITIES.filter((e) => entities[e]?.write);
  const assemble = (name: string, client: X) => {
    const streams: Record<string, Stream> = {};
    const writers: Record<string, Writer> = {};
    for (const entity of ENTITIES) {
      const e = spec.entities[entity] as EntitySpec<EntityName, X> | undefined;
      if (e?.read) streams[entity] = e.read(client);
      if (e?.write) writers[entity] = e.write(client);
    }
    const parts = spec.connection(client, name);
    const discover = spec.discover;
    return {
      ...parts,
      name,
      kind: spec.id,
      streams,
      writers,
      removals,
      ...(discover ? { discover: (signal?: AbortSignal) => discover(client, signal) } : {}),
    } as Connector & Omit<P, keyof ConnectionParts>;
  };
  return {
    spec,
    id: spec.id,
    kind: spec.id,
    version: spec.version,
    description: spec.description,
    configSchema: spec.config,
    entities,
    reads,
    writes,
    removals,
    writesFields,
    capabilities: {
      bulk: spec.capabilities.bulk ?? false,
      documents: spec.capabilities.documents ?? false,
      rateModel: spec.capabilities.rateModel,
      webhooks: spec.webhooks !== undefined,
      discover: spec.discover !== undefined,
    },
    create: (name, config) => assemble(name, spec.client(name, config)),
    assemble,
    ...(spec.webhooks ? { webhooks: spec.webhooks } : {}),
    ...(spec.checkUse ? { checkUse: spec.checkUse } : {}),
  };
}
