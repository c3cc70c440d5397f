/** Rows of the webhook inbox table: the one-row insert the SQLite paths share, and reading a row back. */
import type { Insertable, Selectable } from "kysely";
import type { EntityName } from "../../core/model.ts";
import type { StoredEvent } from "../../ports/inbox.ts";
import type { WebhookInboxTable } from "../schema.ts";

export const SQLITE_INSERT = `insert into webhook_inbox
  (connection, dedupe_key, topic, entity, record_id, occurred_at, payload, received_at, status)
  values (?, ?, ?, ?, ?, ?, ?, ?, 'pending')
  on conflict (connection, dedupe_key) do nothing
  returning id`;

/** A row's values in the order of SQLITE_INSERT's placeholders. */
export function insertParams(r: Insertable<WebhookInboxTable>): unknown[] {
  return [
    r.connection,
    r.dedupe_key,
    r.topic,
    r.entity,
    r.record_id,
    r.occurred_at,
    r.payload,
    r.received_at,
  ];
}

export function fromRow(r: Omit<Selectable<WebhookInboxTable>, "processed_at">): StoredEvent {
  let payload: unknown = null;
  try {
    payload = JSON.parse(r.payload);
  } catch {
    payload = r.payload;
  }
  return {
    id: Number(r.id),
    connection: r.connection,
    dedupeKey: r.dedupe_key,
    topic: r.topic,
    entity: r.entity as EntityName | null,
    recordId: r.record_id,
    occurredAt: r.occurred_at,
    payload,
    receivedAt: r.received_at,
    status: r.status,
    note: r.note,
    attempts: Number(r.attempts),
    retryAt: r.retry_at,
  };
}
