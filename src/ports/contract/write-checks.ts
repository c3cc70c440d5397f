/**
 * The contract's write checks, per entity a definition writes, in order: create (found again by its
 * external reference) → read back equal after the documented normalisation → update → the same records
 * again write nothing (exactly zero writes) → an unknown external reference is not found → one refused
 * record fails alone.
 */
import assert from "node:assert/strict";
import type { CanonicalByEntity, EntityName } from "../../core/model.ts";
import { type WriteContext, type WriteItem, type Writer, writerOf } from "../connector.ts";
import { type Harness, SkipCheck, type WriteStep } from "./fixture.ts";

type Record_ = CanonicalByEntity[EntityName];

const noLinks: WriteContext = { resolve: async () => null };

const item = (record: Record_, targetId: string | null): WriteItem => ({
  key: record.key,
  record,
  targetId,
  externalRef: record.key,
});

export function writerFor(h: Harness, entity: EntityName): Writer {
  const writer = writerOf(h.connector, entity);
  assert.ok(
    writer,
    `the definition declares ${entity} as written, but its connection has no ${entity} writer`,
  );
  return writer;
}

function samplesOf(h: Harness, entity: EntityName): Record_[] {
  const make = h.fx.samples?.[entity] as (() => Record_[]) | undefined;
  if (!make) throw new Error(`${entity}: the fixture has no samples; give some or skip ${entity}.write`);
  const records = make();
  assert.ok(records.length >= 3, `${entity}: give at least 3 samples, got ${records.length}`);
  return records;
}

function writtenOf(h: Harness, entity: EntityName) {
  const w = h.written.get(entity);
  if (!w) throw new Error(`${entity}: nothing was created (the create step failed or was skipped)`);
  return w;
}

/** What of a written record survives the round trip, from the system: null when it cannot be read back. */
async function readBack(h: Harness, entity: EntityName, targetId: string): Promise<unknown> {
  const stream = h.connector.streams[entity];
  if (h.fx.readBack) return h.fx.readBack(entity, targetId);
  if (!stream)
    throw new Error(
      `${entity}: the connector cannot read it back; give fixture.readBack or skip ${entity}.readback`,
    );
  const native = await (stream.get as (id: string) => Promise<unknown>)(targetId);
  return native === null ? null : stream.toCanonical(native as never);
}

async function assertReadsBack(h: Harness, entity: EntityName, records: Record_[], ids: Map<string, string>) {
  const normalise = h.fx.normalise?.[entity];
  if (!normalise) {
    throw new Error(
      `${entity}: no documented normalisation (fixture.normalise.${entity}); give one or skip ${entity}.readback`,
    );
  }
  for (const r of records) {
    const id = ids.get(r.key) ?? "";
    const got = await readBack(h, entity, id);
    assert.ok(
      got !== null && got !== undefined,
      `${entity} ${r.key}: written as ${id} but not found when read back`,
    );
    assert.deepEqual(
      normalise(got),
      normalise(r),
      `${entity} ${r.key}: read back differs from what was written`,
    );
  }
}

async function upsertAll(h: Harness, entity: EntityName, items: WriteItem[]) {
  const results = await writerFor(h, entity).upsert(items, h.fx.writeContext ?? noLinks);
  assert.equal(
    results.length,
    items.length,
    `${entity}: ${items.length} records written, ${results.length} results`,
  );
  return new Map(results.map((r) => [r.key, r]));
}

