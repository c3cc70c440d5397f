/**
 * Settings-driven records, shared by the connectors whose entities are described in passerelle.yaml rather
 * than in code (file, rest): a native record → canonical record and a canonical record → native record are
 * each a mapping in the flow mapping's rule language, of which only the fields the rules set are kept, and
 * the canonical key an entity has when the rules do not set one.
 */
import { type CompiledMapping, compileMapping, type Mapping } from "../core/mapping.ts";
import type { EntityName } from "../core/model.ts";

export type Values = Record<string, unknown>;

/** A compiled `fields` setting: the mapping and the top-level fields it sets. */
export interface FieldMap {
  mapping: CompiledMapping;
  fields: string[];
}

/** The top-level fields a mapping sets (`priceList.code` sets priceList, `variants[].sku` variants). */
export function targetsOf(fields: Record<string, unknown>): string[] {
  return [...new Set(Object.keys(fields).map((k) => (k.split(".")[0] as string).replace(/\[\]$/, "")))];
}

/** Compiles a `fields` setting; `path` names it in errors (`entities.customer.fields`). */
export function compileFields(fields: Mapping, path: string): FieldMap {
  return { mapping: compileMapping(fields, { path }), fields: targetsOf(fields) };
}

/**
 * The record the rules make of `record`: exactly the fields they set (a mapping otherwise passes every
 * other field through). Throws the mapping's SyncError("data") naming the field and the value.
 */
export async function applyFields(map: FieldMap, record: Values): Promise<Values> {
  const all = await map.mapping.apply(record);
  const out: Values = {};
  for (const f of map.fields) if (all[f] !== undefined) out[f] = all[f];
  return out;
}

/**
 * The canonical key of a mapped record: its own `key` when the rules set one, else the entity's natural
 * key (price list code and SKU, SKU at location, the customer's e-mail in lower case); undefined when it
 * has none (a product's key must be set by the rules).
 */
export function canonicalKey(entity: EntityName, r: Values): unknown {
  if (r.key !== undefined) return r.key;
  const s = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v) : undefined);
  if (entity === "price") {
    const code = s((r.priceList as Values | undefined)?.code);
    const sku = s(r.sku);
    return code && sku ? `${code}:${sku}` : undefined;
  }
  if (entity === "inventory") {
    const sku = s(r.sku);
    const location = s(r.location);
    return sku && location ? `${sku}@${location}` : undefined;
  }
  if (entity === "customer") return s(r.email)?.toLowerCase();
  return undefined;
}
