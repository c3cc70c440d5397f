import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import { z } from "zod";
import { PRODUCT_SET } from "../../src/connectors/shopify/operations.ts";

const Answer = z.object({
  data: z.unknown().optional(),
  errors: z
    .array(z.object({ message: z.string(), extensions: z.record(z.string(), z.unknown()).optional() }))
    .optional(),
  extensions: z
    .object({
      cost: z.object({
        requestedQueryCost: z.number(),
        actualQueryCost: z.number().nullable(),
        throttleStatus: z.object({
          maximumAvailable: z.number(),
          currentlyAvailable: z.number(),
          restoreRate: z.number(),
        }),
      }),
    })
    .optional(),
});

async function gql(
  emu: ShopifyEmulator,
  query: string,
  variables: Record<string, unknown> = {},
  token = emu.accessToken,
) {
  const res = await fetch(emu.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-shopify-access-token": token },
    body: JSON.stringify({ query, variables }),
  });
  const json: unknown = await res.json();
  return { status: res.status, json };
}

let now = Date.parse("2026-06-01T00:00:00Z");
let emu: ShopifyEmulator;
before(async () => {
  emu = await startShopifyEmulator({
    seed: 7,
    clock: () => now,
    rateLimit: { maximumAvailable: 100, restoreRate: 10 },
  });
});
after(() => emu.close());

test("a wrong access token gets Shopify's 401 body", async () => {
  const r = await gql(emu, "{ shop { name } }", {}, "nope");
  assert.equal(r.status, 401);
  assert.deepEqual(r.json, {
    errors: "[API] Invalid API key or access token (unrecognized login or wrong password)",
  });
});

test("an invalid query is rejected with errors and no data", async () => {
  const r = await gql(emu, "{ shop { name notAField } }");
  assert.equal(r.status, 200);
  const a = Answer.parse(r.json);
  assert.equal(a.data, undefined);
  assert.match(a.errors?.[0]?.message ?? "", /notAField/);
});

test("seed: two named locations, 50 customers, no products", async () => {
  const r = Answer.parse(
    (await gql(emu, "{ locations(first: 10) { nodes { id name } } products(first: 5) { nodes { id } } }"))
      .json,
  );
  assert.deepEqual(r.data, {
    locations: {
      nodes: [
        { id: "gid://shopify/Location/1", name: "Main Warehouse" },
        { id: "gid://shopify/Location/2", name: "East Warehouse" },
      ],
    },
    products: { nodes: [] },
  });
  assert.equal(emu.data.customers.size, 50);
  const tagged = [...emu.data.customers.values()].filter((c) => c.tags.some((t) => t.startsWith("group:")));
  assert.ok(tagged.length > 0);
});

test("more than 250 per page is an error", async () => {
  const a = Answer.parse((await gql(emu, "{ customers(first: 251) { nodes { id } } }")).json);
  assert.ok(a.errors && a.errors.length > 0);
});

test("cost accounting drains the bucket, throttles, and restores with time", async () => {
  now += 60_000; // full bucket
  const q = "query($n: Int!) { customers(first: $n) { nodes { id } } }"; // 2 + n
  const first = Answer.parse((await gql(emu, q, { n: 38 })).json);
  assert.equal(first.extensions?.cost.requestedQueryCost, 40);
  assert.equal(first.extensions?.cost.actualQueryCost, 40);
  assert.equal(first.extensions?.cost.throttleStatus.currentlyAvailable, 60);
  Answer.parse((await gql(emu, q, { n: 38 })).json);
  emu.resetStats();
  const throttled = Answer.parse((await gql(emu, q, { n: 38 })).json);
  assert.equal(throttled.errors?.[0]?.message, "Throttled");
  assert.equal(throttled.errors?.[0]?.extensions?.code, "THROTTLED");
  assert.equal(throttled.extensions?.cost.actualQueryCost, null);
  assert.equal(throttled.extensions?.cost.throttleStatus.currentlyAvailable, 20);
  assert.equal(emu.stats.throttled, 1);
  now += 2_000; // +20 points at 10/s
  const again = Answer.parse((await gql(emu, q, { n: 38 })).json);
  assert.equal(again.errors, undefined);
  assert.equal(again.extensions?.cost.throttleStatus.currentlyAvailable, 0);
});

