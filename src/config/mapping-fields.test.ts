import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { ENTITIES, OrderLine, Price, SCHEMAS } from "../core/model.ts";
import { defineConnector } from "../ports/connector.ts";
import { ConfigError } from "./errors.ts";
import { parseConfig } from "./load.ts";
import { unknownMappingFields } from "./mapping-fields.ts";

/** Config tests never open a connection: the factories exist so the entity map declares what it can do. */
const unused = (): never => {
  throw new Error("config tests never create connections");
};

/** A connector kind that exists only in these tests; real connectors are registered elsewhere. */
const testConnector = defineConnector({
  id: "test",
  version: "0",
  description: "test connector",
  config: z.strictObject({ url: z.url(), token: z.string().min(8) }),
  client: () => null,
  entities: Object.fromEntries(ENTITIES.map((e) => [e, { read: unused, write: unused }])),
  capabilities: { rateModel: "none" },
  connection: () => ({
    check: async () => undefined,
    stats: () => ({ calls: 0, throttled: 0 }),
    close: async () => undefined,
  }),
});

/** The object of a schema, through a transform (prices and stock levels derive fields after parsing). */
const objectOf = (schema: z.ZodType): z.ZodObject =>
  schema instanceof z.ZodPipe ? objectOf(schema.in as z.ZodType) : (schema as z.ZodObject);
const fields = (schema: z.ZodType) => Object.keys(objectOf(schema).shape).join(", ");

describe("mapping target fields against the canonical model", () => {
  it("accepts every field of every entity, as the model's schemas declare them", () => {
    for (const entity of ENTITIES) {
      const mapping = Object.fromEntries(Object.keys(objectOf(SCHEMAS[entity]).shape).map((k) => [k, k]));
      assert.deepEqual(unknownMappingFields(entity, mapping), [], entity);
    }
  });

  it("accepts nested fields, fields of every element, and free keys of option maps", () => {
    const ok = (entity: (typeof ENTITIES)[number], ...paths: string[]) =>
      assert.deepEqual(unknownMappingFields(entity, Object.fromEntries(paths.map((p) => [p, "x"]))), []);
    ok("order", "lines[].unitPrice", "lines[].taxes[].rate", "customer.email", "shipping.taxes[].amount");
    ok("order", "billingAddress.city", "discounts[].code", "payments[].reference");
    ok("product", "variants[].price", "variants[].options.Size", "attributes.Colour", "images[].alt");
    ok("price", "priceList.code", "tiers[].minQuantity");
    ok("customer", "addresses[].country");
    ok("invoice", "document.ref");
  });

  it("refuses unknown fields, listing the fields valid at that level", () => {
    const issues = unknownMappingFields("order", {
      price: { value: 1 },
      "lines[].skew": "sku",
      "customer.emial": "customer.email",
      "lines[].taxes[].percent": "rate",
    });
    assert.deepEqual(issues, [
      {
        field: "price",
        message: `order records have no field "price"; valid fields there: ${fields(SCHEMAS.order)}`,
      },
      {
        field: "lines[].skew",
        message: `lines[] in order records has no field "skew"; valid fields there: ${fields(OrderLine)}`,
      },
      {
        field: "customer.emial",
        message: `customer in order records has no field "emial"; valid fields there: key, email, name`,
      },
      {
        field: "lines[].taxes[].percent",
        message: `lines[].taxes[] in order records has no field "percent"; valid fields there: title, rate, amount`,
      },
    ]);
    assert.match(
      unknownMappingFields("price", { "priceList.label": "x" })[0]?.message ?? "",
      new RegExp(`valid fields there: ${fields(objectOf(Price).shape.priceList)}$`),
    );
  });

  it("says when [] is missing, misplaced, or a single value is given fields", () => {
    const messages = unknownMappingFields("order", {
      "lines.sku": "x",
      "customer[].email": "x",
      "total[].x": "x",
      "total.amount": "x",
      "lines[].sku.first": "x",
    }).map((i) => `${i.field}: ${i.message}`);
    assert.deepEqual(messages, [
      "lines.sku: lines is a list: write lines[].sku to map a field of every element",
      "customer[].email: customer is not a list: write customer.email to map into it",
      "total[].x: total is a single value, not a list",
      'total.amount: total is a single value: it has no field "amount"',
      'lines[].sku.first: lines[].sku is a single value: it has no field "first"',
    ]);
  });

  it("leaves malformed target paths to the mapping's own check", () => {
    assert.deepEqual(unknownMappingFields("order", { "a..b": "x", "lines[]": "x" }), []);
  });
});

describe("passerelle.yaml with mapping fields the entity does not have", () => {
  const text = `version: 1
connections:
  shop: { type: test, url: "http://shop", token: "\${env:T}" }
  erp: { type: test, url: "http://erp", token: "\${env:T}" }
flows:
  orders:
    source: { connection: shop, entity: order }
    target: { connection: erp, entity: order }
    mapping:
      total: { from: total, format: decimal2 }
      price: { value: 1 }
      lines[].skew: sku
      customer.emial:
        from: customer.email
        format: lower
      note: { expr: "$uppercase(" }
`;

  it("reports every unknown field at once, with its path, the valid fields and its line", () => {
    let err: unknown;
    try {
      parseConfig(text, [testConnector], { env: { T: "12345678" } });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError, String(err));
    const lines = err.issues.map((i) => `${i.path}: ${i.message}`);
    assert.deepEqual(lines, [
      `flows.orders.mapping.price: order records have no field "price"; valid fields there: ${fields(SCHEMAS.order)} (line 11)`,
      `flows.orders.mapping.lines[].skew: lines[] in order records has no field "skew"; valid fields there: ${fields(OrderLine)} (line 12)`,
      // The line of the field's name, not of its rule below it.
      `flows.orders.mapping.customer.emial: customer in order records has no field "emial"; valid fields there: key, email, name (line 13)`,
      `flows.orders.mapping.note: invalid JSONata expression: Expected ")" before end of expression (S0203) at position 11 (got "$uppercase(") (line 16)`,
      `flows.orders.mapping.note: order records have no field "note"; valid fields there: ${fields(SCHEMAS.order)} (line 16)`,
    ]);
  });
});
