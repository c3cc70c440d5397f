/**
 * The subset of Shopify's search syntax the connector uses: `field:value`, `field:>=value` (also >, <=, <),
 * values optionally quoted, terms joined by AND (explicit or implicit) and OR (lower precedence).
 * Dates compare as instants; other values compare case-insensitively, like Shopify's exact-match filters.
 */

type Op = ":" | ">=" | "<=" | ">" | "<";
interface Term {
  field: string;
  op: Op;
  value: string;
}

/** Field name → the record's value(s) for it; undefined when the entity has no such filter. */
export type FieldGetter<T> = (rec: T, field: string) => string | readonly string[] | null | undefined;

const DATE_FIELDS = new Set(["updated_at", "created_at", "processed_at"]);

function tokenize(q: string): string[] {
  const out: string[] = [];
  const re = /\s*((?:[^\s'"]+(?:'[^']*'|"[^"]*")?)+|'[^']*'|"[^"]*")/g;
  for (const m of q.matchAll(re)) if (m[1]) out.push(m[1]);
  return out;
}

function unquote(v: string): string {
  return v.replace(/^(['"])(.*)\1$/, "$2");
}

function parseTerm(token: string): Term | null {
  const m = /^([a-z_]+):(>=|<=|>|<)?(.*)$/i.exec(token);
  if (!m) return null;
  return {
    field: (m[1] ?? "").toLowerCase(),
    op: (m[2] as Op | undefined) ?? ":",
    value: unquote(m[3] ?? ""),
  };
}

/** Parsed query: OR of ANDs. Bare words (free text) are ignored by this emulator. */
export function parseSearch(q: string | null | undefined): Term[][] {
  if (q === null || q === undefined || q.trim() === "") return [];
  const groups: Term[][] = [[]];
  for (const tok of tokenize(q)) {
    if (tok === "OR") groups.push([]);
    else if (tok === "AND") continue;
    else {
      const t = parseTerm(tok);
      if (t) groups[groups.length - 1]?.push(t);
    }
  }
  return groups.filter((g) => g.length > 0);
}

function compare(a: string, b: string, date: boolean): number {
  if (date) {
    const x = Date.parse(a);
    const y = Date.parse(b);
    return x === y ? 0 : x < y ? -1 : 1;
  }
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x === y ? 0 : x < y ? -1 : 1;
}

function holds(actual: string, t: Term): boolean {
  const c = compare(actual, t.value, DATE_FIELDS.has(t.field));
  switch (t.op) {
    case ":":
      return c === 0;
    case ">=":
      return c >= 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    case "<":
      return c < 0;
  }
}

export function matches<T>(rec: T, query: Term[][], get: FieldGetter<T>): boolean {
  if (query.length === 0) return true;
  return query.some((group) =>
    group.every((t) => {
      const v = get(rec, t.field);
      // Shopify ignores filters it does not know (with a search warning); so does the emulator.
      if (v === undefined) return true;
      if (v === null) return false;
      const values = typeof v === "string" ? [v] : v;
      return values.some((x) => holds(x, t));
    }),
  );
}

export function invalidDate(query: Term[][]): string | null {
  for (const g of query)
    for (const t of g)
      if (DATE_FIELDS.has(t.field) && Number.isNaN(Date.parse(t.value))) return `${t.field}:${t.value}`;
  return null;
}
