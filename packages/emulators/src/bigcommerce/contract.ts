/**
 * BigCommerce's own contract, read from the OpenAPI 3 documents BigCommerce publishes for its REST
 * management API (bigcommerce/*.yml in ../shared/specs or $PASSERELLE_SPECS: catalog products, variants and
 * categories, price lists, inventory, customers v2/v3, orders v2/v3, webhooks), and a validator of requests
 * and answers against them. The emulator puts it in front of itself: a request the documents do not allow
 * is answered 400 before any handler runs, and every answer is checked before it is sent (a violation is
 * recorded), so a connector held to the emulator is held to BigCommerce's documents.
 *
 * Schemas are checked with ajv (draft 2019-09, which reads OpenAPI 3.0's schema objects once `nullable`,
 * `example`, `discriminator`, `xml` and `x-*` are set aside). How the documents are read:
 * - each document's server is `https://api.bigcommerce.com/stores/{store_hash}/v2|v3`: a request path
 *   `/stores/<hash>/v3/catalog/products` is looked up in the v3 documents only;
 * - query parameters must be ones the operation declares (`sku:in`, `date_modified:min` ... are names of
 *   their own); integer and number parameters must be numbers, comma lists of them for `:in` arrays;
 * - required headers must be present (the documents require `Accept`, and `Content-Type` on writes);
 * - a request body's top-level object (or each item of a top-level array) may carry only properties its
 *   schema names (`unevaluatedProperties: false`, which sees through allOf): BigCommerce ignores unknown
 *   fields, so a misspelt field would otherwise be lost silently; `readOnly` properties are not required
 *   in requests, `writeOnly` ones not in answers;
 * - answers are checked against the schema declared for their status (`default` for errors when given);
 * - one defect of the documents is corrected where they are read (KNOWN_DEFECTS): `GET /v3/hooks` declares
 *   `data` with `minItems: 1`, yet a store without subscriptions answers `data: []`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { parse } from "yaml";

/** The documents the emulator reads, by file name in <specs>/bigcommerce/. */
export const BIGCOMMERCE_DOCUMENTS = [
  "products_catalog.v3.yml",
  "product-variants_catalog.v3.yml",
  "categories_catalog.v3.yml",
  "price_lists.v3.yml",
  "inventory.v3.yml",
  "customers.v2.yml",
  "customers.v3.yml",
  "orders.v2.oas2.yml",
  "orders.v3.yml",
  "webhooks.v3.yml",
] as const;

function specsDir(): string {
  const fromEnv = process.env.PASSERELLE_SPECS;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  return fileURLToPath(new URL("../../../../../shared/specs", import.meta.url));
}

/** The folder holding BigCommerce's documents and webhook-payloads/. */
export function bigcommerceSpecDir(): string {
  return join(specsDir(), "bigcommerce");
}

/**
 * Why the BigCommerce contract tests cannot run here, or false: they skip with this message only when a
 * document is absent outside CI; in CI (CI set) they run and fail on a missing document.
 */
export function bigcommerceSpecSkip(): string | false {
  if (process.env.CI) return false;
  const missing = BIGCOMMERCE_DOCUMENTS.filter((f) => !existsSync(join(bigcommerceSpecDir(), f)));
  if (missing.length === 0) return false;
  return `BigCommerce's OpenAPI documents are not at ${bigcommerceSpecDir()} (missing ${missing.join(", ")}; set PASSERELLE_SPECS to the folder holding bigcommerce/)`;
}

/** The example webhook payloads published beside the documents, by file name. */
export function bigcommerceWebhookPayloads(): Map<string, unknown> {
  const dir = join(bigcommerceSpecDir(), "webhook-payloads");
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => [f, JSON.parse(readFileSync(join(dir, f), "utf8")) as unknown]),
  );
}

type Json = Record<string, unknown>;

interface OasParam {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: Json;
}

interface CompiledOp {
  doc: string;
  id: string;
  method: string;
  /** The document's path with its version: /v3/catalog/products/{product_id}. */
  template: string;
  regex: RegExp;
  names: string[];
  query: Map<string, Json | undefined>;
  headers: string[];
  pathTypes: Map<string, string | undefined>;
  bodySchema: Json | null;
  bodyRequired: boolean;
  responseSchemas: Map<string, Json | null>;
  compiled?: { body: ValidateFunction | null; responses: Map<string, ValidateFunction | null> };
}

