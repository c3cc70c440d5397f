/**
 * The connector prices its documents (src/connectors/shopify/cost.ts) and the Shopify emulator charges them
 * (packages/emulators/src/shopify/cost.ts) with two separately written models of Shopify's published rules.
 * For every document the connector sends, with its page sizes set, the two must agree: otherwise the client
 * paces on a wrong estimate, which against the real shop means throttled calls or wasted time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { requestedQueryCost as charged, shopifySchema as emulatorSchema } from "@passerelle/emulators";
import { Kind, parse } from "graphql";
import { requestedQueryCost as estimated } from "../../src/connectors/shopify/cost.ts";
import { connectorDocuments } from "../../src/connectors/shopify/cost-plans.ts";
import { shopifySchema } from "../../src/connectors/shopify/schema.ts";

test("the connector's estimate equals the emulator's charge for every connector document", () => {
  const docs = connectorDocuments();
  assert.ok(docs.length > 10, `only ${docs.length} documents found`);
  for (const source of docs) {
    const doc = parse(source);
    for (const size of [1, 37, 250]) {
      const variables: Record<string, unknown> = {};
      for (const def of doc.definitions) {
        if (def.kind !== Kind.OPERATION_DEFINITION) continue;
        for (const v of def.variableDefinitions ?? []) {
          const type = v.type.kind === Kind.NON_NULL_TYPE ? v.type.type : v.type;
          if (type.kind === Kind.NAMED_TYPE && type.name.value === "Int")
            variables[v.variable.name.value] = size;
        }
      }
      assert.equal(
        estimated(shopifySchema(), doc, variables),
        charged(emulatorSchema(), doc, variables),
        `${source.slice(0, 80).replace(/\s+/g, " ")}… with Int variables = ${size}`,
      );
    }
  }
});
