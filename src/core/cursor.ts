/**
 * The composite (updatedAt, id) cursor. Vendors filter on updatedAt inclusively (`>=`), so records sharing
 * the cursor's timestamp come back again; the engine drops exactly those at or before the cursor. That
 * needs one total order shared by every stream and the engine: updatedAt as an instant, then ids in
 * natural order ("9" before "10", "gid://shopify/Order/9" before "gid://shopify/Order/10").
 */
/** Position in a sorted stream: everything at or before (updatedAt, id) has been read. */
export interface Cursor {
  updatedAt: string;
  id: string;
}

const TRAILING_NUMBER = /^(.*?)(\d+)$/;

export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  const ma = TRAILING_NUMBER.exec(a);
  const mb = TRAILING_NUMBER.exec(b);
  if (ma && mb && ma[1] === mb[1]) {
    const na = BigInt(ma[2] as string);
    const nb = BigInt(mb[2] as string);
    return na < nb ? -1 : na > nb ? 1 : 0;
  }
  return a < b ? -1 : 1;
}

function instant(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 timestamp: ${JSON.stringify(iso)}`);
  return ms;
}

export function compareCursors(a: Cursor, b: Cursor): number {
  const d = instant(a.updatedAt) - instant(b.updatedAt);
  if (d !== 0) return d < 0 ? -1 : 1;
  return compareIds(a.id, b.id);
}

/** Whether timestamp `a` is strictly earlier than `b`, as instants (offsets and precision differ between systems). */
export function isBefore(a: string, b: string): boolean {
  return instant(a) < instant(b);
}
