/**
 * Persistence used by the engine, the CLI and the runtime. One implementation (src/store) serves both
 * SQLite and PostgreSQL through Kysely. The runtime's own concerns each have a port of their own, which the
 * store hands out: the job queue (jobs.ts), leases (leases.ts), processed marks (marks.ts) and the webhook
 * inbox (inbox.ts), and the management API's tokens and audit log (access.ts).
 */
import type { KeyState } from "../core/merge.ts";
import type { EntityName } from "../core/model.ts";
import type { AccessStore } from "./access.ts";
import type { AlertStore } from "./alerts.ts";
import type { Cursor } from "./connector.ts";
import type { InboxOptions, WebhookInbox } from "./inbox.ts";
import type { JobTable } from "./jobs.ts";
import type { LeaseStore } from "./leases.ts";
import type { MarkStore } from "./marks.ts";

/** For one canonical record, its id in one system and what was last written there. */
export interface Link {
  entity: EntityName;
  key: string;
  /** Connection name. */
  system: string;
  externalId: string;
  /** Content hash of the canonical record last written to (or read from) this system. */
  lastHash: string | null;
  /** The source's updatedAt last seen for this record in this system. */
  version: string | null;
  updatedAt: string;
}

/**
 * `interrupted`: the run stopped before its end, because its process was asked to stop (SIGTERM, Ctrl-C) or
 * died; its pages committed so far stand and the next run resumes from its cursor.
 */
export type RunStatus = "running" | "succeeded" | "failed" | "partial" | "interrupted";

export interface RunCounts {
  read: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  calls: number;
}

export interface Run {
  id: number;
  flow: string;
  /** sync: a flow's run; plan: a dry run; retry: an operator's retry of failed records. */
  mode: "sync" | "plan" | "retry";
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  counts: RunCounts;
  error: string | null;
}

export type SyncEventKind =
  | "read"
  | "planned"
  | "created"
  | "updated"
  | "skipped"
  | "failed"
  | "held"
  | "retried"
  | "edited"
  | "resolved"
  | "intent"
  /** Two-way flows: a record removed (deleted or archived) on a side, and what the delete policy did. */
  | "removed"
  /** Two-way flows: an operator lifted a removed record's tombstone (`passerelle restore`). */
  | "restored";

/** One line of a record's lineage. */
export interface SyncEvent {
  id?: number;
  runId: number | null;
  flow: string;
  entity: EntityName;
  key: string;
  system: string;
  externalId: string | null;
  kind: SyncEventKind;
  message: string | null;
  /** Small structured detail (hash, action, error kind). Never secrets. */
  detail: Record<string, unknown> | null;
  at: string;
}

export type FailureStatus = "open" | "retrying" | "resolved" | "skipped";

export interface FailedRecord {
  id: number;
  flow: string;
  entity: EntityName;
  key: string;
  sourceSystem: string;
  sourceId: string;
  /** The native record as read from the source. */
  sourcePayload: unknown;
  /** The canonical record after mapping (null when mapping itself failed). */
  mappedPayload: unknown;
  errorKind: string;
  errorMessage: string;
  errorDetail: unknown;
  attempts: number;
  status: FailureStatus;
  reason: string | null;
  firstFailedAt: string;
  lastFailedAt: string;
}

export interface NewFailure {
  flow: string;
  entity: EntityName;
  key: string;
  sourceSystem: string;
  sourceId: string;
  sourcePayload: unknown;
  mappedPayload: unknown;
  errorKind: string;
  errorMessage: string;
  errorDetail: unknown;
}

/** A write about to happen; recorded before the call so a crash can be repaired by lookup. */
export interface Intent {
  id: number;
  flow: string;
  entity: EntityName;
  key: string;
  system: string;
  externalRef: string;
  createdAt: string;
}

/** Everything one page of a sync commits, atomically. */
export interface PageCommit {
  flow: string;
  runId: number;
  /** The cursor after this page; omitted when it should not move. */
  cursor?: Cursor;
  links: Omit<Link, "updatedAt">[];
  events: Omit<SyncEvent, "id" | "at" | "runId" | "flow">[];
  /** New or repeated failures: an open failure for the same (flow, key) is updated, attempts + 1. */
  failures: NewFailure[];
  /** Open failures for (flow, key) that this page wrote successfully: marked resolved. */
  resolvedKeys: string[];
  /** Intents this page completed (by id). */
  completedIntents: number[];
  /**
   * Records whose key changed in their source (a customer's new e-mail): every link of `from`, in every
   * system, moves to `to` before this page's links are written, so the target record is updated, not duplicated.
   */
  rekeys?: { entity: EntityName; from: string; to: string }[];
  /**
   * Links dropped before this page's links are written: a two-way record restored from its tombstone whose
   * record one side deleted (it is created there again, under a new id).
   */
  unlinks?: { entity: EntityName; key: string; system: string }[];
  counts: Partial<RunCounts>;
  /** Two-way flows: each side's cursor, stored under its own name (`<flow>:<connection>`). */
  cursors?: { name: string; cursor: Cursor }[];
  /** Two-way flows: the per-record merge state (base, held, per-side hashes) after this page's writes. */
  twoWayStates?: { entity: EntityName; key: string; state: KeyState }[];
}

