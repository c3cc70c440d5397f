/**
 * OData V2 values as the S/4HANA APIs write them: Edm.DateTime as `/Date(ms)/` (midnight UTC for a date),
 * Edm.DateTimeOffset as `/Date(ms+0000)/`, Edm.Decimal as a string; `$filter` literals as V2 writes them.
 */

const DATE = /^\/Date\((-?\d+)([+-])?(\d{2})?(\d{2})?\)\/$/;

/** The instant of a `/Date(ms)/` or `/Date(ms+hhmm)/` value (the ms are UTC; the offset only says the zone). */
export function fromV2Date(v: unknown): string | null {
  if (typeof v !== "string") return null;
  const m = DATE.exec(v);
  if (!m) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : new Date(t).toISOString();
  }
  return new Date(Number(m[1])).toISOString();
}

/** An Edm.DateTime date value for a day (`2026-06-01` → `/Date(1780272000000)/`). */
export function toV2Date(isoDay: string): string {
  const ms = Date.parse(`${isoDay.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO date: ${JSON.stringify(isoDay)}`);
  return `/Date(${ms})/`;
}

/** A `$filter` string literal. */
export const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** A `$filter` Edm.DateTimeOffset literal, to the second. */
export function dateTimeOffsetLiteral(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) throw new RangeError(`not an ISO 8601 timestamp: ${JSON.stringify(iso)}`);
  return `datetimeoffset'${t.toISOString().slice(0, 19)}Z'`;
}

/** An Edm.Decimal value or `TotalNetAmount` as a number-free decimal string, or null. */
export function decimal(v: unknown): string | null {
  if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v)) return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return null;
}
