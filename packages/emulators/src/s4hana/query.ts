/**
 * OData V2 system query options as the S/4HANA services take them, checked against the entity type:
 * `$filter` (comparisons eq ne gt ge lt le, `and`, `or`, `not`, parentheses; literals 'text', numbers, 12.5M,
 * true/false, null, datetime'…', datetimeoffset'…'), `$orderby` (field asc|desc), `$select` and `$expand`
 * (navigation paths a/b). Every field named must be a property of the type (filterable, or sortable for
 * $orderby) or, in $select and $expand, a navigation property.
 */
import type { V2EntityType, V2Property, V2Service } from "./metadata.ts";

export class QueryError extends Error {}

export type Row = Record<string, unknown>;

type Node =
  | { op: "and" | "or"; a: Node; b: Node }
  | { op: "not"; a: Node }
  | { op: "cmp"; cmp: string; prop: V2Property; value: unknown };

const DATE = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;

/** A comparable form of a stored V2 JSON value: dates and decimals as numbers. */
export function comparable(type: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if ((type === "Edm.DateTime" || type === "Edm.DateTimeOffset") && typeof v === "string") {
    const m = DATE.exec(v);
    return m ? Number(m[1]) : v;
  }
  if ((type === "Edm.Decimal" || type === "Edm.Double") && typeof v === "string") return Number(v);
  return v;
}

export function compare(type: string, a: unknown, b: unknown): number {
  const x = comparable(type, a);
  const y = comparable(type, b);
  if (x === y) return 0;
  if (x === null) return -1;
  if (y === null) return 1;
  return (x as number) < (y as number) ? -1 : 1;
}

function tokenize(text: string): string[] {
  const out: string[] = [];
  const re =
    /\s*(datetimeoffset'[^']*'|datetime'[^']*'|guid'[^']*'|'(?:[^']|'')*'|\(|\)|-?\d+(?:\.\d+)?[MmDdLl]?|[A-Za-z_][A-Za-z0-9_/]*)/y;
  let i = 0;
  while (i < text.length) {
    if (/^\s*$/.test(text.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) throw new QueryError(`$filter: cannot read ${JSON.stringify(text.slice(i, i + 20))}`);
    out.push(m[1] as string);
    i = re.lastIndex;
  }
  return out;
}

function literal(tok: string, prop: V2Property): unknown {
  if (tok === "null") return null;
  if (tok === "true" || tok === "false") {
    if (prop.type !== "Edm.Boolean") throw new QueryError(`${prop.name} is ${prop.type}, compared to ${tok}`);
    return tok === "true";
  }
  const dt = /^(datetime|datetimeoffset)'([^']*)'$/.exec(tok);
  if (dt) {
    const [, kind, iso] = dt as unknown as [string, string, string];
    const want =
      prop.type === "Edm.DateTime"
        ? "datetime"
        : prop.type === "Edm.DateTimeOffset"
          ? "datetimeoffset"
          : null;
    if (kind !== want) throw new QueryError(`${prop.name} is ${prop.type}: ${kind}'…' is the wrong literal`);
    const ms = Date.parse(kind === "datetime" && !/Z|[+-]\d\d:\d\d$/.test(iso) ? `${iso}Z` : iso);
    if (Number.isNaN(ms)) throw new QueryError(`${tok} is not a date`);
    return `/Date(${ms})/`;
  }
  if (tok.startsWith("'")) {
    if (prop.type !== "Edm.String")
      throw new QueryError(`${prop.name} is ${prop.type}, compared to a string`);
    return tok.slice(1, -1).replace(/''/g, "'");
  }
  if (/^-?\d/.test(tok)) {
    if (prop.type === "Edm.Decimal") {
      if (!/[Mm]$/.test(tok))
        throw new QueryError(`${prop.name} is Edm.Decimal: write the literal as ${tok}M`);
      return tok.slice(0, -1);
    }
    if (prop.type === "Edm.String") throw new QueryError(`${prop.name} is Edm.String, compared to a number`);
    return Number(tok.replace(/[MmDdLl]$/, ""));
  }
  throw new QueryError(`$filter: ${tok} is not a literal`);
}

