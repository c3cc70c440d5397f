/**
 * Flow mappings: declarative field rules compiled once into plain functions. A JSONata expression costs
 * about 170 times a compiled function per record, so JSONata runs only for the fields whose rule is an
 * expression, each evaluated on its own; every other rule is a closure over a pre-split path.
 *
 * A mapping takes the canonical record the source produced and returns the canonical record the target
 * writer receives. Fields no rule names pass through unchanged; every rule reads the INPUT record, so the
 * order of the rules never matters.
 *
 * Over 400 lines: the rule schema, its compiler and the error messages that name the field and value go
 * together; the JSONata side is in expression.ts.
 */
import { z } from "zod";
import { ConfigError, SyncError } from "./errors.ts";
import { compileJsonata, evaluateJsonata } from "./expression.ts";
import { roundTo } from "./money.ts";
import { show } from "./show.ts";

export { show };

export const FORMATS = ["upper", "lower", "trim", "decimal2", "int"] as const;
export type Format = (typeof FORMATS)[number];

const SOURCE_PATH_HELP =
  "dotted path in the record (a.b.c, lines.0.sku); under a [] target it is relative to the element, and $record.x reaches the whole record";

/**
 * Checked as a whole rather than as a z.record: a record schema copies the map key by key, and the
 * configuration is parsed twice on the way (the rule, then the mapping's own analysis), which for a
 * 100,000-entry map was a tenth of `passerelle validate`. YAML keys are strings already.
 */
const ValueMap = z
  .custom<Record<string, unknown>>((v) => v !== null && typeof v === "object" && !Array.isArray(v), {
    message: "a value map is a mapping of source value → target value",
  })
  .meta({ type: "object", additionalProperties: {} });

