/**
 * Salesforce B2C Commerce's own contract: the four SCAPI admin OpenAPI 3.0 documents Salesforce publishes
 * with commerce-sdk (catalogs, customers, orders and products `*-oas-v1-public.yaml`, read from
 * ../shared/specs/sfcc or $PASSERELLE_SPECS/sfcc), and a validator of requests and answers against them.
 * The emulator puts it in front of itself: a request the documents do not allow is answered 400 before any
 * handler runs, and every answer it gives is checked, so a connector held to the emulator is held to
 * Salesforce's documents.
 *
 * Each document's server URL gives its base path (`/product/products/v1`, `/customer/customers/v1`,
 * `/checkout/orders/v1`, `/product/catalogs/v1`) under `https://{shortCode}.api.commercecloud.salesforce.com`.
 * Schemas are checked with ajv as written, with two readings: where a schema's `additionalProperties` is
 * the documents' "Additional Property Support" object, a property the schema does not name must start with
 * `c_` (SCAPI's rule for custom attributes); and a closed schema that extends others through `allOf` (the
 * paged results: CustomerSearchResult → PaginatedSearchResult → PaginatedResultBase → ResultBase) is
 * closed over the properties of the whole chain (JSON Schema 2019-09's `unevaluatedProperties`), which is
 * what the documents' own examples show (`limit`, `offset` and `total` beside `hits`). Query parameters must be declared, required ones present, and
 * their values are checked against their schemas (numbers coerced; arrays from repeated or comma-separated
 * values). The Account Manager token endpoint is not in these documents; the emulator serves it apart.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { parse } from "yaml";

export const SFCC_APIS = ["catalogs", "customers", "orders", "products"] as const;
export type SfccApi = (typeof SFCC_APIS)[number];

/** The vendor contracts folder: $PASSERELLE_SPECS, or ../shared/specs beside the repository. */
export function sfccSpecDir(): string {
  const fromEnv = process.env.PASSERELLE_SPECS;
  const root =
    fromEnv !== undefined && fromEnv !== ""
      ? resolve(fromEnv)
      : fileURLToPath(new URL("../../../../../shared/specs", import.meta.url));
  return join(root, "sfcc");
}

export const sfccSpecPath = (api: SfccApi): string => join(sfccSpecDir(), `${api}-oas-v1-public.yaml`);

/** Why the SFCC contract tests cannot run here, or false (in CI they run and fail on a missing document). */
export function sfccSpecSkip(): string | false {
  if (process.env.CI || SFCC_APIS.every((a) => existsSync(sfccSpecPath(a)))) return false;
  return `Salesforce's SCAPI OpenAPI documents are not in ${sfccSpecDir()} (set PASSERELLE_SPECS to the folder holding sfcc/)`;
}

type Json = Record<string, unknown>;

export interface Operation {
  /** The document's operationId, e.g. getOrders. */
  id: string;
  api: SfccApi;
  method: string;
  template: string;
  params: Record<string, string>;
}

export interface RequestToCheck {
  method: string;
  /** The path after the host, e.g. /checkout/orders/v1/organizations/f_ecom_zzzz_001/orders. */
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export interface RequestVerdict {
  operation: Operation | null;
  violations: string[];
}

interface QueryParam {
  schema: Json;
  required: boolean;
  array: boolean;
  numeric: boolean;
  validate?: ValidateFunction;
}

interface CompiledOp {
  api: SfccApi;
  id: string;
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  pathSchemas: Map<string, Json>;
  query: Map<string, QueryParam>;
  bodySchema: Json | null;
  bodyRequired: boolean;
  responses: Map<string, Json | null>;
  compiled?: { body: ValidateFunction | null; responses: Map<string, ValidateFunction | null> };
}

const CUSTOM = "Additional Property Support";

/** Drops examples and reads the custom-attribute rule (see the module comment). */
function prepare(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(prepare);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema as Json)) {
    if (k === "example" || k === "examples" || k.startsWith("x-")) continue;
    out[k] =
      k === "properties"
        ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, prepare(s)]))
        : prepare(v);
  }
  // A closed schema that extends others (allOf) closes over the properties they bring too.
  if (out.additionalProperties === false && Array.isArray(out.allOf)) {
    delete out.additionalProperties;
    out.unevaluatedProperties = false;
  }
  const extra = out.additionalProperties as Json | undefined;
  if (extra && typeof extra === "object" && extra.title === CUSTOM) {
    const named = Object.keys((out.properties as Json | undefined) ?? {});
    out.additionalProperties = true;
    out.propertyNames = { anyOf: [{ enum: named.length > 0 ? named : ["c_"] }, { pattern: "^c_" }] };
  }
  return out;
}

