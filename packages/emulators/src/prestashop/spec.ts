/**
 * PrestaShop's documented Webservice resource schemas (specs/prestashop/<resource>.json, generated from the
 * developer documentation's resource pages, the published `?schema=synopsis`; see specs/NOTICE.md) and the
 * checks the emulator holds every request body and every answer to: no field the schema does not name,
 * required fields present on a create or full replacement, read-only fields never written, values within
 * their maximum size and of their documented format, language-keyed fields given per language, associations
 * the schema names with the item fields it names.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface FieldSpec {
  format: string | null;
  required: boolean;
  writable: boolean;
  maxSize: number | null;
  filterable: boolean;
  language: boolean;
}

export interface ResourceSpec {
  resource: string;
  element: string;
  source: string;
  order: string[];
  fields: Record<string, FieldSpec>;
  associations: Record<string, { item: string; fields: string[] }>;
}

/** A language-keyed value: one entry per language id. */
export interface LangValue {
  id: string;
  value: string;
}

/** A record as the emulator keeps it and as bodies are parsed: scalars as strings, as PrestaShop sends them. */
export interface PsRecord {
  id?: string;
  [field: string]: string | LangValue[] | Record<string, Record<string, string>[]> | undefined;
}

export const prestashopSpecDir = (): string =>
  process.env.PASSERELLE_PRESTASHOP_SPECS ??
  join(import.meta.dirname, "..", "..", "..", "..", "specs", "prestashop");

let cached: Map<string, ResourceSpec> | null = null;

/** Every resource schema in the specs folder, by resource name. */
export function prestashopSpecs(): Map<string, ResourceSpec> {
  if (cached) return cached;
  const dir = prestashopSpecDir();
  if (!existsSync(dir)) throw new Error(`PrestaShop resource schemas not found in ${dir}`);
  const out = new Map<string, ResourceSpec>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
    const spec = JSON.parse(readFileSync(join(dir, f), "utf8")) as ResourceSpec;
    out.set(spec.resource, spec);
  }
  cached = out;
  return out;
}

