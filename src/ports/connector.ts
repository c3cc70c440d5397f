/**
 * The connector contract. One typed object per system, declared with `defineConnector` (definition.ts) and
 * registered by one line in src/connectors/registry.ts (imported when a configuration names its type).
 * The engine never knows which system it talks to: it reads native records from `streams`, maps them to
 * the canonical model with the stream's `toCanonical`, and hands canonical records to `writers`.
 */
import type { Cursor } from "../core/cursor.ts";
import { SyncError } from "../core/errors.ts";
import type { Removal, RemoveHow } from "../core/merge.ts";
import type { CanonicalByEntity, CanonicalInputByEntity, EntityName } from "../core/model.ts";
import type { DiscoveredShape } from "./discovery.ts";
import type { MarkStore } from "./marks.ts";
import type { ConnectionUse, RightCheck } from "./permissions.ts";

export {
  type Capabilities,
  type ConnectorDefinition,
  defineConnector,
  type EntitySupport,
  RATE_MODELS,
  type RateModel,
} from "./definition.ts";
export type { Cursor };

export interface ListRequest {
  /**
   * Read records with updatedAt >= cursor.updatedAt (inclusive: the engine drops those at or before the
   * cursor itself, so records sharing a timestamp are never skipped). Null: read everything.
   */
  since: Cursor | null;
  /** The sync's start. Streams may stop there; the engine keeps its cursor a little before it. */
  signpost: string;
  /** Records per vendor call; a stream may cap it at the vendor's maximum. */
  pageSize: number;
  signal?: AbortSignal;
  /**
   * The store's durable marks, given by a sync run (never by a dry run): a stream whose source has no
   * cursor of its own (files dropped in a folder) keeps there what it has finished with, across restarts.
   */
  marks?: MarkStore;
}

export interface Stream<E extends EntityName = EntityName, N = unknown> {
  entity: E;
  /**
   * Yields pages of native records, one vendor call per page, never the whole dataset at once. When
   * `sorted` is true, records come in ascending (updatedAt, id) order, so an interrupted sync may resume
   * from the last committed cursor.
   */
  list(req: ListRequest): AsyncIterable<N[]>;
  /** One record by its id in this system; null when it does not exist. */
  get(id: string): Promise<N | null>;
  sorted: boolean;
  /** The record's id in this system. */
  idOf(native: N): string;
  /** The record's last modification, ISO 8601. */
  updatedAtOf(native: N): string;
  /**
   * Native → canonical. Returns an unvalidated object (the engine validates it with the canonical
   * schema); throws SyncError("data") when the record cannot be mapped.
   */
  toCanonical(native: N): Promise<CanonicalInputByEntity[E]> | CanonicalInputByEntity[E];
  /**
   * Two-way flows' delete detection (declared by the entity's `removal` in the connector's definition): of
   * these ids, those the system no longer holds live — `deleted` (gone) or `archived` (deactivated, kept).
   * Ids absent from the answer are live. One vendor call per call, whatever the number of ids given.
   */
  removed?(ids: string[], signal?: AbortSignal): Promise<Map<string, Removal>>;
  /**
   * True where the system holds nothing that carries the canonical key (a Vendure product knows nothing of
   * the ERP's template code; its slug is only derived from it). In a two-way flow the engine then takes each
   * record's key from its link — the key its id here was linked under — and `toCanonical`'s key serves only
   * a record with no link yet (one only this side holds).
   */
  keysFromLinks?: boolean;
  /**
   * Called by a sync run once a page this stream listed is committed (its records written, failed into the
   * inbox, or skipped): a stream that consumes its source (moves a file away once read) does it here, never
   * earlier, so a crash before the commit reads the records again.
   */
  committed?(page: N[], marks: MarkStore): Promise<void>;
}

export interface WriteItem<E extends EntityName = EntityName> {
  /** Canonical key. */
  key: string;
  record: CanonicalByEntity[E];
  /** The record's id in the target when a link already exists; null for a first write. */
  targetId: string | null;
  /**
   * The reference the written document carries so it can be found again (e.g. the shop's order
   * number in the ERP sale's client reference); see Writer.findByExternalRef.
   */
  externalRef: string;
}

export type WriteResult =
  | {
      key: string;
      ok: true;
      targetId: string;
      action: "created" | "updated" | "unchanged";
      /** What the write did beyond the record itself, for the trace (e.g. "sale SO-12 cancelled"). */
      note?: string;
    }
  | { key: string; ok: false; error: SyncError };

