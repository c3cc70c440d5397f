import assert from "node:assert/strict";
import { test } from "node:test";
import { rng } from "./prng.ts";
import { idBound, includesSorted } from "./sorted.ts";

test("idBound and includesSorted agree with a linear search on random ascending lists", () => {
  const random = rng(7);
  for (let round = 0; round < 200; round++) {
    const set = new Set<number>();
    const n = random.int(0, 39);
    for (let i = 0; i < n; i++) set.add(random.int(0, 99));
    const list = [...set].sort((a, b) => a - b);
    for (let id = -1; id <= 101; id++) {
      const linear = list.findIndex((x) => x >= id);
      assert.equal(idBound(list, id), linear === -1 ? list.length : linear, `${list} ≥ ${id}`);
      assert.equal(includesSorted(list, id), set.has(id), `${list} has ${id}`);
    }
  }
});
