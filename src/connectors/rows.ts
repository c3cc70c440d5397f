/**
 * What the connectors whose records are described in passerelle.yaml share (files, SQL tables, REST APIs): a
 * flow mapping's rule language, row → canonical record or canonical record → row), and the canonical key a
 * record takes when its rules set none (a price's list and SKU, a stock level's SKU and location, a
 * customer's e-mail).
 */

import { z } from "zod";
import { type CompiledMapping, compileMapping, type Mapping } from "../core/mapping.ts";
import { ENTITIES, type EntityName } from "../core/model.ts";
import type { Stream, Writer } from "../ports/connector.ts";
import type { EntitySpec, EntitySpecs } from "../ports/definition.ts";

export type Values = Record<string, unknown>;

/** A mapping and the top-level fields it sets (`priceList.code` sets priceList): the record holds only those. */
export interface RowMapping {
  mapping: CompiledMapping;
  fields: string[];
}

/** The top-level fields a mapping sets (`priceList.code` sets priceList, `variants[].sku` sets variants). */
export function targetsOf(fields: Record<string, unknown>): string[] {
  return [...new Set(Object.keys(fields).map((k) => (k.split(".")[0] as string).replace(/\[\]$/, "")))];
}

/** Compiles a `fields` setting; `path` names it in configuration errors (`entities.price.fields`). */
export function compileRows(fields: Mapping, path: string): RowMapping {
  return { mapping: compileMapping(fields, { path }), fields: targetsOf(fields) };
}

/** Applies the rules: exactly the fields they set, in the order they were written. */
export async function applyRows(rows: RowMapping, values: Values): Promise<Values> {
  const all = await rows.mapping.apply(values);
  const out: Values = {};
  for (const f of rows.fields) if (all[f] !== undefined) out[f] = all[f];
  return out;
}

/** The canonical key of a mapped record whose rules set none, where the entity has a natural one. */
export function naturalKey(entity: EntityName, r: Values): unknown {
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

/**
 * The `entities` setting of a connector configured per entity (file, sql, rest): a map from canonical entity
 * name to that connector's settings for it. An unknown name is reported beside any problem of the settings,
 * so every problem is listed at once.
 */
export function entitySettings<S extends z.ZodType>(settings: S, description: string) {
  return z
    .record(z.string(), settings)
    .superRefine(
      (m, ctx) => {
        if (m === null || typeof m !== "object") return;
        for (const k of Object.keys(m)) {
          if (!ENTITIES.includes(k as EntityName)) {
            ctx.addIssue({
              code: "custom",
              path: [k],
              message: `unknown entity ${JSON.stringify(k)}; known: ${ENTITIES.join(", ")}`,
            });
          }
        }
      },
      { when: () => true },
    )
    .describe(description);
}

/**
 * The entity map of a connector whose entities are all configured rather than coded (file, sql, rest):
 * every entity can be read and written; which ones a connection has is its configuration's business.
 */
export function everyEntity<X>(
  read: (entity: EntityName, client: X) => Stream,
  write: (entity: EntityName, client: X) => Writer,
): EntitySpecs<X> {
  return Object.fromEntries(
    ENTITIES.map((entity): [EntityName, EntitySpec<EntityName, X>] => [
      entity,
      {
        read: (client) => read(entity, client) as never,
        write: (client) => write(entity, client) as never,
      },
    ]),
  ) as EntitySpecs<X>;
}