export interface WriteContext {
  /** The id that another canonical record has in this writer's system, via the link store. */
  resolve(entity: EntityName, key: string): Promise<string | null>;
  signal?: AbortSignal;
}

export interface Writer<E extends EntityName = EntityName> {
  entity: E;
  /**
   * Creates or updates each item. Returns one result per item, in any order, keyed by `key`. A bad
   * record yields `{ ok: false }` for itself and never fails its siblings; the call only throws when
   * nothing could be attempted (e.g. the system is unreachable).
   */
  upsert(items: WriteItem<E>[], ctx: WriteContext): Promise<WriteResult[]>;
  /**
   * Finds a document this writer created earlier by the external reference it carries. A crash between
   * "created in the target" and "recorded in the link store" is repaired by looking, never by creating
   * again. Returns the target id, or null.
   */
  findByExternalRef(externalRef: string, record: CanonicalByEntity[E]): Promise<string | null>;
  /**
   * The vendor calls `upsert` would make for one page, for `passerelle plan`, from this writer's own
   * batching (lookups per SKU chunk, mutations per batch, calls per record), plus the `findByExternalRef`
   * of each create an interruption left pending. An estimate: it cannot know what the target holds (a
   * record found unchanged costs less, a refused batch sent again costs more).
   */
  estimateCalls(page: PlannedPage<E>, ctx: WriteContext): Promise<number> | number;
  /**
   * True for a writer that only acts on records its system already holds (a shop's orders, written back
   * from the ERP: a cancellation). A record with no link in its system is then skipped with the reason,
   * never created.
   */
  updateOnly?: boolean;
  /**
   * Two-way flows' delete policies: archives (deactivates) or deletes the record with this id, as the
   * entity's `removal` in the connector's definition allows. A record already gone (or already archived,
   * for `archive`) is no error: the call is repeated after an interruption.
   */
  remove?(targetId: string, how: RemoveHow, signal?: AbortSignal): Promise<void>;
  /**
   * Reactivates a record this writer's system holds archived (`passerelle restore` lifting a two-way record's
   * tombstone). A writer whose entity's `removal` includes `archive` has it; a record already live is no error.
   */
  restore?(targetId: string, signal?: AbortSignal): Promise<void>;
  /**
   * Why the target cannot hold this record at all (a customer-group price in a shop with one price for
   * every buyer), or null. Such a record is skipped with the reason in its lineage, never written, never
   * failed: what the target lacks is no error a retry could fix.
   */
  unsupported?(record: CanonicalByEntity[E]): string | null;
}

/** One page's records to write, as a dry run planned them. */
export interface PlannedPage<E extends EntityName = EntityName> {
  create: WriteItem<E>[];
  update: WriteItem<E>[];
  /** Creates whose earlier attempt was interrupted: each is looked up by its external ref first. */
  lookups: WriteItem<E>[];
  /**
   * The run's first page with records to write: costs paid once (loading a list the writer then keeps,
   * such as the shop's locations) are counted on it, and only when the writer has not loaded it yet.
   */
  first: boolean;
}

export interface RateLimitState {
  /** Vendor budget as last reported, e.g. Shopify's throttleStatus. */
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRatePerSecond: number;
}

// ---- Webhooks (optional capability) -------------------------------------------------------------------
/** One delivery as the server received it: the raw bytes (signatures are over these), headers lower-cased. */
export interface WebhookRequest {
  rawBody: Buffer;
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
}

/** A verified change notification, stored in the inbox under its dedupe key. */
export interface InboundEvent {
  /** Same value for every delivery of the same vendor event (retries, duplicates). */
  dedupeKey: string;
  topic: string;
  /** The canonical entity it concerns, when the topic maps to one. */
  entity: EntityName | null;
  /** The record's id in the sending system (what the entity's stream `get` takes). */
  recordId: string | null;
  /** When the vendor says the change happened, ISO 8601; null when it does not say. */
  occurredAt: string | null;
  payload: unknown;
}

export type WebhookOutcome =
  /** Verified: store these (possibly none) and acknowledge once stored. */
  | { kind: "events"; events: InboundEvent[] }
  /** A handshake or ping that is answered as is and stores nothing. */
  | { kind: "reply"; status: number; body: string; contentType: string }
  /** Refused; `reason` is short and never holds a secret. */
  | { kind: "reject"; status: number; reason: string };

/** Receiving side, chosen by the connection's definition; pure and synchronous, run on every delivery. */
export interface WebhookReceiver<C = unknown> {
  receive(req: WebhookRequest, config: C, now: Date): WebhookOutcome;
}