test("the requested cost is taken up front and what the answer did not use is refunded", async () => {
  now += 60_000; // full bucket of 100
  const q = "query($n: Int!) { customers(first: $n) { nodes { id } } }";
  const a = Answer.parse((await gql(emu, q, { n: 80 })).json); // 50 customers exist
  assert.equal(a.extensions?.cost.requestedQueryCost, 82);
  assert.equal(a.extensions?.cost.actualQueryCost, 52);
  assert.equal(a.extensions?.cost.throttleStatus.currentlyAvailable, 48);
  const empty = Answer.parse((await gql(emu, "{ products(first: 40) { nodes { id title } } }")).json);
  assert.equal(empty.extensions?.cost.requestedQueryCost, 42);
  assert.equal(empty.extensions?.cost.actualQueryCost, 2);
  assert.equal(empty.extensions?.cost.throttleStatus.currentlyAvailable, 46);
});

test("productSet creates, an identical second call changes nothing, variants found by sku", async () => {
  now += 60_000;
  const input = {
    title: "Mug",
    productOptions: [{ name: "Colour", values: [{ name: "Red" }, { name: "Blue" }] }],
    variants: [
      {
        optionValues: [{ optionName: "Colour", name: "Red" }],
        price: "9.50",
        inventoryItem: { sku: "MUG-R", tracked: true },
      },
      {
        optionValues: [{ optionName: "Colour", name: "Blue" }],
        price: "9.50",
        inventoryItem: { sku: "MUG-B", tracked: true },
      },
    ],
  };
  emu.resetStats();
  const created = z
    .object({
      data: z.object({
        productSet: z.object({ product: z.object({ id: z.string() }), userErrors: z.array(z.unknown()) }),
      }),
    })
    .parse((await gql(emu, PRODUCT_SET, { input })).json);
  assert.deepEqual(created.data.productSet.userErrors, []);
  const id = created.data.productSet.product.id;
  assert.equal(emu.stats.writes, 1);
  await gql(emu, PRODUCT_SET, { input, identifier: { id } });
  assert.equal(emu.stats.writes, 1);
  const found = Answer.parse(
    (
      await gql(
        emu,
        `{ productVariants(first: 5, query: "sku:MUG-B") { nodes { sku price product { id } } } }`,
      )
    ).json,
  );
  assert.deepEqual(found.data, {
    productVariants: { nodes: [{ sku: "MUG-B", price: "9.5", product: { id } }] },
  });
});

test("productSet rejects a negative price with a userError", async () => {
  const r = z
    .object({
      data: z.object({
        productSet: z.object({
          product: z.null(),
          userErrors: z.array(z.object({ field: z.array(z.string()) })),
        }),
      }),
    })
    .parse(
      (
        await gql(emu, PRODUCT_SET, {
          input: {
            title: "Bad",
            productOptions: [{ name: "Title", values: [{ name: "Default Title" }] }],
            variants: [{ optionValues: [{ optionName: "Title", name: "Default Title" }], price: "-1" }],
          },
        })
      ).json,
    );
  assert.deepEqual(r.data.productSet.userErrors[0]?.field, ["input", "variants", "0", "price"]);
});

test("inventorySetQuantities needs @idempotent; quantities read back per location; customerCreate refuses a taken e-mail", async () => {
  now += 60_000;
  const variant = emu.data.variantBySku("MUG-R");
  assert.ok(variant);
  const input = {
    name: "available",
    reason: "correction",
    quantities: [
      {
        inventoryItemId: variant.inventoryItemId,
        locationId: "gid://shopify/Location/2",
        quantity: 12,
        changeFromQuantity: null,
      },
    ],
  };
  const set = `mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { field message } } }`;
  const noKey = Answer.parse((await gql(emu, set, { input })).json);
  assert.ok(noKey.errors && noKey.errors.length > 0);
  const keyed = `mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) @idempotent(key: "k1") { userErrors { field message } } }`;
  const ok = Answer.parse((await gql(emu, keyed, { input })).json);
  assert.deepEqual(ok.data, { inventorySetQuantities: { userErrors: [] } });
  const read = Answer.parse(
    (
      await gql(
        emu,
        `query($id: ID!) { inventoryItem(id: $id) { inventoryLevel(locationId: "gid://shopify/Location/2") { quantities(names: ["available", "on_hand"]) { name quantity } } } }`,
        { id: variant.inventoryItemId },
      )
    ).json,
  );
  assert.deepEqual(read.data, {
    inventoryItem: {
      inventoryLevel: {
        quantities: [
          { name: "available", quantity: 12 },
          { name: "on_hand", quantity: 12 },
        ],
      },
    },
  });
  const taken = [...emu.data.customers.values()][0]?.email;
  const created = Answer.parse(
    (
      await gql(
        emu,
        `mutation($input: CustomerInput!) { customerCreate(input: $input) { customer { id } userErrors { field message } } }`,
        {
          input: { email: taken, lastName: "Twin" },
        },
      )
    ).json,
  );
  assert.deepEqual(created.data, {
    customerCreate: {
      customer: null,
      userErrors: [{ field: ["email"], message: "Email has already been taken" }],
    },
  });
});
