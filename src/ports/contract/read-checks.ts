/**
 * The contract's read checks, per entity a definition reads: every page to the last with nothing missed or
 * repeated, (updatedAt, id) order, resume from a cursor, cursors stable while records are inserted, valid
 * canonical records, lookup by id (null for an unknown one), and a change read again after the cursor.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { compareCursors } from "../../core/cursor.ts";
import { type EntityName, SCHEMAS } from "../../core/model.ts";
import { type Cursor, type Stream, streamOf } from "../connector.ts";
import { type Harness, type ReadStep, SkipCheck } from "./fixture.ts";

const SIGNPOST_FAR = "2999-01-01T00:00:00Z";

export async function readAll(stream: Stream, pageSize: number, since: Cursor | null = null) {
  const pages: unknown[][] = [];
  for await (const page of stream.list({ since, signpost: SIGNPOST_FAR, pageSize })) pages.push(page);
  return pages;
}

export function cursorOf(stream: Stream, native: unknown): Cursor {
  return { updatedAt: stream.updatedAtOf(native), id: stream.idOf(native) };
}

export function streamFor(h: Harness, entity: EntityName): Stream {
  const stream = streamOf(h.connector, entity);
  assert.ok(stream, `the definition declares ${entity} as read, but its connection has no ${entity} stream`);
  return stream;
}

const after = (stream: Stream, records: unknown[], cursor: Cursor) =>
  records.filter((r) => compareCursors(cursorOf(stream, r), cursor) > 0);

/** The default unknown id: the known id with its last number replaced by one far beyond the fixture's. */
export function unknownIdLike(knownId: string): string {
  return /\d+(?!.*\d)/.test(knownId) ? knownId.replace(/\d+(?!.*\d)/, "987654321") : `${knownId}-missing`;
}

