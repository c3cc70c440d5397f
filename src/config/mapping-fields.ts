/**
 * A flow's mapping may only set fields the canonical record of its entity has. The fields are read from the
 * zod schemas of the canonical model itself, so a field added to the model is accepted here the same day,
 * and a typo (`lines[].skew`) is refused with the fields valid at that level instead of being written into
 * a record the target never reads.
 */
import type { z } from "zod";
import { parseTarget } from "../core/mapping.ts";
import { type EntityName, SCHEMAS } from "../core/model.ts";

type Shape = (
  | { kind: "object"; fields: Map<string, Shape> }
  | { kind: "list"; element: Shape }
  /** Free keys, e.g. a variant's `options` (option name → value). */
  | { kind: "record"; value: Shape }
  | { kind: "value" }
) & {
  /** May be missing where it sits (optional, nullable, defaulted…): not required of the record. */
  optional: boolean;
};

/** Wrappers that change whether a value may be missing, not what it looks like (`readonly` changes neither). */
const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "nonoptional", "readonly", "catch"]);

function shapeOf(schema: z.core.$ZodType, optional = false): Shape {
  const def = schema._zod.def;
  if (WRAPPERS.has(def.type) && "innerType" in def) {
    const now = def.type === "nonoptional" ? false : def.type === "readonly" ? optional : true;
    return shapeOf(def.innerType as z.core.$ZodType, now);
  }
  switch (def.type) {
    case "object": {
      const shape = (def as z.core.$ZodObjectDef).shape;
      const fields = new Map(Object.entries(shape).map(([k, v]) => [k, shapeOf(v)]));
      return { kind: "object", fields, optional };
    }
    case "array":
      return { kind: "list", element: shapeOf((def as z.core.$ZodArrayDef).element), optional };
    case "record":
      return { kind: "record", value: shapeOf((def as z.core.$ZodRecordDef).valueType), optional };
    case "pipe":
      return shapeOf((def as z.core.$ZodPipeDef).in, optional);
    default:
      return { kind: "value", optional };
  }
}

const shapes = new Map<EntityName, Shape>();

function entityShape(entity: EntityName): Shape {
  let shape = shapes.get(entity);
  if (!shape) {
    shape = shapeOf(SCHEMAS[entity]);
    shapes.set(entity, shape);
  }
  return shape;
}

/** One canonical field a mapping can set: `sku`, `priceList.code`, `variants[].price`. */
export interface CanonicalField {
  path: string;
  /** Must be set for the record to be valid: neither it nor an object or list holding it is optional. */
  required: boolean;
  /** Must be set within the object holding it (an address's city), whether or not that object must be. */
  requiredInParent: boolean;
}

function leaves(shape: Shape, prefix: string, required: boolean, out: CanonicalField[]): void {
  if (shape.kind !== "object") return;
  for (const [name, field] of shape.fields) {
    const path = prefix === "" ? name : `${prefix}.${name}`;
    const need = required && !field.optional;
    if (field.kind === "object") leaves(field, path, need, out);
    else if (field.kind === "list" && field.element.kind === "object")
      leaves(field.element, `${path}[]`, need, out);
    else out.push({ path, required: need, requiredInParent: !field.optional });
  }
}

const fieldsByEntity = new Map<EntityName, CanonicalField[]>();

/** The canonical fields of an entity's records (the leaves a mapping sets), provenance (source, sourceId) left out. */
export function canonicalFields(entity: EntityName): CanonicalField[] {
  let fields = fieldsByEntity.get(entity);
  if (!fields) {
    const all: CanonicalField[] = [];
    leaves(entityShape(entity), "", true, all);
    fields = all.filter((f) => f.path !== "source" && f.path !== "sourceId");
    fieldsByEntity.set(entity, fields);
  }
  return fields;
}

export interface FieldIssue {
  /** The mapping key as written, e.g. `lines[].skew`. */
  field: string;
  message: string;
}

/**
 * Every mapping key naming a field `entity` records do not have. Keys that are not valid target paths at
 * all are left to the mapping's own checks, which already report them.
 */
export function unknownMappingFields(
  entity: EntityName,
  mapping: Readonly<Record<string, unknown>>,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const field of Object.keys(mapping)) {
    const message = checkTarget(entity, field);
    if (message) issues.push({ field, message });
  }
  return issues;
}

