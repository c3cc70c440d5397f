/**
 * The part of OData v4's `$filter` and `$orderby` grammar the emulator serves: comparisons (`eq ne gt ge
 * lt le`) of a property with a literal, joined by `and` / `or` / `not` and parentheses. Literals are
 * strings in single quotes ('' for a quote), numbers, `null`, `true` / `false`, date-times and dates
 * (`2026-12-03T00:00:00Z`, `2026-12-03`) and times of day (`14:03:22`) written bare, as OData v4 writes
 * them; an enum member is written as a string (`CardType eq 'cCustomer'`), as Service Layer takes it.
 * Every property named must be one the entity type declares, and every literal must fit its type: a query
 * the document does not allow is refused, never answered with everything.
 */
import type { EdmProperty, EdmStructuredType, SapB1Metadata } from "./metadata.ts";

export type Literal = string | number | boolean | null;
export type FilterNode =
  | { kind: "cmp"; op: "eq" | "ne" | "gt" | "ge" | "lt" | "le"; prop: EdmProperty; value: Literal }
  | { kind: "and" | "or"; left: FilterNode; right: FilterNode }
  | { kind: "not"; inner: FilterNode };

export class QueryError extends Error {}

const TOKEN =
  /\s*(?:(\()|(\))|('(?:[^']|'')*')|(\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)|(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*))/y;