const RuleObject = z
  .strictObject({
    from: z.string().min(1).optional().describe(`Copy from this ${SOURCE_PATH_HELP}`),
    value: z.unknown().optional().describe("A constant"),
    map: ValueMap.optional().describe("Value map: source value → target value (used with from)"),
    default: z
      .unknown()
      .optional()
      .describe("Used when the source value is missing, or not in the value map"),
    strict: z.boolean().optional().describe("With map: a value not in the map is a data error"),
    format: z.enum(FORMATS).optional().describe("Convert the source value"),
    expr: z
      .string()
      .min(1)
      .optional()
      .describe(
        "JSONata expression over the record (or the element, under a [] target; $record is the record)",
      ),
  })
  .superRefine((rule, ctx) => {
    const problem = ruleProblem(rule);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** One field's rule. A bare string is short for `{ from: "<path>" }`. */
export const FieldRule = z.union([
  z.string().min(1).describe(`Copy from this ${SOURCE_PATH_HELP}`),
  RuleObject,
]);
export type FieldRule = z.input<typeof FieldRule>;

/**
 * `{ <target path>: rule }`. Target paths are dotted (`priceList.name`); `[]` applies the rule to every
 * element of an array (`variants[].price`).
 */
export const Mapping = z.record(z.string().min(1), FieldRule).superRefine(
  (mapping, ctx) => {
    if (mapping === null || typeof mapping !== "object") return;
    for (const issue of analyse(mapping).issues) {
      // Shape problems were already reported by the field schema.
      if (issue.shape) continue;
      ctx.addIssue({ code: "custom", path: issue.field === "" ? [] : [issue.field], message: issue.message });
    }
  },
  // Run even when some rule is malformed, so every problem is listed at once.
  { when: () => true },
);
export type Mapping = z.input<typeof Mapping>;

type RuleShape = z.output<typeof RuleObject>;

function ruleProblem(rule: RuleShape): string | null {
  const has = (k: keyof RuleShape): boolean => Object.hasOwn(rule, k);
  const sources = (["from", "value", "expr"] as const).filter(has);
  if (sources.length !== 1) {
    return sources.length === 0
      ? "a rule needs one of from, value or expr"
      : `a rule takes only one of from, value or expr (got ${sources.join(", ")})`;
  }
  if (has("map") && has("format")) return "map and format cannot be combined in one rule";
  if ((has("map") || has("format")) && !has("from")) return "map and format need from";
  if (has("strict") && !has("map")) return "strict only applies to a value map";
  if (has("default") && !has("from")) return "default only applies with from";
  return null;
}

/**
 * Evaluates one rule in a scope (the record, or an element under `[]`). `target` and `indices` give the
 * concrete field (`variants[2].price`), built only when an error needs it: nothing is allocated per field
 * on the way through.
 */
type Evaluate = (scope: unknown, root: unknown, target: string, indices: readonly number[]) => unknown;

interface Leaf {
  target: string;
  order: number;
  describe: string;
  evaluate: Evaluate;
}

interface Node {
  /** The field this node maps into, as written in target paths (`variants`, `lines[].taxes`), for errors. */
  path: string;
  leaves: Map<string, Leaf>;
  objects: Map<string, Node>;
  arrays: Map<string, Node>;
  /** Which target path claimed each key, for conflict messages. */
  claimedBy: Map<string, string>;
}

interface Analysis {
  root: Node;
  hasExpr: boolean;
  issues: { field: string; message: string; shape: boolean }[];
  rules: { field: string; rule: string }[];
}

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

function node(path: string): Node {
  return { path, leaves: new Map(), objects: new Map(), arrays: new Map(), claimedBy: new Map() };
}

function analyse(mapping: object): Analysis {
  const out: Analysis = { root: node(""), hasExpr: false, issues: [], rules: [] };
  let order = 0;
  for (const [field, raw] of Object.entries(mapping)) {
    const parsed = FieldRule.safeParse(raw);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      out.issues.push({
        field,
        message: `${first?.message ?? "invalid rule"} (got ${show(raw)})`,
        shape: true,
      });
      continue;
    }
    const rule: RuleShape = typeof parsed.data === "string" ? { from: parsed.data } : parsed.data;
    const segments = parseTarget(field);
    if (typeof segments === "string") {
      out.issues.push({ field, message: `${segments} (got ${show(field)})`, shape: false });
      continue;
    }
    const compiled = compileRule(rule);
    if (typeof compiled === "string") {
      out.issues.push({ field, message: compiled, shape: false });
      continue;
    }
    const conflict = place(out.root, segments, { target: field, order: order++, ...compiled });
    if (conflict) {
      out.issues.push({ field, message: conflict, shape: false });
      continue;
    }
    if (rule.expr !== undefined) out.hasExpr = true;
    out.rules.push({ field, rule: compiled.describe });
  }
  return out;
}

export interface Segment {
  name: string;
  /** Followed by `[]`: the rule applies to every element of this list. */
  each: boolean;
}

/** `lines[].sku` → [{ name: "lines", each: true }, { name: "sku", each: false }], or what is wrong with it. */
export function parseTarget(path: string): Segment[] | string {
  const segments: Segment[] = [];
  for (const part of path.split(".")) {
    const m = /^([^.[\]]+)(\[\])?$/.exec(part);
    if (!m?.[1])
      return `bad target path: each part is a field name, optionally followed by [] for every element`;
    if (FORBIDDEN.has(m[1]) || m[1].startsWith("$"))
      return `bad target path: ${JSON.stringify(m[1])} is not a field name`;
    segments.push({ name: m[1], each: m[2] !== undefined });
  }
  if (segments.at(-1)?.each) return "bad target path: it must end with a field name, not []";
  return segments;
}

function place(root: Node, segments: Segment[], leaf: Leaf): string | null {
  let at = root;
  for (const [i, seg] of segments.entries()) {
    const last = i === segments.length - 1;
    const kind = last ? "leaves" : seg.each ? "arrays" : "objects";
    const clash = (["leaves", "arrays", "objects"] as const).some((k) => k !== kind && at[k].has(seg.name));
    const claimant = at.claimedBy.get(seg.name);
    if (clash || (last && at.leaves.has(seg.name))) {
      return `conflicts with the rule for ${JSON.stringify(claimant)}: a field is either set whole or mapped part by part`;
    }
    if (last) {
      at.leaves.set(seg.name, leaf);
      at.claimedBy.set(seg.name, leaf.target);
      return null;
    }
    const children = seg.each ? at.arrays : at.objects;
    let next = children.get(seg.name);
    if (!next) {
      const parents = segments.slice(0, i).map((s) => (s.each ? `${s.name}[]` : s.name));
      next = node([...parents, seg.name].join("."));
      children.set(seg.name, next);
      at.claimedBy.set(seg.name, leaf.target);
    }
    at = next;
  }
  return null;
}

type Getter = (scope: unknown, root: unknown) => unknown;

function parseSource(path: string): Getter | string {
  const parts = path.split(".");
  const fromRoot = parts[0] === "$record";
  if (fromRoot) parts.shift();
  for (const p of parts) {
    if (p === "" || /[[\]]/.test(p) || FORBIDDEN.has(p) || p.startsWith("$")) {
      return `bad source path ${JSON.stringify(path)}: expected a ${SOURCE_PATH_HELP}`;
    }
  }
  return (scope, root) => {
    let cur = fromRoot ? root : scope;
    for (const p of parts) cur = prop(cur, p);
    return cur;
  };
}

/** An own property (never one inherited from a prototype), or an array index. */
function prop(value: unknown, key: string): unknown {
  if (value === null || typeof value !== "object") return undefined;
  return Object.hasOwn(value, key) ? Reflect.get(value, key) : undefined;
}

function compileRule(rule: RuleShape): Omit<Leaf, "target" | "order"> | string {
  const hasDefault = Object.hasOwn(rule, "default");
  const fallback = rule.default;
  if (rule.expr !== undefined) return compileExpr(rule.expr);
  if (rule.from === undefined) {
    const constant = rule.value;
    return {
      describe: `value ${show(constant)}`,
      // A fresh copy per record, so a writer that edits its input cannot change the next record.
      evaluate: () =>
        constant !== null && typeof constant === "object" ? structuredClone(constant) : constant,
    };
  }
  const get = parseSource(rule.from);
  if (typeof get === "string") return get;
  const from = rule.from;
  const orDefault = (v: unknown): unknown => ((v === undefined || v === null) && hasDefault ? fallback : v);
  const withDefault = hasDefault ? `, default ${show(fallback)}` : "";

  if (rule.map !== undefined) {
    const map = rule.map;
    const strict = rule.strict === true;
    const known = Object.keys(map);
    // A value map may hold many thousands of entries; an error listing them all would bury the problem.
    const listed =
      known.length <= KNOWN_LISTED
        ? known.join(", ")
        : `${known.slice(0, KNOWN_LISTED).join(", ")}, and ${known.length - KNOWN_LISTED} more`;
    return {
      describe: `map ${from} (${known.length} values${strict ? ", strict" : ""}${withDefault})`,
      evaluate: (scope, root, target, indices) => {
        const v = get(scope, root);
        const k =
          typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;
        if (k !== undefined && Object.hasOwn(map, k)) return map[k];
        if (hasDefault) return fallback;
        if (!strict) return v;
        throw dataError(
          concretePath(target, indices),
          `${show(v)} from ${from} is not in the value map (known: ${listed})`,
        );
      },
    };
  }
  if (rule.format !== undefined) {
    const convert = FORMATTERS[rule.format];
    const format = rule.format;
    return {
      describe: `format ${format} of ${from}${withDefault}`,
      evaluate: (scope, root, target, indices) => {
        const v = orDefault(get(scope, root));
        if (v === undefined || v === null) return v;
        const result = convert(v);
        if (result === undefined)
          throw dataError(
            concretePath(target, indices),
            `cannot format ${show(v)} from ${from} as ${format}`,
          );
        return result;
      },
    };
  }
  return { describe: `from ${from}${withDefault}`, evaluate: (scope, root) => orDefault(get(scope, root)) };
}

/** Values of a map named in a "not in the value map" error. */
const KNOWN_LISTED = 20;

const DECIMAL = /^-?\d+(\.\d+)?$/;

function scalarText(v: unknown): string | undefined {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;
}

function decimalText(v: unknown): string | undefined {
  // String(number) is the shortest exact decimal form, except in exponent notation, which is refused.
  const text = typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : "";
  return DECIMAL.test(text) ? text : undefined;
}

/** Each returns undefined when the value cannot be converted. */
const FORMATTERS: Record<Format, (v: unknown) => unknown> = {
  upper: (v) => scalarText(v)?.toUpperCase(),
  lower: (v) => scalarText(v)?.toLowerCase(),
  trim: (v) => scalarText(v)?.trim(),
  decimal2: (v) => {
    const d = decimalText(v);
    return d === undefined ? undefined : roundTo(d, 2);
  },
  // A fractional quantity is an error rather than silently truncated: 2.5 units is not 2 units.
  int: (v) => {
    const d = decimalText(v);
    if (d === undefined || !/^-?\d+(\.0+)?$/.test(d)) return undefined;
    const n = Number.parseInt(d, 10);
    return Number.isSafeInteger(n) ? n : undefined;
  },
};

function compileExpr(source: string): Omit<Leaf, "target" | "order"> | string {
  const expression = compileJsonata(source, "expression");
  if (typeof expression === "string") return expression;
  return {
    describe: `expr ${source}`,
    evaluate: (scope, root, target, indices) => {
      const where = () => {
        const field = concretePath(target, indices);
        return { field, label: `mapping of ${field}` };
      };
      return evaluateJsonata(expression, source, scope, { record: root }, where).then(plain);
    },
  };
}

/** JSONata results are arrays tagged as sequences; copy them into ordinary arrays and objects. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = plain(x);
  return out;
}

function dataError(field: string, problem: string, cause?: unknown): SyncError {
  return new SyncError(
    "data",
    `mapping of ${field}: ${problem}`,
    cause === undefined ? { field } : { field, cause },
  );
}

export interface PreviewField {
  /** Concrete target path, e.g. `variants[1].price`. */
  field: string;
  rule: string;
  before: unknown;
  after: unknown;
}

