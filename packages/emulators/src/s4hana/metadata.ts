/**
 * The three S/4HANA OData V2 services' own contract: their `$metadata` documents (EDMX 1.0, EDM 2008/09 with
 * SAP annotations), read from s4hana/ in ../shared/specs (or $PASSERELLE_SPECS) and parsed with
 * fast-xml-parser. Per service: the entity sets (with sap:creatable / sap:updatable), each entity type's key,
 * properties (EDM type, MaxLength, Nullable, sap:creatable, sap:updatable, sap:filterable, sap:sortable) and
 * navigation properties resolved through their associations (target type, one or many).
 *
 * Values are checked as OData V2 JSON writes them: Edm.Decimal as a string, Edm.DateTime and
 * Edm.DateTimeOffset as `/Date(ms)/` (with an offset for the latter), Edm.Time as an ISO duration
 * (`PT10H30M00S`), Edm.Guid as a GUID string.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { specsDir } from "../magento/contract.ts";
import { show } from "../util.ts";

export const S4_SERVICES = ["API_PRODUCT_SRV", "API_BUSINESS_PARTNER", "API_SALES_ORDER_SRV"] as const;
export type S4ServiceName = (typeof S4_SERVICES)[number];

export function s4SpecPath(service: S4ServiceName): string {
  return join(specsDir(), "s4hana", `${service}.edmx`);
}

/** Why the S/4HANA tests cannot run here, or false (they run, and fail on a missing document, in CI). */
export function s4SpecSkip(): string | false {
  if (process.env.CI || S4_SERVICES.every((s) => existsSync(s4SpecPath(s)))) return false;
  return `the S/4HANA EDMX documents are not in ${join(specsDir(), "s4hana")} (set PASSERELLE_SPECS to the folder holding s4hana/)`;
}

export interface V2Property {
  name: string;
  type: string;
  maxLength: number | null;
  nullable: boolean;
  creatable: boolean;
  updatable: boolean;
  filterable: boolean;
  sortable: boolean;
}

export interface V2Navigation {
  name: string;
  /** Qualified entity type name of the target. */
  target: string;
  many: boolean;
}

export interface V2EntityType {
  name: string;
  key: string[];
  properties: Map<string, V2Property>;
  navigation: Map<string, V2Navigation>;
}

export interface V2EntitySet {
  name: string;
  type: string;
  creatable: boolean;
  updatable: boolean;
  deletable: boolean;
}

type XmlNode = Record<string, unknown>;
const ARRAYS = new Set([
  "Schema",
  "EntityType",
  "Property",
  "NavigationProperty",
  "PropertyRef",
  "Association",
  "End",
  "EntitySet",
  "AssociationSet",
  "FunctionImport",
  "ComplexType",
]);
const list = (v: unknown): XmlNode[] => (Array.isArray(v) ? (v as XmlNode[]) : []);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const notFalse = (v: unknown) => str(v) !== "false";

const INT = new Set(["Edm.Int16", "Edm.Int32", "Edm.Byte", "Edm.SByte"]);
const DATE = /^\/Date\((-?\d+)\)\/$/;
const DATE_OFFSET = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;
const TIME = /^PT(\d+H)?(\d+M)?(\d+(\.\d+)?S)?$/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export type Mode = "answer" | "create" | "update";

export class V2Service {
  readonly sets = new Map<string, V2EntitySet>();
  readonly types = new Map<string, V2EntityType>();