export const writeChecks: Record<WriteStep, (h: Harness, entity: EntityName) => Promise<void>> = {
  async create(h, entity) {
    const writer = writerFor(h, entity);
    const records = samplesOf(h, entity);
    const before = h.fx.writes(h.connector);
    const results = await upsertAll(
      h,
      entity,
      records.map((r) => item(r, null)),
    );
    const ids = new Map<string, string>();
    for (const r of records) {
      const res = results.get(r.key);
      assert.ok(res?.ok, `${entity} ${r.key}: ${res?.ok === false ? res.error.message : "no result"}`);
      assert.equal(res.action, "created", `${entity} ${r.key}: a first write is not a create`);
      ids.set(r.key, res.targetId);
    }
    assert.ok(
      h.fx.writes(h.connector) > before,
      `${entity}: ${records.length} creates made no write in the system`,
    );
    for (const r of records) {
      assert.equal(
        await writer.findByExternalRef(r.key, r),
        ids.get(r.key),
        `${entity} ${r.key} not found by its external reference`,
      );
    }
    h.written.set(entity, { records, ids });
  },

  async readback(h, entity) {
    const { records, ids } = writtenOf(h, entity);
    await assertReadsBack(h, entity, records, ids);
  },

  async update(h, entity) {
    const change = h.fx.change?.[entity] as ((r: Record_) => Record_) | undefined;
    if (!change) throw new Error(`${entity}: the fixture has no change; give one or skip ${entity}.update`);
    const w = writtenOf(h, entity);
    const changed = w.records.map(change);
    const before = h.fx.writes(h.connector);
    const results = await upsertAll(
      h,
      entity,
      changed.map((r) => item(r, w.ids.get(r.key) ?? null)),
    );
    for (const r of changed) {
      const res = results.get(r.key);
      assert.ok(
        res?.ok,
        `${entity} ${r.key} (update): ${res?.ok === false ? res.error.message : "no result"}`,
      );
      assert.equal(res.targetId, w.ids.get(r.key), `${entity} ${r.key}: an update made a new record`);
      assert.equal(res.action, "updated", `${entity} ${r.key}: a changed record was not updated`);
    }
    assert.ok(
      h.fx.writes(h.connector) > before,
      `${entity}: ${changed.length} updates made no write in the system`,
    );
    w.records = changed;
    if (h.fx.normalise?.[entity] && !h.fx.skip?.[`${entity}.readback`]) {
      await assertReadsBack(h, entity, changed, w.ids);
    }
  },

  async reapply(h, entity) {
    const w = writtenOf(h, entity);
    const before = h.fx.writes(h.connector);
    const results = await upsertAll(
      h,
      entity,
      w.records.map((r) => item(r, w.ids.get(r.key) ?? null)),
    );
    for (const r of w.records) {
      const res = results.get(r.key);
      assert.ok(
        res?.ok,
        `${entity} ${r.key} (again): ${res?.ok === false ? res.error.message : "no result"}`,
      );
      assert.equal(res.targetId, w.ids.get(r.key), `${entity} ${r.key}: writing it again made a new record`);
      assert.notEqual(res.action, "created", `${entity} ${r.key}: writing the same record again created it`);
    }
    // Exactly zero: the emulator's counter of writes that changed state, never a lower bound.
    assert.equal(
      h.fx.writes(h.connector) - before,
      0,
      `${entity}: writing the same records again wrote to the system`,
    );
  },

  async lookup(h, entity) {
    const [record] = samplesOf(h, entity);
    const ref = `never-written-${Date.now().toString(36)}`;
    const found = await writerFor(h, entity).findByExternalRef(ref, { ...record!, key: ref });
    assert.equal(
      found,
      null,
      `${entity}: findByExternalRef(${ref}) of a reference never written is not null`,
    );
  },

  async reject(h, entity) {
    const makeBad = h.fx.rejects?.[entity] as (() => Record_) | undefined;
    if (!makeBad)
      throw new Error(`${entity}: the fixture has no refused record; give one or skip ${entity}.reject`);
    const good = samplesOf(h, entity);
    const bad = makeBad();
    const results = await upsertAll(h, entity, [
      item(good[0]!, null),
      item(bad, null),
      ...good.slice(1).map((g) => item(g, null)),
    ]);
    const badResult = results.get(bad.key);
    assert.ok(badResult && !badResult.ok, `${entity}: the refused record ${bad.key} was reported written`);
    assert.ok(
      ["permanent", "data"].includes(badResult.error.kind),
      `${entity}: refused as ${badResult.error.kind}`,
    );
    for (const g of good) {
      const r = results.get(g.key);
      assert.ok(
        r?.ok,
        `${entity}: sibling ${g.key} of a refused record failed: ${r?.ok === false ? r.error.message : "no result"}`,
      );
    }
  },
};

export { SkipCheck };