interface TraceEntry {
  order: number;
  field: PreviewField;
}

type Record_ = Record<string, unknown>;

interface Common {
  /** Every rule, described for people (`plan`, the dashboard). */
  rules: { field: string; rule: string }[];
  /** Applies the mapping and says, field by field, what it set. */
  preview(record: Readonly<Record_>): Promise<{ output: Record_; fields: PreviewField[] }>;
}

/** `apply` is synchronous unless a rule is a JSONata expression (JSONata 2 evaluates asynchronously). */
export type CompiledMapping =
  | (Common & { async: false; apply(record: Readonly<Record_>): Record_ })
  | (Common & { async: true; apply(record: Readonly<Record_>): Promise<Record_> });

/**
 * Compiles a mapping once. Throws ConfigError listing every bad rule with its full config path
 * (`<path>.<target field>`); at run time, apply throws SyncError("data") naming the field and the value.
 */
export function compileMapping(mapping: Mapping, opts: { path?: string } = {}): CompiledMapping {
  const base = opts.path ?? "mapping";
  const analysis = analyse(mapping);
  if (analysis.issues.length > 0) {
    throw new ConfigError(
      analysis.issues.map((i) => ({
        path: i.field === "" ? base : `${base}.${i.field}`,
        message: i.message,
      })),
      `invalid mapping at ${base}`,
    );
  }
  const root = analysis.root;
  const run = (record: Readonly<Record_>, pending: Promise<unknown>[], trace?: TraceEntry[]): Record_ => {
    try {
      return applyNode(root, record, record, record, [], pending, trace);
    } catch (e) {
      // Expressions already started would otherwise reject with nobody listening.
      for (const p of pending) p.catch(() => undefined);
      throw e;
    }
  };
  const preview: Common["preview"] = async (record) => {
    const trace: TraceEntry[] = [];
    const pending: Promise<unknown>[] = [];
    const output = run(record, pending, trace);
    await Promise.all(pending);
    // Expressions settle in any order; list fields in the order the rules were written.
    return { output, fields: trace.sort((a, b) => a.order - b.order).map((t) => t.field) };
  };

  if (!analysis.hasExpr) {
    return {
      async: false,
      rules: analysis.rules,
      preview,
      apply: (record) => run(record, []),
    };
  }
  return {
    async: true,
    rules: analysis.rules,
    preview,
    apply: async (record) => {
      const pending: Promise<unknown>[] = [];
      const output = run(record, pending);
      await Promise.all(pending);
      return output;
    },
  };
}

