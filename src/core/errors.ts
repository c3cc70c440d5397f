/**
 * The error taxonomy. What a runner does with a failure is decided from its kind alone:
 * - retryable: network faults, timeouts, 5xx. Back off and try again.
 * - rate_limited: the vendor said slow down. Wait `retryAfterMs`, then try again.
 * - permanent: the vendor understood and refused (semantic 4xx). Goes to the failed-records inbox.
 * - data: the record cannot be mapped or validated. Goes to the inbox; retrying unchanged won't help.
 * - config: wrong credentials, unknown connection, invalid configuration. Stops the flow.
 */
export const ERROR_KINDS = ["retryable", "rate_limited", "permanent", "data", "config"] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface SyncErrorDetails {
  /** HTTP status, when the failure came from an HTTP answer. */
  status?: number;
  /** How long the vendor asked us to wait. */
  retryAfterMs?: number;
  /** The vendor's error body, secrets already redacted. */
  vendorBody?: unknown;
  /** Which system the error came from (connection name). */
  system?: string;
  /** Field path in the record, for data errors. */
  field?: string;
  cause?: unknown;
}

export class SyncError extends Error {
  override readonly name = "SyncError";
  readonly kind: ErrorKind;
  readonly details: SyncErrorDetails;

  constructor(kind: ErrorKind, message: string, details: SyncErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.details = details;
  }

  get retryable(): boolean {
    return this.kind === "retryable" || this.kind === "rate_limited";
  }

  toJSON(): { kind: ErrorKind; message: string } & Omit<SyncErrorDetails, "cause"> {
    const { cause: _cause, ...rest } = this.details;
    return { kind: this.kind, message: this.message, ...rest };
  }
}

/** Classifies an HTTP status the way every connector should. */
export function kindForStatus(status: number): ErrorKind {
  if (status === 429) return "rate_limited";
  if (status === 401 || status === 403) return "config";
  if (status === 408 || status >= 500) return "retryable";
  return "permanent";
}

/** Wraps anything thrown into a SyncError; unknown errors are treated as retryable faults. */
export function asSyncError(err: unknown, system?: string): SyncError {
  if (err instanceof SyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SyncError("retryable", message, { system, cause: err });
}

export interface ConfigIssue {
  /** Full config path of the bad value, e.g. `flows.orders.mapping.price`. */
  path: string;
  message: string;
}

/**
 * Invalid configuration, with every problem found (not just the first). Lives in core because mappings
 * are compiled here; src/config/errors.ts re-exports it.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[], heading = "invalid configuration") {
    super([`${heading}:`, ...issues.map((i) => `  ${i.path}: ${i.message}`)].join("\n"));
    this.issues = issues;
  }
}
