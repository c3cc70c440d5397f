/** Odoo stores datetimes as naive UTC strings with second precision: "2024-05-01 09:30:00". */

export function odooToIso(value: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})/.exec(value);
  if (!m) throw new RangeError(`not an Odoo datetime: ${JSON.stringify(value)}`);
  return `${m[1]}T${m[2]}Z`;
}

/** ISO 8601 (any offset) → Odoo UTC. Sub-second precision is floored, which only ever widens a `>=` filter. */
export function isoToOdoo(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 timestamp: ${JSON.stringify(iso)}`);
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** An Odoo date ("2024-05-01") as the start of that day, UTC. */
export function odooDateToIso(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new RangeError(`not an Odoo date: ${JSON.stringify(value)}`);
  return `${value}T00:00:00Z`;
}
