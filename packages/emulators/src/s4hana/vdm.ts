/**
 * The contract of the S/4HANA services no EDMX document here describes — API_OUTBOUND_DELIVERY_SRV,
 * API_BILLING_DOCUMENT_SRV, API_MATERIAL_STOCK_SRV and API_SLSPRICINGCONDITIONRECORD_SRV — read from the
 * packages SAP generated from their `$metadata` and published on npm (`@sap/cloud-sdk-vdm-outbound-delivery-
 * service`, `-billing-document-service`, `-material-stock-service`, `-sales-pricing-condition-record-service`),
 * version 2.1.0, listed once in vdm-packages.json, kept as the registry serves them (the `.tgz` of `npm pack`,
 * checked against the registry's sha512 integrity) in s4hana/ of ../shared/specs (or $PASSERELLE_SPECS) or,
 * fetched by `npm run specs:fetch` (scripts/specs/fetch-sap-vdm.mjs, which .ci/run calls), in the
 * repository's .cache/vendor-specs/s4hana/ (not committed: the packages' licence is SAP's, not the project's).
 *
 * Each package holds two descriptions of the service, and both are read:
 * - `<service>-csn.json` (SAP's CDS schema notation of the EDMX): the entity types, their keys, their
 *   properties with MaxLength (`length`), and their navigation properties (associations with a target and
 *   a cardinality), and the complex types function imports return;
 * - the generated request builders: per entity, `_entityName` (the entity set), `_defaultServicePath`, and in
 *   `<Entity>Api.js` every property's EDM type and nullability (`buildEdmTypeField('Name', 'Edm.X', nullable)`);
 *   in `function-imports.js` each function import's HTTP method, name, parameters (name and EDM type) and
 *   return type.
 * The two must name the same properties; a difference is an error. The packages carry no sap:filterable /
 * sap:sortable / sap:creatable annotations: every property counts as filterable and sortable, and the sets
 * are served read-only (which is all the connector asks of them).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { specsDir } from "../magento/contract.ts";
import { type V2EntityType, type V2Property, V2Service } from "./metadata.ts";

/** One VDM package: its npm spec, the `.tgz` file `npm pack` writes, its CSN file, the registry's sha512. */
export interface S4VdmPackage {
  spec: string;
  file: string;
  csn: string;
  integrity: string;
}

/** The services read from VDM packages; their packages are listed once, in vdm-packages.json. */
export const S4_VDM_SERVICE_NAMES = [
  "API_OUTBOUND_DELIVERY_SRV",
  "API_BILLING_DOCUMENT_SRV",
  "API_MATERIAL_STOCK_SRV",
  "API_SLSPRICINGCONDITIONRECORD_SRV",
] as const;
export type S4VdmServiceName = (typeof S4_VDM_SERVICE_NAMES)[number];

/**
 * vdm-packages.json, the one list of the packages (scripts/specs/fetch-sap-vdm.mjs reads it too), checked to
 * name exactly the services above, each with every field.
 */
function readPackages(): Record<S4VdmServiceName, S4VdmPackage> {
  const list = JSON.parse(readFileSync(new URL("./vdm-packages.json", import.meta.url), "utf8")) as Record<
    string,
    Partial<S4VdmPackage>
  >;
  const names = Object.keys(list).sort();
  if (names.join() !== [...S4_VDM_SERVICE_NAMES].sort().join())
    throw new Error(`vdm-packages.json lists ${names.join(", ")}, not ${S4_VDM_SERVICE_NAMES.join(", ")}`);
  for (const [name, p] of Object.entries(list))
    for (const field of ["spec", "file", "csn", "integrity"] as const)
      if (typeof p[field] !== "string" || p[field] === "")
        throw new Error(`vdm-packages.json: ${name} has no ${field}`);
  return list as Record<S4VdmServiceName, S4VdmPackage>;
}
export const S4_VDM_SERVICES: Readonly<Record<S4VdmServiceName, S4VdmPackage>> = readPackages();

/** Where `npm run specs:fetch` puts the packages: the repository's .cache (from src/ or dist/ alike). */
const FETCHED = fileURLToPath(new URL("../../../../.cache/vendor-specs/s4hana", import.meta.url));

