/**
 * The contract suite every connector runs against its emulator (and, where one runs here, the real
 * system). A connector's `contract.test.ts` is one call:
 *
 *   runContractSuite({ name: "odoo", setup: async () => ({ connector, badCredentials, unreachable, ... }) });
 *
 * It checks what the engine relies on and cannot check itself: pagination to the last page with no record
 * missed or repeated, the (updatedAt, id) order that makes a cursor resumable, native records that map to
 * valid canonical records, idempotent writes found again by their external reference, one rejected record
 * that never fails its siblings, and errors classified into the taxonomy.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { compareCursors } from "../core/cursor.ts";
import { SyncError } from "../core/errors.ts";
import { type CanonicalByEntity, type EntityName, SCHEMAS } from "../core/model.ts";
import {
  type Connector,
  type Cursor,
  type Stream,
  streamOf,
  type WriteContext,
  type WriteItem,
  writerOf,
} from "./connector.ts";

export interface ContractFixture {
  connector: Connector;
  /** The same system with a wrong password or token. */
  badCredentials: Connector;
  /** A connector aimed at a port where nothing listens. */
  unreachable: Connector;
  /** Streams to exercise; each must hold at least `minRecords` records in the fixture. */
  streams: EntityName[];
  minRecords?: number;
  /** Per writer entity: fresh canonical records (keys never written before), at least 3, new on each call. */
  samples: { [E in EntityName]?: () => CanonicalByEntity[E][] };
  /** Per writer entity: a record the system refuses (e.g. an unknown SKU). */
  rejects?: { [E in EntityName]?: () => CanonicalByEntity[E] };
  /** The WriteContext the writers get (links other records already have in this system). */
  writeContext?: WriteContext;
  /** Changes one record of a stream through the system's own write path, so its updatedAt moves. */
  touch?: (entity: EntityName, id: string) => Promise<void>;
  /** Writes the system has performed so far (emulator counter). */
  writes(): number;
  teardown(): Promise<void>;
}

export interface ContractSubject {
  name: string;
  setup(): Promise<ContractFixture>;
}

const SIGNPOST_FAR = "2999-01-01T00:00:00Z";

async function readAll(stream: Stream, pageSize: number, since: Cursor | null = null) {
  const pages: unknown[][] = [];
  for await (const page of stream.list({ since, signpost: SIGNPOST_FAR, pageSize })) pages.push(page);
  return pages;
}

function cursorOf(stream: Stream, native: unknown): Cursor {
  return { updatedAt: stream.updatedAtOf(native), id: stream.idOf(native) };
}

const noLinks: WriteContext = { resolve: async () => null };

