/**
 * Discovery from an OpenAPI 3 document (the `openapi` setting: a URL or a file): every GET path whose
 * 200 answer is a list of objects — a JSON array, or an object with an array property (`data`, `items`) —
 * becomes a record shape with the item's properties (nested objects as dotted names), which of them are
 * nullable or optional, the id-like key and the change-time properties usable as a cursor. `$ref`s,
 * local or to other files, are resolved by json-schema-ref-parser.
 */
import { dereference } from "@apidevtools/json-schema-ref-parser";
import { SyncError } from "../../core/errors.ts";
import { ENTITIES, type EntityName } from "../../core/model.ts";
import type { DiscoveredField, DiscoveredShape } from "../../ports/discovery.ts";
import type { RestClient } from "./client.ts";

type Schema = {
  type?: string | string[];
  format?: string;
  nullable?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
};

/** How deep nested objects are flattened into dotted names. */
const MAX_DEPTH = 3;
/** Property names that hold a page's records, tried first. */
const RECORD_PROPERTIES = ["data", "items", "results", "records", "content", "value", "elements"];

const typeOf = (s: Schema): string[] =>
  s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];

/** allOf merged into one object schema (oneOf/anyOf: their first member). */
function merged(s: Schema, seen = new Set<Schema>()): Schema {
  if (seen.has(s)) return {};
  seen.add(s);
  const parts = [...(s.allOf ?? []), ...(s.oneOf?.slice(0, 1) ?? []), ...(s.anyOf?.slice(0, 1) ?? [])];
  if (parts.length === 0) return s;
  const out: Schema = { ...s, properties: { ...s.properties }, required: [...(s.required ?? [])] };
  for (const p of parts) {
    const m = merged(p, seen);
    Object.assign(out.properties as object, m.properties);
    out.required?.push(...(m.required ?? []));
    if (out.type === undefined && m.type !== undefined) out.type = m.type;
  }
  return out;
}

const isObject = (s: Schema) => typeOf(s).includes("object") || s.properties !== undefined;

/** The item schema of a list answer and where the records are in it ("" the answer itself). */
function listItems(s: Schema): { items: Schema; records: string } | null {
  const m = merged(s);
  if (typeOf(m).includes("array") && m.items && isObject(merged(m.items))) {
    return { items: merged(m.items), records: "" };
  }
  if (!isObject(m) || !m.properties) return null;
  const names = Object.keys(m.properties);
  const order = [...RECORD_PROPERTIES.filter((n) => names.includes(n)), ...names];
  for (const name of order) {
    const p = merged(m.properties[name] as Schema);
    if (typeOf(p).includes("array") && p.items && isObject(merged(p.items))) {
      return { items: merged(p.items), records: name };
    }
  }
  return null;
}

function fieldsOf(
  s: Schema,
  prefix: string,
  optional: boolean,
  depth: number,
  seen: Set<Schema>,
): DiscoveredField[] {
  const out: DiscoveredField[] = [];
  const required = new Set(s.required ?? []);
  for (const [name, raw] of Object.entries(s.properties ?? {})) {
    const p = merged(raw);
    const full = `${prefix}${name}`;
    const types = typeOf(p).filter((t) => t !== "null");
    const nullable = p.nullable === true || typeOf(p).includes("null") || optional || !required.has(name);
    if (isObject(p) && p.properties && depth < MAX_DEPTH && !seen.has(raw)) {
      out.push(...fieldsOf(p, `${full}.`, nullable, depth + 1, new Set([...seen, raw])));
      continue;
    }
    const type =
      p.format === "date-time" || p.format === "date"
        ? p.format
        : types[0] === "array"
          ? `array of ${typeOf(merged(p.items ?? {}))[0] ?? "unknown"}`
          : (types[0] ?? "unknown");
    out.push({ name: full, type, ...(nullable ? { nullable: true } : {}) });
  }
  return out;
}

const KEY_NAMES = ["id", "uuid", "guid", "code", "key", "sku"];
const CURSOR_NAME = /modif|updat|chang|last_?edit/i;

/** The entity a path looks like (`/customers` → customer, `/catalog/products` → product). */
function entityOf(path: string, configured: Map<string, EntityName>): EntityName | undefined {
  const exact = configured.get(path);
  if (exact) return exact;
  const last =
    path
      .split("/")
      .filter((p) => p !== "" && !p.startsWith("{"))
      .pop()
      ?.toLowerCase() ?? "";
  const aliases: Record<string, EntityName> = {
    stock: "inventory",
    stocks: "inventory",
    inventories: "inventory",
  };
  if (aliases[last]) return aliases[last];
  return ENTITIES.find((e) => last === e || last === `${e}s`);
}

type Document = { openapi?: string; swagger?: string; paths?: Record<string, Record<string, unknown>> };

export async function discoverOpenApi(client: RestClient, signal?: AbortSignal): Promise<DiscoveredShape[]> {
  const source = client.config.openapi;
  if (!source) {
    throw new SyncError(
      "config",
      `${client.name}: give openapi (the URL or file of the API's OpenAPI 3 document) to discover its records`,
      { system: client.name },
    );
  }
  signal?.throwIfAborted();
  let doc: Document;
  try {
    doc = (await dereference(source, { dereference: { circular: "ignore" } })) as Document;
  } catch (e) {
    throw new SyncError(
      "config",
      client.http.redact(
        `${client.name}: cannot read the OpenAPI document ${source}: ${e instanceof Error ? e.message : String(e)}`,
      ),
      { system: client.name },
    );
  }
  if (typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.")) {
    throw new SyncError(
      "config",
      `${client.name}: ${source} is not an OpenAPI 3 document (openapi: ${JSON.stringify(doc.openapi ?? doc.swagger ?? null)})`,
      { system: client.name },
    );
  }
  const configured = new Map<string, EntityName>();
  for (const [entity, s] of Object.entries(client.config.entities)) {
    if (s) configured.set(s.list.path, entity as EntityName);
  }
  const shapes: DiscoveredShape[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const get = item.get as
      | { responses?: Record<string, { content?: Record<string, { schema?: Schema }> }> }
      | undefined;
    const ok = get?.responses?.["200"] ?? get?.responses?.["2XX"];
    const content = ok?.content ?? {};
    const media =
      content["application/json"] ?? Object.entries(content).find(([t]) => t.includes("json"))?.[1];
    if (!media?.schema) continue;
    const list = listItems(media.schema);
    if (!list) continue;
    const fields = fieldsOf(list.items, "", false, 0, new Set());
    const names = new Set(fields.map((f) => f.name));
    const key = KEY_NAMES.find((k) => names.has(k));
    const cursor = fields
      .filter((f) => f.type === "date-time" && CURSOR_NAME.test(f.name))
      .map((f) => f.name);
    const entity = entityOf(path, configured);
    shapes.push({
      name: `GET ${path}`,
      ...(entity ? { entity } : {}),
      fields,
      ...(key ? { key: [key] } : {}),
      ...(cursor.length > 0 ? { cursor } : {}),
      notes: [
        `records at ${list.records === "" ? "the answer's top level" : list.records} (list.records: ${JSON.stringify(list.records)})`,
        ...(key ? [] : ["no id-like property: give the entity's id field by hand"]),
      ],
    });
  }
  return shapes;
}
