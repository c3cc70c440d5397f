/**
 * SAP Business One Service Layer's own contract: the OData v4 `$metadata` document (EDMX, namespace SAPB1)
 * of `/b1s/v2/`, read from sap-b1/servicelayer_metadata_v4.xml in ../shared/specs (or $PASSERELLE_SPECS) and
 * parsed with fast-xml-parser. It answers what the emulator and the tests ask of it:
 * - the entity sets and their entity types, each type's key, properties (EDM type, collection or not,
 *   nullability), and whether it is open;
 * - the complex types (document lines, item prices, addresses) and enum types (their member names);
 * - the unbound actions (Login, Logout) with their parameters, and the actions bound to an entity type
 *   (Orders(1)/Cancel).
 *
 * `checkObject` holds a JSON body or answer to a type, strictly: a property the type does not declare is a
 * violation. The document marks most types `OpenType="true"`; Service Layer's only dynamic properties are
 * user-defined fields, which B1 names with a `U_` prefix, so an open type accepts those and nothing else.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { specsDir } from "../magento/contract.ts";
import { show } from "../util.ts";

export const SAP_B1_METADATA_FILE = "sap-b1/servicelayer_metadata_v4.xml";

export function sapB1MetadataPath(): string {
  return join(specsDir(), SAP_B1_METADATA_FILE);
}

/**
 * Why the SAP Business One tests cannot run here, or false: they skip with this message only when the
 * document is absent outside CI; in CI (CI set) they run and fail on a missing document.
 */
export function sapB1SpecSkip(): string | false {
  if (process.env.CI || existsSync(sapB1MetadataPath())) return false;
  return `SAP Business One's Service Layer $metadata is not at ${sapB1MetadataPath()} (set PASSERELLE_SPECS to the folder holding sap-b1/)`;
}

export interface EdmProperty {
  name: string;
  /** `Edm.String`, `SAPB1.BoYesNoEnum`, `SAPB1.DocumentLine` (the element type for a collection). */
  type: string;
  collection: boolean;
  nullable: boolean;
}

export interface EdmStructuredType {
  name: string;
  kind: "entity" | "complex";
  key: string[];
  open: boolean;
  properties: Map<string, EdmProperty>;
  /** Navigation property names (answers never carry them unless expanded; requests may not set them). */
  navigation: Set<string>;
}

export interface EdmAction {
  name: string;
  bound: boolean;
  /** For a bound action, the type of its binding parameter (`SAPB1.Document`). */
  bindingType: string | null;
  parameters: Map<string, EdmProperty>;
  returnType: string | null;
}

type XmlNode = Record<string, unknown>;
const ARRAYS = new Set([
  "EnumType",
  "Member",
  "ComplexType",
  "EntityType",
  "Property",
  "NavigationProperty",
  "PropertyRef",
  "Action",
  "Function",
  "Parameter",
  "EntitySet",
  "ActionImport",
  "FunctionImport",
  "Schema",
]);

const list = (v: unknown): XmlNode[] => (Array.isArray(v) ? (v as XmlNode[]) : []);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

function property(p: XmlNode): EdmProperty {
  const raw = str(p.Type);
  const m = /^Collection\((.+)\)$/.exec(raw);
  return {
    name: str(p.Name),
    type: m ? (m[1] as string) : raw,
    collection: m !== null,
    nullable: str(p.Nullable) !== "false",
  };
}

const EDM_INT = new Set(["Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"]);
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;
const TIME_OF_DAY = /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

export class SapB1Metadata {
  readonly entitySets = new Map<string, string>();
  readonly types = new Map<string, EdmStructuredType>();
  readonly enums = new Map<string, Set<string>>();
  readonly actions: EdmAction[] = [];
  readonly actionImports = new Set<string>();

