import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AnswerHeaders, type RawHeaders } from "./answer-headers.ts";

/** The WHATWG Headers the client built for every answer before AnswerHeaders: what it must answer as. */
function reference(raw: RawHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (Array.isArray(v)) for (const one of v) out.append(k, one);
    else if (v !== undefined) out.append(k, v);
  }
  return out;
}

// As undici's `request` gives them: names lower-cased, a repeated header as a list.
const raw: RawHeaders = {
  "content-type": "application/json",
  "x-total-pages": "7",
  link: ['<https://api.example.com/a?page=2>; rel="next"', '<https://api.example.com/a?page=7>; rel="last"'],
  "set-cookie": ["B1SESSION=abc; path=/", "ROUTEID=.node1; path=/"],
  "retry-after": "2",
  empty: "",
};

describe("AnswerHeaders", () => {
  test("get and has answer as Headers does, whatever the name's case", () => {
    const h = new AnswerHeaders(raw);
    const ref = reference(raw);
    for (const name of [
      "content-type",
      "Content-Type",
      "X-TOTAL-PAGES",
      "link",
      "set-cookie",
      "Retry-After",
      "empty",
      "absent",
    ]) {
      assert.equal(h.get(name), ref.get(name), `get(${name})`);
      assert.equal(h.has(name), ref.has(name), `has(${name})`);
    }
  });

  test("iteration, getSetCookie and forEach list what Headers lists, in its order", () => {
    const h = new AnswerHeaders(raw);
    const ref = reference(raw);
    assert.deepEqual([...h], [...ref]);
    assert.deepEqual([...h.entries()], [...ref.entries()]);
    assert.deepEqual([...h.keys()], [...ref.keys()]);
    assert.deepEqual([...h.values()], [...ref.values()]);
    assert.deepEqual(h.getSetCookie(), ["B1SESSION=abc; path=/", "ROUTEID=.node1; path=/"]);
    const seen: [string, string][] = [];
    h.forEach((v, k, parent) => {
      assert.equal(parent, h);
      seen.push([k, v]);
    });
    assert.deepEqual(seen, [...ref]);
    assert.deepEqual(Object.fromEntries(h.entries()), Object.fromEntries(ref.entries()));
  });

  test("a change made through it is what get answers afterwards", () => {
    const h = new AnswerHeaders(raw);
    h.set("x-total-pages", "8");
    h.append("x-extra", "1");
    h.delete("retry-after");
    assert.equal(h.get("X-Total-Pages"), "8");
    assert.equal(h.get("x-extra"), "1");
    assert.equal(h.get("retry-after"), null);
    assert.equal(h.has("retry-after"), false);
    assert.equal(raw["retry-after"], "2", "the record it was read from is not changed");
  });
});
