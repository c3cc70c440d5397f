/**
 * Content hashes of canonical records. The link store keeps the hash of what was last written to each
 * system, so a record whose content did not change is skipped without a vendor call; the hash must
 * therefore depend on content only, never on key order or on where and when the record was read.
 */
import { createHash } from "node:crypto";
import type { EntityName } from "./model.ts";
import { PROVENANCE_FIELDS } from "./model.ts";

/**
 * JSON with object keys sorted (code-unit order, like Array#sort), so equal content always gives equal
 * text. Follows JSON.stringify otherwise: undefined and functions are dropped from objects and become null
 * in arrays, non-finite numbers become null, toJSON (e.g. Date) is honoured. Throws on cycles and bigints.
 */
export function stableStringify(value: unknown): string {
  const out = { text: "" };
  return write(value, new Set(), out) ? out.text : "null";
}

/**
 * Appends `value`'s JSON to `out.text`; false (nothing appended) when it has none. One string grown by
 * appends (V8 joins them lazily), keys sorted as plain strings: building a list of parts per object and
 * sorting its [key, value] pairs allocated most of what hashing a catalogue cost (BENCHMARKS.md).
 */
function write(value: unknown, ancestors: Set<object>, out: { text: string }): boolean {
  const v = jsonOf(value);
  if (v === null) {
    out.text += "null";
    return true;
  }
  switch (typeof v) {
    case "string":
      out.text += JSON.stringify(v);
      return true;
    case "number":
      out.text += Number.isFinite(v) ? String(v) : "null";
      return true;
    case "boolean":
      out.text += v ? "true" : "false";
      return true;
    case "bigint":
      throw new TypeError("cannot hash a bigint; write amounts as decimal strings");
    case "object":
      break;
    default:
      // undefined, functions and symbols have no JSON form.
      return false;
  }
  const object = v as object;
  if (ancestors.has(object)) throw new TypeError("cannot hash a value that contains itself");
  ancestors.add(object);
  if (Array.isArray(object)) {
    out.text += "[";
    for (let i = 0; i < object.length; i++) {
      if (i > 0) out.text += ",";
      if (!write(object[i], ancestors, out)) out.text += "null";
    }
    out.text += "]";
  } else {
    out.text += "{";
    let first = true;
    for (const key of sortedKeys(object)) {
      const item = jsonOf((object as Record<string, unknown>)[key]);
      if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
      out.text += first ? quotedKey(key) : `,${quotedKey(key)}`;
      first = false;
      write(item, ancestors, out);
    }
    out.text += "}";
  }
  ancestors.delete(object);
  return true;
}

/**
 * An object's own enumerable keys in code-unit order (Array#sort's default order for strings). A record's
 * objects have few keys: they are sorted in place by insertion, which unlike Array#sort allocates no work
 * array for each object.
 */
function sortedKeys(object: object): string[] {
  const keys = Object.keys(object);
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

/** A value as JSON sees it: what its toJSON (e.g. a Date's) gives, followed while there is one. */
function jsonOf(value: unknown): unknown {
  let v = value;
  while (v !== null && typeof v === "object" && "toJSON" in v && typeof v.toJSON === "function")
    v = v.toJSON();
  return v;
}

/** `"key":`, kept for the keys records repeat (field names); a bounded number of them. */
const quotedKeys = new Map<string, string>();
function quotedKey(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = `${JSON.stringify(key)}:`;
    if (quotedKeys.size < 4096) quotedKeys.set(key, q);
  }
  return q;
}

const PROVENANCE = new Set<string>(PROVENANCE_FIELDS);

/**
 * sha256 (hex) of a record's content: everything but its provenance (source, sourceId, updatedAt), so the
 * same product read from the ERP and read back from the shop hashes the same. `entity` documents which
 * model the record follows; it is not part of the hash.
 */
export function contentHash(_entity: EntityName, record: Readonly<Record<string, unknown>>): string {
  const content: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    if (!PROVENANCE.has(key)) content[key] = record[key];
  }
  return createHash("sha256").update(stableStringify(content)).digest("hex");
}
