/**
 * Acumatica's own contract for the emulator: the OpenAPI 3.0 document of the contract-based REST endpoint
 * `Default/24.200.001` (acumatica/Default_24.200.001.openapi.json in ../shared/specs or $PASSERELLE_SPECS),
 * and a validator of requests and answers against it. The emulator puts it in front of itself: a request
 * the document does not allow is refused with a 400 before any handler runs, and every answer is checked
 * before it is sent, so a connector held to the emulator is held to Acumatica's document.
 *
 * The document is 2.5 MB with 730 schemas; it is parsed once and the schemas are added to ajv uncompiled.
 * An operation's schemas are compiled the first time a request reaches it (ajv then compiles only the
 * definitions that operation reaches). Read strictly:
 * - every entity schema (`allOf: [Entity, {properties}]`) is flattened into one object and closed
 *   (`additionalProperties: false`): the endpoint maps only the fields its definition declares, and a
 *   field it does not know is an error (`custom` keeps its own open shape);
 * - `nullable: true` admits null, as OpenAPI 3.0 means it;
 * - query parameters must be ones the operation declares ($select, $filter, $expand, $custom, $skip, $top);
 * - the login and logout calls (`/entity/auth/…`) are not in the document; server.ts checks them itself.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { specsDir } from "../magento/contract.ts";

export const ACUMATICA_ENDPOINT = "Default";
export const ACUMATICA_VERSION = "24.200.001";

export function acumaticaSpecPath(): string {
  return join(specsDir(), "acumatica", `${ACUMATICA_ENDPOINT}_${ACUMATICA_VERSION}.openapi.json`);
}

/** Why the Acumatica contract tests cannot run here, or false (in CI they run and fail on a missing file). */
export function acumaticaSpecSkip(): string | false {
  if (process.env.CI || existsSync(acumaticaSpecPath())) return false;
  return `Acumatica's Default/${ACUMATICA_VERSION} OpenAPI document is not at ${acumaticaSpecPath()} (set PASSERELLE_SPECS to the folder holding acumatica/)`;
}

interface OaParam {
  $ref?: string;
  name?: string;
  in?: string;
  schema?: { type?: string };
}
interface OaMedia {
  content?: Record<string, { schema?: object }>;
  $ref?: string;
}
interface OaOperation {
  operationId: string;
  parameters?: OaParam[];
  requestBody?: OaMedia & { required?: boolean };
  responses: Record<string, OaMedia>;
}
interface OaDoc {
  paths: Record<string, Record<string, OaOperation>>;
  components: {
    schemas: Record<string, object>;
    parameters: Record<string, OaParam>;
    responses: Record<string, OaMedia>;
  };
}

export interface Operation {
  /** The document's operationId, e.g. StockItem_GetList. */
  id: string;
  method: string;
  template: string;
  params: Record<string, string>;
}

interface CompiledOp {
  raw: OaOperation;
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  query: Map<string, string | undefined>;
  bodySchema: object | null;
  bodyRequired: boolean;
  responseSchemas: Map<string, object | null>;
  compiled?: { body: ValidateFunction | null; responses: Map<string, ValidateFunction | null> };
}

const REF = "#/components/schemas/";

