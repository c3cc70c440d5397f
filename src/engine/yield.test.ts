/**
 * A page's records are mapped in slices with a turn of the event loop in between (prepareYielding): with
 * a store that answers synchronously (SQLite), nothing else would give a waiting socket or timer (a webhook
 * to acknowledge, in the same process) a turn until the whole page was mapped. The records come out all
 * there, in their order, failures included.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Flow } from "./flow.ts";
import { PREPARE_SLICE, prepareYielding } from "./sync.ts";

type Stream = Parameters<typeof prepareYielding>[1];

describe("prepareYielding", () => {
  test("a timer waiting when the page starts runs after the first slice, not after the page", async () => {
    let mapped = 0;
    const stream = {
      entity: "product",
      idOf: (n: { id: number }) => String(n.id),
      updatedAtOf: () => "2026-12-01T00:00:00Z",
      // Not a product: every record fails validation, which prepare() files as the record's error.
      toCanonical: (n: { id: number }) => {
        mapped++;
        return { key: `product#${n.id}` };
      },
    } as unknown as Stream;
    const flow = { name: "products", entity: "product", source: { name: "odoo" } } as unknown as Flow;
    const page = Array.from({ length: PREPARE_SLICE * 4 }, (_, i) => ({ id: i + 1 }));

    let mappedWhenTimerRan = -1;
    setImmediate(() => {
      mappedWhenTimerRan = mapped;
    });
    const out = await prepareYielding(flow, stream, page);

    assert.equal(mappedWhenTimerRan, PREPARE_SLICE);
    assert.deepEqual(
      out.map((p) => p.key),
      page.map((n) => `product#${n.id}`),
    );
    assert.ok(out.every((p) => p.error !== null && p.mapped === null));
  });

  test("records whose mapping waits on the network all wait together, across slices", async () => {
    let waiting = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const stream = {
      entity: "customer",
      idOf: (n: { id: number }) => String(n.id),
      updatedAtOf: () => "2026-12-01T00:00:00Z",
      // A lookup per record (as B2C Commerce's customer addresses): held until every record has asked.
      toCanonical: async (n: { id: number }) => {
        waiting++;
        most = Math.max(most, waiting);
        await new Promise<void>((r) => release.push(r));
        waiting--;
        return { key: `customer#${n.id}` };
      },
    } as unknown as Stream;
    const flow = { name: "customers", entity: "customer", source: { name: "sfcc" } } as unknown as Flow;
    const page = Array.from({ length: PREPARE_SLICE * 3 }, (_, i) => ({ id: i + 1 }));
    const done = prepareYielding(flow, stream, page);
    while (release.length < page.length) await new Promise((r) => setImmediate(r));
    for (const r of release) r();
    const out = await done;
    assert.equal(most, page.length);
    assert.equal(out.length, page.length);
  });

  test("an empty page gives nothing and a short one is one slice", async () => {
    const stream = {
      entity: "product",
      idOf: (n: { id: number }) => String(n.id),
      updatedAtOf: () => "2026-12-01T00:00:00Z",
      toCanonical: () => ({}),
    } as unknown as Stream;
    const flow = { name: "products", entity: "product", source: { name: "odoo" } } as unknown as Flow;
    assert.deepEqual(await prepareYielding(flow, stream, []), []);
    assert.equal((await prepareYielding(flow, stream, [{ id: 1 }, { id: 2 }])).length, 2);
  });
});