interface Token {
  kind: "(" | ")" | "string" | "datetime" | "time" | "number" | "word";
  text: string;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < src.length) {
    if (/^\s*$/.test(src.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(src);
    if (!m) throw new QueryError(`cannot read the filter at ${JSON.stringify(src.slice(at, at + 20))}`);
    at = TOKEN.lastIndex;
    if (m[1]) out.push({ kind: "(", text: "(" });
    else if (m[2]) out.push({ kind: ")", text: ")" });
    else if (m[3]) out.push({ kind: "string", text: m[3].slice(1, -1).replace(/''/g, "'") });
    else if (m[4]) out.push({ kind: "datetime", text: m[4] });
    else if (m[5]) out.push({ kind: "time", text: m[5] });
    else if (m[6]) out.push({ kind: "number", text: m[6] });
    else out.push({ kind: "word", text: m[7] as string });
  }
  return out;
}

const OPS = new Set(["eq", "ne", "gt", "ge", "lt", "le"]);
const INT = new Set(["Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte"]);

function literalFor(md: SapB1Metadata, prop: EdmProperty, t: Token): Literal {
  const bad = () =>
    new QueryError(`${prop.name} is ${prop.type}; the literal ${JSON.stringify(t.text)} does not fit it`);
  if (t.kind === "word" && t.text === "null") {
    if (!prop.nullable) throw new QueryError(`${prop.name} is never null (Nullable="false")`);
    return null;
  }
  if (prop.collection) throw new QueryError(`${prop.name} is a collection and cannot be compared`);
  const type = prop.type;
  if (type === "Edm.String") {
    if (t.kind !== "string") throw bad();
    return t.text;
  }
  if (INT.has(type) || type === "Edm.Double" || type === "Edm.Decimal") {
    if (t.kind !== "number" || (INT.has(type) && t.text.includes("."))) throw bad();
    return Number(t.text);
  }
  if (type === "Edm.Boolean") {
    if (t.kind !== "word" || (t.text !== "true" && t.text !== "false")) throw bad();
    return t.text === "true";
  }
  if (type === "Edm.DateTimeOffset" || type === "Edm.Date") {
    if (t.kind !== "datetime") throw bad();
    return t.text;
  }
  if (type === "Edm.TimeOfDay") {
    if (t.kind !== "time") throw bad();
    return t.text.length === 5 ? `${t.text}:00` : t.text;
  }
  const members = md.enums.get(type);
  if (members) {
    if (t.kind !== "string" || !members.has(t.text)) {
      throw new QueryError(
        `${prop.name} is ${type} (${[...members].join(", ")}); got ${JSON.stringify(t.text)}`,
      );
    }
    return t.text;
  }
  throw new QueryError(`${prop.name} is ${type}, which a filter cannot compare`);
}

export function parseFilter(md: SapB1Metadata, type: EdmStructuredType, src: string): FilterNode {
  const tokens = tokenize(src);
  let i = 0;
  const peek = () => tokens[i];
  const take = () => {
    const t = tokens[i++];
    if (!t) throw new QueryError(`the filter ${JSON.stringify(src)} ends too early`);
    return t;
  };
  const or = (): FilterNode => {
    let left = and();
    while (peek()?.kind === "word" && peek()?.text === "or") {
      i++;
      left = { kind: "or", left, right: and() };
    }
    return left;
  };
  const and = (): FilterNode => {
    let left = unary();
    while (peek()?.kind === "word" && peek()?.text === "and") {
      i++;
      left = { kind: "and", left, right: unary() };
    }
    return left;
  };
  const unary = (): FilterNode => {
    const t = take();
    if (t.kind === "word" && t.text === "not") return { kind: "not", inner: unary() };
    if (t.kind === "(") {
      const inner = or();
      if (take().kind !== ")") throw new QueryError(`a parenthesis is not closed in ${JSON.stringify(src)}`);
      return inner;
    }
    if (t.kind !== "word") throw new QueryError(`expected a property name, got ${JSON.stringify(t.text)}`);
    const prop = type.properties.get(t.text);
    if (!prop) throw new QueryError(`${type.name} has no property ${t.text}`);
    const op = take();
    if (op.kind !== "word" || !OPS.has(op.text)) {
      throw new QueryError(`expected a comparison (eq, ne, gt, ge, lt, le) after ${t.text}, got ${op.text}`);
    }
    return { kind: "cmp", op: op.text as "eq", prop, value: literalFor(md, prop, take()) };
  };
  const node = or();
  if (i !== tokens.length)
    throw new QueryError(`unexpected ${JSON.stringify(tokens[i]?.text)} in the filter`);
  return node;
}

/** Orders two property values the way the emulator's database would (instants for date-times). */
export function compareValues(type: string, a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (type === "Edm.DateTimeOffset" || type === "Edm.Date") {
    return Math.sign(Date.parse(String(a)) - Date.parse(String(b)));
  }
  if (typeof a === "number" && typeof b === "number") return Math.sign(a - b);
  return String(a) < String(b) ? -1 : 1;
}

export function matches(node: FilterNode, row: Record<string, unknown>): boolean {
  switch (node.kind) {
    case "and":
      return matches(node.left, row) && matches(node.right, row);
    case "or":
      return matches(node.left, row) || matches(node.right, row);
    case "not":
      return !matches(node.inner, row);
    case "cmp": {
      const v = row[node.prop.name] ?? null;
      if (node.value === null || v === null) {
        const same = v === node.value;
        return node.op === "eq" ? same : node.op === "ne" ? !same : false;
      }
      const c = compareValues(node.prop.type, v, node.value);
      return { eq: c === 0, ne: c !== 0, gt: c > 0, ge: c >= 0, lt: c < 0, le: c <= 0 }[node.op];
    }
  }
}

export interface OrderBy {
  prop: EdmProperty;
  desc: boolean;
}

export function parseOrderBy(type: EdmStructuredType, src: string): OrderBy[] {
  return src.split(",").map((part) => {
    const [name, dir, ...rest] = part.trim().split(/\s+/);
    const prop = type.properties.get(name ?? "");
    if (!prop) throw new QueryError(`$orderby: ${type.name} has no property ${name}`);
    if (prop.collection) throw new QueryError(`$orderby: ${name} is a collection`);
    if (rest.length > 0 || (dir !== undefined && dir !== "asc" && dir !== "desc")) {
      throw new QueryError(`$orderby: cannot read ${JSON.stringify(part)}`);
    }
    return { prop, desc: dir === "desc" };
  });
}

export function parseSelect(type: EdmStructuredType, src: string): string[] {
  return src.split(",").map((raw) => {
    const name = raw.trim();
    if (!type.properties.has(name)) throw new QueryError(`$select: ${type.name} has no property ${name}`);
    return name;
  });
}
