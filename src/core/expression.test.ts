import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, SyncError } from "./errors.ts";
import { compileFilter, compileJsonata, jsonataMessage, quoteExpression } from "./expression.ts";
import { compileMapping } from "./mapping.ts";

const order = { key: "shop:#1001", total: "12.00", lines: [{ sku: "CH-1", quantity: 2 }] };

async function dataError(work: () => Promise<unknown>): Promise<SyncError> {
  try {
    await work();
  } catch (e) {
    assert.ok(e instanceof SyncError, `expected a SyncError, got ${String(e)}`);
    assert.equal(e.kind, "data");
    return e;
  }
  assert.fail("expected a data error");
}

describe("JSONata errors read well", () => {
  it("a filter that does not compile: message, code, position and the expression", () => {
    assert.throws(
      () => compileFilter("total >", { path: "flows.orders.filter" }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(e.issues, [
          {
            path: "flows.orders.filter",
            message:
              'invalid JSONata filter: Unexpected end of expression (S0207) at position 7 (got "total >")',
          },
        ]);
        return true;
      },
    );
  });

  it("a filter that fails on a record: a data error quoting it, with where and why", async () => {
    // total is a decimal string in the canonical model, so comparing it with a number fails at run time.
    const filter = compileFilter("total > 100", { path: "flows.orders.filter" });
    const e = await dataError(() => filter(order));
    assert.equal(
      e.message,
      'flows.orders.filter: expression "total > 100" failed: The values "12.00" and 100 either side of operator ">" must be of the same data type (T2009) at position 7 (value "12.00")',
    );
    assert.equal(e.details.field, "filter");
    assert.ok(!e.message.includes("[object Object]"));
    assert.equal(await compileFilter("$number(total) > 10")(order), true);
    assert.equal(await compileFilter("$number(total) > 100")(order), false);
  });

  it("a mapping expression that fails: the element, the expression, code and position", async () => {
    const m = compileMapping({ "lines[].quantity": { expr: "quantity + sku" } });
    const e = await dataError(async () => m.apply(order));
    assert.equal(
      e.message,
      'mapping of lines[0].quantity: expression "quantity + sku" failed: The right side of the "+" operator must evaluate to a number (T2002) at position 10 (value "CH-1")',
    );
  });

  it("a long expression is quoted around the position where it failed", () => {
    const long = `${"$string(total) & ".repeat(10)}(`;
    const problem = compileJsonata(long, "expression");
    assert.equal(typeof problem, "string");
    assert.match(String(problem), /at position 171 \(got …".*& \("\)$/);
    assert.equal(quoteExpression("short"), '"short"');
    const middle = quoteExpression(`${"x".repeat(100)}HERE${"y".repeat(100)}`, { position: 102 });
    assert.match(middle, /^…"x+HEREy+"…$/);
  });

  it("anything else thrown is still printed as text", () => {
    assert.equal(jsonataMessage("boom"), "boom");
    assert.equal(jsonataMessage({ message: "no code" }), "no code");
  });
});
