/**
 * The emulator's cost model against Shopify's published rules, one documented rule per case, computed on
 * the committed Admin schema. The expected numbers are worked out by hand from the rules in cost.ts's
 * header, not from any implementation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "graphql";
import { actualQueryCost, requestedQueryCost, SINGLE_QUERY_MAX_COST } from "./cost.ts";
import { shopifySchema } from "./schema.ts";

const requested = (q: string, v: Record<string, unknown> = {}, name?: string) =>
  requestedQueryCost(shopifySchema(), parse(q), v, name);

test("a scalar costs 0 and an object 1", () => {
  assert.equal(requested("{ shop { name currencyCode } }"), 1);
  assert.equal(requested("{ shop { name billingAddress { city } } }"), 2);
  assert.equal(requested("{ __typename }"), 0);
});

test("a connection costs 2 plus first (or last) times one item, nodes or edges alike", () => {
  assert.equal(requested("{ products(first: 10) { nodes { id title } } }"), 2 + 10 * 1);
  assert.equal(
    requested("{ products(last: 7) { edges { cursor node { id } } pageInfo { hasNextPage } } }"),
    2 + 7,
  );
  // Nested: each of the 10 products carries a 5-variant connection.
  assert.equal(
    requested("{ products(first: 10) { nodes { id variants(first: 5) { nodes { sku } } } } }"),
    2 + 10 * (1 + (2 + 5 * 1)),
  );
});

test("the page size may come from a variable", () => {
  const q = "query P($n: Int!) { products(first: $n) { nodes { id } } }";
  assert.equal(requested(q, { n: 25 }), 2 + 25);
  assert.equal(requested(q, { n: 250 }), 2 + 250);
});

test("an interface or union costs its most expensive possible selection", () => {
  const q = `query N($id: ID!) { node(id: $id) {
    ... on Product { id title }
    ... on Order { id customer { id } }
  } }`;
  // Product: 1 + 0; Order: 1 + customer 1. The most expensive is 2, not their sum.
  assert.equal(requested(q, { id: "gid://shopify/Order/1" }), 2);
});

test("fragments count once where they are spread", () => {
  const q = `fragment V on ProductVariant { id sku product { id } }
    { productVariants(first: 4) { nodes { ...V } } }`;
  assert.equal(requested(q), 2 + 4 * (1 + 1));
});

test("a mutation costs 10 per mutation field", () => {
  assert.equal(
    requested(`mutation { productDelete(input: { id: "gid://shopify/Product/1" }) { deletedProductId } }`),
    10,
  );
  assert.equal(
    requested(`mutation {
      a: productDelete(input: { id: "gid://shopify/Product/1" }) { deletedProductId }
      b: productDelete(input: { id: "gid://shopify/Product/2" }) { deletedProductId }
    }`),
    20,
  );
});

test("the named operation is priced", () => {
  const doc = "query A { shop { name } } query B { products(first: 3) { nodes { id } } }";
  assert.equal(requested(doc, {}, "A"), 1);
  assert.equal(requested(doc, {}, "B"), 5);
});

test("the actual cost charges connections for what came back", () => {
  const q = "{ products(first: 50) { nodes { id variants(first: 10) { nodes { sku } } } } }";
  const data = {
    products: {
      nodes: [
        { id: "1", variants: { nodes: [{ sku: "a" }, { sku: "b" }] } },
        { id: "2", variants: { nodes: [] } },
      ],
    },
  };
  assert.equal(requested(q), 2 + 50 * (1 + 2 + 10));
  // 2 for products; product 1: 1 + (2 + 2 variants); product 2: 1 + 2.
  assert.equal(actualQueryCost(shopifySchema(), parse(q), data), 2 + (1 + 4) + (1 + 2));
  assert.equal(actualQueryCost(shopifySchema(), parse("{ shop { name } }"), { shop: null }), 0);
});

test("a query may request at most 1,000 points", () => {
  assert.equal(SINGLE_QUERY_MAX_COST, 1000);
  assert.ok(requested("{ products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }") > 1000);
});
