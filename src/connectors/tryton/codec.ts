/**
 * Tryton's typed JSON values. Decimal, date, datetime and bytes travel as objects tagged with
 * `__class__`; everything else is plain JSON. Datetimes are naive UTC with microseconds.
 */
import Big from "big.js";

export interface TrytonDecimal {
  __class__: "Decimal";
  decimal: string;
}
export interface TrytonDate {
  __class__: "date";
  year: number;
  month: number;
  day: number;
}
export interface TrytonDateTime {
  __class__: "datetime";
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  microsecond: number;
}
export interface TrytonBytes {
  __class__: "bytes";
  base64: string;
}

type Tagged = { __class__: string } & Record<string, unknown>;

function isTagged(v: unknown, cls: string): v is Tagged {
  return typeof v === "object" && v !== null && (v as Tagged).__class__ === cls;
}

/** A decimal string as Tryton wants it. Refuses anything that is not a plain decimal. */
export function decimal(value: string | number): TrytonDecimal {
  const text = typeof value === "number" ? String(value) : value;
  if (!/^-?\d+(\.\d+)?$/.test(text)) throw new RangeError(`not a decimal number: ${JSON.stringify(value)}`);
  return { __class__: "Decimal", decimal: text };
}

export function dateValue(iso: string): TrytonDate {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) throw new RangeError(`not an ISO date: ${JSON.stringify(iso)}`);
  return { __class__: "date", year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
}

/** An instant as a Tryton datetime (UTC). Sub-millisecond digits are zero, which only widens a `>=` filter. */
export function dateTimeValue(iso: string): TrytonDateTime {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 timestamp: ${JSON.stringify(iso)}`);
  const d = new Date(ms);
  return {
    __class__: "datetime",
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    microsecond: d.getUTCMilliseconds() * 1000,
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/**
 * A Tryton datetime as ISO 8601 UTC with millisecond precision (microseconds are truncated, so the
 * instant never moves later than the stored one). Undefined when the value is not a datetime.
 */
export function isoOf(v: unknown): string | undefined {
  if (!isTagged(v, "datetime")) return undefined;
  const n = (k: string) => (typeof v[k] === "number" ? (v[k] as number) : 0);
  return `${pad(n("year"), 4)}-${pad(n("month"))}-${pad(n("day"))}T${pad(n("hour"))}:${pad(n("minute"))}:${pad(n("second"))}.${pad(Math.floor(n("microsecond") / 1000), 3)}Z`;
}

/** A Tryton date as "YYYY-MM-DD". */
export function isoDateOf(v: unknown): string | undefined {
  if (!isTagged(v, "date")) return undefined;
  const n = (k: string) => (typeof v[k] === "number" ? (v[k] as number) : 0);
  return `${pad(n("year"), 4)}-${pad(n("month"))}-${pad(n("day"))}`;
}

/** A Tryton Decimal (or a plain number) as a Big; undefined when absent. */
export function bigOf(v: unknown): Big | undefined {
  if (isTagged(v, "Decimal") && typeof v.decimal === "string") return new Big(v.decimal);
  if (typeof v === "number" && Number.isFinite(v)) return new Big(v);
  return undefined;
}

/** An amount as a canonical decimal string: at least `min` and at most `max` decimals, no trailing zeros beyond `min`. */
export function amount(v: unknown, min = 2, max = 4): string | undefined {
  const b = bigOf(v);
  if (!b) return undefined;
  let text = b.round(max, Big.roundHalfUp).toFixed(max);
  const dot = text.indexOf(".");
  while (text.length - dot - 1 > min && text.endsWith("0")) text = text.slice(0, -1);
  if (text.endsWith(".")) text = text.slice(0, -1);
  return text === "-0" || /^-0\.0*$/.test(text) ? text.slice(1) : text;
}

export function bytesOf(v: unknown): Uint8Array | undefined {
  if (isTagged(v, "bytes") && typeof v.base64 === "string")
    return new Uint8Array(Buffer.from(v.base64, "base64"));
  if (typeof v === "string") return new Uint8Array(Buffer.from(v, "utf8"));
  return undefined;
}

/** The latest of several Tryton datetimes (null ones skipped), as ISO. */
export function latest(...values: unknown[]): string | undefined {
  let best: string | undefined;
  let bestMs = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    const iso = isoOf(v);
    if (!iso) continue;
    const ms = Date.parse(iso);
    if (ms > bestMs) {
      bestMs = ms;
      best = iso;
    }
  }
  return best;
}

/** A row's last change: Tryton leaves write_date empty until the first write, so create_date stands in. */
export function changedAt(row: Record<string, unknown>): string | undefined {
  return latest(row.write_date, row.create_date);
}

/** The latest of several ISO timestamps (undefined ones skipped). */
export function maxIso(...values: (string | undefined)[]): string | undefined {
  let best: string | undefined;
  for (const v of values)
    if (v !== undefined && (best === undefined || Date.parse(v) > Date.parse(best))) best = v;
  return best;
}
