/**
 * Odoo's domain language: a prefix-notation list of terms `[field, operator, value]` and the operators
 * "&", "|", "!", with an implicit "&" between consecutive expressions.
 */
import { valueError } from "./errors.ts";

export type Term = [string, string, unknown];
export type DomainNode =
  | { kind: "and" | "or"; left: DomainNode; right: DomainNode }
  | { kind: "not"; inner: DomainNode }
  | { kind: "term"; term: Term }
  | { kind: "true" };

function isTerm(x: unknown): x is Term {
  return Array.isArray(x) && x.length === 3 && typeof x[0] === "string" && typeof x[1] === "string";
}

export function parseDomain(domain: unknown): DomainNode {
  if (domain === undefined || domain === null || domain === false) return { kind: "true" };
  if (!Array.isArray(domain)) throw valueError(`Invalid domain: ${JSON.stringify(domain)}`);
  let pos = 0;
  const next = (): DomainNode => {
    if (pos >= domain.length)
      throw valueError(`Invalid domain (operator without operands): ${JSON.stringify(domain)}`);
    const item: unknown = domain[pos++];
    if (item === "&" || item === "|") {
      const left = next();
      const right = next();
      return { kind: item === "&" ? "and" : "or", left, right };
    }
    if (item === "!") return { kind: "not", inner: next() };
    if (isTerm(item)) return { kind: "term", term: item };
    throw valueError(`Invalid domain term: ${JSON.stringify(item)}`);
  };
  let root: DomainNode = { kind: "true" };
  let first = true;
  while (pos < domain.length) {
    const node = next();
    root = first ? node : { kind: "and", left: root, right: node };
    first = false;
  }
  return root;
}

function likeToRegExp(pattern: string, anchored: boolean, insensitive: boolean): RegExp {
  let src = "";
  let escaped = false;
  for (const ch of pattern) {
    if (escaped) {
      src += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      escaped = false;
    } else if (ch === "\\") escaped = true;
    else if (ch === "%") src += ".*";
    else if (ch === "_") src += ".";
    else src += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(anchored ? `^${src}$` : src, insensitive ? "si" : "s");
}

function scalarCompare(a: unknown, b: unknown): number | null {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  return null;
}

/** Tests one already-resolved scalar value (ids for relations) against an operator. */
export function matchValue(value: unknown, op: string, target: unknown): boolean {
  const empty = value === false || value === null || value === undefined || value === "";
  switch (op) {
    case "=":
    case "==":
      if (target === false || target === null) return empty;
      return value === target;
    case "!=":
    case "<>":
      if (target === false || target === null) return !empty;
      return value !== target;
    case ">":
    case ">=":
    case "<":
    case "<=": {
      if (empty) return false;
      const c = scalarCompare(value, target);
      if (c === null) return false;
      return op === ">" ? c > 0 : op === ">=" ? c >= 0 : op === "<" ? c < 0 : c <= 0;
    }
    case "in":
    case "not in": {
      if (!Array.isArray(target))
        throw valueError(`Operator ${op} needs a list, got ${JSON.stringify(target)}`);
      const hit = target.some((t) => (t === false ? empty : t === value));
      return op === "in" ? hit : !hit;
    }
    case "like":
    case "ilike":
    case "not like":
    case "not ilike":
    case "=like":
    case "=ilike": {
      if (typeof target !== "string") throw valueError(`Operator ${op} needs a string`);
      const insensitive = op.includes("ilike");
      const anchored = op.startsWith("=");
      const re = anchored
        ? likeToRegExp(target, true, insensitive)
        : likeToRegExp(`%${target}%`, true, insensitive);
      const hit = typeof value === "string" && re.test(value);
      return op.startsWith("not") ? !hit : hit;
    }
    default:
      throw valueError(`Invalid domain operator ${JSON.stringify(op)}`);
  }
}