function concretePath(prefix: string, indices: readonly number[]): string {
  let i = 0;
  return prefix.replace(/\[\]/g, () => `[${indices[i++]}]`);
}

function assign(
  out: Record_,
  key: string,
  value: unknown,
  leaf: Leaf,
  src: object,
  indices: readonly number[],
  trace: TraceEntry[] | undefined,
): void {
  if (value === undefined) delete out[key];
  else out[key] = value;
  if (trace) {
    const field = concretePath(leaf.target, indices);
    trace.push({
      order: leaf.order,
      field: { field, rule: leaf.describe, before: prop(src, key), after: value },
    });
  }
}

/**
 * Object.assign, not spread: V8 gives a spread copy a shape that turns slow once a field is added to it
 * (1.5 µs against 0.2 µs per record here). Assign would set the prototype from an own "__proto__" field,
 * which JSON.parse can produce, so such a record takes the spread path.
 */
function shallowCopy(src: object): Record_ {
  if (Object.hasOwn(src, "__proto__")) return { ...src };
  const out: Record_ = {};
  Object.assign(out, src);
  return out;
}

function applyNode(
  at: Node,
  src: object,
  scope: unknown,
  root: unknown,
  indices: readonly number[],
  pending: Promise<unknown>[],
  trace: TraceEntry[] | undefined,
): Record_ {
  const out = shallowCopy(src);
  for (const [key, leaf] of at.leaves) {
    const value = leaf.evaluate(scope, root, leaf.target, indices);
    if (value instanceof Promise) {
      pending.push(value.then((settled) => assign(out, key, settled, leaf, src, indices, trace)));
    } else {
      assign(out, key, value, leaf, src, indices, trace);
    }
  }
  for (const [key, child] of at.objects) {
    const current = prop(src, key);
    if (current === undefined || current === null) {
      out[key] = applyNode(child, {}, scope, root, indices, pending, trace);
    } else if (typeof current === "object" && !Array.isArray(current)) {
      out[key] = applyNode(child, current, scope, root, indices, pending, trace);
    } else {
      const field = concretePath(child.path, indices);
      throw dataError(field, `expected an object to map into, got ${show(current)}`);
    }
  }
  for (const [key, child] of at.arrays) {
    const current = prop(src, key);
    if (current === undefined || current === null) continue;
    if (!Array.isArray(current)) {
      throw dataError(concretePath(child.path, indices), `expected a list, got ${show(current)}`);
    }
    out[key] = current.map((element: unknown, i) => {
      const inner = [...indices, i];
      if (element === null || typeof element !== "object" || Array.isArray(element)) {
        throw dataError(concretePath(`${child.path}[]`, inner), `expected an object, got ${show(element)}`);
      }
      return applyNode(child, element, element, root, inner, pending, trace);
    });
  }
  return out;
}
