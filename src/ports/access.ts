/**
 * What the management API keeps in the store beside the sync state: its bearer tokens (only their hashes),
 * the audit log of operators' and admins' actions, the API calls each flow made per connection and day
 * (cost against the vendors' budgets), and the run history as the API pages through it.
 */
import type { Run, SyncEvent } from "./store.ts";

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export interface ApiToken {
  id: number;
  name: string;
  role: Role;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  /** The token's id and name (never the token); null for the loopback bypass or the CLI. */
  tokenId: number | null;
  actor: string;
  role: Role | null;
  /** e.g. `failures.retry`, `flows.run`, `tokens.create`. */
  action: string;
  /** What it acted on, e.g. `failure 12`, `flow shopify-orders`. */
  target: string;
  /** `ok`, or `refused: …` / `failed: …` with the one-line reason. */
  outcome: string;
}

/** API calls one flow made to one connection on one UTC day. */
export interface CallCount {
  day: string;
  connection: string;
  flow: string;
  calls: number;
}

export interface AccessStore {
  /** Stores a token by its hash (the raw token is never stored). */
  createToken(t: { name: string; role: Role; hash: string }): Promise<ApiToken>;
  /** The live (not revoked) token with this hash. */
  tokenByHash(hash: string): Promise<ApiToken | null>;
  listTokens(): Promise<ApiToken[]>;
  /** Revokes by id or name; returns the tokens revoked (none when nothing matched or already revoked). */
  revokeToken(idOrName: string): Promise<ApiToken[]>;
  touchToken(id: number): Promise<void>;

  audit(entry: Omit<AuditEntry, "id" | "at">): Promise<AuditEntry>;
  listAudit(opts: { limit: number; before?: number }): Promise<AuditEntry[]>;

  /** Adds calls to the (day, connection, flow) counters. */
  addCalls(counts: Omit<CallCount, "day">[], day: string): Promise<void>;
  /** Call counts from `sinceDay` (YYYY-MM-DD) on, for one connection or all. */
  calls(opts: { sinceDay: string; connection?: string }): Promise<CallCount[]>;

  /** Runs newest first, `before` an id for the next page. */
  listRuns(opts: { flow?: string; limit: number; before?: number }): Promise<Run[]>;
  getRun(id: number): Promise<Run | null>;
  /**
   * Canonical keys of `entity` that are `<system prefix>:<number>` for this number (an order name such as
   * `#1001` names the key `shopify:#1001`), for traces asked by a number rather than a key or an id.
   */
  keysNumbered(entity: string, numberOrName: string): Promise<string[]>;
  /** Jobs queued (not yet running) per queue. */
  queueDepth(): Promise<Map<string, number>>;
  /** The lineage events a run wrote, oldest first. */
  runEvents(runId: number, limit: number): Promise<SyncEvent[]>;
  /**
   * What a flow's lag is computed from (runtime/lag.ts): the start of its latest sync run that read
   * everything available (ended `succeeded` or `partial` with no note — a run stopped by `maxPages` carries
   * one), and the start of its first sync run (null: never run).
   */
  lagBasis(flow: string): Promise<{ caughtUpAt: string | null; firstStartedAt: string | null }>;
  /** When the oldest webhook event still pending for these (connection, entity) groups was received. */
  oldestPendingEvent(groups: { connection: string; entity: string }[]): Promise<string | null>;
}
