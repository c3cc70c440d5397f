/**
 * Checks WooCommerce REST requests and answers against the JSON Schemas the real 7.9 reports of itself
 * (../shared/specs/woocommerce, dumped from the shop's OPTIONS answers): each request body against its
 * route's declared args, each answer of products, product categories, orders and customers against the
 * resource schema.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import type { Exchange } from "./exchanges.ts";

type JsonSchema = Record<string, unknown>;
interface Route {
  endpoints: { methods: string[]; args: Record<string, JsonSchema> }[];
}

/** Turns WordPress's draft-04 schemas into what draft-07 ajv takes. */
function clean(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(clean);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "$schema" || (k === "required" && typeof v === "boolean")) continue;
    // WooCommerce's own types: "date-time" (a date string, or null when unset), "mixed" (anything), "bool".
    if (k === "type" && v === "mixed") continue;
    if (k === "type" && v === "bool") {
      out.type = "boolean";
      continue;
    }
    if (k === "type" && v === "date-time") {
      out.type = ["string", "null"];
      out.format = "date-time";
      continue;
    }
    out[k] = clean(v);
  }
  return out;
}

/**
 * Where WooCommerce 7.9's answers differ from the schema it declares, seen on the real shop; each is allowed
 * for that field only, so any other difference still fails.
 */
const KNOWN_DEVIATIONS = [
  /^\/stock_quantity type$/, // null when the product does not manage stock (declared integer)
  /^\/shipping_class_id type$/, // an integer (declared string)
  /^\/line_items\/\d+\/parent_name type$/, // null for a line of a simple product (declared string)
  /^\/line_items\/\d+\/image\/id type$/, // "" for a line whose product has no image (declared integer)
  /^\/tax_lines\/\d+\/rate_id type$/, // an integer (declared string)
  /^\/image type$/, // a product category's: null when it has no image (declared object)
];

export function wooSpecs(dir: string) {
  const index = JSON.parse(readFileSync(join(dir, "wc-v3-index.json"), "utf8")) as {
    routes: Record<string, Route>;
  };
  const ajv = new Ajv({ strict: false, allErrors: true });
  // WordPress writes local times without a zone: its "date-time" is ISO 8601 with an optional zone.
  ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?$/);
  ajv.addFormat("email", /^[^@\s]+@[^@\s]+$/);
  // WordPress lets an unset URL be "" (a product without external URL, a line without image).
  ajv.addFormat("uri", /^$|^[a-z][a-z0-9+.-]*:/i);
  ajv.addFormat("hex-color", /^#?[0-9a-f]{3,6}$/i);
  ajv.addFormat("ip", /./);
  const routes = Object.entries(index.routes)
    .filter(([r]) => r.startsWith("/wc/v3/"))
    .map(([r, route]) => ({
      re: new RegExp(`^${r.replace(/\(\?P<\w+>([^)]+)\)/g, "($1)")}$`),
      route,
    }));
  const resources: Record<string, ValidateFunction> = {};
  for (const name of ["products", "products-categories", "orders", "customers"]) {
    const options = JSON.parse(readFileSync(join(dir, `wc-v3-${name}.options.json`), "utf8")) as {
      schema: JsonSchema;
    };
    // The resource schemas declare no required fields: an answer missing the fields a check relies on
    // would pass, so those are required here.
    const schema = clean(options.schema) as JsonSchema;
    resources[name] =
      name === "products-categories"
        ? ajv.compile({ ...schema, required: ["id", "name", "slug", "parent", "menu_order"] })
        : ajv.compile(schema);
  }
  const argsValidators = new Map<string, ValidateFunction>();

  /** Problems with one exchange, empty when it fits the spec. */
  function check(x: Exchange): string[] {
    const u = new URL(x.url);
    const path = u.pathname.replace(/^\/wp-json/, "");
    const found = routes.find((r) => r.re.test(path));
    if (!found) return [`${x.method} ${path}: no such route in WooCommerce 7.9`];
    const endpoint = found.route.endpoints.find((e) => e.methods.includes(x.method));
    if (!endpoint) return [`${x.method} ${path}: the route does not take ${x.method}`];
    const problems: string[] = [];
    for (const name of u.searchParams.keys()) {
      if (!(name in endpoint.args) && name !== "_fields")
        problems.push(`${x.method} ${path}: query parameter ${name} is not declared`);
    }
    if (x.body !== undefined && x.body !== null && typeof x.body === "object") {
      const key = `${x.method} ${found.re.source}`;
      let v = argsValidators.get(key);
      if (!v) {
        v = ajv.compile({ type: "object", properties: clean(endpoint.args) as JsonSchema });
        argsValidators.set(key, v);
      }
      const body = x.body as Record<string, unknown>;
      // A batch route declares the args of one item: each entry of create / update is checked against them.
      const batch = path.endsWith("/batch");
      const items = batch
        ? [
            ...((body.create as Record<string, unknown>[] | undefined) ?? []),
            ...((body.update as Record<string, unknown>[] | undefined) ?? []).map(
              ({ id: _, ...rest }) => rest,
            ),
          ]
        : [body];
      if (batch) {
        for (const name of Object.keys(body))
          if (!["create", "update", "delete"].includes(name))
            problems.push(`${x.method} ${path} body: ${name} is not a batch key`);
      }
      for (const one of items) {
        if (!v(one)) problems.push(`${x.method} ${path} body: ${ajv.errorsText(v.errors)}`);
        for (const name of Object.keys(one))
          if (!(name in endpoint.args)) problems.push(`${x.method} ${path} body: ${name} is not declared`);
      }
    }
    const named = /^\/wc\/v3\/(products\/categories|products|orders|customers)(\/\d+)?$/.exec(path)?.[1];
    const resource = named?.replace("/", "-");
    if (resource && x.status >= 200 && x.status < 300 && !u.searchParams.has("_fields")) {
      const v = resources[resource] as ValidateFunction;
      for (const item of Array.isArray(x.answer) ? x.answer : [x.answer]) {
        if (v(item)) continue;
        const errors = (v.errors ?? []).filter(
          (e) => !KNOWN_DEVIATIONS.some((d) => d.test(`${e.instancePath} ${e.keyword}`)),
        );
        if (errors.length > 0) problems.push(`${x.method} ${path} answer: ${ajv.errorsText(errors)}`);
      }
    }
    return problems;
  }
  return { check };
}
