/**
 * B1 keeps a record's last change as two fields: UpdateDate (the day; Service Layer v2 writes it as an
 * Edm.DateTimeOffset at midnight) and UpdateTime (Edm.TimeOfDay, to the second). A cursor is their sum. An
 * incremental read from a cursor must take every record changed at or after that second, so it compares the
 * day and the time together: a later day, or the same day at or after the time. Comparing the day alone
 * with `gt` misses the rest of the cursor's day; comparing it with `ge` alone reads the whole day again on
 * every run; comparing UpdateTime alone crosses days. A record B1 stamped without a time (UpdateTime null,
 * as rows written before time stamps existed) counts as midnight of its day.
 *
 * B1 stamps in the server's local time and says nothing of its zone; these are read as UTC (docs say how to
 * read that).
 */

/** The ISO instant of a B1 record's UpdateDate + UpdateTime. */
export function b1UpdatedAt(row: { UpdateDate?: unknown; UpdateTime?: unknown }): string {
  const day = typeof row.UpdateDate === "string" ? row.UpdateDate.slice(0, 10) : "1970-01-01";
  const time = typeof row.UpdateTime === "string" && row.UpdateTime !== "" ? row.UpdateTime : "00:00:00";
  return `${day}T${time.length === 5 ? `${time}:00` : time.slice(0, 8)}Z`;
}

/** `$filter` of the records changed at or after an ISO instant (to the second), per the rule above. */
export function changedSince(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) throw new RangeError(`not an ISO 8601 timestamp: ${JSON.stringify(iso)}`);
  const s = at.toISOString();
  const day = `${s.slice(0, 10)}T00:00:00Z`;
  const time = s.slice(11, 19);
  return `(UpdateDate gt ${day} or (UpdateDate eq ${day} and (UpdateTime ge ${time} or UpdateTime eq null)))`;
}

/** The order that matches the cursor: day, time, then the key. */
export const updatedOrder = (key: string) => `UpdateDate,UpdateTime,${key}`;

/** A string literal for `$filter`. */
export const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