export interface Store {
  /** Creates or upgrades the schema. Safe to call on every start. */
  migrate(): Promise<void>;
  /**
   * The shared rate governor: reserves the next request slot of budget `key` (one slot every `intervalMs`)
   * for every process using this store, and says how many milliseconds to wait before sending. Slots are
   * handed out in one atomic upsert, on the database's clock.
   */
  reserveRateSlot(key: string, intervalMs: number): Promise<number>;
  close(): Promise<void>;

  /**
   * The addresses `passerelle webhooks register` subscribed a connection's topics to, oldest first (all
   * connections' when none is named): the service subscribes them again where the vendor dropped one.
   */
  webhookAddresses(
    connection?: string,
  ): Promise<{ connection: string; address: string; registeredAt: string }[]>;
  /** Remembers (or refreshes) an address a connection's topics were subscribed to. */
  rememberWebhookAddress(connection: string, address: string): Promise<void>;
  /** Forgets one address of a connection, or all of them; answers how many were forgotten. */
  forgetWebhookAddresses(connection: string, address?: string): Promise<number>;

  getLinks(entity: EntityName, system: string, keys: string[]): Promise<Map<string, Link>>;
  findLinkByExternalId(entity: EntityName, system: string, externalId: string): Promise<Link | null>;
  /** Links of one system by external id (keyed by external id). */
  linksByExternalIds(entity: EntityName, system: string, externalIds: string[]): Promise<Map<string, Link>>;
  /** Every link of one canonical record, across systems. */
  linksForKey(entity: EntityName, key: string): Promise<Link[]>;

  getCursor(flow: string): Promise<Cursor | null>;
  /** Two-way flows: the merge state of these records (absent: never merged). */
  twoWayStates(flow: string, keys: string[]): Promise<Map<string, KeyState>>;
  /** Two-way flows: up to `limit` records' merge states in key order, after `afterKey` (null: from the first). */
  twoWayStatePage(
    flow: string,
    afterKey: string | null,
    limit: number,
  ): Promise<{ key: string; state: KeyState }[]>;
  resetCursor(flow: string): Promise<void>;

  startRun(flow: string, mode: Run["mode"]): Promise<Run>;
  finishRun(runId: number, status: RunStatus, error?: string | null): Promise<void>;
  lastRuns(flow?: string, limit?: number): Promise<Run[]>;
  /**
   * Marks `interrupted` (with `reason` as its error) every run of `flow` still `running` — dry runs aside,
   * and only those started before `startedBefore` when given — and returns them as they now are. Called by
   * whoever knows their process is gone: the flow's next lease holder, or `status` once the lease expired.
   */
  interruptRuns(flow: string, reason: string, opts?: { startedBefore?: string }): Promise<Run[]>;

  recordIntents(intents: Omit<Intent, "id" | "createdAt">[]): Promise<Intent[]>;
  /** Intents recorded but never completed (a crash happened between them and the page commit). */
  pendingIntents(flow: string): Promise<Intent[]>;

  /** Atomically: links, cursor, events, failures, resolved failures, completed intents, run counts. */
  commitPage(page: PageCommit): Promise<void>;
  /** Appends lineage events outside a page (CLI actions on failures, plan events). */
  appendEvents(events: Omit<SyncEvent, "id" | "at">[]): Promise<void>;

  listFailures(filter?: {
    flow?: string;
    status?: FailureStatus;
    errorKind?: string;
    limit?: number;
  }): Promise<FailedRecord[]>;
  getFailure(id: number): Promise<FailedRecord | null>;
  updateFailure(
    id: number,
    patch: { status?: FailureStatus; reason?: string | null; mappedPayload?: unknown },
  ): Promise<void>;

  /** Lineage of one record: every event whose key or external id matches, oldest first. */
  trace(entity: EntityName, keyOrExternalId: string): Promise<SyncEvent[]>;

  /** Durable jobs, for the job runtime (src/runtime/jobs.ts). */
  jobs(): JobTable;
  /** Named leases, for the lease protocol (src/runtime/leases.ts). */
  leases(): LeaseStore;
  /** Processed marks: reconciliation windows, schedules' last fires. */
  marks(opts?: { now?: () => Date }): MarkStore;
  /** Alert incidents, their notifications and API deprecation notices (src/alerts/). */
  alerts(): AlertStore;
  /** A webhook inbox on this store; close it (commits what is queued) before the store. */
  openInbox(opts?: InboxOptions): WebhookInbox;
  /** The management API's tokens, audit log, call counts and run pages (ports/access.ts). */
  access(): AccessStore;
}