export function parseFilter(type: V2EntityType, text: string): Node {
  const toks = tokenize(text);
  let i = 0;
  const peek = () => toks[i];
  const next = () => {
    const t = toks[i++];
    if (t === undefined) throw new QueryError("$filter ends too early");
    return t;
  };
  const or = (): Node => {
    let a = and();
    while (peek() === "or") {
      i++;
      a = { op: "or", a, b: and() };
    }
    return a;
  };
  const and = (): Node => {
    let a = unary();
    while (peek() === "and") {
      i++;
      a = { op: "and", a, b: unary() };
    }
    return a;
  };
  const unary = (): Node => {
    if (peek() === "not") {
      i++;
      return { op: "not", a: unary() };
    }
    if (peek() === "(") {
      i++;
      const n = or();
      if (next() !== ")") throw new QueryError("$filter: a parenthesis is not closed");
      return n;
    }
    const field = next();
    const prop = type.properties.get(field);
    if (!prop) throw new QueryError(`$filter: ${type.name} has no property ${field}`);
    if (!prop.filterable) throw new QueryError(`$filter: ${field} is sap:filterable="false"`);
    const cmp = next();
    if (!["eq", "ne", "gt", "ge", "lt", "le"].includes(cmp))
      throw new QueryError(`$filter: ${cmp} is not a comparison the emulator serves`);
    return { op: "cmp", cmp, prop, value: literal(next(), prop) };
  };
  const node = or();
  if (i !== toks.length) throw new QueryError(`$filter: unexpected ${toks[i]}`);
  return node;
}

export function matches(n: Node, row: Row): boolean {
  if (n.op === "not") return !matches(n.a, row);
  if (n.op !== "cmp")
    return n.op === "and" ? matches(n.a, row) && matches(n.b, row) : matches(n.a, row) || matches(n.b, row);
  const c = compare(n.prop.type, row[n.prop.name] ?? null, n.value);
  const isNull = (row[n.prop.name] ?? null) === null || n.value === null;
  switch (n.cmp) {
    case "eq":
      return c === 0;
    case "ne":
      return c !== 0;
    case "gt":
      return !isNull && c > 0;
    case "ge":
      return !isNull && c >= 0;
    case "lt":
      return !isNull && c < 0;
    default:
      return !isNull && c <= 0;
  }
}

export function parseOrderBy(type: V2EntityType, text: string): { prop: V2Property; desc: boolean }[] {
  return text.split(",").map((part) => {
    const [field, dir, extra] = part.trim().split(/\s+/);
    const prop = type.properties.get(field ?? "");
    if (!prop || extra !== undefined || (dir !== undefined && dir !== "asc" && dir !== "desc"))
      throw new QueryError(
        `$orderby: ${JSON.stringify(part)} is not a property of ${type.name} with asc|desc`,
      );
    if (!prop.sortable) throw new QueryError(`$orderby: ${field} is sap:sortable="false"`);
    return { prop, desc: dir === "desc" };
  });
}

/** `$expand` paths, each segment a navigation property of the type before it. */
export function parseExpand(svc: V2Service, type: V2EntityType, text: string): string[][] {
  return text.split(",").map((path) => {
    const segs = path.trim().split("/");
    let t = type;
    for (const s of segs) {
      const n = t.navigation.get(s);
      if (!n) throw new QueryError(`$expand: ${t.name} has no navigation property ${s}`);
      t = svc.type(n.target);
    }
    return segs;
  });
}

/** `$select` fields: properties of the type, or navigation paths (an expanded entity's property). */
export function parseSelect(svc: V2Service, type: V2EntityType, text: string): string[] {
  const fields = text.split(",").map((f) => f.trim());
  for (const f of fields) {
    const segs = f.split("/");
    let t = type;
    segs.forEach((s, i) => {
      if (i === segs.length - 1 && (t.properties.has(s) || t.navigation.has(s) || s === "*")) return;
      const n = t.navigation.get(s);
      if (!n) throw new QueryError(`$select: ${t.name} has no property ${s}`);
      t = svc.type(n.target);
    });
  }
  return fields;
}
