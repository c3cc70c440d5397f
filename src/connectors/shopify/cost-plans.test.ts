import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "graphql";
import { planCost, requestedQueryCost } from "./cost.ts";
import { buildPlans, connectorDocuments, PLANS_FILE } from "./cost-plans.ts";
import { LOCATIONS, PRODUCT_SET, VARIANTS_BY_SKU } from "./operations.ts";
import { shopifySchema } from "./schema.ts";

test("the shipped cost plans are the schema's, for every document the connector exports", () => {
  const shipped = JSON.parse(readFileSync(PLANS_FILE, "utf8")) as Record<string, unknown>;
  const docs = connectorDocuments();
  for (const doc of [LOCATIONS, PRODUCT_SET, VARIANTS_BY_SKU]) assert.ok(docs.includes(doc));
  // A changed document without regenerated plans fails here (see cost-plans.ts for the command).
  assert.deepEqual(shipped, buildPlans());
});

test("a plan prices a document as the schema walk does, whatever the page sizes", () => {
  const plans = buildPlans();
  const schema = shopifySchema();
  for (const doc of connectorDocuments()) {
    const plan = plans[doc];
    assert.ok(plan);
    for (const variables of [{}, { first: 0 }, { first: 1 }, { first: 37 }, { first: 250, after: "x" }]) {
      assert.equal(planCost(plan, variables), requestedQueryCost(schema, parse(doc), variables), doc);
    }
  }
});
