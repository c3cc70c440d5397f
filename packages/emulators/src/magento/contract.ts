/**
 * Magento's own contract, read from the OpenAPI (Swagger 2.0) document Adobe publishes for the admin REST
 * API of 2.4.9 (magento/admin-schema-2.4.9.yaml in ../shared/specs or $PASSERELLE_SPECS), and a validator of requests
 * and answers against it. The emulator puts it in front of itself (a request the document does not allow is
 * answered 400 before any handler runs, and every answer it gives is checked), so a connector held to the
 * emulator is held to Adobe's document, not to what the emulator's author believed.
 *
 * Schemas are checked with ajv (JSON Schema; Swagger 2.0's schema objects are a subset of it). The
 * document is read the way Magento's web API reads requests, strictly:
 * - every object is closed (`additionalProperties: false`): Magento's input processor refuses a property
 *   its interface has no setter for, and its output carries only the interface's fields;
 * - query parameters must be ones the operation declares; the document spells the searchCriteria
 *   parameters with index 0 (`searchCriteria[filterGroups][0][filters][0][field]`), which stands for any index;
 * - an operation that declares no 2xx answer returns nothing (a void service method): its success body must
 *   be empty or `[]`;
 * - the `/async/bulk/V1/…` routes are the synchronous route's operation taking an array of its bodies (the
 *   document does not list them; Adobe derives them from the synchronous routes);
 * - the document's `api_key` security definition is not what Magento checks (it takes
 *   `Authorization: Bearer`), so it is not enforced here; the emulator checks the bearer itself.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { Ajv, type ValidateFunction } from "ajv";
import { parse } from "yaml";

export const MAGENTO_VERSION = "2.4.9";

/**
 * The vendor contracts folder: $PASSERELLE_SPECS, or ../shared/specs beside the repository (where CI puts
 * it). Adobe's document is read from there, not committed: the project keeps only the Shopify schema the
 * default demo needs (specs/NOTICE.md).
 */
export function specsDir(): string {
  const fromEnv = process.env.PASSERELLE_SPECS;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  return fileURLToPath(new URL("../../../../../shared/specs", import.meta.url));
}

/** Adobe's YAML as published, or a gzip of it beside it. */
export function magentoSpecPath(): string {
  const plain = join(specsDir(), "magento", `admin-schema-${MAGENTO_VERSION}.yaml`);
  return !existsSync(plain) && existsSync(`${plain}.gz`) ? `${plain}.gz` : plain;
}

/**
 * Why the Magento contract tests cannot run here, or false: they skip with this message only when the
 * document is absent outside CI; in CI (CI set) they run and fail on a missing document.
 */
export function magentoSpecSkip(): string | false {
  if (process.env.CI || existsSync(magentoSpecPath())) return false;
  return `Adobe's Magento OpenAPI document is not at ${magentoSpecPath()} (set PASSERELLE_SPECS to the folder holding magento/)`;
}

interface SwaggerParam {
  name: string;
  in: "path" | "query" | "body" | "header" | "formData";
  type?: string;
  required?: boolean;
  schema?: object;
}
interface SwaggerOperation {
  operationId: string;
  parameters?: SwaggerParam[];
  responses: Record<string, { schema?: object }>;
}
interface SwaggerDoc {
  paths: Record<string, Record<string, SwaggerOperation>>;
  definitions: Record<string, object>;
}

/** One operation of the document, found for a request. */
export interface Operation {
  /** The document's operationId, e.g. GetV1Products. */
  id: string;
  method: string;
  /** The document's path template, e.g. /V1/products/{sku}. */
  template: string;
  /** Path parameters taken from the request's path. */
  params: Record<string, string>;
  /** Whether the request came on the async bulk route. */
  bulk: boolean;
}

export interface RequestToCheck {
  method: string;
  /** The path after the host: /rest/<store code>/V1/... (or /rest/<store>/async/bulk/V1/...). */
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body, or undefined when none was sent. */
  body: unknown;
}

export interface RequestVerdict {
  operation: Operation | null;
  /** The store code in the path (`default`, `all`, a store view's code). */
  store: string | null;
  violations: string[];
}