  /** Without a document: an empty service, filled by its maker (vdm.ts builds one from SAP's VDM packages). */
  constructor(
    readonly name: string,
    xml?: string,
  ) {
    if (xml === undefined) return;
    const doc = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: "",
      removeNSPrefix: true,
      isArray: (n, _p, _l, isAttribute) => !isAttribute && ARRAYS.has(n),
    }).parse(xml) as XmlNode;
    const schemas = list(((doc.Edmx as XmlNode | undefined)?.DataServices as XmlNode | undefined)?.Schema);
    if (schemas.length === 0) throw new Error(`${name}: the $metadata document holds no Schema`);
    const ends = new Map<string, { type: string; many: boolean }>();
    for (const schema of schemas) {
      const ns = str(schema.Namespace);
      for (const a of list(schema.Association)) {
        for (const e of list(a.End)) {
          ends.set(`${ns}.${str(a.Name)}/${str(e.Role)}`, {
            type: str(e.Type),
            many: str(e.Multiplicity) === "*",
          });
        }
      }
    }
    for (const schema of schemas) {
      const ns = str(schema.Namespace);
      for (const t of list(schema.EntityType)) {
        const properties = new Map<string, V2Property>();
        for (const p of list(t.Property)) {
          properties.set(str(p.Name), {
            name: str(p.Name),
            type: str(p.Type),
            maxLength: p.MaxLength ? Number(p.MaxLength) : null,
            nullable: notFalse(p.Nullable),
            creatable: notFalse(p.creatable),
            updatable: notFalse(p.updatable),
            filterable: notFalse(p.filterable),
            sortable: notFalse(p.sortable),
          });
        }
        const navigation = new Map<string, V2Navigation>();
        for (const n of list(t.NavigationProperty)) {
          const end = ends.get(`${str(n.Relationship)}/${str(n.ToRole)}`);
          if (!end) throw new Error(`${name}: ${str(n.Name)} names no association end`);
          navigation.set(str(n.Name), { name: str(n.Name), target: end.type, many: end.many });
        }
        const key = list((t.Key as XmlNode | undefined)?.PropertyRef).map((r) => str(r.Name));
        this.types.set(`${ns}.${str(t.Name)}`, { name: `${ns}.${str(t.Name)}`, key, properties, navigation });
      }
      const container = schema.EntityContainer as XmlNode | undefined;
      for (const s of list(container?.EntitySet)) {
        this.sets.set(str(s.Name), {
          name: str(s.Name),
          type: str(s.EntityType),
          creatable: notFalse(s.creatable),
          updatable: notFalse(s.updatable),
          deletable: notFalse(s.deletable),
        });
      }
    }
  }

  typeOfSet(set: string): V2EntityType | null {
    const s = this.sets.get(set);
    return s ? (this.types.get(s.type) ?? null) : null;
  }

  type(name: string): V2EntityType {
    const t = this.types.get(name);
    if (!t) throw new Error(`${this.name}: no entity type ${name}`);
    return t;
  }

  /** Violations of one V2 JSON value against a property. */
  checkValue(where: string, p: V2Property, v: unknown): string[] {
    if (v === null) return p.nullable ? [] : [`${where} must not be null (Nullable="false")`];
    const bad = [`${where} must be ${p.type} as OData V2 JSON writes it, got ${show(v)}`];
    switch (p.type) {
      case "Edm.String":
        if (typeof v !== "string") return bad;
        return p.maxLength !== null && v.length > p.maxLength
          ? [`${where} is longer than MaxLength ${p.maxLength}: ${show(v)}`]
          : [];
      case "Edm.Decimal":
        return typeof v === "string" && DECIMAL.test(v) ? [] : bad;
      case "Edm.Double":
      case "Edm.Single":
        return typeof v === "number" || (typeof v === "string" && DECIMAL.test(v)) ? [] : bad;
      case "Edm.Int64":
        return typeof v === "string" && /^-?\d+$/.test(v) ? [] : bad;
      case "Edm.Boolean":
        return typeof v === "boolean" ? [] : bad;
      case "Edm.DateTime":
        return typeof v === "string" && DATE.test(v) ? [] : bad;
      case "Edm.DateTimeOffset":
        return typeof v === "string" && DATE_OFFSET.test(v) ? [] : bad;
      case "Edm.Time":
        return typeof v === "string" && TIME.test(v) ? [] : bad;
      case "Edm.Guid":
        return typeof v === "string" && GUID.test(v) ? [] : bad;
      default:
        if (INT.has(p.type)) return Number.isInteger(v) ? [] : bad;
        return [];
    }
  }

  /**
   * Violations of one entity as JSON: every property declared and of its type; in a create, none that
   * sap:creatable="false" forbids; in an update, none that sap:updatable="false" forbids (nor a key); a
   * navigation property only as a deep insert (a create), or expanded / deferred in an answer.
   */
  checkEntity(where: string, type: V2EntityType, value: unknown, mode: Mode): string[] {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return [`${where} must be an object of ${type.name}, got ${show(value)}`];
    }
    const out: string[] = [];
    for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
      const at = `${where}.${name}`;
      if (name === "__metadata") {
        if (mode !== "answer") continue;
        continue;
      }
      const p = type.properties.get(name);
      if (p) {
        if (mode === "create" && !p.creatable && !type.key.includes(name))
          out.push(`${at}: sap:creatable="false"`);
        if (mode === "update" && (!p.updatable || type.key.includes(name)))
          out.push(`${at}: sap:updatable="false"${type.key.includes(name) ? " (a key field)" : ""}`);
        out.push(...this.checkValue(at, p, v));
        continue;
      }
      const n = type.navigation.get(name);
      if (!n) {
        out.push(`${at}: ${type.name} has no property ${name}`);
        continue;
      }
      if (mode === "update") {
        out.push(`${at}: a navigation property cannot be updated`);
        continue;
      }
      const target = this.type(n.target);
      if (mode === "answer" && typeof v === "object" && v !== null && "__deferred" in v) continue;
      if (n.many) {
        const rows = mode === "answer" ? (v as { results?: unknown }).results : v;
        const shape = mode === "answer" ? "{results: [...]}" : "an array";
        if (!Array.isArray(rows)) {
          // A deep insert may also write a to-many navigation as {results: [...]}.
          const alt = (v as { results?: unknown } | null)?.results;
          if (mode === "create" && Array.isArray(alt)) {
            for (const [i, r] of alt.entries()) out.push(...this.checkEntity(`${at}[${i}]`, target, r, mode));
            continue;
          }
          out.push(`${at} must be ${shape} of ${n.target}, got ${show(v)}`);
          continue;
        }
        for (const [i, r] of rows.entries()) out.push(...this.checkEntity(`${at}[${i}]`, target, r, mode));
      } else if (v !== null) out.push(...this.checkEntity(at, target, v, mode));
    }
    return out;
  }
}

const cache = new Map<S4ServiceName, V2Service>();

/** The service's document, parsed once per process. */
export function s4Service(name: S4ServiceName): V2Service {
  let s = cache.get(name);
  if (!s) {
    const path = s4SpecPath(name);
    if (!existsSync(path)) throw new Error(s4SpecSkip() || `no EDMX at ${path}`);
    s = new V2Service(name, readFileSync(path, "utf8"));
    cache.set(name, s);
  }
  return s;
}