function checkTarget(entity: EntityName, field: string): string | null {
  const segments = parseTarget(field);
  if (typeof segments === "string") return null;
  let shape = entityShape(entity);
  // Where we are, as written in target paths (`lines[]`, `customer`); "" at the record itself.
  let at = "";
  for (const [i, { name, each }] of segments.entries()) {
    const here = at === "" ? name : `${at}.${name}`;
    let next: Shape | undefined;
    if (shape.kind === "record") next = shape.value;
    else if (shape.kind === "object") next = shape.fields.get(name);
    if (next === undefined) {
      if (shape.kind !== "object") return `${at} is a single value: it has no field ${JSON.stringify(name)}`;
      const level = at === "" ? `${entity} records have` : `${at} in ${entity} records has`;
      return `${level} no field ${JSON.stringify(name)}; valid fields there: ${[...shape.fields.keys()].join(", ")}`;
    }
    const last = i === segments.length - 1;
    if (each) {
      if (next.kind === "value") return `${here} is a single value, not a list`;
      if (next.kind !== "list") {
        return `${here} is not a list: write ${here}.${segments[i + 1]?.name} to map into it`;
      }
      next = next.element;
      at = `${here}[]`;
    } else {
      if (next.kind === "list" && !last) {
        return `${here} is a list: write ${here}[].${segments[i + 1]?.name} to map a field of every element`;
      }
      at = here;
    }
    shape = next;
  }
  return null;
}

/** Fields a two-way flow can own or merge: the record's top-level fields but its identity and provenance. */
export function ownableFields(entity: EntityName): string[] {
  const shape = entityShape(entity);
  if (shape.kind !== "object") return [];
  const skip = new Set(["key", "source", "sourceId", "updatedAt"]);
  return [...shape.fields.keys()].filter((f) => !skip.has(f));
}

export interface OwnershipIssue {
  /** Below `twoWay.ownership`: the side as written, and the field's index when a field is at fault. */
  path: (string | number)[];
  message: string;
}

/**
 * Problems in a two-way flow's ownership (side → fields): a side that is neither `source`, `target` nor one
 * of the flow's connections, a field the entity does not have (or a nested one: ownership is per top-level
 * field, a list or an object being one unit), and a field claimed by both sides.
 */
export function ownershipIssues(
  entity: EntityName,
  ownership: Readonly<Record<string, readonly string[]>>,
  connections: { source: string | undefined; target: string | undefined },
): OwnershipIssue[] {
  const issues: OwnershipIssue[] = [];
  const valid = ownableFields(entity);
  const owners = new Map<string, { side: "source" | "target"; as: string }>();
  for (const [name, fields] of Object.entries(ownership)) {
    const side = ownershipSide(name, connections);
    if (side === null) {
      issues.push({
        path: [name],
        message: `unknown side ${JSON.stringify(name)}; a side is source, target${[
          connections.source,
          connections.target,
        ]
          .filter(Boolean)
          .map((c) => `, ${c}`)
          .join("")}`,
      });
      continue;
    }
    for (const [i, field] of fields.entries()) {
      if (!valid.includes(field)) {
        const top = field.split(/[.[]/)[0] ?? field;
        issues.push({
          path: [name, i],
          message: valid.includes(top)
            ? `${JSON.stringify(field)}: ownership is per top-level field (a list or an object is one unit); write ${top}`
            : `${entity} records have no field ${JSON.stringify(field)} that a side can own; fields: ${valid.join(", ")}`,
        });
        continue;
      }
      const prior = owners.get(field);
      if (prior && prior.side !== side) {
        issues.push({
          path: [name, i],
          message: `${field} is owned by both sides (${prior.as} and ${name}); a field has one owner`,
        });
      } else if (prior) {
        issues.push({ path: [name, i], message: `${field} is listed twice for ${side}` });
      }
      owners.set(field, { side, as: name });
    }
  }
  return issues;
}

/** `source`, `target` or a connection name → the flow side it names, or null. */
export function ownershipSide(
  name: string,
  connections: { source: string | undefined; target: string | undefined },
): "source" | "target" | null {
  if (name === "source" || name === connections.source) return "source";
  if (name === "target" || name === connections.target) return "target";
  return null;
}