export interface Operation {
  /** `<document>#<operationId>`, e.g. products_catalog.v3.yml#getProducts. */
  id: string;
  method: string;
  template: string;
  params: Record<string, string>;
}

export interface RequestToCheck {
  method: string;
  /** /stores/<hash>/v3/... */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface RequestVerdict {
  operation: Operation | null;
  storeHash: string | null;
  violations: string[];
}

const DROP = new Set(["example", "examples", "xml", "discriminator", "externalDocs", "x-required"]);

/** OpenAPI 3.0 schema → JSON Schema 2019-09 for one direction. */
function jsonSchema(schema: unknown, docId: string, direction: "request" | "response"): unknown {
  if (Array.isArray(schema)) return schema.map((s) => jsonSchema(s, docId, direction));
  if (schema === null || typeof schema !== "object") return schema;
  const src = schema as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (DROP.has(k) || k.startsWith("x-")) continue;
    if (k === "$ref" && typeof v === "string") {
      out.$ref = v.startsWith("#/") ? `${docId}#/$defs/${direction}${v.slice(1)}` : v;
      continue;
    }
    if (k === "nullable" || k === "readOnly" || k === "writeOnly") continue;
    if (k === "properties" && v && typeof v === "object") {
      out.properties = Object.fromEntries(
        Object.entries(v as Json).map(([p, s]) => [p, jsonSchema(s, docId, direction)]),
      );
      continue;
    }
    out[k] = jsonSchema(v, docId, direction);
  }
  if (Array.isArray(out.required) && src.properties && typeof src.properties === "object") {
    const props = src.properties as Record<string, Json>;
    const skip = direction === "request" ? "readOnly" : "writeOnly";
    out.required = (out.required as string[]).filter((r) => props[r]?.[skip] !== true);
  }
  if (src.nullable === true) {
    if (typeof out.type === "string") out.type = [out.type, "null"];
    else if (out.$ref || out.allOf || out.oneOf || out.anyOf) return { anyOf: [out, { type: "null" }] };
  }
  return out;
}

function closedTop(schema: Json): Json {
  const isObject = schema.type === "object" || schema.properties !== undefined || Array.isArray(schema.allOf);
  if (schema.type === "array" && schema.items && typeof schema.items === "object")
    return { ...schema, items: closedTop(schema.items as Json) };
  if (isObject && schema.additionalProperties === undefined)
    return { ...schema, unevaluatedProperties: false };
  return schema;
}

const ajvMessage = (where: string, errors: ValidateFunction["errors"]): string[] =>
  (errors ?? []).slice(0, 5).map((e) => {
    const p = e.params as {
      additionalProperty?: string;
      unevaluatedProperty?: string;
      missingProperty?: string;
    };
    const extra = p.unevaluatedProperty
      ? ` (${p.unevaluatedProperty})`
      : p.additionalProperty
        ? ` (${p.additionalProperty})`
        : p.missingProperty
          ? ` (${p.missingProperty})`
          : "";
    return `${where}${e.instancePath || ""} ${e.message ?? e.keyword}${extra}`;
  });

const STORE_PATH = /^\/stores\/([A-Za-z0-9]+)(\/v[23]\/.*)$/;

export class BigCommerceContract {
  readonly #ops: CompiledOp[] = [];
  readonly #ajv: Ajv2019;
  readonly #docs: Map<string, Json>;
  readonly operationCount: number;

