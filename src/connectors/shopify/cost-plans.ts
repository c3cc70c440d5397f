/**
 * The cost plans of the connector's own documents, computed from Shopify's schema and shipped as
 * `cost-plans.json`, so the client prices what it sends without loading the schema (tens of megabytes
 * parsed). `cost-plans.test.ts` checks the file against the schema; regenerate it after changing a
 * document:
 *
 *   node --import tsx src/connectors/shopify/cost-plans.ts
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Kind, parse } from "graphql";
import * as bulk from "./bulk.ts";
import { type CostPlan, costPlan } from "./cost.ts";
import * as operations from "./operations.ts";
import { shopifySchema } from "./schema.ts";
import * as refundStream from "./streams/refund.ts";
import * as webhooks from "./webhooks.ts";
import * as productWriter from "./writers/product.ts";

export const PLANS_FILE = join(dirname(fileURLToPath(import.meta.url)), "cost-plans.json");

/** Every GraphQL operation the connector's modules export. */
export function connectorDocuments(): string[] {
  const out = new Set<string>();
  for (const mod of [operations, bulk, webhooks, productWriter, refundStream]) {
    for (const value of Object.values(mod)) {
      if (typeof value !== "string" || !/^\s*(query|mutation)\b/.test(value)) continue;
      const doc = parse(value);
      if (doc.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION)) out.add(value);
    }
  }
  return [...out].sort();
}

export function buildPlans(): Record<string, CostPlan> {
  const schema = shopifySchema();
  const plans: Record<string, CostPlan> = {};
  for (const doc of connectorDocuments()) plans[doc] = costPlan(schema, parse(doc));
  return plans;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const plans = buildPlans();
  writeFileSync(PLANS_FILE, `${JSON.stringify(plans, null, 1)}\n`);
  console.log(`${Object.keys(plans).length} plans written to ${PLANS_FILE}`);
}