const refsTo = (api: SfccApi, schema: unknown): unknown =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"sfcc-${api}#/components/`));

const ajvMessage = (where: string, errors: ValidateFunction["errors"]): string[] =>
  (errors ?? []).slice(0, 5).map((e) => {
    const p = e.params as { additionalProperty?: string; missingProperty?: string; propertyName?: string };
    const extra = p.additionalProperty ?? p.missingProperty ?? p.propertyName;
    return `${where}${e.instancePath || ""} ${e.message ?? e.keyword}${extra ? ` (${extra})` : ""}`;
  });

export class SfccContract {
  readonly #ops: CompiledOp[] = [];
  readonly #ajv: Ajv2019;
  readonly operationCount: number;

  constructor(docs: Record<SfccApi, Json>) {
    this.#ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    for (const api of SFCC_APIS) {
      const doc = docs[api];
      const components = (doc.components ?? {}) as Json;
      this.#ajv.addSchema({ components: prepare(components) as object }, `sfcc-${api}`);
      const server = ((doc.servers as { url: string }[] | undefined) ?? [])[0]?.url ?? "";
      const base = new URL(server.replace("{shortCode}", "x")).pathname.replace(/\/$/, "");
      const params = (components.parameters ?? {}) as Record<string, Json>;
      const resolveParam = (p: Json): Json =>
        typeof p.$ref === "string" ? (params[p.$ref.split("/").pop() ?? ""] ?? {}) : p;
      for (const [template, item] of Object.entries(doc.paths as Record<string, Json>)) {
        const shared = ((item.parameters as Json[] | undefined) ?? []).map(resolveParam);
        for (const [method, raw] of Object.entries(item)) {
          if (!["get", "put", "post", "patch", "delete"].includes(method)) continue;
          const op = raw as Json;
          const names: string[] = [];
          const full = `${base}${template}`;
          const regex = new RegExp(
            `^${full.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_m, n: string) => {
              names.push(n);
              return "([^/]+)";
            })}$`,
          );
          const pathSchemas = new Map<string, Json>();
          const query = new Map<string, QueryParam>();
          for (const p of [...shared, ...((op.parameters as Json[] | undefined) ?? []).map(resolveParam)]) {
            const schema = (p.schema ?? {}) as Json;
            if (p.in === "path") pathSchemas.set(String(p.name), schema);
            if (p.in === "query") {
              const flat = JSON.stringify(schema);
              query.set(String(p.name), {
                schema,
                required: p.required === true,
                array: schema.type === "array",
                numeric: /"type":"(integer|number)"/.test(flat) && schema.type !== "array",
              });
            }
          }
          const rb = op.requestBody as Json | undefined;
          const bodySchema =
            ((rb?.content as Json | undefined)?.["application/json"] as Json | undefined)?.schema ?? null;
          const responses = new Map<string, Json | null>();
          for (const [status, r] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
            const s = ((r.content as Json | undefined)?.["application/json"] as Json | undefined)?.schema;
            responses.set(status, (s as Json | undefined) ?? null);
          }
          this.#ops.push({
            api,
            id: String(op.operationId),
            method: method.toUpperCase(),
            template: full,
            regex,
            names,
            pathSchemas,
            query,
            bodySchema: bodySchema as Json | null,
            bodyRequired: rb?.required === true,
            responses,
          });
        }
      }
    }
    this.operationCount = this.#ops.length;
    // Literal routes before templated ones.
    this.#ops.sort((a, b) => a.names.length - b.names.length);
  }

  #compile(api: SfccApi, schema: Json | null): ValidateFunction | null {
    return schema ? this.#ajv.compile(refsTo(api, prepare(schema)) as object) : null;
  }

  #compiled(op: CompiledOp) {
    if (!op.compiled) {
      op.compiled = {
        body: this.#compile(op.api, op.bodySchema),
        responses: new Map([...op.responses].map(([s, schema]) => [s, this.#compile(op.api, schema)])),
      };
      for (const q of op.query.values()) q.validate = this.#compile(op.api, q.schema) ?? undefined;
    }
    return op.compiled;
  }

  checkRequest(req: RequestToCheck): RequestVerdict {
    const method = req.method.toUpperCase();
    let found: { op: CompiledOp; params: Record<string, string> } | null = null;
    for (const op of this.#ops) {
      if (op.method !== method) continue;
      const m = op.regex.exec(req.path);
      if (!m) continue;
      const params: Record<string, string> = {};
      op.names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1] ?? "");
      });
      found = { op, params };
      break;
    }
    if (!found)
      return { operation: null, violations: [`${method} ${req.path} is not an operation of the documents`] };
    const { op, params } = found;
    const compiled = this.#compiled(op);
    const violations: string[] = [];
    for (const [name, schema] of op.pathSchemas) {
      const v = this.#compile(op.api, schema);
      if (v && !v(params[name])) violations.push(...ajvMessage(`${op.id} path ${name}`, v.errors));
    }
    for (const name of new Set(req.query.keys())) {
      const q = op.query.get(name);
      if (!q) {
        violations.push(`${op.id}: query parameter ${name} is not declared`);
        continue;
      }
      const values = req.query.getAll(name);
      let value: unknown = values[0];
      if (q.array) value = values.flatMap((x) => x.split(","));
      else if (values.length > 1)
        violations.push(`${op.id}: query parameter ${name} given ${values.length} times`);
      else if (q.numeric) value = /^-?\d+(\.\d+)?$/.test(String(value)) ? Number(value) : value;
      if (q.validate && !q.validate(value))
        violations.push(...ajvMessage(`${op.id} query ${name}`, q.validate.errors));
    }
    for (const [name, q] of op.query)
      if (q.required && !req.query.has(name))
        violations.push(`${op.id}: query parameter ${name} is required`);
    if (compiled.body) {
      if (req.body === undefined) {
        if (op.bodyRequired) violations.push(`${op.id}: the request has no body`);
      } else if (!compiled.body(req.body))
        violations.push(...ajvMessage(`${op.id} body`, compiled.body.errors));
    } else if (req.body !== undefined) violations.push(`${op.id}: takes no body`);
    return {
      operation: { id: op.id, api: op.api, method: op.method, template: op.template, params },
      violations,
    };
  }

  /** An answer's status must be declared (or `default`) and its body match the status's schema. */
  checkResponse(operation: Operation, status: number, body: unknown): string[] {
    const op = this.#ops.find((o) => o.id === operation.id && o.api === operation.api);
    if (!op) return [`unknown operation ${operation.id}`];
    const { responses } = this.#compiled(op);
    const where = `${op.id} ${status}`;
    const validate = responses.has(String(status)) ? responses.get(String(status)) : responses.get("default");
    if (validate === undefined) return [`${where}: status ${status} is not declared`];
    if (validate === null) {
      const declared = op.responses.get(String(status)) ?? op.responses.get("default");
      return declared === null && status === 204 && body !== undefined
        ? [`${where}: a 204 carries a body`]
        : [];
    }
    return validate(body) ? [] : ajvMessage(`${where} answer`, validate.errors);
  }
}

let cached: SfccContract | undefined;

/** The contract read from Salesforce's four documents, once. */
export function sfccContract(): SfccContract {
  if (cached) return cached;
  const docs = {} as Record<SfccApi, Json>;
  for (const api of SFCC_APIS) {
    const path = sfccSpecPath(api);
    try {
      docs[api] = parse(readFileSync(path, "utf8"), { maxAliasCount: -1 }) as Json;
    } catch (err) {
      throw new Error(`cannot read the SCAPI ${api} document at ${path}`, { cause: err });
    }
  }
  cached = new SfccContract(docs);
  return cached;
}
