import assert from "node:assert/strict";
import { test } from "node:test";
import { NoDeprecatedCustomRule, parse, validate } from "graphql";
import { ALL_OPERATIONS } from "./operations.ts";
import { shopifySchema, validateOperation } from "./schema.ts";

test("every operation validates against the official 2026-10 Admin schema", () => {
  const failures: string[] = [];
  for (const [name, source] of Object.entries(ALL_OPERATIONS)) {
    for (const e of validateOperation(source)) failures.push(`${name}: ${e.message}`);
  }
  assert.deepEqual(failures, []);
});

test("no operation uses a deprecated field or argument", () => {
  const failures: string[] = [];
  for (const [name, source] of Object.entries(ALL_OPERATIONS)) {
    for (const e of validate(shopifySchema(), parse(source), [NoDeprecatedCustomRule])) {
      failures.push(`${name}: ${e.message}`);
    }
  }
  assert.deepEqual(failures, []);
});

test("validateOperation reports an unknown field", () => {
  const errors = validateOperation("query { shop { id notAField } }");
  assert.equal(errors.length, 1);
  assert.match(errors[0]?.message ?? "", /notAField/);
});
