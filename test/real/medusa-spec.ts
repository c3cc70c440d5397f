/**
 * Checks Medusa Admin API requests and answers against the Admin OpenAPI 2.0.0 (../shared/specs/medusa): the
 * route and method, each query parameter's name, each request body against the operation's schema and each
 * 2xx answer against its response schema. The server is Medusa 2.21: where it differs from the 2.0.0 contract,
 * the difference is listed below for that route and field only, so any other difference still fails.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { parse } from "yaml";
import type { Exchange } from "./exchanges.ts";

type Json = Record<string, unknown>;
interface Operation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: Json }> };
  responses?: Record<string, { content?: Record<string, { schema?: Json }> }>;
}

/**
 * Query parameters Medusa 2.21 takes that the 2.0.0 contract does not declare, per route. Each is used by the
 * connector and its effect is checked by the tests (a filter that were ignored would make them fail).
 */
export const KNOWN_QUERY_DEVIATIONS: Record<string, string[]> = {
  // Declared in 2.0.0 only as part of the product list's filters for variants (sku, product_id...): the
  // standalone variant list's own sku filter works on 2.21.
  "GET /admin/product-variants": ["sku"],
  // has_account filters registered customers (2.0.0 declares it on the customer list as a body-less filter
  // under a different parameter list).
  "GET /admin/customers": ["has_account"],
  // The order list's free-text search (finds an order by its display_id).
  "GET /admin/orders": ["q", "updated_at"],
  "GET /admin/price-lists": ["q"],
  "GET /admin/inventory-items": ["sku"],
  "GET /admin/products": ["external_id"],
  "GET /admin/customer-groups": ["name"],
  "GET /admin/shipping-profiles": ["type"],
};

/**
 * Routes Medusa added after 2.0.0 that the connector uses, with the version that added them: the 2.0.0 contract
 * has no schema for them, so their exchanges are checked for nothing but being listed here.
 */
export const ROUTES_AFTER_2_0: Record<string, string> = {
  "POST /admin/products/{id}/options/batch":
    "2.17: a product's options are linked option records; new options and new values of its options go through this batch (POST /admin/products/{id}/options/{option_id} of 2.0.0 is gone)",
};

/**
 * Fields of bodies and answers where 2.21 differs from the 2.0.0 schemas, as `METHOD route where path keyword
 * [missing property]` patterns. Each names the one field.
 */
export const KNOWN_DEVIATIONS: RegExp[] = [
  // The prices a price list's batch creates are answered without their title and raw_amount (2.0.0 requires
  // both); the connector reads nothing of this answer.
  /^POST \/admin\/price-lists\/\{id\}\/prices\/batch answer \/created\/\d+ required (title|raw_amount)$/,
  // The variants a product's batch updated are answered with their option values' option without its title
  // (2.0.0 requires it); the connector reads nothing of this answer.
  /^POST \/admin\/products\/\{id\}\/variants\/batch answer \/(created|updated)\/\d+\/options\/\d+\/option required title$/,
  // A variant updated without `prices` in the body (productPrices: on-create) is answered with prices that
  // lack title, raw_amount, price_set_id and deleted_at (2.0.0 requires them); the connector reads nothing of
  // this answer.
  /^POST \/admin\/products\/\{id\}\/variants\/batch answer \/updated\/\d+\/prices\/\d+ required (title|raw_amount|price_set_id|deleted_at)$/,
];

/**
 * Two rules that follow from the 2.0.0 contract itself rather than from one field:
 * - `fields`: the spec says a `fields` list without prefix replaces the default fields, so an answer to a
 *   request with `fields` lacks the properties it did not ask for: `required` is not checked there (the types
 *   of what it holds still are);
 * - null: the 2.0.0 schemas leave `nullable` off most optional properties that Medusa answers as null (an
 *   address without company, a customer without phone). A null where the schema declares a type is counted
 *   and reported per route and field (`nulls`), not failed; any other type error fails.
 */
export interface Allowed {
  nulls: Set<string>;
  /** Routes of ROUTES_AFTER_2_0 the exchanges used. */
  later: Set<string>;
}

/** Adds ajv's string formats the spec uses, loosely (the spec's own examples would fail a strict reading). */
function formats(ajv: Ajv) {
  for (const f of ["date-time", "date", "email", "uri", "url", "binary", "int64", "double"])
    ajv.addFormat(f, /.*/s);
}