const DATE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const FORMATS: Record<string, (v: string) => boolean> = {
  isUnsignedId: (v) => /^\d+$/.test(v),
  isUnsignedInt: (v) => /^\d+$/.test(v),
  isInt: (v) => /^-?\d+$/.test(v),
  isBool: (v) => v === "0" || v === "1",
  isPrice: (v) => /^\d{1,10}(\.\d{1,9})?$/.test(v),
  isNegativePrice: (v) => /^-?\d{1,10}(\.\d{1,9})?$/.test(v),
  isFloat: (v) => /^-?\d+(\.\d+)?$/.test(v),
  isUnsignedFloat: (v) => /^\d+(\.\d+)?$/.test(v),
  isDate: (v) => DATE.test(v) || v === "0000-00-00 00:00:00",
  isDateFormat: (v) => DATE.test(v) || /^\d{4}-\d{2}-\d{2}$/.test(v) || v.startsWith("0000-00-00"),
  isEmail: (v) => /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(v),
  isName: (v) => !/[0-9!<>,;?=+()@#"°{}_$%:]/.test(v),
  isCustomerName: (v) => !/[0-9!<>,;?=+()@#"°{}_$%:]/.test(v),
  isCatalogName: (v) => !/[<>;=#{}]/.test(v),
  isGenericName: (v) => !/[<>={}]/.test(v),
  isReference: (v) => !/[<>;={}]/.test(v),
  isLinkRewrite: (v) => /^[_a-zA-Z0-9-]+$/.test(v),
  isTrackingNumber: (v) => /^[~:#,%&_=()[\]. ?a-zA-Z0-9-]*$/.test(v),
  isReductionType: (v) => v === "amount" || v === "percentage",
  isCleanHtml: (v) => !/<\s*script/i.test(v),
  isAddress: (v) => !/[!<>?=+@{}_$%]/.test(v),
  isCityName: (v) => !/[!<>;?=+@#"°{}_$%]/.test(v),
  isPostCode: (v) => /^[a-zA-Z 0-9-]*$/.test(v),
  isPhoneNumber: (v) => /^[+0-9. ()/-]*$/.test(v),
  isLanguageIsoCode: (v) => /^[a-zA-Z]{2,3}$/.test(v),
  isColor: (v) => v === "" || /^(#[0-9a-fA-F]{6}|[a-zA-Z]+)$/.test(v),
};

/** The documented format check of one value (formats the emulator does not model pass). */
export function formatOk(format: string | null, value: string): boolean {
  if (!format || value === "") return true;
  const check = FORMATS[format] ?? FORMATS[format.charAt(0).toLowerCase() + format.slice(1)];
  return check ? check(value) : true;
}

export type WriteMode = "create" | "replace" | "patch";

/** What is wrong with a request body for `resource`, one message per problem, naming the field and value. */
export function checkBody(spec: ResourceSpec, body: PsRecord, mode: WriteMode): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(body)) {
    if (name === "id") continue;
    if (name === "associations") {
      const assoc = value as Record<string, Record<string, string>[]>;
      for (const [a, items] of Object.entries(assoc ?? {})) {
        const aspec = spec.associations[a];
        if (!aspec) {
          problems.push(`${spec.element}: association "${a}" is not in the schema`);
          continue;
        }
        for (const it of items)
          for (const k of Object.keys(it))
            if (!aspec.fields.includes(k))
              problems.push(`${spec.element}: association ${a}.${aspec.item} has no field "${k}"`);
      }
      continue;
    }
    const f = spec.fields[name];
    if (!f) {
      problems.push(`${spec.element}: field "${name}" is not in the schema`);
      continue;
    }
    if (!f.writable) {
      problems.push(
        `${spec.element}: parameter "${name}" not writable. Please remove this attribute of this XML`,
      );
      continue;
    }
    const values: string[] = [];
    if (f.language) {
      if (!Array.isArray(value)) {
        problems.push(`${spec.element}.${name}: a language-keyed field must be given per <language id="…">`);
        continue;
      }
      for (const l of value) {
        if (!/^\d+$/.test(l.id))
          problems.push(`${spec.element}.${name}: language id ${JSON.stringify(l.id)}`);
        values.push(l.value);
      }
    } else if (typeof value === "string") values.push(value);
    else {
      problems.push(`${spec.element}.${name}: expected a plain value`);
      continue;
    }
    for (const v of values) {
      if (f.maxSize !== null && v.length > f.maxSize)
        problems.push(`${spec.element}.${name}: ${v.length} characters, at most ${f.maxSize}`);
      if (!formatOk(f.format, v))
        problems.push(`${spec.element}.${name}: ${JSON.stringify(v)} is not ${f.format}`);
    }
  }
  if (mode !== "patch")
    for (const [name, f] of Object.entries(spec.fields)) {
      if (!f.required) continue;
      const v = body[name];
      const empty =
        v === undefined ||
        (typeof v === "string" && v === "") ||
        (Array.isArray(v) && v.every((l) => l.value === ""));
      if (empty) problems.push(`${spec.element}: property ${name} is required`);
    }
  if (mode !== "create" && !body.id)
    problems.push(`${spec.element}: id is required when modifying a resource`);
  return problems;
}

/** What is wrong with a record the emulator answers with (fields and associations outside the schema, bad formats). */
export function checkAnswer(spec: ResourceSpec, rec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(rec)) {
    if (name === "id") continue;
    if (name === "associations") {
      for (const a of Object.keys((value ?? {}) as object))
        if (!spec.associations[a])
          problems.push(`${spec.element}: answered association "${a}" is not in the schema`);
      continue;
    }
    const f = spec.fields[name];
    if (!f) {
      problems.push(`${spec.element}: answered field "${name}" is not in the schema`);
      continue;
    }
    if (f.language !== Array.isArray(value))
      problems.push(`${spec.element}.${name}: answered ${f.language ? "without" : "with"} languages`);
    else if (typeof value === "string" && !formatOk(f.format, value))
      problems.push(`${spec.element}.${name}: answered ${JSON.stringify(value)}, not ${f.format}`);
  }
  return problems;
}

/** The synopsis PrestaShop serves for `?schema=synopsis`, built from the documented schema. */
export function synopsis(spec: ResourceSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of spec.order) {
    if (name === "associations") continue;
    const f = spec.fields[name];
    out[name] = f
      ? {
          ...(f.format ? { format: f.format } : {}),
          ...(f.required ? { required: "true" } : {}),
          ...(f.maxSize !== null ? { maxSize: String(f.maxSize) } : {}),
          ...(f.writable ? {} : { read_only: "true" }),
          ...(f.language ? { language: true } : {}),
        }
      : {};
  }
  return out;
}
