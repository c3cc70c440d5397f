/**
 * The official Shopify Admin GraphQL schema (the introspection result committed under specs/), loaded once.
 * The connector's documents are validated against it in tests and the emulator executes against it, so a
 * field name that Shopify does not have fails here rather than in production.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import {
  buildClientSchema,
  GraphQLError,
  type GraphQLSchema,
  type IntrospectionQuery,
  parse,
  Source,
  validate,
} from "graphql";
import { z } from "zod";

export const API_VERSION = "2026-10";

const here = dirname(fileURLToPath(import.meta.url));

const SCHEMA_FILE = join("shopify", `admin_${API_VERSION}.json.gz`);

/**
 * Where the official contracts are: `$PASSERELLE_SPECS` when set; else the repository's `specs/` folder,
 * where the schema is committed (specs/NOTICE.md says where it comes from). This file is
 * src/connectors/shopify/schema.ts or, built, dist/connectors/shopify/schema.js: three levels under the root.
 * The published package does not carry the schema; the client then prices its documents from the plans
 * shipped in cost-plans.json.
 */
export function specsDir(): string {
  const fromEnv = process.env.PASSERELLE_SPECS;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  return resolve(here, "../../../specs");
}

export function schemaPath(): string {
  return join(specsDir(), SCHEMA_FILE);
}

const Introspection = z.object({
  data: z.object({ __schema: z.object({ queryType: z.object({ name: z.string() }) }).passthrough() }),
});

let cached: GraphQLSchema | undefined;

export function shopifySchema(): GraphQLSchema {
  if (cached !== undefined) return cached;
  const path = schemaPath();
  let raw: unknown;
  try {
    raw = JSON.parse(gunzipSync(readFileSync(path)).toString("utf8"));
  } catch (err) {
    throw new Error(
      `cannot read the Shopify Admin schema at ${path} (committed under specs/ in the repository; PASSERELLE_SPECS points elsewhere when set)`,
      { cause: err },
    );
  }
  const parsed = Introspection.safeParse(raw);
  if (!parsed.success) throw new Error(`${path} is not a GraphQL introspection result`);
  // The zod check above proves the envelope; graphql-js checks every type while building.
  cached = buildClientSchema(parsed.data.data as unknown as IntrospectionQuery);
  return cached;
}

/** Errors the real API would answer for this document (syntax or validation), empty when it is valid. */
export function validateOperation(source: string): readonly GraphQLError[] {
  try {
    const doc = parse(new Source(source, "operation"));
    return validate(shopifySchema(), doc);
  } catch (err) {
    if (err instanceof GraphQLError) return [err];
    throw err;
  }
}