/** OpenAPI 3.0 → what ajv takes: refs into one added document, `nullable` kept (ajv knows it). */
function rewrite(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rewrite);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "$ref" && typeof v === "string") out.$ref = `medusa-admin${v}`;
    else if (k === "example" || k === "examples" || k === "externalDocs" || k.startsWith("x-")) continue;
    else out[k] = rewrite(v);
  }
  return out;
}

export function medusaSpecs(file: string) {
  const doc = parse(gunzipSync(readFileSync(file)).toString("utf8"), { maxAliasCount: -1 }) as {
    paths: Record<string, Record<string, Operation>>;
    components: Json;
  };
  const ajv = new Ajv({ strict: false, allErrors: true, discriminator: false });
  formats(ajv);
  ajv.addSchema({ $id: "medusa-admin", components: rewrite(doc.components) } as Json);
  // Literal segments win over parameters (`/admin/products/batch` before `/admin/products/{id}`).
  const routes = Object.entries(doc.paths)
    .map(([path, ops]) => ({
      path,
      ops,
      params: (path.match(/\{/g) ?? []).length,
      re: new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
    }))
    .sort((a, b) => a.params - b.params);
  const cache = new Map<string, ValidateFunction | null>();
  const validator = (key: string, schema: Json | undefined) => {
    if (!cache.has(key)) cache.set(key, schema ? ajv.compile(rewrite(schema) as Json) : null);
    return cache.get(key) ?? null;
  };

  const allowed: Allowed = { nulls: new Set(), later: new Set() };

  const at = (data: unknown, pointer: string): unknown =>
    pointer
      .split("/")
      .slice(1)
      .reduce<unknown>(
        (v, k) =>
          v !== null && typeof v === "object"
            ? (v as Json)[k.replace(/~1/g, "/").replace(/~0/g, "~")]
            : undefined,
        data,
      );

  function check(x: Exchange): string[] {
    const u = new URL(x.url);
    const path = u.pathname;
    if (!path.startsWith("/admin/")) return [];
    const later = Object.keys(ROUTES_AFTER_2_0).find((k) => {
      const [method, pattern] = k.split(" ") as [string, string];
      return method === x.method && new RegExp(`^${pattern.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path);
    });
    if (later) {
      allowed.later.add(later);
      return [];
    }
    const route = routes.find((r) => r.re.test(path));
    if (!route) return [`${x.method} ${path}: no such route in the Admin API 2.0.0`];
    const op = route.ops[x.method.toLowerCase()];
    const where = `${x.method} ${route.path}`;
    if (!op) return [`${where}: the route does not take ${x.method}`];
    const problems: string[] = [];
    const declared = new Set((op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name));
    const extra = new Set(KNOWN_QUERY_DEVIATIONS[where] ?? []);
    for (const name of new Set(u.searchParams.keys())) {
      const base = name.replace(/\[.*$/, "");
      if (!declared.has(base) && !extra.has(base))
        problems.push(`${where}: query parameter ${name} is not declared`);
    }
    const selected = u.searchParams.has("fields");
    const known = (kind: string, data: unknown, errors: ErrorObject[]) =>
      errors.filter((e) => {
        const missing = e.keyword === "required" ? ` ${String(e.params.missingProperty)}` : "";
        const said = `${where} ${kind} ${e.instancePath} ${e.keyword}${missing}`;
        if (KNOWN_DEVIATIONS.some((d) => d.test(said))) return false;
        if (kind === "answer" && selected && e.keyword === "required") return false;
        if (e.keyword === "type" && at(data, e.instancePath) === null) {
          allowed.nulls.add(`${where} ${kind} ${e.instancePath.replace(/\/\d+(?=\/|$)/g, "/*")}`);
          return false;
        }
        return true;
      });
    if (x.body !== undefined && x.body !== null) {
      const v = validator(`${where} body`, op.requestBody?.content?.["application/json"]?.schema);
      if (v && !v(x.body)) {
        const errors = known("body", x.body, v.errors ?? []);
        if (errors.length > 0) problems.push(`${where} body: ${ajv.errorsText(errors)}`);
      }
    }
    if (x.status >= 200 && x.status < 300) {
      const v = validator(
        `${where} ${x.status}`,
        op.responses?.[String(x.status)]?.content?.["application/json"]?.schema,
      );
      if (v && !v(x.answer)) {
        const errors = known("answer", x.answer, v.errors ?? []);
        if (errors.length > 0) problems.push(`${where} answer: ${ajv.errorsText(errors)}`);
      }
    }
    return problems;
  }
  return { check, allowed };
}
