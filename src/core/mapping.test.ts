import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ConfigError, SyncError } from "./errors.ts";
import { compileMapping, Mapping } from "./mapping.ts";

/** Compiles a mapping that has no expression, whose apply must therefore be synchronous. */
function compileSync(mapping: Mapping) {
  const m = compileMapping(mapping);
  if (m.async) assert.fail("a mapping without expressions must apply synchronously");
  return m;
}

const product = {
  source: "odoo",
  sourceId: "7",
  updatedAt: "2025-01-02T03:04:05Z",
  key: "chair",
  title: "  Oak chair ",
  status: "sale",
  currency: "EUR",
  attributes: { material: "oak" },
  priceList: { code: "B2B", name: "old" },
  variants: [
    { sku: "CH-1", price: "10", options: {} },
    { sku: "CH-2", price: "20.5", options: {} },
  ],
};

function dataErrorFor(field: string, pattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof SyncError, `expected a SyncError, got ${String(e)}`);
    assert.equal(e.kind, "data");
    assert.equal(e.details.field, field);
    assert.match(e.message, pattern);
    return true;
  };
}

function configErrorWith(path: string, pattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    const issue = e.issues.find((i) => i.path === path);
    assert.ok(issue, `no issue at ${path}; issues: ${JSON.stringify(e.issues)}`);
    assert.match(issue.message, pattern);
    assert.match(e.message, new RegExp(path.replace(/[.[\]$]/g, "\\$&")));
    return true;
  };
}

describe("compileMapping: rules", () => {
  it("copies, sets constants, maps values and formats, passing other fields through", () => {
    const m = compileSync({
      key: { from: "key", format: "upper" },
      name: "title",
      title: { from: "title", format: "trim" },
      vendor: { value: "ACME" },
      status: { from: "status", map: { sale: "active", draft: "draft" } },
      "attributes.wood": "attributes.material",
    });
    assert.equal(m.async, false);
    const out = m.apply(product);
    assert.deepEqual(out, {
      ...product,
      key: "CHAIR",
      name: "  Oak chair ",
      title: "Oak chair",
      vendor: "ACME",
      status: "active",
      attributes: { material: "oak", wood: "oak" },
    });
  });

  it("never modifies its input", () => {
    const input = structuredClone(product);
    const m = compileSync({
      "priceList.name": { value: "B2B prices" },
      "variants[].sku": { from: "sku", format: "lower" },
    });
    m.apply(input);
    assert.deepEqual(input, product);
  });

  it("removes a field whose source is missing, and uses a default when given", () => {
    const m = compileSync({ vendor: "brand", description: { from: "notes", default: "" } });
    const out = m.apply({ ...product, vendor: "stale" });
    assert.equal("vendor" in out, false);
    assert.equal(out.description, "");
  });

  it("value maps: default for unmapped values, unmapped passes through, strict fails naming field and value", () => {
    const withDefault = compileSync({ status: { from: "status", map: { x: "y" }, default: "draft" } });
    assert.equal(withDefault.apply(product).status, "draft");
    const loose = compileSync({ status: { from: "status", map: { x: "y" } } });
    assert.equal(loose.apply(product).status, "sale");
    const strict = compileSync({ status: { from: "status", map: { x: "y" }, strict: true } });
    assert.throws(() => strict.apply(product), dataErrorFor("status", /"sale".*not in the value map/));
  });

  it("value maps match numbers and booleans by their text", () => {
    const m = compileSync({ vip: { from: "flag", map: { true: "yes", "1": "one" } } });
    assert.equal(m.apply({ flag: true }).vip, "yes");
    assert.equal(m.apply({ flag: 1 }).vip, "one");
  });

  it("formats decimal2 and int exactly, and refuses what cannot be converted", () => {
    const m = compileSync({ price: { from: "p", format: "decimal2" }, qty: { from: "q", format: "int" } });
    assert.deepEqual(m.apply({ p: "1.005", q: "12.00" }), { p: "1.005", q: "12.00", price: "1.01", qty: 12 });
    assert.deepEqual(m.apply({ p: 0.1, q: 3 }), { p: 0.1, q: 3, price: "0.10", qty: 3 });
    assert.throws(
      () => m.apply({ p: "1", q: "2.5" }),
      dataErrorFor("qty", /cannot format "2\.5" from q as int/),
    );
    assert.throws(() => m.apply({ p: "abc", q: 1 }), dataErrorFor("price", /"abc"/));
  });

  it("applies [] rules to every element, with paths relative to the element and $record for the record", () => {
    const m = compileSync({
      "variants[].sku": { from: "sku", format: "lower" },
      "variants[].currency": "$record.currency",
    });
    const out = m.apply(product);
    assert.deepEqual(out.variants, [
      { sku: "ch-1", price: "10", options: {}, currency: "EUR" },
      { sku: "ch-2", price: "20.5", options: {}, currency: "EUR" },
    ]);
  });

  it("names the element in data errors under []", () => {
    const m = compileSync({ "variants[].price": { from: "price", format: "int" } });
    assert.throws(() => m.apply(product), dataErrorFor("variants[1].price", /"20\.5"/));
  });

  it("creates intermediate objects for dotted targets and rejects a scalar in the way", () => {
    const m = compileSync({ "priceList.customerGroup": { value: "wholesale" } });
    assert.deepEqual(m.apply({ key: "k" }), { key: "k", priceList: { customerGroup: "wholesale" } });
    assert.throws(() => m.apply({ priceList: "flat" }), dataErrorFor("priceList", /expected an object/));
  });

  it("keeps an own __proto__ field as data, never as the output's prototype", () => {
    const input: Record<string, unknown> = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const out = compileSync({ b: "a" }).apply(input);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(out.b, 1);
    assert.deepEqual(Object.getOwnPropertyDescriptor(out, "__proto__")?.value, { polluted: true });
  });

  it("gives every record its own copy of an object constant", () => {
    const m = compileSync({ attributes: { value: { origin: "FR" } } });
    const a = m.apply({});
    const b = m.apply({});
    assert.deepEqual(a.attributes, b.attributes);
    assert.notEqual(a.attributes, b.attributes);
  });

  it("reads only own fields through a path, never inherited ones", () => {
    const m = compileSync({ x: "attributes.toString", y: "title.length" });
    const out = m.apply(product);
    assert.equal("x" in out, false);
    assert.equal("y" in out, false);
  });
});

