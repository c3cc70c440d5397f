/**
 * bench/real-tryton-vendure.ts (issue 22, measure 2): its flags, and the CSV it gives Vendure's product import
 * as the catalogue ceiling (a product row, then one row per further variant; option values from the SKUs).
 * No timings are checked here; the bench itself needs real Tryton and Vendure.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { importCsv, parseRealArgs } from "../bench/real-tryton-vendure.ts";

test("real systems bench: defaults, flags, and a bad value named", () => {
  assert.deepEqual(parseRealArgs([]), {
    products: 1000,
    variantsEvery: 5,
    orders: 200,
    batch: 50,
    maxQuantity: 2,
  });
  assert.equal(parseRealArgs(["--orders", "20"]).orders, 20);
  assert.throws(() => parseRealArgs(["--products", "many"]), /--products must be an integer ≥ 1, got many/);
  assert.throws(() => parseRealArgs(["--speed", "1"]), /speed/);
});

test("real systems bench: Vendure's import CSV holds each template once and each variant once", () => {
  const csv = importCsv(
    [
      {
        name: "Shirt RB-005",
        code: "RB-005",
        price: "22.50",
        variants: ["RB-005-L", "RB-005-M", "RB-005-S"],
      },
      { name: 'Mug, "large"', code: "RB-006", price: "25", variants: ["RB-006"] },
    ],
    "Standard Tax",
  );
  const rows = csv.trimEnd().split("\n");
  assert.equal(rows.length, 5);
  assert.equal(
    rows[0],
    "name,slug,description,assets,facets,optionGroups,optionValues,sku,price,taxCategory,stockOnHand,trackInventory,variantAssets,variantFacets",
  );
  assert.equal(rows[1], "Shirt RB-005,rb-005,Shirt RB-005,,,size,L,RB-005-L,22.50,Standard Tax,0,false,,");
  assert.equal(rows[2], ",,,,,,M,RB-005-M,22.50,Standard Tax,0,false,,");
  assert.equal(rows[3], ",,,,,,S,RB-005-S,22.50,Standard Tax,0,false,,");
  assert.equal(rows[4], '"Mug, ""large""",rb-006,"Mug, ""large""",,,,,RB-006,25,Standard Tax,0,false,,');
});
