/**
 * The Shopify Admin GraphQL schema the Shopify emulator executes against: the introspection result Shopify
 * publishes, committed at specs/shopify/ in the repository (see specs/NOTICE.md), loaded once. The emulator
 * reads it itself rather than through the connector, so the two sides only share Shopify's own contract.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { buildClientSchema, type GraphQLSchema, type IntrospectionQuery } from "graphql";

/** The Admin API version the emulator answers as, the version of the committed schema. */
export const API_VERSION = "2026-10";

/** The repository's specs folder (this file is packages/emulators/{src,dist}/shopify/schema.*), or $PASSERELLE_SPECS. */
export function specsDir(): string {
  const fromEnv = process.env.PASSERELLE_SPECS;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  return fileURLToPath(new URL("../../../../specs", import.meta.url));
}

export function schemaPath(): string {
  return join(specsDir(), "shopify", `admin_${API_VERSION}.json.gz`);
}

let cached: GraphQLSchema | undefined;

export function shopifySchema(): GraphQLSchema {
  if (cached !== undefined) return cached;
  const path = schemaPath();
  let raw: unknown;
  try {
    raw = JSON.parse(gunzipSync(readFileSync(path)).toString("utf8"));
  } catch (err) {
    throw new Error(
      `cannot read the Shopify Admin schema at ${path} (PASSERELLE_SPECS=${process.env.PASSERELLE_SPECS ?? ""})`,
      {
        cause: err,
      },
    );
  }
  const schema = (raw as { data?: { __schema?: unknown } } | null)?.data?.__schema;
  if (typeof schema !== "object" || schema === null)
    throw new Error(`${path} is not a GraphQL introspection result`);
  cached = buildClientSchema((raw as { data: IntrospectionQuery }).data);
  return cached;
}