export function runContractSuite(subject: ContractSubject): void {
  describe(`connector contract: ${subject.name}`, () => {
    let fx: ContractFixture;
    before(async () => {
      fx = await subject.setup();
    });
    after(async () => {
      await fx?.teardown();
    });

    test("check() accepts good credentials", async () => {
      await fx.connector.check();
    });

    test("wrong credentials are a config error naming the system, without the secret", async () => {
      const err = await fx.badCredentials.check().then(
        () => assert.fail("check() accepted wrong credentials"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
      assert.equal(err.kind, "config");
      assert.equal(err.details.system, fx.badCredentials.name);
    });

    test("an unreachable host is a retryable error", async () => {
      const err = await fx.unreachable.check().then(
        () => assert.fail("check() succeeded against a closed port"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
      assert.equal(err.kind, "retryable");
    });

    describe("streams", () => {
      test("every declared stream exists", () => {
        for (const entity of fx.streams) assert.ok(fx.connector.streams[entity], `no stream for ${entity}`);
      });

      test("pagination reaches the last page, pages respect pageSize, nothing missed or repeated", async () => {
        for (const entity of fx.streams) {
          const stream = streamOf(fx.connector, entity) as Stream;
          const big = (await readAll(stream, 250)).flat();
          assert.ok(
            big.length >= (fx.minRecords ?? 5),
            `${entity}: only ${big.length} records in the fixture`,
          );
          const pageSize = Math.max(2, Math.ceil(big.length / 4));
          const pages = await readAll(stream, pageSize);
          assert.ok(pages.length >= 3, `${entity}: expected several pages, got ${pages.length}`);
          for (const p of pages)
            assert.ok(p.length <= pageSize, `${entity}: a page of ${p.length} > ${pageSize}`);
          const ids = pages.flat().map((r) => stream.idOf(r));
          assert.equal(new Set(ids).size, ids.length, `${entity}: a record was read twice`);
          assert.deepEqual(
            new Set(ids),
            new Set(big.map((r) => stream.idOf(r))),
            `${entity}: page sizes change the set`,
          );
        }
      });

      test("sorted streams come in strictly ascending (updatedAt, id) order", async () => {
        for (const entity of fx.streams) {
          const stream = streamOf(fx.connector, entity) as Stream;
          if (!stream.sorted) continue;
          const all = (await readAll(stream, 7)).flat();
          for (let i = 1; i < all.length; i++) {
            const prev = cursorOf(stream, all[i - 1]);
            const cur = cursorOf(stream, all[i]);
            assert.ok(
              compareCursors(prev, cur) < 0,
              `${entity}: ${JSON.stringify(prev)} then ${JSON.stringify(cur)}`,
            );
          }
        }
      });

      test("an interrupted read resumes from its cursor with nothing missed", async () => {
        for (const entity of fx.streams) {
          const stream = streamOf(fx.connector, entity) as Stream;
          if (!stream.sorted) continue;
          const all = (await readAll(stream, 250)).flat();
          const pageSize = Math.max(2, Math.ceil(all.length / 5));
          const firstTwo: unknown[] = [];
          let n = 0;
          for await (const page of stream.list({ since: null, signpost: SIGNPOST_FAR, pageSize })) {
            firstTwo.push(...page);
            if (++n === 2) break; // the process "dies" here
          }
          const cursor = cursorOf(stream, firstTwo[firstTwo.length - 1]);
          const rest = (await readAll(stream, pageSize, cursor))
            .flat()
            .filter((r) => compareCursors(cursorOf(stream, r), cursor) > 0);
          const ids = [...firstTwo, ...rest].map((r) => stream.idOf(r));
          assert.equal(new Set(ids).size, ids.length, `${entity}: resumed read repeats records`);
          assert.deepEqual(
            new Set(ids),
            new Set(all.map((r) => stream.idOf(r))),
            `${entity}: resumed read misses records`,
          );
        }
      });

      test("every native record maps to a valid canonical record", async () => {
        for (const entity of fx.streams) {
          const stream = streamOf(fx.connector, entity) as Stream;
          for (const native of (await readAll(stream, 250)).flat()) {
            const canonical = await stream.toCanonical(native);
            const parsed = SCHEMAS[entity].safeParse(canonical);
            assert.ok(
              parsed.success,
              `${entity} ${stream.idOf(native)}: ${parsed.success ? "" : JSON.stringify(parsed.error.issues.slice(0, 3))}`,
            );
          }
        }
      });

      test("get(id) returns the record, null for an unknown id", async () => {
        for (const entity of fx.streams) {
          const stream = streamOf(fx.connector, entity) as Stream;
          const [first] = (await readAll(stream, 5))[0] ?? [];
          assert.ok(first, `${entity}: empty stream`);
          const got = await stream.get(stream.idOf(first));
          assert.ok(got, `${entity}: get(${stream.idOf(first)}) returned null`);
          assert.equal(stream.idOf(got), stream.idOf(first));
        }
      });

      test("a change made in the system is read again after the cursor", async () => {
        if (!fx.touch) return;
        for (const entity of fx.streams) {
          const stream = streamOf(fx.connector, entity) as Stream;
          if (!stream.sorted) continue;
          const all = (await readAll(stream, 250)).flat();
          const last = cursorOf(stream, all[all.length - 1]);
          const target = stream.idOf(all[0]);
          await sleep(1100); // sources with one-second timestamps
          await fx.touch(entity, target);
          const after = (await readAll(stream, 250, last))
            .flat()
            .filter((r) => compareCursors(cursorOf(stream, r), last) > 0);
          assert.deepEqual(
            after.map((r) => stream.idOf(r)),
            [target],
            `${entity}: expected only the touched record after the cursor`,
          );
        }
      });
    });

    describe("writers", () => {
      const item = (record: CanonicalByEntity[EntityName], targetId: string | null): WriteItem => ({
        key: record.key,
        record,
        targetId,
        externalRef: record.key,
      });

      test("create, then the same write again: no duplicate, found again by external reference", async () => {
        for (const [entity, make] of Object.entries(fx.samples) as [
          EntityName,
          () => CanonicalByEntity[EntityName][],
        ][]) {
          const writer = writerOf(fx.connector, entity);
          assert.ok(writer, `no writer for ${entity}`);
          const ctx = fx.writeContext ?? noLinks;
          const records = make();
          assert.ok(records.length >= 3, `${entity}: give at least 3 samples`);
          const first = await writer.upsert(
            records.map((r) => item(r, null)),
            ctx,
          );
          assert.equal(first.length, records.length);
          const ids = new Map<string, string>();
          for (const r of first) {
            assert.ok(r.ok, `${entity} ${r.key}: ${r.ok ? "" : r.error.message}`);
            assert.equal(r.action, "created");
            ids.set(r.key, r.targetId);
          }
          for (const r of records) {
            assert.equal(
              await writer.findByExternalRef(r.key, r),
              ids.get(r.key),
              `${entity} ${r.key} not found by ref`,
            );
          }
          const writesBefore = fx.writes();
          const second = await writer.upsert(
            records.map((r) => item(r, ids.get(r.key) ?? null)),
            ctx,
          );
          for (const r of second) {
            assert.ok(r.ok, `${entity} ${r.key} (second write): ${r.ok ? "" : r.error.message}`);
            assert.equal(r.targetId, ids.get(r.key), `${entity} ${r.key}: a second write made a new record`);
            assert.notEqual(r.action, "created");
          }
          assert.ok(fx.writes() >= writesBefore);
        }
      });

      test("an unknown external reference is not found", async () => {
        for (const [entity, make] of Object.entries(fx.samples) as [
          EntityName,
          () => CanonicalByEntity[EntityName][],
        ][]) {
          const writer = writerOf(fx.connector, entity);
          const [record] = make();
          assert.ok(writer && record);
          assert.equal(await writer.findByExternalRef(`never-written:${Date.now()}`, record), null);
        }
      });

      test("a record the system refuses fails alone; its siblings are written", async () => {
        for (const [entity, makeBad] of Object.entries(fx.rejects ?? {}) as [
          EntityName,
          () => CanonicalByEntity[EntityName],
        ][]) {
          const writer = writerOf(fx.connector, entity);
          const good = fx.samples[entity]?.() ?? [];
          assert.ok(writer && good.length > 0, `${entity}: rejects need samples too`);
          const bad = makeBad();
          const results = await writer.upsert(
            [item(good[0]!, null), item(bad, null), ...good.slice(1).map((g) => item(g, null))],
            fx.writeContext ?? noLinks,
          );
          const byKey = new Map(results.map((r) => [r.key, r]));
          const badResult = byKey.get(bad.key);
          assert.ok(badResult && !badResult.ok, `${entity}: the bad record was accepted`);
          assert.ok(
            ["permanent", "data"].includes(badResult.error.kind),
            `${entity}: kind ${badResult.error.kind}`,
          );
          for (const g of good)
            assert.ok(byKey.get(g.key)?.ok, `${entity}: sibling ${g.key} was not written`);
        }
      });
    });
  });
}