export interface WebhookSubscription {
  id: string;
  topic: string;
  url: string;
}

/** Subscription lifecycle against the vendor's API; register is idempotent. */
export interface WebhookManager {
  /** The topics registered by default (those whose events the connector's streams can read). */
  topics: readonly string[];
  register(
    url: string,
    topics?: readonly string[],
  ): Promise<{ created: WebhookSubscription[]; existing: WebhookSubscription[] }>;
  list(): Promise<WebhookSubscription[]>;
  /** Removes subscriptions to `url` (every subscription when url is omitted); returns those removed. */
  unregister(url?: string): Promise<WebhookSubscription[]>;
}
// ---- end of webhooks -----------------------------------------------------------------------------------

export interface Connector {
  /** Connection name from passerelle.yaml. */
  name: string;
  kind: string;
  streams: { [E in EntityName]?: Stream<E> };
  writers: { [E in EntityName]?: Writer<E> };
  /** Per entity, how its writer removes records (and its stream reports removals); from the definition. */
  removals?: { [E in EntityName]?: readonly RemoveHow[] };
  /** Verifies reachability and credentials; throws SyncError("config" | "retryable") naming the system. */
  check(): Promise<void>;
  /** API calls made so far (for plans, summaries and benchmarks). */
  stats(): { calls: number; throttled: number; rateLimit?: RateLimitState };
  close(): Promise<void>;
  /** Webhook subscriptions, for systems that send webhooks. */
  webhooks?: WebhookManager;
  /** Fetches a document (an invoice's PDF) by the ref its streams put on canonical records (`document.ref`). */
  document?(ref: string, signal?: AbortSignal): Promise<DocumentFile>;
  /** The record shapes the source describes (see ports/discovery.ts); only where the connector can tell. */
  discover?(signal?: AbortSignal): Promise<DiscoveredShape[]>;
  /** The vendor API version this connection speaks; absent where the connector cannot tell. */
  apiVersion?(): ApiVersionInfo;
  /** Deprecation notices seen since the last call (the counts restart at zero). */
  drainDeprecations?(): DeprecationSeen[];
  /**
   * Each right the flows' reads and writes of `use` need, as the system answers for the configured user
   * (ports/permissions.ts); for `passerelle doctor`. Absent: the connector has no way to ask.
   */
  permissions?(use: ConnectionUse, signal?: AbortSignal): Promise<RightCheck[]>;
}

/** The vendor API version a connection speaks, and its end of support where the vendor publishes one. */
export interface ApiVersionInfo {
  /** Vendor and API: "Shopify Admin GraphQL API". */
  api: string;
  version: string;
  /** ISO date after which the vendor no longer promises to serve this version; null when not published. */
  supportedUntil: string | null;
  /** Where the support window comes from (the vendor's policy, stated in one line). */
  policy: string;
}

/** Deprecation notices the vendor's answers carried since the last drain, counted per call site. */
export interface DeprecationSeen {
  /** An operation name (GraphQL) or method and path. */
  site: string;
  /** What the vendor said: the deprecation header's value or a notice. */
  reason: string;
  /** The removal date the vendor announced (a Sunset header), ISO 8601; null when it named none. */
  sunset: string | null;
  count: number;
}

/** A document a system renders, such as a posted invoice's PDF. */
export interface DocumentFile {
  mimeType: string;
  fileName: string;
  bytes: Uint8Array;
}

/**
 * The engine handles entities generically; these widen a connector's per-entity stream or writer to the
 * entity-agnostic form (sound because Stream and Writer methods are only ever called with records of the
 * entity they were looked up by).
 */
export function streamOf(connector: Connector, entity: EntityName): Stream | undefined {
  return connector.streams[entity] as Stream | undefined;
}

export function writerOf(connector: Connector, entity: EntityName): Writer | undefined {
  return connector.writers[entity] as Writer | undefined;
}

export function requireStream(connector: Connector, entity: EntityName): Stream {
  const stream = streamOf(connector, entity);
  if (!stream) {
    throw new SyncError("config", `${connector.name} (${connector.kind}) cannot read ${entity} records`, {
      system: connector.name,
    });
  }
  return stream;
}

export function requireWriter(connector: Connector, entity: EntityName): Writer {
  const writer = writerOf(connector, entity);
  if (!writer) {
    throw new SyncError("config", `${connector.name} (${connector.kind}) cannot write ${entity} records`, {
      system: connector.name,
    });
  }
  return writer;
}