/** The package's file in the specs folder when it is there, else where `npm run specs:fetch` puts it. */
export function s4VdmPath(service: S4VdmServiceName): string {
  const { file } = S4_VDM_SERVICES[service];
  const shared = join(specsDir(), "s4hana", file);
  return existsSync(shared) ? shared : join(FETCHED, file);
}

/** Why the delivery / billing tests cannot run here, or false (in CI they run, and fail on a missing file). */
export function s4VdmSkip(): string | false {
  if (process.env.CI || S4_VDM_SERVICE_NAMES.every((s) => existsSync(s4VdmPath(s)))) return false;
  return `the SAP Cloud SDK VDM packages (${S4_VDM_SERVICE_NAMES.map((s) => S4_VDM_SERVICES[s].file).join(", ")}) are neither in ${join(specsDir(), "s4hana")} nor in ${FETCHED}: npm run specs:fetch`;
}

/** The text files of a `.tgz` (POSIX ustar, as `npm pack` writes it), by path without the `package/` prefix. */
export function readTgz(bytes: Buffer): Map<string, string> {
  const tar = gunzipSync(bytes);
  const out = new Map<string, string>();
  const text = (at: number, len: number) => {
    const s = tar.subarray(at, at + len).toString("utf8");
    const nul = s.indexOf("\0");
    return nul >= 0 ? s.slice(0, nul) : s;
  };
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = text(at, 100);
    if (name === "") break;
    const size = Number.parseInt(text(at + 124, 12).trim() || "0", 8);
    const type = text(at + 156, 1);
    const prefix = text(at + 345, 155);
    const path = (prefix ? `${prefix}/${name}` : name).replace(/^package\//, "");
    if (type === "0" || type === "") out.set(path, tar.subarray(at + 512, at + 512 + size).toString("utf8"));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

export interface V2FunctionImport {
  name: string;
  method: "GET" | "POST";
  /** Parameter name → EDM type. */
  parameters: Map<string, string>;
  /** The complex type returned, its properties. */
  returns: { name: string; many: boolean; properties: Map<string, V2Property> };
}

/** A V2 service built from a VDM package, with the function imports the package declares. */
export class V2VdmService extends V2Service {
  readonly functions = new Map<string, V2FunctionImport>();
  servicePath = "";
}

interface CsnElement {
  type: string;
  key?: boolean;
  length?: number;
  target?: string;
  cardinality?: { max?: string };
}
type CsnDefinitions = Record<string, { kind: string; elements?: Record<string, CsnElement> }>;

const property = (name: string, type: string, nullable: boolean, maxLength: number | null): V2Property => ({
  name,
  type,
  maxLength,
  nullable,
  creatable: false,
  updatable: false,
  filterable: true,
  sortable: true,
});

/** The service described by its package's files (see the header). */
export function vdmServiceFrom(service: S4VdmServiceName, files: Map<string, string>): V2VdmService {
  const svc = new V2VdmService(service);
  const csnText = files.get(S4_VDM_SERVICES[service].csn);
  if (!csnText) throw new Error(`${service}: the package holds no ${S4_VDM_SERVICES[service].csn}`);
  const defs = (JSON.parse(csnText) as { definitions: CsnDefinitions }).definitions;
  // The generated code: EDM types per entity set, and the entity set of each generated class.
  const edm = new Map<string, Map<string, { type: string; nullable: boolean }>>();
  for (const [path, src] of files) {
    const set = /\._entityName = '([A-Za-z0-9_]+)';/.exec(src)?.[1];
    const servicePath = /\._defaultServicePath = '([^']+)';/.exec(src)?.[1];
    if (!set || !path.endsWith(".js")) continue;
    if (servicePath) svc.servicePath = servicePath;
    const api = files.get(path.replace(/\.js$/, "Api.js"));
    if (!api)
      throw new Error(`${service}: ${path} has no request builder ${path.replace(/\.js$/, "Api.js")}`);
    const fields = new Map<string, { type: string; nullable: boolean }>();
    for (const m of api.matchAll(
      /buildEdmTypeField\('([A-Za-z0-9_]+)', '(Edm\.[A-Za-z0-9]+)', (true|false)\)/g,
    )) {
      fields.set(m[1] as string, { type: m[2] as string, nullable: m[3] === "true" });
    }
    edm.set(set, fields);
  }
  const local = (qualified: string) => qualified.slice(qualified.lastIndexOf(".") + 1);
  for (const [qualified, def] of Object.entries(defs)) {
    if (def.kind !== "entity") continue;
    const set = local(qualified);
    const fields = edm.get(set);
    if (!fields) throw new Error(`${service}: the CSN's ${set} has no generated entity`);
    const type: V2EntityType = { name: qualified, key: [], properties: new Map(), navigation: new Map() };
    for (const [name, e] of Object.entries(def.elements ?? {})) {
      if (e.type === "cds.Association") {
        if (!e.target) throw new Error(`${service}: ${set}.${name} has no target`);
        type.navigation.set(name, { name, target: e.target, many: e.cardinality?.max === "*" });
        continue;
      }
      const f = fields.get(name);
      if (!f) throw new Error(`${service}: ${set}.${name} is in the CSN but not in the generated ${set}Api`);
      if (e.key) type.key.push(name);
      type.properties.set(name, property(name, f.type, f.nullable && !e.key, e.length ?? null));
    }
    for (const name of fields.keys())
      if (!type.properties.has(name))
        throw new Error(`${service}: ${set}.${name} is generated but not in the CSN`);
    svc.types.set(qualified, type);
    svc.sets.set(set, { name: set, type: qualified, creatable: false, updatable: false, deletable: false });
  }
  const fi = files.get("function-imports.js") ?? "";
  for (const m of fi.matchAll(
    /function (\w+)\(parameters[^)]*\) \{\s*const params = \{([\s\S]*?)\};\s*return new odata_v2_1\.FunctionImportRequestBuilder\('(get|post)', '[^']+', '([A-Za-z0-9_]+)', \(data\) => \(0, odata_v2_1\.(transformReturnValueForComplexType(?:List)?)\)\(data, \(data\) => \(0, odata_v2_1\.entityDeserializer\)\(deSerializers\)\.deserializeComplexType\(data, \w+_1\.(\w+)\)\)/g,
  )) {
    const [, , paramsSrc, method, name, transform, resultClass] = m as unknown as string[];
    const parameters = new Map<string, string>();
    for (const p of (paramsSrc as string).matchAll(
      /FunctionImportParameter\('([A-Za-z0-9_]+)', '(Edm\.\w+)'/g,
    ))
      parameters.set(p[1] as string, p[2] as string);
    // The complex type: the CSN type whose local name matches the generated class's (GetPdfResult ~ GetPDFResult).
    const typeName = Object.keys(defs).find(
      (k) => defs[k]?.kind === "type" && local(k).toLowerCase() === (resultClass as string).toLowerCase(),
    );
    if (!typeName) throw new Error(`${service}: function ${name} returns ${resultClass}, not in the CSN`);
    const resultSrc = files.get(`${resultClass}.js`) ?? "";
    const properties = new Map<string, V2Property>();
    for (const [pn, e] of Object.entries(defs[typeName]?.elements ?? {})) {
      const edmType = new RegExp(`'${pn}', '(Edm\\.\\w+)'`).exec(resultSrc)?.[1];
      if (!edmType) throw new Error(`${service}: ${typeName}.${pn} has no EDM type in ${resultClass}.js`);
      properties.set(pn, property(pn, edmType, true, e.length ?? null));
    }
    svc.functions.set(name as string, {
      name: name as string,
      method: method === "get" ? "GET" : "POST",
      parameters,
      returns: { name: typeName, many: transform === "transformReturnValueForComplexTypeList", properties },
    });
  }
  if (svc.sets.size === 0) throw new Error(`${service}: the package describes no entity set`);
  return svc;
}

const cache = new Map<S4VdmServiceName, V2VdmService>();

/** The service's package, checked against the registry's integrity and read once per process. */
export function s4VdmService(service: S4VdmServiceName): V2VdmService {
  let s = cache.get(service);
  if (!s) {
    const path = s4VdmPath(service);
    if (!existsSync(path)) throw new Error(s4VdmSkip() || `no package at ${path}`);
    const bytes = readFileSync(path);
    const got = `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
    if (got !== S4_VDM_SERVICES[service].integrity)
      throw new Error(`${path} is not the package npm publishes (integrity ${got})`);
    s = vdmServiceFrom(service, readTgz(bytes));
    cache.set(service, s);
  }
  return s;
}