export const readChecks: Record<ReadStep, (h: Harness, entity: EntityName) => Promise<void>> = {
  async pagination(h, entity) {
    const stream = streamFor(h, entity);
    const big = (await readAll(stream, 250)).flat();
    const min = h.fx.minRecords ?? 5;
    assert.ok(big.length >= min, `${entity}: read ${big.length} records, the fixture holds at least ${min}`);
    const pageSize = Math.max(2, Math.ceil(big.length / 4));
    const pages = await readAll(stream, pageSize);
    assert.ok(pages.length >= 3, `${entity}: expected several pages of ${pageSize}, got ${pages.length}`);
    for (const p of pages) assert.ok(p.length <= pageSize, `${entity}: a page of ${p.length} > ${pageSize}`);
    const ids = pages.flat().map((r) => stream.idOf(r));
    const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
    assert.deepEqual(repeated, [], `${entity}: records read twice while paging`);
    const bigIds = big.map((r) => stream.idOf(r));
    const missed = bigIds.filter((id) => !ids.includes(id));
    assert.deepEqual(missed, [], `${entity}: paging by ${pageSize} missed records one big page holds`);
    assert.equal(new Set(bigIds).size, bigIds.length, `${entity}: one big page holds a record twice`);
  },

  async order(h, entity) {
    const stream = streamFor(h, entity);
    if (!stream.sorted) throw new SkipCheck(`${entity}: the stream declares itself unsorted`);
    const all = (await readAll(stream, 7)).flat();
    for (let i = 1; i < all.length; i++) {
      const [prev, cur] = [cursorOf(stream, all[i - 1]), cursorOf(stream, all[i])];
      assert.ok(
        compareCursors(prev, cur) < 0,
        `${entity}: ${JSON.stringify(prev)} then ${JSON.stringify(cur)}`,
      );
    }
  },

  async resume(h, entity) {
    const stream = streamFor(h, entity);
    if (!stream.sorted) throw new SkipCheck(`${entity}: an unsorted stream cannot resume from a cursor`);
    const all = (await readAll(stream, 250)).flat();
    const pageSize = Math.max(2, Math.ceil(all.length / 5));
    const firstTwo: unknown[] = [];
    let n = 0;
    for await (const page of stream.list({ since: null, signpost: SIGNPOST_FAR, pageSize })) {
      firstTwo.push(...page);
      if (++n === 2) break; // the process "dies" here
    }
    assert.ok(firstTwo.length > 0, `${entity}: the first pages are empty`);
    const cursor = cursorOf(stream, firstTwo[firstTwo.length - 1]);
    const rest = after(stream, (await readAll(stream, pageSize, cursor)).flat(), cursor);
    const ids = [...firstTwo, ...rest].map((r) => stream.idOf(r));
    assert.equal(new Set(ids).size, ids.length, `${entity}: resumed read repeats records`);
    assert.deepEqual(
      new Set(ids),
      new Set(all.map((r) => stream.idOf(r))),
      `${entity}: resumed read misses records`,
    );
  },

  async inserts(h, entity) {
    const insert = h.fx.insert;
    if (!insert)
      throw new Error(`${entity}: the fixture has no insert hook; give one or skip ${entity}.inserts`);
    const stream = streamFor(h, entity);
    const before = (await readAll(stream, 250)).flat().map((r) => stream.idOf(r));
    const pageSize = Math.max(2, Math.ceil(before.length / 4));
    const seen: unknown[] = [];
    const inserted: string[] = [];
    for await (const page of stream.list({ since: null, signpost: SIGNPOST_FAR, pageSize })) {
      seen.push(...page);
      if (inserted.length === 0) inserted.push(await insert(entity), await insert(entity));
    }
    const ids = seen.map((r) => stream.idOf(r));
    const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
    assert.deepEqual(repeated, [], `${entity}: records inserted while paging made others repeat`);
    const missed = before.filter((id) => !ids.includes(id));
    assert.deepEqual(missed, [], `${entity}: records inserted while paging made others go missing`);
    // The inserted records are read in this pass or, after it, from its last cursor: never lost.
    const last = seen.length > 0 ? cursorOf(stream, seen[seen.length - 1]) : null;
    const next = (await readAll(stream, 250, stream.sorted ? last : null)).flat();
    const later = stream.sorted && last ? after(stream, next, last) : next;
    const found = new Set([...ids, ...later.map((r) => stream.idOf(r))]);
    for (const id of inserted)
      assert.ok(found.has(id), `${entity}: record ${id} inserted while paging was never read`);
  },

  async canonical(h, entity) {
    const stream = streamFor(h, entity);
    for (const native of (await readAll(stream, 250)).flat()) {
      const parsed = SCHEMAS[entity].safeParse(await stream.toCanonical(native));
      assert.ok(
        parsed.success,
        `${entity} ${stream.idOf(native)}: ${parsed.success ? "" : JSON.stringify(parsed.error.issues.slice(0, 3))}`,
      );
    }
  },

  async get(h, entity) {
    const stream = streamFor(h, entity);
    const [first] = (await readAll(stream, 5))[0] ?? [];
    assert.ok(first, `${entity}: empty stream`);
    const id = stream.idOf(first);
    const got = await stream.get(id);
    assert.ok(got, `${entity}: get(${id}) returned null for a record the stream lists`);
    assert.equal(stream.idOf(got), id);
    const unknown = h.fx.unknownId?.(entity, id) ?? unknownIdLike(id);
    assert.equal(await stream.get(unknown), null, `${entity}: get(${unknown}) of an unknown id is not null`);
  },

  async touch(h, entity) {
    const touch = h.fx.touch;
    if (!touch) throw new Error(`${entity}: the fixture has no touch hook; give one or skip ${entity}.touch`);
    const stream = streamFor(h, entity);
    if (!stream.sorted) throw new SkipCheck(`${entity}: an unsorted stream has no cursor to read after`);
    const all = (await readAll(stream, 250)).flat();
    const last = cursorOf(stream, all[all.length - 1]);
    const target = stream.idOf(all[0]);
    await sleep(1100); // sources with one-second timestamps
    await touch(entity, target);
    const changed = after(stream, (await readAll(stream, 250, last)).flat(), last).map((r) => stream.idOf(r));
    assert.deepEqual(changed, [target], `${entity}: expected only the touched record after the cursor`);
  },
};
