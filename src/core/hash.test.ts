import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { contentHash, stableStringify } from "./hash.ts";

/** Rebuilds a value with every object's keys inserted in a shuffled order. */
function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffleKeys(v, seed + i + 1));
  if (value === null || typeof value !== "object") return value;
  return shuffleRecord(value, seed);
}

function shuffleRecord(value: object, seed: number): Record<string, unknown> {
  const entries = Object.entries(value);
  let s = seed;
  for (let i = entries.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    const tmp = entries[i]!;
    entries[i] = entries[j]!;
    entries[j] = tmp;
  }
  // fromEntries keeps a "__proto__" key as an own field, as JSON.parse does.
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, s + k.length)]));
}

const jsonValue = fc.jsonValue();
const record = fc.dictionary(
  fc.string({ minLength: 1 }).filter((k) => !["source", "sourceId", "updatedAt", "__proto__"].includes(k)),
  jsonValue,
  { minKeys: 1 },
);

const product = {
  source: "odoo",
  sourceId: "42",
  updatedAt: "2025-01-02T03:04:05Z",
  key: "CHAIR",
  title: "Chair",
  currency: "EUR",
  variants: [{ sku: "CHAIR-RED", price: "12.50", options: { Colour: "Red" } }],
};

describe("stableStringify", () => {
  it("sorts keys at every depth and keeps array order", () => {
    assert.equal(stableStringify({ b: 1, a: [{ d: 1, c: 2 }, 3] }), '{"a":[{"c":2,"d":1},3],"b":1}');
  });

  it("drops undefined like JSON and writes null for it in arrays", () => {
    assert.equal(stableStringify({ a: undefined, b: [undefined, 1] }), '{"b":[null,1]}');
  });

  it("parses back to the same value as JSON.stringify for any JSON value", () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        assert.deepEqual(JSON.parse(stableStringify(v)), JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it("honours toJSON and refuses cycles", () => {
    assert.equal(
      stableStringify({ at: new Date("2025-01-01T00:00:00Z") }),
      '{"at":"2025-01-01T00:00:00.000Z"}',
    );
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    assert.throws(() => stableStringify(loop), /contains itself/);
  });

  it("allows the same object twice when it is not a cycle", () => {
    const shared = { a: 1 };
    assert.equal(stableStringify([shared, shared]), '[{"a":1},{"a":1}]');
  });
});

describe("contentHash", () => {
  it("is a sha256 hex digest", () => {
    assert.match(contentHash("product", product), /^[0-9a-f]{64}$/);
  });

  it("never changes with key order", () => {
    fc.assert(
      fc.property(record, fc.nat(), (r, seed) => {
        const shuffled = shuffleRecord(r, seed);
        assert.equal(contentHash("product", shuffled), contentHash("product", r));
      }),
    );
  });

  it("changes whenever a non-provenance value changes", () => {
    fc.assert(
      fc.property(record, jsonValue, fc.nat(), (r, replacement, pick) => {
        const keys = Object.keys(r);
        const key = keys[pick % keys.length]!;
        fc.pre(stableStringify(r[key]) !== stableStringify(replacement));
        assert.notEqual(contentHash("product", { ...r, [key]: replacement }), contentHash("product", r));
      }),
    );
  });

  it("changes when a nested value changes", () => {
    const cheaper = { ...product, variants: [{ ...product.variants[0]!, price: "12.49" }] };
    assert.notEqual(contentHash("product", cheaper), contentHash("product", product));
  });

  it("ignores provenance: source, sourceId and updatedAt", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.date({ noInvalidDate: true }), (source, sourceId, at) => {
        const moved = { ...product, source, sourceId, updatedAt: at.toISOString() };
        assert.equal(contentHash("product", moved), contentHash("product", product));
      }),
    );
  });
});
