/**
 * The durable webhook inbox: what the server stores verified deliveries in and what the event runtime
 * drains. A delivery is acknowledged only once `add` resolved (its events are committed); events are unique
 * per (connection, dedupe key), so a redelivery is acknowledged and dropped. Implemented by the SQL store
 * (src/store/inbox/); the store opens it (`Store.openInbox`).
 */
import type { EntityName } from "../core/model.ts";
import type { InboundEvent } from "./connector.ts";

/** `failed`: given up after too many passes that could not sync its record (the note says why). */
export type InboxStatus = "pending" | "processed" | "ignored" | "failed";

/** An InboundEvent as the inbox holds it. */
export interface StoredEvent extends InboundEvent {
  id: number;
  connection: string;
  receivedAt: string;
  status: InboxStatus;
  note: string | null;
  attempts: number;
  retryAt: string | null;
}

export interface AddResult {
  stored: number;
  duplicates: number;
}

export interface InboxOptions {
  /**
   * How long the first delivery reaching an idle inbox waits for others to share its commit. Default 2 ms;
   * under load groups form while the previous commit runs, without waiting.
   */
  windowMs?: number;
  /** A batch this large commits at once (default 500 events). */
  maxBatch?: number;
  /**
   * SQLite: "full" commits inbox batches durably (an acknowledged delivery survives a power cut); "normal"
   * keeps the store's WAL setting (survives a process crash, not an OS crash). Default full.
   */
  durability?: "full" | "normal";
  /**
   * SQLite: commit inbox batches on a thread of their own, with its own connection: nothing of a commit
   * (write, fsync, checkpoint) runs on the event loop. The long-running server uses it; default off.
   * Without a file (":memory:") it stays off.
   */
  writerThread?: boolean;
  now?: () => Date;
}

export interface WebhookInbox {
  /** Transactions committed by add() so far, and the events they held (for the benchmark and tests). */
  readonly commits: { transactions: number; events: number };
  /** Stores one delivery's events; resolves once they are committed (duplicates counted, not stored). */
  add(connection: string, events: InboundEvent[]): Promise<AddResult>;
  /** Waits for every add() made so far to be committed. */
  drain(): Promise<void>;
  /** Commits what is queued and stops the writer thread, if any. */
  close(): Promise<void>;
  /** A group's pending events that are due (oldest first). */
  pending(connection: string, entity: EntityName | null, limit?: number): Promise<StoredEvent[]>;
  /** Groups with pending events that are due. */
  pendingGroups(): Promise<{ connection: string; entity: EntityName | null }[]>;
  settle(ids: number[], status: Exclude<InboxStatus, "pending">, note?: string | null): Promise<void>;
  /**
   * Leaves events pending until `retryAt`, one more attempt counted; those reaching `maxAttempts` are
   * marked failed instead. Returns how many were marked failed.
   */
  retryLater(ids: number[], note: string, retryAt: string, maxAttempts: number): Promise<number>;
  /** Events of a group received since `since` (ISO), whatever their status. */
  receivedSince(connection: string, entity: EntityName, since: string): Promise<number>;
  byKey(connection: string, dedupeKey: string): Promise<StoredEvent | null>;
  list(filter?: { connection?: string; status?: InboxStatus }): Promise<StoredEvent[]>;
  count(filter?: { connection?: string; status?: InboxStatus }): Promise<number>;
}