  constructor(docs: Map<string, Json>) {
    this.#ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    this.#docs = docs;
    for (const [name, doc] of docs) {
      const docId = `bc-${name}`;
      const components = (doc.components ?? {}) as Json;
      // Each document is registered twice: its schemas as requests see them and as answers do.
      this.#ajv.addSchema(
        {
          $id: docId,
          $defs: {
            request: { components: jsonSchema(components, docId, "request") },
            response: { components: jsonSchema(components, docId, "response") },
          },
        },
        docId,
      );
      const servers = (doc.servers ?? []) as { url: string }[];
      const version = /\/(v[23])$/.exec(servers[0]?.url ?? "")?.[1];
      if (!version) throw new Error(`${name}: no /v2 or /v3 server`);
      const deref = <T>(x: unknown): T => {
        let cur = x as Json;
        while (cur && typeof cur.$ref === "string" && cur.$ref.startsWith("#/")) {
          let o: unknown = doc;
          for (const k of cur.$ref.slice(2).split("/")) o = (o as Json)[k];
          cur = o as Json;
        }
        return cur as T;
      };
      for (const [path, methods] of Object.entries(doc.paths as Record<string, Json>)) {
        const shared = ((methods.parameters ?? []) as unknown[]).map((p) => deref<OasParam>(p));
        for (const [method, raw] of Object.entries(methods)) {
          if (method === "parameters" || typeof raw !== "object" || raw === null) continue;
          const op = raw as Json;
          const template = `/${version}${path}`;
          const names: string[] = [];
          const regex = new RegExp(
            `^${template
              .replace(/[.*+?^$()|[\]\\]/g, "\\$&")
              .replace(/\\?\{([^}]+)\\?\}/g, (_m, n: string) => {
                names.push(n);
                return "([^/]+)";
              })}$`,
          );
          const params = [...shared, ...((op.parameters ?? []) as unknown[]).map((p) => deref<OasParam>(p))];
          const query = new Map<string, Json | undefined>();
          const pathTypes = new Map<string, string | undefined>();
          const headers: string[] = [];
          for (const p of params) {
            const schema = p.schema ? deref<Json>(p.schema) : undefined;
            if (p.in === "query") query.set(p.name, schema);
            if (p.in === "path") pathTypes.set(p.name, schema?.type as string | undefined);
            if (p.in === "header" && p.required) headers.push(p.name.toLowerCase());
          }
          const rb = op.requestBody ? deref<Json>(op.requestBody) : null;
          const media = rb
            ? ((rb.content as Json | undefined)?.["application/json"] as Json | undefined)
            : undefined;
          const responseSchemas = new Map<string, Json | null>();
          for (const [status, r0] of Object.entries((op.responses ?? {}) as Json)) {
            const r = deref<Json>(r0);
            const content = (r.content ?? {}) as Json;
            const json = (content["application/json"] ?? content["application/problem+json"]) as
              | Json
              | undefined;
            responseSchemas.set(status, (json?.schema as Json | undefined) ?? null);
          }
          this.#ops.push({
            doc: name,
            id: `${name}#${String(op.operationId ?? `${method} ${path}`)}`,
            method: method.toUpperCase(),
            template,
            regex,
            names,
            query,
            headers,
            pathTypes,
            bodySchema: (media?.schema as Json | undefined) ?? null,
            bodyRequired: rb?.required === true,
            responseSchemas,
          });
        }
      }
    }
    this.operationCount = this.#ops.length;
    this.#ops.sort((a, b) => a.names.length - b.names.length);
  }

  #compiled(op: CompiledOp) {
    if (!op.compiled) {
      const docId = `bc-${op.doc}`;
      const compile = (schema: Json | null, direction: "request" | "response") => {
        if (!schema) return null;
        // A body that is a $ref is inlined one level, so closing its top level sees its properties.
        let top = schema;
        if (direction === "request" && typeof top.$ref === "string" && top.$ref.startsWith("#/")) {
          let o: unknown = this.#docs.get(op.doc);
          for (const k of top.$ref.slice(2).split("/")) o = (o as Json)[k];
          top = o as Json;
        }
        let s = jsonSchema(top, docId, direction) as Json;
        if (direction === "request") s = closedTop(s);
        return this.#ajv.compile(s);
      };
      op.compiled = {
        body: compile(op.bodySchema, "request"),
        responses: new Map([...op.responseSchemas].map(([st, schema]) => [st, compile(schema, "response")])),
      };
    }
    return op.compiled;
  }

  checkRequest(req: RequestToCheck): RequestVerdict {
    const violations: string[] = [];
    const m = STORE_PATH.exec(req.path);
    if (!m)
      return {
        operation: null,
        storeHash: null,
        violations: [`${req.path} is not a /stores/<hash>/v2|v3 route`],
      };
    const [, storeHash, rest] = m as unknown as [string, string, string];
    const method = req.method.toUpperCase();
    let found: { op: CompiledOp; params: Record<string, string> } | null = null;
    for (const op of this.#ops) {
      if (op.method !== method) continue;
      const r = op.regex.exec(rest);
      if (!r) continue;
      const params: Record<string, string> = {};
      op.names.forEach((n, i) => {
        params[n] = decodeURIComponent(r[i + 1] ?? "");
      });
      found = { op, params };
      break;
    }
    if (!found)
      return {
        operation: null,
        storeHash,
        violations: [`${method} ${rest} is not an operation of the documents`],
      };
    const { op, params } = found;
    const where = op.id;
    for (const [name, value] of Object.entries(params)) {
      if (op.pathTypes.get(name) === "integer" && !/^\d+$/.test(value))
        violations.push(`${where}: path parameter ${name} must be an integer, got ${JSON.stringify(value)}`);
    }
    for (const [name, value] of req.query) {
      if (!op.query.has(name)) {
        violations.push(`${where}: query parameter ${name} is not declared`);
        continue;
      }
      const schema = op.query.get(name);
      const type = schema?.type === "array" ? (schema.items as Json | undefined)?.type : schema?.type;
      const values = schema?.type === "array" || name.endsWith(":in") ? value.split(",") : [value];
      for (const v of values) {
        if (type === "integer" && !/^-?\d+$/.test(v))
          violations.push(`${where}: query parameter ${name} must be integers, got ${JSON.stringify(value)}`);
        else if (type === "number" && !/^-?\d+(\.\d+)?$/.test(v))
          violations.push(`${where}: query parameter ${name} must be numbers, got ${JSON.stringify(value)}`);
        else if (type === "boolean" && !["true", "false", "1", "0"].includes(v))
          violations.push(
            `${where}: query parameter ${name} must be a boolean, got ${JSON.stringify(value)}`,
          );
        else continue;
        break;
      }
      const allowed = (schema?.type === "array" ? (schema.items as Json | undefined)?.enum : schema?.enum) as
        | unknown[]
        | undefined;
      if (allowed && values.some((v) => !allowed.map(String).includes(v)))
        violations.push(
          `${where}: query parameter ${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`,
        );
    }
    for (const h of op.headers) {
      if (h === "content-type" && req.body === undefined && method !== "GET") continue;
      if (req.headers[h] === undefined) violations.push(`${where}: header ${h} is required`);
    }
    const { body } = this.#compiled(op);
    if (body) {
      if (req.body === undefined) {
        if (op.bodyRequired) violations.push(`${where}: the request has no body`);
      } else if (!body(req.body)) violations.push(...ajvMessage(`${where} body`, body.errors));
    } else if (req.body !== undefined) violations.push(`${where}: takes no body`);
    return {
      operation: { id: op.id, method: op.method, template: op.template, params },
      storeHash,
      violations,
    };
  }

  checkResponse(operation: Operation, status: number, body: unknown): string[] {
    const op = this.#ops.find((o) => o.id === operation.id && o.method === operation.method);
    if (!op) return [`unknown operation ${operation.id}`];
    const where = `${op.id} ${status}`;
    const { responses } = this.#compiled(op);
    const validate = responses.has(String(status))
      ? responses.get(String(status))
      : responses.has(`${String(status)[0]}XX`)
        ? responses.get(`${String(status)[0]}XX`)
        : status >= 400
          ? responses.get("default")
          : undefined;
    if (validate === undefined) {
      // Errors the documents leave undeclared (401, 429 on most operations) are the gateway's own.
      if (status === 401 || status === 429 || status === 404 || status === 422 || status >= 500) return [];
      return [`${where}: status ${status} is not declared`];
    }
    if (validate === null) return [];
    return validate(body) ? [] : ajvMessage(`${where} answer`, validate.errors);
  }
}

