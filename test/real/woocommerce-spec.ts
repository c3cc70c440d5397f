/**
 * Checks WooCommerce REST requests and answers against the JSON Schemas the real 7.9 reports of itself
 * (../shared/specs/woocommerce, dumped from the shop's OPTIONS answers): each request body against its
 * route's declared args, each answer of products, orders and customers against the resource schema.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";

type JsonSchema = Record<string, unknown>;
interface Route {
  endpoints: { methods: string[]; args: Record<string, JsonSchema> }[];
}

/** Removes what draft-07 ajv does not take from WordPress's draft-04 schemas. */
function clean(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(clean);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "$schema" || (k === "required" && typeof v === "boolean")) continue;
    out[k] = clean(v);
  }
  return out;
}

export interface Exchange {
  method: string;
  url: string;
  body: unknown;
  status: number;
  answer: unknown;
}

export function wooSpecs(dir: string) {
  const index = JSON.parse(readFileSync(join(dir, "wc-v3-index.json"), "utf8")) as {
    routes: Record<string, Route>;
  };
  const ajv = new Ajv({ strict: false, allErrors: true });
  // WordPress writes local times without a zone: its "date-time" is ISO 8601 with an optional zone.
  ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?$/);
  ajv.addFormat("email", /^[^@\s]+@[^@\s]+$/);
  ajv.addFormat("uri", /^[a-z][a-z0-9+.-]*:/i);
  ajv.addFormat("hex-color", /^#?[0-9a-f]{3,6}$/i);
  ajv.addFormat("ip", /./);
  const routes = Object.entries(index.routes)
    .filter(([r]) => r.startsWith("/wc/v3/"))
    .map(([r, route]) => ({
      re: new RegExp(`^${r.replace(/\(\?P<\w+>([^)]+)\)/g, "($1)")}$`),
      route,
    }));
  const resources: Record<string, ValidateFunction> = {};
  for (const name of ["products", "orders", "customers"]) {
    const options = JSON.parse(readFileSync(join(dir, `wc-v3-${name}.options.json`), "utf8")) as {
      schema: JsonSchema;
    };
    resources[name] = ajv.compile(clean(options.schema) as JsonSchema);
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
      if (!v(x.body)) problems.push(`${x.method} ${path} body: ${ajv.errorsText(v.errors)}`);
      for (const name of Object.keys(x.body))
        if (!(name in endpoint.args)) problems.push(`${x.method} ${path} body: ${name} is not declared`);
    }
    const resource = /^\/wc\/v3\/(products|orders|customers)(\/\d+)?$/.exec(path)?.[1];
    if (resource && x.status >= 200 && x.status < 300 && !u.searchParams.has("_fields")) {
      const v = resources[resource] as ValidateFunction;
      for (const item of Array.isArray(x.answer) ? x.answer : [x.answer]) {
        if (!v(item)) problems.push(`${x.method} ${path} answer: ${ajv.errorsText(v.errors)}`);
      }
    }
    return problems;
  }
  return { check };
}

/** A fetch that records every JSON exchange it carries. */
export function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init = {}) => {
    const res = await fetch(input, init);
    const text = await res.clone().text();
    let body: unknown;
    try {
      body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    } catch {
      body = init.body;
    }
    let answer: unknown = null;
    try {
      answer = JSON.parse(text);
    } catch {}
    log.push({
      method: (init.method ?? "GET").toUpperCase(),
      url: String(input),
      body,
      status: res.status,
      answer,
    });
    return res;
  };
}
