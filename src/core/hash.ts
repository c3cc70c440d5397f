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
  return write(value, new Set()) ?? "null";
}

function write(value: unknown, ancestors: Set<object>): string | undefined {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      throw new TypeError("cannot hash a bigint; write amounts as decimal strings");
    case "object":
      break;
    default:
      // undefined, functions and symbols have no JSON form.
      return undefined;
  }
  if ("toJSON" in value && typeof value.toJSON === "function") return write(value.toJSON(), ancestors);
  if (ancestors.has(value)) throw new TypeError("cannot hash a value that contains itself");
  ancestors.add(value);
  let out: string;
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (const item of value) parts.push(write(item, ancestors) ?? "null");
    out = `[${parts.join(",")}]`;
  } else {
    const parts: string[] = [];
    for (const [key, item] of Object.entries(value).sort(byKey)) {
      const text = write(item, ancestors);
      if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
    }
    out = `{${parts.join(",")}}`;
  }
  ancestors.delete(value);
  return out;
}

function byKey(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
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