describe("compileMapping: a 100,000-entry value map", () => {
  const size = 100_000;
  const map = Object.fromEntries(Array.from({ length: size }, (_, i) => [`WH${i}`, `Site ${i}`]));
  const m = compileSync({ location: { from: "location", map, strict: true } });

  it("maps values from anywhere in the map", () => {
    for (const i of [0, 49_999, size - 1]) {
      assert.equal(m.apply({ location: `WH${i}` }).location, `Site ${i}`);
    }
  });

  it("names a value that is not in it with a short list of known values, not all of them", () => {
    // The message ends up in the failed-records inbox and the CLI output, once per failed record.
    const known = Array.from({ length: 20 }, (_, i) => `WH${i}`).join(", ");
    assert.throws(
      () => m.apply({ location: "XX" }),
      dataErrorFor(
        "location",
        new RegExp(
          `^mapping of location: "XX" from location is not in the value map \\(known: ${known}, and 99980 more\\)$`,
        ),
      ),
    );
  });
});

describe("compileMapping: expressions", () => {
  it("evaluates expr rules with the record as input, and apply becomes async", async () => {
    const m = compileMapping({ title: { expr: "$uppercase($trim(title))" }, vendor: { value: "ACME" } });
    assert.equal(m.async, true);
    const out = await m.apply(product);
    assert.equal(out.title, "OAK CHAIR");
    assert.equal(out.vendor, "ACME");
  });

  it("evaluates [] expressions on each element, with $record bound to the record", async () => {
    const m = compileMapping({
      "variants[].price": { expr: "$string($number(price) * 1.1)" },
      "variants[].title": { expr: "$record.key & '-' & sku" },
    });
    const out = await m.apply(product);
    assert.deepEqual(out.variants, [
      { sku: "CH-1", price: "11", options: {}, title: "chair-CH-1" },
      { sku: "CH-2", price: "22.55", options: {}, title: "chair-CH-2" },
    ]);
  });

  it("returns plain arrays from expressions", async () => {
    const m = compileMapping({ categoryPath: { expr: "variants.sku" } });
    const out = await m.apply(product);
    assert.deepEqual(out.categoryPath, ["CH-1", "CH-2"]);
  });

  it("turns an expression failure into a data error naming the element and the value", async () => {
    const m = compileMapping({ "variants[].price": { expr: "$number(sku)" } });
    await assert.rejects(
      async () => m.apply(product),
      dataErrorFor("variants[0].price", /\$number\(sku\).*"CH-1"/),
    );
  });

  it("fails cleanly when a synchronous rule fails beside a pending expression", async () => {
    const m = compileMapping({
      "variants[].title": { expr: "$number(sku)" },
      "variants[].price": { from: "price", format: "int" },
    });
    await assert.rejects(async () => m.apply(product), dataErrorFor("variants[1].price", /"20\.5"/));
  });
});

