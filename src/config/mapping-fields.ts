/**
 * A flow's mapping may only set fields the canonical record of its entity has. The fields are read from the
 * zod schemas of the canonical model itself, so a field added to the model is accepted here the same day,
 * and a typo (`lines[].skew`) is refused with the fields valid at that level instead of being written into
 * a record the target never reads.
 */
import type { z } from "zod";
import { parseTarget } from "../core/mapping.ts";
import { type EntityName, SCHEMAS } from "../core/model.ts";

type Shape =
  | { kind: "object"; fields: Map<string, Shape> }
  | { kind: "list"; element: Shape }
  /** Free keys, e.g. a variant's `options` (option name → value). */
  | { kind: "record"; value: Shape }
  | { kind: "value" };

/** Wrappers that change whether a value may be missing, not what it looks like. */
const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "nonoptional", "readonly", "catch"]);

function shapeOf(schema: z.core.$ZodType): Shape {
  const def = schema._zod.def;
  if (WRAPPERS.has(def.type) && "innerType" in def) return shapeOf(def.innerType as z.core.$ZodType);
  switch (def.type) {
    case "object": {
      const shape = (def as z.core.$ZodObjectDef).shape;
      return { kind: "object", fields: new Map(Object.entries(shape).map(([k, v]) => [k, shapeOf(v)])) };
    }
    case "array":
      return { kind: "list", element: shapeOf((def as z.core.$ZodArrayDef).element) };
    case "record":
      return { kind: "record", value: shapeOf((def as z.core.$ZodRecordDef).valueType) };
    case "pipe":
      return shapeOf((def as z.core.$ZodPipeDef).in);
    default:
      return { kind: "value" };
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
