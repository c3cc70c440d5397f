/**
 * The store's side of alerting (src/alerts/): incidents, the notifications sent about them, and the API
 * deprecation notices connections saw. Handed out by the store (`store.alerts()`), like jobs and leases.
 *
 * An incident is one firing of one rule about one subject (a flow, an order key, a connection's call site).
 * At most one incident per (rule, subject) is open at a time — the database holds that (a unique index), so
 * two processes evaluating at once open it once. A notification (fire or recovery, per channel) is claimed
 * before it is sent; the claim is a row only one process can insert, so an incident is announced once.
 */

export type IncidentStatus = "open" | "closed";

export interface Incident {
  id: number;
  rule: string;
  subject: string;
  status: IncidentStatus;
  /** One line: what is wrong, with the figures (no secrets). */
  summary: string;
  openedAt: string;
  closedAt: string | null;
}

export type NotificationKind = "fire" | "recovery";

/** A firing seen by one evaluation. */
export interface Firing {
  rule: string;
  subject: string;
  summary: string;
}

export interface Deprecation {
  /** Connection name. */
  connection: string;
  /** Where the calls were made: an operation name (GraphQL) or method and path. */
  site: string;
  /** What the vendor said (the header's value, or the deprecation notice). */
  reason: string;
  /** The end of support the vendor announced (Sunset header), ISO 8601; null when it named none. */
  sunset: string | null;
  count: number;
  firstSeen: string;
  lastSeen: string;
}

export interface AlertStore {
  /** Incidents currently open. */
  openIncidents(): Promise<Incident[]>;
  /** Opens an incident for (rule, subject) unless one is open; the new incident, or null when one was. */
  openIncident(firing: Firing, at: string): Promise<Incident | null>;
  /** Updates an open incident's summary (the figures moved); no notification. */
  updateSummary(id: number, summary: string): Promise<void>;
  /** Closes an open incident; false when it was already closed (another process did). */
  closeIncident(id: number, at: string): Promise<boolean>;
  /**
   * Incidents with a notification still owed on `channel`: open ones never announced there (`fire`), and
   * closed ones announced there whose recovery was not sent (`recovery`).
   */
  owed(
    channel: string,
    kinds: readonly NotificationKind[],
  ): Promise<{ incident: Incident; kind: NotificationKind }[]>;
  /**
   * Claims the right to send one notification: true for exactly one caller until it is marked failed or the
   * claim is older than `staleBefore` (its process died while sending).
   */
  claim(
    incidentId: number,
    channel: string,
    kind: NotificationKind,
    at: string,
    staleBefore: string,
  ): Promise<boolean>;
  markSent(incidentId: number, channel: string, kind: NotificationKind, at: string): Promise<void>;
  /** Gives the claim back (the next evaluation tries again), with the error (never a secret). */
  markFailed(incidentId: number, channel: string, kind: NotificationKind, error: string): Promise<void>;
  /** Notifications sent and owed, for status pages and tests. */
  notifications(
    incidentId: number,
  ): Promise<
    { channel: string; kind: NotificationKind; status: string; attempts: number; lastError: string | null }[]
  >;
  /** Every incident (open and closed), newest first. */
  incidents(limit?: number): Promise<Incident[]>;

  /** Adds deprecation notices seen (counts add up per connection, site and reason). */
  recordDeprecations(seen: Omit<Deprecation, "firstSeen" | "lastSeen">[], at: string): Promise<void>;
  deprecations(connection?: string): Promise<Deprecation[]>;

  // ---- What the rules read -----------------------------------------------------------------------------
  /** Records attempted (created, updated or failed events) and failures still open, last failed in the window. */
  failureCounts(flow: string, since: string): Promise<{ attempted: number; failed: number }>;
  /** When the flow last finished a run that succeeded or was partial (sync or retry); null: never. */
  lastFinishedRun(flow: string): Promise<string | null>;
  /**
   * Records of `flow` read from its source since `since`, with the last event the flow recorded for each:
   * `placedAt`/`updatedAt` from the first read event's detail.
   */
  readRecords(
    flow: string,
    since: string,
  ): Promise<
    {
      key: string;
      firstReadAt: string;
      placedAt: string | null;
      updatedAt: string | null;
      lastKind: string;
    }[]
  >;
}