  constructor(xml: string) {
    const doc = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: "",
      removeNSPrefix: true,
      isArray: (name, _path, _leaf, isAttribute) => !isAttribute && ARRAYS.has(name),
    }).parse(xml) as XmlNode;
    const services = (doc.Edmx as XmlNode | undefined)?.DataServices as XmlNode | undefined;
    const schemas = list(services?.Schema);
    if (schemas.length === 0) throw new Error("the $metadata document holds no Schema");
    for (const schema of schemas) {
      const ns = str(schema.Namespace);
      for (const e of list(schema.EnumType)) {
        this.enums.set(`${ns}.${str(e.Name)}`, new Set(list(e.Member).map((m) => str(m.Name))));
      }
      for (const [kind, nodes] of [
        ["complex", list(schema.ComplexType)],
        ["entity", list(schema.EntityType)],
      ] as const) {
        for (const t of nodes) {
          const props = new Map(list(t.Property).map((p) => [str(p.Name), property(p)]));
          const key = list((t.Key as XmlNode | undefined)?.PropertyRef).map((r) => str(r.Name));
          this.types.set(`${ns}.${str(t.Name)}`, {
            name: `${ns}.${str(t.Name)}`,
            kind,
            key,
            open: str(t.OpenType) === "true",
            properties: props,
            navigation: new Set(list(t.NavigationProperty).map((n) => str(n.Name))),
          });
        }
      }
      for (const a of list(schema.Action)) {
        const bound = str(a.IsBound) === "true";
        const params = list(a.Parameter).map(property);
        const binding = bound ? (params.shift() ?? null) : null;
        this.actions.push({
          name: str(a.Name),
          bound,
          bindingType: binding?.type ?? null,
          parameters: new Map(params.map((p) => [p.name, p])),
          returnType: str((a.ReturnType as XmlNode | undefined)?.Type) || null,
        });
      }
      const container = schema.EntityContainer as XmlNode | undefined;
      if (container) {
        for (const s of list(container.EntitySet)) this.entitySets.set(str(s.Name), str(s.EntityType));
        for (const a of list(container.ActionImport)) this.actionImports.add(str(a.Name));
      }
    }
  }

  /** The entity type behind an entity set, or null when the document has no such set. */
  typeOfSet(set: string): EdmStructuredType | null {
    const t = this.entitySets.get(set);
    return t ? (this.types.get(t) ?? null) : null;
  }

  /** An unbound action imported into the container (Login, Logout). */
  unboundAction(name: string): EdmAction | null {
    if (!this.actionImports.has(name)) return null;
    return this.actions.find((a) => !a.bound && a.name === name) ?? null;
  }

  /** An action bound to the entity type (`Cancel` on `SAPB1.Document`). */
  boundAction(name: string, type: string): EdmAction | null {
    return this.actions.find((a) => a.bound && a.name === name && a.bindingType === type) ?? null;
  }

  /**
   * Violations of a JSON value against an EDM type, each naming where and what (`Orders body:
   * DocumentLines[0].Quantity must be Edm.Double, got "two"`).
   */
  checkValue(where: string, prop: EdmProperty, value: unknown): string[] {
    if (value === null) return prop.nullable ? [] : [`${where} must not be null (Nullable="false")`];
    if (prop.collection) {
      if (!Array.isArray(value)) return [`${where} must be a collection of ${prop.type}, got ${show(value)}`];
      return value.flatMap((v, i) => this.checkValue(`${where}[${i}]`, { ...prop, collection: false }, v));
    }
    const t = prop.type;
    const bad = [`${where} must be ${t}, got ${show(value)}`];
    if (t === "Edm.String" || t === "Edm.Guid" || t === "Edm.Binary")
      return typeof value === "string" ? [] : bad;
    if (EDM_INT.has(t)) return Number.isInteger(value) ? [] : bad;
    if (t === "Edm.Double" || t === "Edm.Decimal" || t === "Edm.Single")
      return typeof value === "number" && Number.isFinite(value) ? [] : bad;
    if (t === "Edm.Boolean") return typeof value === "boolean" ? [] : bad;
    if (t === "Edm.DateTimeOffset" || t === "Edm.Date")
      return typeof value === "string" && DATE_TIME.test(value) ? [] : bad;
    if (t === "Edm.TimeOfDay") return typeof value === "string" && TIME_OF_DAY.test(value) ? [] : bad;
    const members = this.enums.get(t);
    if (members) {
      return typeof value === "string" && members.has(value)
        ? []
        : [`${where} must be one of ${t} (${[...members].join(", ")}), got ${show(value)}`];
    }
    const structured = this.types.get(t);
    if (structured) return this.checkObject(where, structured, value);
    if (t.startsWith("Edm.")) return [];
    return [`${where}: the document has no type ${t}`];
  }

  /**
   * Violations of a JSON object against a structured type. `omitKeys` allows a missing key (a create whose
   * key the server assigns: DocEntry).
   */
  checkObject(where: string, type: EdmStructuredType, value: unknown): string[] {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return [`${where} must be an object of ${type.name}, got ${show(value)}`];
    }
    const out: string[] = [];
    for (const [name, v] of Object.entries(value)) {
      if (name.startsWith("@odata.") || name.startsWith("odata.")) continue;
      const at = `${where}.${name}`;
      const prop = type.properties.get(name);
      if (!prop) {
        if (type.open && name.startsWith("U_")) continue;
        out.push(
          type.navigation.has(name)
            ? `${at}: ${name} is a navigation property of ${type.name}, not a value`
            : `${at}: ${type.name} has no property ${name}`,
        );
        continue;
      }
      out.push(...this.checkValue(at, prop, v));
    }
    return out;
  }
}

let cached: SapB1Metadata | undefined;

/** The shared document, parsed once per process. */
export function sapB1Metadata(): SapB1Metadata {
  if (!cached) {
    const path = sapB1MetadataPath();
    if (!existsSync(path)) throw new Error(sapB1SpecSkip() || `no $metadata at ${path}`);
    cached = new SapB1Metadata(readFileSync(path, "utf8"));
  }
  return cached;
}
