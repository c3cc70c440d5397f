import assert from "node:assert/strict";
import { test } from "node:test";
import { compileMapping } from "../core/mapping.ts";
import { ENTITIES, SCHEMAS } from "../core/model.ts";
import type { DiscoveredShape } from "../ports/discovery.ts";
import { unknownMappingFields } from "./mapping-fields.ts";
import { canonicalFields, guessEntity, normaliseName, starterMapping } from "./starter-mapping.ts";

const shape = (...names: string[]): DiscoveredShape => ({
  name: "t",
  fields: names.map((name) => ({ name, type: "string" })),
});

test("canonical fields come from the model, with lists and nested objects spelled as mappings write them", () => {
  const price = canonicalFields("price").map((f) => f.path);
  for (const p of ["key", "sku", "price", "priceList.code", "priceList.currency", "tiers[].minQuantity"]) {
    assert.ok(price.includes(p), p);
  }
  assert.ok(!price.includes("source") && !price.includes("sourceId"));
  const product = new Map(canonicalFields("product").map((f) => [f.path, f.required]));
  assert.equal(product.get("variants[].sku"), true);
  assert.equal(product.get("description"), false);
  assert.equal(product.get("variants[].barcode"), false);
  // Every field proposed is one a mapping may set.
  for (const entity of ENTITIES) {
    const fields = Object.fromEntries(canonicalFields(entity).map((f) => [f.path, "x"]));
    assert.deepEqual(unknownMappingFields(entity, fields), [], entity);
  }
});

test("names match across spellings, languages and separators", () => {
  assert.equal(normaliseName("Währung"), "wahrung");
  assert.equal(normaliseName("item_code"), normaliseName("ItemCode"));
  const m = starterMapping("customer", shape("E-Mail", "Vorname", "Nachname", "PLZ", "id"));
  assert.deepEqual(m.fields, {
    key: { expr: "$lowercase(`E-Mail`)" },
    email: "E-Mail",
    firstName: "Vorname",
    lastName: "Nachname",
  });
  assert.deepEqual(m.missing, []);
  assert.deepEqual(m.unused, ["PLZ", "id"]);
});

test("a flat price row gets the composite key the model uses, and what is still to map is named", () => {
  const m = starterMapping("price", shape("Artikelnummer", "Preis", "Preisliste", "Währung"));
  assert.deepEqual(m.fields.key, { expr: "Preisliste & ':' & Artikelnummer" });
  assert.equal(m.fields.sku, "Artikelnummer");
  assert.equal(m.fields.price, "Preis");
  assert.equal(m.fields["priceList.currency"], "Währung");
  assert.deepEqual(m.missing, ["priceList.name", "priceList.customerGroup"]);
});

test("a flat product row becomes a one-variant product through an expression the mapping compiles and runs", async () => {
  const m = starterMapping("product", shape("item code", "name", "unit_price", "currency", "ean"));
  assert.deepEqual(m.fields.variants, {
    expr: "[{ 'sku': `item code`, 'barcode': ean, 'price': unit_price }]",
  });
  assert.equal(m.fields.key, "item code");
  const mapping = compileMapping(m.fields as never, { path: "fields" });
  const out = await mapping.apply({
    "item code": "A-1",
    name: "Chair",
    unit_price: "12.50",
    currency: "EUR",
    ean: "4006381333931",
  });
  const product = SCHEMAS.product.parse({
    ...out,
    source: "erp",
    sourceId: "A-1",
    updatedAt: "2026-12-01T00:00:00Z",
  });
  assert.deepEqual(product.variants[0], {
    sku: "A-1",
    price: "12.50",
    barcode: "4006381333931",
    options: {},
  });
  assert.equal(product.key, "A-1");
  assert.equal(product.title, "Chair");
});

test("a list the source already has is passed through whole", () => {
  const m = starterMapping("order", shape("number", "lines", "total", "currency"));
  assert.equal(m.fields.lines, "lines");
  assert.ok(!Object.keys(m.fields).some((k) => k.startsWith("lines[]")));
  assert.ok(!m.missing.some((p) => p.startsWith("lines[]")));
});

test("the entity a shape looks like is guessed only when its required fields are mostly there", () => {
  assert.equal(guessEntity(shape("sku", "warehouse", "qty")), "inventory");
  assert.equal(guessEntity(shape("email", "surname", "first_name")), "customer");
  assert.equal(guessEntity(shape("colour", "size")), undefined);
});
