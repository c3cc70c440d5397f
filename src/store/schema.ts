/**
 * Table types for Kysely. Column names are snake_case as stored; JSON columns hold TEXT and timestamps
 * hold ISO 8601 strings on both dialects, so one code path reads and writes both.
 */
import type { Generated, Insertable, Selectable } from "kysely";
import type { EntityName } from "../core/model.ts";
import type { FailureStatus, RunStatus, SyncEventKind } from "../ports/store.ts";

export interface LinksTable {
  entity: EntityName;
  key: string;
  system: string;
  external_id: string;
  last_hash: string | null;
  version: string | null;
  updated_at: string;
}

export interface CursorsTable {
  flow: string;
  updated_at_cursor: string;
  id_cursor: string;
  committed_at: string;
}

export interface RunsTable {
  id: Generated<number>;
  flow: string;
  mode: "sync" | "plan" | "retry";
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  read: Generated<number>;
  created: Generated<number>;
  updated: Generated<number>;
  skipped: Generated<number>;
  failed: Generated<number>;
  calls: Generated<number>;
  error: string | null;
}

export interface SyncEventsTable {
  id: Generated<number>;
  run_id: number | null;
  flow: string;
  entity: EntityName;
  key: string;
  system: string;
  external_id: string | null;
  kind: SyncEventKind;
  message: string | null;
  /** JSON text. */
  detail: string | null;
  at: string;
}

export interface FailedRecordsTable {
  id: Generated<number>;
  flow: string;
  entity: EntityName;
  key: string;
  source_system: string;
  source_id: string;
  /** JSON text. */
  source_payload: string | null;
  /** JSON text. */
  mapped_payload: string | null;
  error_kind: string;
  error_message: string;
  /** JSON text. */
  error_detail: string | null;
  attempts: number;
  status: FailureStatus;
  reason: string | null;
  first_failed_at: string;
  last_failed_at: string;
}

export interface IntentsTable {
  id: Generated<number>;
  flow: string;
  entity: EntityName;
  key: string;
  system: string;
  external_ref: string;
  created_at: string;
  completed_at: string | null;
}

/** Durable jobs for the embedded runtime (store/jobs.ts). */
export interface JobsTable {
  id: Generated<number>;
  queue: string;
  /** JSON text. */
  payload: string;
  status: string;
  run_at: string;
  locked_by: string | null;
  locked_until: string | null;
  attempts: Generated<number>;
  last_error: string | null;
  created_at: string;
  /** At most one queued or running job per key (migration 0002). */
  singleton_key: string | null;
}

/** The shared rate governor's next free slot per budget (migration 0008). */
export interface RateGovernorTable {
  key: string;
  next_ms: number;
}

/** Addresses `passerelle webhooks register` subscribed, per connection (migration 0012). */
export interface WebhookAddressesTable {
  connection: string;
  address: string;
  registered_at: string;
}

/** Named leases (migration 0002; store/jobs.ts). */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: string;
  acquired_at: string;
}

/** The durable webhook inbox (migration 0003; store/inbox/). */
export interface WebhookInboxTable {
  id: Generated<number>;
  connection: string;
  dedupe_key: string;
  topic: string;
  entity: string | null;
  record_id: string | null;
  occurred_at: string | null;
  payload: string;
  received_at: string;
  status: "pending" | "processed" | "ignored" | "failed";
  processed_at: string | null;
  note: string | null;
  /** Passes that failed to sync the event's record (migration 0004). */
  attempts: Generated<number>;
  /** Not tried again before this time (ISO), after a failed pass. */
  retry_at: string | null;
}

/** Processed marks (migration 0003; store/inbox/marks.ts). */
export interface SyncMarksTable {
  name: string;
  mark: string;
  updated_at: string;
}

/** Per-record state of two-way flows (migration 0005). */
export interface TwoWayStateTable {
  flow: string;
  entity: EntityName;
  key: string;
  /** JSON text: core/merge.ts KeyState. */
  state: string;
  updated_at: string;
}

/** Alerting (migration 0007; store/alerts.ts). */
export interface AlertIncidentsTable {
  id: Generated<number>;
  rule: string;
  subject: string;
  status: "open" | "closed";
  summary: string;
  opened_at: string;
  closed_at: string | null;
}

export interface AlertNotificationsTable {
  incident_id: number;
  channel: string;
  kind: "fire" | "recovery";
  status: "sending" | "sent" | "failed";
  attempts: Generated<number>;
  claimed_at: string;
  sent_at: string | null;
  last_error: string | null;
}

export interface ApiDeprecationsTable {
  connection: string;
  site: string;
  reason: string;
  sunset: string | null;
  count: number;
  first_seen: string;
  last_seen: string;
}

/** Management API bearer tokens, by hash (migration 0006; store/access.ts). */
export interface ApiTokensTable {
  id: Generated<number>;
  name: string;
  role: "viewer" | "operator" | "admin";
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** Operators' and admins' actions through the API (migration 0006). */
export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  token_id: number | null;
  actor: string;
  role: string | null;
  action: string;
  target: string;
  outcome: string;
}

/** API calls per UTC day, connection and flow (migration 0006). */
export interface ApiCallsTable {
  day: string;
  connection: string;
  flow: string;
  calls: number;
}

export interface Database {
  links: LinksTable;
  cursors: CursorsTable;
  runs: RunsTable;
  sync_events: SyncEventsTable;
  failed_records: FailedRecordsTable;
  intents: IntentsTable;
  jobs: JobsTable;
  leases: LeasesTable;
  rate_governor: RateGovernorTable;
  webhook_addresses: WebhookAddressesTable;
  webhook_inbox: WebhookInboxTable;
  sync_marks: SyncMarksTable;
  two_way_state: TwoWayStateTable;
  alert_incidents: AlertIncidentsTable;
  alert_notifications: AlertNotificationsTable;
  api_deprecations: ApiDeprecationsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  api_calls: ApiCallsTable;
}

export type LinkRow = Selectable<LinksTable>;
export type RunRow = Selectable<RunsTable>;
export type SyncEventRow = Selectable<SyncEventsTable>;
export type NewSyncEventRow = Insertable<SyncEventsTable>;
export type FailedRecordRow = Selectable<FailedRecordsTable>;
export type IntentRow = Selectable<IntentsTable>;

/** The two databases the store runs on; only DDL (identity columns) differs between them. */
export type DialectName = "sqlite" | "postgres";