/** One schema as the validator reads it (see the module comment). */
function strict(schema: unknown, all: Record<string, object>): unknown {
  if (Array.isArray(schema)) return schema.map((s) => strict(s, all));
  if (schema === null || typeof schema !== "object") return schema;
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.allOf)) {
    // Entity inheritance: the base's properties and the entity's own, in one closed object.
    const properties: Record<string, unknown> = {};
    for (const part of s.allOf as Record<string, unknown>[]) {
      const resolved =
        typeof part.$ref === "string"
          ? (all[(part.$ref as string).slice(REF.length)] as Record<string, unknown>)
          : part;
      const flat = strict(resolved, all) as { properties?: Record<string, unknown> };
      Object.assign(properties, flat.properties ?? {});
    }
    return { type: "object", properties, additionalProperties: false };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "example" || k === "description" || k === "nullable" || k.startsWith("x-")) continue;
    if (k === "$ref" && typeof v === "string") out.$ref = v.replace("#/", "acumatica#/");
    else if (k === "properties")
      out.properties = Object.fromEntries(Object.entries(v as object).map(([p, ps]) => [p, strict(ps, all)]));
    else out[k] = strict(v, all);
  }
  if (s.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  if (out.type === "object" && out.properties && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}

const ajvMessage = (where: string, errors: ValidateFunction["errors"]): string[] =>
  (errors ?? []).slice(0, 5).map((e) => {
    const extra =
      e.keyword === "additionalProperties"
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : "";
    return `${where}${e.instancePath || ""} ${e.message ?? e.keyword}${extra}`;
  });

export class AcumaticaContract {
  readonly #ops: CompiledOp[] = [];
  readonly #ajv: Ajv;
  readonly operationCount: number;
  readonly #schemas: Record<string, object>;

  constructor(doc: OaDoc) {
    this.#schemas = doc.components.schemas;
    this.#ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const schemas = doc.components.schemas;
    this.#ajv.addSchema(
      {
        components: {
          schemas: Object.fromEntries(Object.entries(schemas).map(([n, s]) => [n, strict(s, schemas)])),
        },
      },
      "acumatica",
    );
    const param = (p: OaParam): OaParam =>
      p.$ref ? (doc.components.parameters[p.$ref.split("/").pop() as string] as OaParam) : p;
    const media = (m: OaMedia): OaMedia =>
      m.$ref ? (doc.components.responses[m.$ref.split("/").pop() as string] as OaMedia) : m;
    let n = 0;
    for (const [template, methods] of Object.entries(doc.paths)) {
      for (const [method, raw] of Object.entries(methods)) {
        n++;
        const names: string[] = [];
        const regex = new RegExp(
          `^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_m, name: string) => {
            names.push(name);
            // {ids} is slash-delimited key values; every other parameter is one segment.
            return name === "ids" ? "(.+?)" : "([^/]+)";
          })}$`,
        );
        const query = new Map<string, string | undefined>();
        for (const p of (raw.parameters ?? []).map(param))
          if (p.in === "query" && p.name) query.set(p.name, p.schema?.type);
        const responseSchemas = new Map<string, object | null>();
        for (const [status, r] of Object.entries(raw.responses ?? {}))
          responseSchemas.set(status, media(r).content?.["application/json"]?.schema ?? null);
        this.#ops.push({
          raw,
          method: method.toUpperCase(),
          template,
          regex,
          names,
          query,
          bodySchema: raw.requestBody?.content?.["application/json"]?.schema ?? null,
          bodyRequired: raw.requestBody?.required === true,
          responseSchemas,
        });
      }
    }
    this.operationCount = n;
    // Literal routes before templated ones (/SalesOrder/CancelSalesOrder before /SalesOrder/{actionName}).
    this.#ops.sort((a, b) => a.names.length - b.names.length);
  }

  #compiled(op: CompiledOp) {
    if (!op.compiled) {
      const compile = (schema: object | null) =>
        schema ? this.#ajv.compile(strict(schema, {}) as object) : null;
      op.compiled = {
        body: compile(op.bodySchema),
        responses: new Map([...op.responseSchemas].map(([s, schema]) => [s, compile(schema)])),
      };
    }
    return op.compiled;
  }

  /** The top-level property names of an entity schema (for $filter, $select and $expand checks). */
  fieldsOf(entity: string): Set<string> {
    const flat = strict(this.#schemas[entity] ?? {}, this.#schemas) as { properties?: object };
    return new Set(Object.keys(flat.properties ?? {}));
  }

  /** Checks a request to a path under the endpoint (`/StockItem`, `/SalesOrder/CancelSalesOrder`). */
  checkRequest(
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
  ): { operation: Operation | null; violations: string[] } {
    const m = method.toUpperCase();
    for (const op of this.#ops) {
      if (op.method !== m) continue;
      const hit = op.regex.exec(path);
      if (!hit) continue;
      const params: Record<string, string> = {};
      op.names.forEach((name, i) => {
        params[name] = decodeURIComponent(hit[i + 1] ?? "");
      });
      const where = op.raw.operationId;
      const violations: string[] = [];
      for (const [name, value] of query) {
        if (!op.query.has(name)) {
          violations.push(`${where}: query parameter ${name} is not declared`);
          continue;
        }
        if (op.query.get(name) === "integer" && !/^\d+$/.test(value))
          violations.push(
            `${where}: query parameter ${name} must be an integer, got ${JSON.stringify(value)}`,
          );
      }
      const compiled = this.#compiled(op);
      if (compiled.body) {
        if (body === undefined) {
          if (op.bodyRequired) violations.push(`${where}: the request has no body`);
        } else if (!compiled.body(body))
          violations.push(...ajvMessage(`${where} body`, compiled.body.errors));
      } else if (body !== undefined) violations.push(`${where}: takes no body`);
      return { operation: { id: op.raw.operationId, method: m, template: op.template, params }, violations };
    }
    return { operation: null, violations: [`${m} ${path} is not an operation of the document`] };
  }

  /** Checks an answer: its status must be declared, its body the declared schema. */
  checkResponse(operation: Operation, status: number, body: unknown): string[] {
    const op = this.#ops.find((o) => o.raw.operationId === operation.id && o.method === operation.method);
    if (!op) return [`unknown operation ${operation.id}`];
    const where = `${op.raw.operationId} ${status}`;
    const { responses } = this.#compiled(op);
    if (!responses.has(String(status))) return [`${where}: status ${status} is not declared`];
    const validate = responses.get(String(status));
    if (!validate)
      return body === undefined ? [] : [`${where}: answered a body where the document declares none`];
    return validate(body) ? [] : ajvMessage(`${where} answer`, validate.errors);
  }
}

let cached: AcumaticaContract | undefined;

/** The contract read from Acumatica's document, once per process. */
export function acumaticaContract(): AcumaticaContract {
  if (cached) return cached;
  const path = acumaticaSpecPath();
  let doc: OaDoc;
  try {
    doc = JSON.parse(readFileSync(path, "utf8")) as OaDoc;
  } catch (err) {
    throw new Error(`cannot read Acumatica's OpenAPI document at ${path}`, { cause: err });
  }
  cached = new AcumaticaContract(doc);
  return cached;
}