interface CompiledOp {
  raw: SwaggerOperation;
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  query: Map<string, string | undefined>;
  pathTypes: Map<string, string | undefined>;
  bodySchema: object | null;
  bodyRequired: boolean;
  responseSchemas: Map<string, object | null>;
  /** Compiled on first use (compiling all 600 operations up front takes seconds). */
  compiled?: { body: ValidateFunction | null; responses: Map<string, ValidateFunction | null> };
}

/** Closes every object schema (see the module comment); $refs are left to point at closed definitions. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "xml" || k === "example" || k.startsWith("x-")) continue;
    out[k] =
      k === "properties" ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, closed(s)])) : closed(v);
  }
  if (out.type === "object" && out.properties && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}

const asRef = (schema: unknown): unknown =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/definitions/', '"magento#/definitions/'));

const ajvMessage = (where: string, errors: ValidateFunction["errors"]): string[] =>
  (errors ?? []).slice(0, 5).map((e) => {
    const extra =
      e.keyword === "additionalProperties"
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : e.keyword === "required"
          ? ` (${String((e.params as { missingProperty?: string }).missingProperty)})`
          : "";
    return `${where}${e.instancePath || ""} ${e.message ?? e.keyword}${extra}`;
  });

const STORE_PATH = /^\/rest\/(?:([A-Za-z0-9_]+)\/)?(async\/bulk\/)?(V1\/.*)$/;

export class MagentoContract {
  readonly #ops: CompiledOp[] = [];
  readonly #ajv: Ajv;
  readonly operationCount: number;

  constructor(doc: SwaggerDoc) {
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    this.#ajv = ajv;
    ajv.addSchema({ definitions: closed(doc.definitions) as object }, "magento");
    let n = 0;
    for (const [template, methods] of Object.entries(doc.paths)) {
      for (const [method, raw] of Object.entries(methods)) {
        n++;
        const names: string[] = [];
        const regex = new RegExp(
          `^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_m, name: string) => {
            names.push(name);
            return "([^/]+)";
          })}$`,
        );
        const query = new Map<string, string | undefined>();
        const pathTypes = new Map<string, string | undefined>();
        let bodySchema: object | null = null;
        let bodyRequired = false;
        for (const p of raw.parameters ?? []) {
          if (p.in === "query") query.set(p.name, p.type);
          if (p.in === "path") pathTypes.set(p.name, p.type);
          if (p.in === "body" && p.schema) {
            bodySchema = p.schema;
            bodyRequired =
              p.required === true || (p.schema as { required?: unknown[] }).required !== undefined;
          }
        }
        const responseSchemas = new Map<string, object | null>();
        for (const [status, r] of Object.entries(raw.responses ?? {}))
          responseSchemas.set(status, r.schema ?? null);
        this.#ops.push({
          raw,
          method: method.toUpperCase(),
          template,
          regex,
          names,
          query,
          pathTypes,
          bodySchema,
          bodyRequired,
          responseSchemas,
        });
      }
    }
    this.operationCount = n;
    // Literal routes before templated ones (/V1/products/tier-prices before /V1/products/{sku}).
    this.#ops.sort((a, b) => a.names.length - b.names.length);
  }

  #compiled(op: CompiledOp) {
    if (!op.compiled) {
      const compile = (schema: object | null) =>
        schema ? this.#ajv.compile(asRef(closed(schema)) as object) : null;
      op.compiled = {
        body: compile(op.bodySchema),
        responses: new Map([...op.responseSchemas].map(([s, schema]) => [s, compile(schema)])),
      };
    }
    return op.compiled;
  }

  #find(method: string, v1: string): { op: CompiledOp; params: Record<string, string> } | null {
    for (const op of this.#ops) {
      if (op.method !== method) continue;
      const m = op.regex.exec(v1);
      if (!m) continue;
      const params: Record<string, string> = {};
      op.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] ?? "");
      });
      return { op, params };
    }
    return null;
  }

  /** Checks a request: its route, path and query parameters and body; names every violation. */
  checkRequest(req: RequestToCheck): RequestVerdict {
    const violations: string[] = [];
    const m = STORE_PATH.exec(req.path);
    if (!m)
      return { operation: null, store: null, violations: [`${req.path} is not a /rest/<store>/V1/ route`] };
    const store = m[1] ?? "default";
    const bulk = m[2] !== undefined;
    const v1 = `/${m[3]}`;
    const found = this.#find(req.method.toUpperCase(), v1);
    if (!found) {
      return {
        operation: null,
        store,
        violations: [`${req.method} ${v1} is not an operation of the document`],
      };
    }
    const { op, params } = found;
    const where = `${op.raw.operationId}`;
    if (bulk && req.method.toUpperCase() === "GET")
      violations.push(`${where}: the async bulk routes take no GET`);
    for (const [name, value] of Object.entries(params)) {
      if (op.pathTypes.get(name) === "integer" && !/^-?\d+$/.test(value))
        violations.push(`${where}: path parameter ${name} must be an integer, got ${JSON.stringify(value)}`);
    }
    for (const [name, value] of req.query) {
      const declaredAs = name.replace(/\[\d+\]/g, "[0]");
      if (!op.query.has(declaredAs)) {
        violations.push(`${where}: query parameter ${name} is not declared`);
        continue;
      }
      const type = op.query.get(declaredAs);
      if (type === "integer" && !/^-?\d+$/.test(value))
        violations.push(`${where}: query parameter ${name} must be an integer, got ${JSON.stringify(value)}`);
      if (type === "boolean" && !["true", "false", "1", "0"].includes(value))
        violations.push(`${where}: query parameter ${name} must be a boolean, got ${JSON.stringify(value)}`);
    }
    const { body } = this.#compiled(op);
    if (body) {
      if (req.body === undefined) {
        if (op.bodyRequired) violations.push(`${where}: the request has no body`);
      } else if (bulk) {
        if (!Array.isArray(req.body))
          violations.push(`${where}: an async bulk body must be an array of bodies`);
        else
          req.body.forEach((one, i) => {
            if (!body(one)) violations.push(...ajvMessage(`${where} body[${i}]`, body.errors));
          });
      } else if (!body(req.body)) {
        violations.push(...ajvMessage(`${where} body`, body.errors));
      }
    } else if (
      req.body !== undefined &&
      !(typeof req.body === "object" && req.body !== null && Object.keys(req.body).length === 0)
    ) {
      violations.push(`${where}: takes no body`);
    }
    return {
      operation: { id: op.raw.operationId, method: op.method, template: op.template, params, bulk },
      store,
      violations,
    };
  }

  /** Checks an answer to an operation: its status must be declared (or `default`), its body its schema. */
  checkResponse(operation: Operation, status: number, body: unknown): string[] {
    const op = this.#ops.find((o) => o.raw.operationId === operation.id && o.method === operation.method);
    if (!op) return [`unknown operation ${operation.id}`];
    const where = `${op.raw.operationId} ${status}`;
    if (operation.bulk) return []; // the async answer is not in the document (see the module comment)
    const success = status >= 200 && status < 300;
    const { responses } = this.#compiled(op);
    const declares2xx = [...responses.keys()].some((s) => s.startsWith("2"));
    if (success && !declares2xx) {
      const empty =
        body === undefined || body === null || (Array.isArray(body) && body.length === 0) || body === "";
      return empty ? [] : [`${where}: a void operation answered a body`];
    }
    const validate = responses.has(String(status))
      ? responses.get(String(status))
      : success
        ? undefined
        : responses.get("default");
    if (validate === undefined) return [`${where}: status ${status} is not declared`];
    if (validate === null) return [];
    return validate(body) ? [] : ajvMessage(`${where} answer`, validate.errors);
  }
}

let cached: MagentoContract | undefined;

/** The contract read from Adobe's document, once. */
export function magentoContract(): MagentoContract {
  if (cached) return cached;
  const path = magentoSpecPath();
  let doc: SwaggerDoc;
  try {
    const bytes = readFileSync(path);
    const text = (path.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8");
    doc = parse(text, { maxAliasCount: -1 }) as SwaggerDoc;
  } catch (err) {
    throw new Error(
      `cannot read the Magento admin OpenAPI document at ${path} (PASSERELLE_SPECS=${process.env.PASSERELLE_SPECS ?? ""})`,
      { cause: err },
    );
  }
  cached = new MagentoContract(doc);
  return cached;
}
