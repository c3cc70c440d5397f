/**
 * Named leases in the store: at most one holder per name until the lease expires. Every change is one
 * conditional statement, so two processes racing for a lease never both win. Times are ISO 8601 UTC.
 * src/runtime/leases.ts builds the lease protocol (renewal, take-over of a dead holder) on these.
 */
export interface LeaseStore {
  /** Takes `name` when it is free or expired at `now`; true when `holder` holds it until `expiresAt`. */
  acquireLease(name: string, holder: string, now: string, expiresAt: string): Promise<boolean>;
  /** Takes `name` from `from` (a holder known to be gone), whether or not its lease expired. */
  takeOverLease(name: string, from: string, holder: string, now: string, expiresAt: string): Promise<boolean>;
  /** Extends a lease `holder` still holds; false when it was lost. */
  renewLease(name: string, holder: string, expiresAt: string): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  /** Who holds `name` at `now` (null: nobody, or expired). */
  leaseHolder(name: string, now: string): Promise<string | null>;
}
