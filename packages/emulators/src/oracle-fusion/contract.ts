/**
 * Oracle Fusion Cloud SCM's contract for the emulator: three Postman v2.1 collections derived from Oracle's
 * OpenAPI document of the SCM REST API 11.13.18.05 (oracle-fusion/*.postman_collection.json.gz in
 * ../shared/specs or $PASSERELLE_SPECS). They are not a schema: each request holds a method, a path, the
 * framework query parameters the operation accepts and an example body cut to a few attributes. What the
 * emulator can hold a request to, it does:
 * - the method and path must be an operation of a collection (path parameters `:Name` match one segment);
 * - every query parameter must be one the operation lists;
 * - every top-level attribute of a body must be an attribute some POST or PATCH body of the same resource
 *   (its collection path and its item path) shows. Nested attributes are not checked: the examples stop at
 *   a few names per object.
 * Answers are not checked: the collections carry no response schemas.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { specsDir } from "../magento/contract.ts";

export const FUSION_VERSION = "11.13.18.05";
export const FUSION_ROOT = `/fscmRestApi/resources/${FUSION_VERSION}`;
export const FUSION_COLLECTIONS = [
  "scm-order-management",
  "scm-product-lifecycle-management",
  "scm-common",
] as const;

export function fusionSpecDir(): string {
  return join(specsDir(), "oracle-fusion");
}

export function fusionCollectionPath(name: (typeof FUSION_COLLECTIONS)[number]): string {
  return join(fusionSpecDir(), `${name}.postman_collection.json.gz`);
}

/** Why the Oracle Fusion contract tests cannot run here, or false (in CI they run and fail on a missing file). */
export function fusionSpecSkip(): string | false {
  if (process.env.CI || FUSION_COLLECTIONS.every((n) => existsSync(fusionCollectionPath(n)))) return false;
  return `Oracle Fusion SCM collections are not in ${fusionSpecDir()} (set PASSERELLE_SPECS to the folder holding oracle-fusion/)`;
}

interface PmItem {
  item?: PmItem[];
  request?: {
    method: string;
    url: { path?: string[]; query?: { key: string }[] };
    body?: { raw?: string };
  };
}

export interface FusionOperation {
  method: string;
  /** `/resource/:Key/child/lines`, relative to the version root. */
  template: string;
  regex: RegExp;
  query: Set<string>;
  resource: string;
}

function* walk(items: PmItem[]): Generator<PmItem> {
  for (const i of items) {
    if (i.item) yield* walk(i.item);
    else if (i.request) yield i;
  }
}

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The resource an operation belongs to: its template without a trailing `/:Key`. */
const resourceOf = (template: string) => template.replace(/\/:[^/]+$/, "");

export class FusionContract {
  readonly operations: FusionOperation[] = [];
  /** Per resource: the attribute names its POST and PATCH example bodies show. */
  readonly attributes = new Map<string, Set<string>>();

  constructor(collections: unknown[]) {
    for (const c of collections) {
      for (const it of walk((c as { item: PmItem[] }).item)) {
        const req = it.request;
        if (!req) continue;
        const segs = req.url.path ?? [];
        if (segs[0] !== "{{basePath}}") continue;
        const template = `/${segs.slice(1).join("/")}`;
        const method = req.method.toUpperCase();
        const regex = new RegExp(
          `^${template
            .split("/")
            .map((s) => (s.startsWith(":") ? "[^/]+" : reEscape(s)))
            .join("/")}$`,
        );
        const resource = resourceOf(template);
        this.operations.push({
          method,
          template,
          regex,
          query: new Set((req.url.query ?? []).map((q) => q.key)),
          resource,
        });
        if ((method === "POST" || method === "PATCH") && req.body?.raw) {
          try {
            const body = JSON.parse(req.body.raw) as unknown;
            if (body && typeof body === "object" && !Array.isArray(body)) {
              const set = this.attributes.get(resource) ?? new Set<string>();
              for (const k of Object.keys(body)) set.add(k);
              this.attributes.set(resource, set);
            }
          } catch {
            // An example body the generator cut mid-way: it names nothing usable.
          }
        }
      }
    }
    // Literal segments first, so `/action/applyHold` wins over `/:OrderKey`.
    this.operations.sort(
      (a, b) => (a.template.match(/:/g)?.length ?? 0) - (b.template.match(/:/g)?.length ?? 0),
    );
  }

  /** The operation of a request (path relative to the version root), or the problems that refuse it. */
  check(
    method: string,
    path: string,
    query: string[],
    body: unknown,
  ): { op: FusionOperation; problems: string[] } | { op: null; problems: string[] } {
    const op = this.operations.find((o) => o.method === method && o.regex.test(path));
    if (!op) return { op: null, problems: [`${method} ${path} is not an operation of the collections`] };
    const problems: string[] = [];
    for (const q of query) {
      if (!op.query.has(q)) problems.push(`query parameter ${q} is not one ${method} ${op.template} takes`);
    }
    if (body !== undefined) {
      if (!body || typeof body !== "object" || Array.isArray(body)) {
        problems.push("the body is not a JSON object");
      } else {
        const known = this.attributes.get(op.resource) ?? new Set<string>();
        for (const k of Object.keys(body)) {
          if (!known.has(k))
            problems.push(`attribute ${k} is not one the collections show for ${op.resource}`);
        }
      }
    }
    return { op, problems };
  }
}

let cached: FusionContract | undefined;
export function fusionContract(): FusionContract {
  cached ??= new FusionContract(
    FUSION_COLLECTIONS.map((n) =>
      JSON.parse(gunzipSync(readFileSync(fusionCollectionPath(n))).toString("utf8")),
    ),
  );
  return cached;
}