describe("compileMapping: compile errors", () => {
  it("reports bad JSONata with the full config path and the expression", () => {
    assert.throws(
      () => compileMapping({ price: { expr: "$string(price" } }, { path: "flows.products.mapping" }),
      configErrorWith("flows.products.mapping.price", /invalid JSONata expression.*"\$string\(price"/),
    );
  });

  it("reports every bad rule at once", () => {
    try {
      compileMapping(
        {
          "a..b": "x",
          c: { from: "x", format: "upper", map: {} },
          d: { expr: "(" },
          e: "__proto__.polluted",
          "f[]": "x",
        },
        { path: "flows[2].mapping" },
      );
      assert.fail("expected a ConfigError");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(
        e.issues.map((i) => i.path),
        ["a..b", "c", "d", "e", "f[]"].map((f) => `flows[2].mapping.${f}`),
      );
      assert.match(e.issues[0]!.message, /bad target path.*"a\.\.b"/);
      assert.match(e.issues[1]!.message, /map and format cannot be combined/);
      assert.match(e.issues[3]!.message, /bad source path "__proto__\.polluted"/);
      assert.match(e.issues[4]!.message, /must end with a field name/);
    }
  });

  it("refuses a value map that is not a mapping", () => {
    for (const map of [["WH", "WH2"], "WH", null]) {
      const parsed = Mapping.safeParse({ location: { from: "location", map } });
      const issue = parsed.error?.issues.find((i) => i.code === "invalid_union");
      assert.ok(issue?.code === "invalid_union", `refused: ${JSON.stringify(map)}`);
      const messages = issue.errors.flat().map((i) => `${i.path.join(".")}: ${i.message}`);
      assert.ok(
        messages.includes("map: a value map is a mapping of source value → target value"),
        messages.join("\n"),
      );
    }
  });

  it("refuses rules that set a field whole and part by part", () => {
    assert.throws(
      () => compileMapping({ priceList: { value: {} }, "priceList.name": "x" }),
      configErrorWith("mapping.priceList.name", /conflicts with the rule for "priceList"/),
    );
    assert.throws(
      () => compileMapping({ "variants[].sku": "sku", "variants.sku": "x" }),
      configErrorWith("mapping.variants.sku", /conflicts/),
    );
  });

  it("refuses a rule with two sources or none", () => {
    assert.throws(
      () => compileMapping({ x: { from: "a", value: 1 } }),
      configErrorWith("mapping.x", /only one of/),
    );
    assert.throws(
      () => compileMapping({ x: { strict: true } }),
      configErrorWith("mapping.x", /needs one of/),
    );
  });

  it("is validated by the Mapping schema with the same messages, path per field", () => {
    const parsed = Mapping.safeParse({
      ok: "title",
      price: { expr: "1 +" },
      bad: { from: "a", format: "shout" },
    });
    assert.equal(parsed.success, false);
    const issues = parsed.error?.issues ?? [];
    assert.ok(issues.some((i) => i.path.join(".") === "price" && /invalid JSONata/.test(i.message)));
    assert.ok(issues.some((i) => i.path[0] === "bad"));
    assert.equal(Mapping.safeParse({ ok: "title", price: { expr: "price * 2" } }).success, true);
  });
});

describe("compileMapping: preview", () => {
  it("lists each field it set with the rule, before and after, in rule order", async () => {
    const m = compileMapping({
      "variants[].price": { expr: "$string($number(price) * 2)" },
      key: { from: "key", format: "upper" },
    });
    const { output, fields } = await m.preview(product);
    assert.equal(output.key, "CHAIR");
    assert.deepEqual(fields, [
      { field: "variants[0].price", rule: "expr $string($number(price) * 2)", before: "10", after: "20" },
      { field: "variants[1].price", rule: "expr $string($number(price) * 2)", before: "20.5", after: "41" },
      { field: "key", rule: "format upper of key", before: "chair", after: "CHAIR" },
    ]);
    assert.deepEqual(m.rules, [
      { field: "variants[].price", rule: "expr $string($number(price) * 2)" },
      { field: "key", rule: "format upper of key" },
    ]);
  });
});

describe("compileMapping: property", () => {
  const name = fc
    .stringMatching(/^[a-z][a-zA-Z0-9_]{0,8}$/)
    .filter((n) => n !== "constructor" && n !== "prototype");
  it("a mapping of only from rules equals a hand-written copy", () => {
    fc.assert(
      fc.property(
        fc.dictionary(name, fc.jsonValue()),
        fc.array(fc.tuple(name, name, fc.option(name, { nil: undefined })), { maxLength: 6 }),
        (record, pairs) => {
          const mapping: Record<string, string> = {};
          for (const [target, from, nested] of pairs) mapping[target] = nested ? `${from}.${nested}` : from;
          const expected: Record<string, unknown> = { ...record };
          for (const [target, path] of Object.entries(mapping)) {
            const [first, second] = path.split(".");
            const top: unknown = record[first!];
            const value =
              second === undefined
                ? top
                : top !== null && typeof top === "object" && Object.hasOwn(top, second)
                  ? Reflect.get(top, second)
                  : undefined;
            if (value === undefined) delete expected[target];
            else expected[target] = value;
          }
          const m = compileSync(mapping);
          assert.deepEqual(m.apply(record), expected);
        },
      ),
    );
  });
});