/** Corrections of the documents, each with why (see the module comment). */
function correctKnownDefects(name: string, doc: Json): void {
  if (name === "webhooks.v3.yml") {
    const responses = (doc.components as Json | undefined)?.responses as Json | undefined;
    const schema = (
      ((responses?.webhooks_Resp as Json | undefined)?.content as Json | undefined)?.["application/json"] as
        | Json
        | undefined
    )?.schema as Json | undefined;
    const data = (schema?.properties as Record<string, Json> | undefined)?.data;
    if (data) delete data.minItems;
  }
}

let cached: BigCommerceContract | undefined;

export function bigcommerceContract(): BigCommerceContract {
  if (cached) return cached;
  const docs = new Map<string, Json>();
  for (const f of BIGCOMMERCE_DOCUMENTS) {
    const path = join(bigcommerceSpecDir(), f);
    try {
      const doc = parse(readFileSync(path, "utf8"), { maxAliasCount: -1 }) as Json;
      correctKnownDefects(f, doc);
      docs.set(f, doc);
    } catch (err) {
      throw new Error(
        `cannot read BigCommerce's OpenAPI document at ${path} (PASSERELLE_SPECS=${process.env.PASSERELLE_SPECS ?? ""})`,
        { cause: err },
      );
    }
  }
  cached = new BigCommerceContract(docs);
  return cached;
}
