import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type ConflictPolicy,
  classifyInbound,
  contentOf,
  EMPTY_STATE,
  hashOf,
  type KeyState,
  mergeRecords,
  needsCurrent,
  type Ownership,
  type Rec,
  reconcile,
  removalStep,
  resolveTaken,
  SIDES,
  type Side,
  type Version,
} from "./merge.ts";

const names = { a: "tryton", b: "vendure" };
const at = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString();
const base = {
  key: "ann@example.com",
  email: "ann@example.com",
  lastName: "Smith",
  phone: "1",
  company: "A",
};
const side = (record: Rec, n: number) => ({ record, updatedAt: at(n) });

test("changes to different fields on both sides merge; each side is written only what it lacks", () => {
  const m = mergeRecords({
    base,
    a: side({ ...base, phone: "2" }, 10),
    b: side({ ...base, company: "B" }, 5),
    ownership: {},
    policy: "merge",
    names,
  });
  assert.equal(m.kind, "merged");
  if (m.kind !== "merged") return;
  assert.deepEqual(m.record, { ...base, phone: "2", company: "B" });
  assert.deepEqual(m.changes, { a: ["company"], b: ["phone"] });
  assert.deepEqual(
    m.fields.map((f) => [f.field, f.from, f.reason]),
    [
      ["company", "b", "changed in vendure since the last sync"],
      ["phone", "a", "changed in tryton since the last sync"],
    ],
  );
});

test("the same field changed on both sides: merge holds it, hold holds the record, last writer wins by time", () => {
  const a = side({ ...base, phone: "2" }, 10);
  const b = side({ ...base, phone: "3" }, 20);
  const merge = mergeRecords({ base, a, b, ownership: {}, policy: "merge", names });
  assert.equal(merge.kind, "conflict");
  assert.deepEqual(merge.kind === "conflict" && merge.fields, ["phone"]);
  const lww = mergeRecords({ base, a, b, ownership: {}, policy: "last-writer-wins", names });
  assert.equal(lww.kind === "merged" && lww.record.phone, "3");
  assert.match(
    lww.kind === "merged" ? (lww.fields[0]?.reason ?? "") : "",
    /last writer wins: vendure \(2026-01-01T00:00:20.000Z\) after tryton/,
  );
  // Equal stamps: the flow's source side (a) wins, and the trace says so.
  const tie = mergeRecords({
    base,
    a,
    b: side(b.record, 10),
    ownership: {},
    policy: "last-writer-wins",
    names,
  });
  assert.equal(tie.kind === "merged" && tie.record.phone, "2");
  assert.match(
    tie.kind === "merged" ? (tie.fields[0]?.reason ?? "") : "",
    /tie goes to the flow's source, tryton/,
  );
});

test("hold holds a record changed on both sides even on different fields; merge does not", () => {
  const a = side({ ...base, phone: "2" }, 10);
  const b = side({ ...base, company: "B" }, 20);
  const hold = mergeRecords({ base, a, b, ownership: {}, policy: "hold", names });
  assert.equal(hold.kind, "conflict");
  assert.deepEqual(hold.kind === "conflict" && hold.fields, ["company", "phone"]);
  assert.equal(mergeRecords({ base, a, b, ownership: {}, policy: "merge", names }).kind, "merged");
  // A change on one side only is no conflict for hold.
  assert.equal(
    mergeRecords({ base, a, b: side(base, 1), ownership: {}, policy: "hold", names }).kind,
    "merged",
  );
});

test("an owned field takes its owner's value and is never written to its owner", () => {
  const m = mergeRecords({
    base,
    a: side({ ...base, phone: "2" }, 10),
    b: side({ ...base, phone: "3", company: "B" }, 20),
    ownership: { phone: "a", company: "a" },
    policy: "merge",
    names,
  });
  assert.equal(m.kind, "merged");
  if (m.kind !== "merged") return;
  assert.equal(m.record.phone, "2");
  assert.equal(m.record.company, "A");
  assert.deepEqual(m.changes, { a: [], b: ["company", "phone"] });
  assert.equal(m.fields.find((f) => f.field === "company")?.reason, "owned by tryton");
});

test("without a base, differing fields conflict (first meeting of a record on both sides)", () => {
  const a = side({ ...base, phone: "2" }, 10);
  const b = side({ ...base, phone: "3" }, 20);
  assert.equal(mergeRecords({ base: null, a, b, ownership: {}, policy: "merge", names }).kind, "conflict");
  const lww = mergeRecords({ base: null, a, b, ownership: {}, policy: "last-writer-wins", names });
  assert.equal(lww.kind === "merged" && lww.record.phone, "3");
  const same = mergeRecords({ base: null, a, b: side(a.record, 3), ownership: {}, policy: "hold", names });
  assert.deepEqual(same.kind === "merged" && same.changes, { a: [], b: [] });
});

const version = (record: Rec, n: number): Version => ({
  record,
  updatedAt: at(n),
  hash: hashOf("customer", record),
});

test("classifyInbound: echo, the same version again, a late (stale) version, a new one", () => {
  const written = { ...base, phone: "9" };
  const link = { lastHash: hashOf("customer", written), version: at(10), seenHash: hashOf("customer", base) };
  assert.equal(classifyInbound(link, version(written, 11), true), "echo");
  assert.equal(classifyInbound(link, version(base, 10), true), "unchanged");
  assert.equal(classifyInbound(link, version({ ...base, phone: "1" }, 9), true), "stale");
  assert.equal(classifyInbound(link, version({ ...base, phone: "7" }, 11), true), "new");
  // Within the same second, another content than the one read is a new change.
  assert.equal(classifyInbound(link, version({ ...base, phone: "7" }, 10), true), "new");
  assert.equal(classifyInbound(link, version(written, 11), false), "new");
});

test("reconcile: a record in one side only is created in the other; its echo is dropped next cycle", () => {
  const first = reconcile({
    entity: "customer",
    state: EMPTY_STATE,
    read: { b: version(base, 1) },
    ownership: {},
    policy: "merge",
    names,
  });
  assert.equal(first.kind, "merged");
  if (first.kind !== "merged") return;
  assert.deepEqual(first.writes.a?.action, "create");
  assert.equal(first.writes.b, undefined);
  // Tryton read back what was written: its own echo.
  const echo = reconcile({
    entity: "customer",
    state: first.state,
    read: { a: version(base, 2) },
    ownership: {},
    policy: "merge",
    names,
  });
  assert.equal(echo.kind, "none");
  assert.equal(echo.dropped[0]?.kind, "echo");
});

test("reconcile: a late echo arriving after a newer real change is dropped as stale, not applied", () => {
  // Cycle 1: vendure's phone change is written to tryton (tryton stamps it at 5, we do not know that yet).
  const s0: KeyState = {
    base,
    held: false,
    a: { lastHash: hashOf("customer", base), version: at(1), seenHash: hashOf("customer", base) },
    b: { lastHash: hashOf("customer", base), version: at(1), seenHash: hashOf("customer", base) },
  };
  const c1 = reconcile({
    entity: "customer",
    state: s0,
    read: { b: version({ ...base, phone: "2" }, 4) },
    ownership: {},
    policy: "merge",
    names,
  });
  assert.equal(c1.kind === "merged" && c1.writes.a?.action, "update");
  // Cycle 2: a real edit in tryton at 8 arrives first (phone 5, on top of our write).
  const c2 = reconcile({
    entity: "customer",
    state: c1.state,
    read: { a: version({ ...base, phone: "5" }, 8) },
    ownership: {},
    policy: "merge",
    names,
  });
  assert.equal(c2.kind, "merged");
  assert.equal(c2.kind === "merged" && c2.merged.phone, "5");
  // Then the echo of cycle 1's write (phone 2, stamped 5) arrives late: stale, nothing written.
  const late = reconcile({
    entity: "customer",
    state: c2.state,
    read: { a: version({ ...base, phone: "2" }, 5) },
    ownership: {},
    policy: "merge",
    names,
  });
  assert.equal(late.kind, "none");
  assert.equal(late.dropped[0]?.kind, "stale");
  assert.deepEqual(late.state, c2.state);
});

test("reconcile: a held record reads both sides afresh; resolveTaken keeps owned fields", () => {
  const s0: KeyState = {
    base,
    held: false,
    a: { lastHash: hashOf("customer", base), version: at(1), seenHash: hashOf("customer", base) },
    b: { lastHash: hashOf("customer", base), version: at(1), seenHash: hashOf("customer", base) },
  };
  const a = version({ ...base, phone: "2", company: "AA" }, 4);
  const b = version({ ...base, phone: "3", company: "BB" }, 5);
  const ownership: Ownership = { company: "a" };
  const held = reconcile({ entity: "customer", state: s0, read: { a, b }, ownership, policy: "hold", names });
  assert.equal(held.kind, "conflict");
  if (held.kind !== "conflict") return;
  assert.deepEqual(held.fields, ["phone"]);
  assert.equal(held.state.held, true);
  assert.deepEqual(needsCurrent(held.state, { b: version({ ...b.record, lastName: "X" }, 9) }), ["a"]);
  assert.throws(
    () =>
      reconcile({
        entity: "customer",
        state: held.state,
        read: { b: version({ ...b.record, lastName: "X" }, 9) },
        ownership,
        policy: "hold",
        names,
      }),
    /side a is needed/,
  );
  const taken = resolveTaken(held.versions.b as Rec, held.versions, ownership);
  assert.equal(taken.phone, "3");
  assert.equal(taken.company, "AA");
});

// ---- Property: random interleavings of edits and sync cycles ------------------------------------------

const FIELDS = ["firstName", "lastName", "phone", "company"] as const;
type Field = (typeof FIELDS)[number];

type Op =
  | { kind: "edit"; side: Side; field: Field; value: string }
  | { kind: "editBoth"; field: Field; a: string; b: string }
  | { kind: "cycle" }
  | { kind: "late"; side: Side; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("edit" as const),
    side: fc.constantFrom<Side>("a", "b"),
    field: fc.constantFrom(...FIELDS),
    value: fc.constantFrom("x", "y", "z"),
  }),
  fc.record({
    kind: fc.constant("editBoth" as const),
    field: fc.constantFrom(...FIELDS),
    a: fc.constantFrom("x", "y"),
    b: fc.constantFrom("y", "z"),
  }),
  fc.constant({ kind: "cycle" as const }),
  fc.record({ kind: fc.constant("late" as const), side: fc.constantFrom<Side>("a", "b"), pick: fc.nat() }),
);

interface Sys {
  record: Record<string, unknown> | null;
  stamp: number;
  /** Versions this side ever had, with their stamps. */
  history: { record: Record<string, unknown>; stamp: number }[];
  /** The stamp of the last version a cycle read (the cursor). */
  cursor: number;
  writes: number;
}

/**
 * A model of two systems and the engine's loop around `reconcile`: a cycle reads each side's record when it
 * changed since that side's cursor, fetches what needsCurrent asks for, writes what reconcile says (each write
 * stamps the side anew: the echo the next cycle reads) and stores the state. A held conflict is resolved by
 * taking one side, as `failures resolve --take` does.
 */
class World {
  clock = 0;
  state: KeyState = EMPTY_STATE;
  held: { versions: Record<Side, Rec | null> } | null = null;
  sys: Record<Side, Sys>;
  /** Each side's own last value of each field it owns. */
  own: Record<Side, Partial<Record<Field, unknown>>> = { a: {}, b: {} };

  constructor(
    readonly ownership: Ownership,
    readonly policy: ConflictPolicy,
    initial: { a: Record<string, unknown> | null; b: Record<string, unknown> | null },
  ) {
    const mk = (r: Record<string, unknown> | null): Sys => {
      const stamp = ++this.clock;
      return { record: r, stamp, history: r ? [{ record: r, stamp }] : [], cursor: 0, writes: 0 };
    };
    this.sys = { a: mk(initial.a), b: mk(initial.b) };
    for (const s of SIDES) for (const f of FIELDS) if (ownership[f] === s) this.own[s][f] = initial[s]?.[f];
  }

  edit(s: Side, field: Field, value: string, stamp?: number): void {
    const sys = this.sys[s];
    if (!sys.record) return;
    sys.record = { ...sys.record, [field]: value };
    sys.stamp = stamp ?? ++this.clock;
    sys.history.push({ record: sys.record, stamp: sys.stamp });
    if (this.ownership[field] === s) this.own[s][field] = value;
  }

  private version(r: Record<string, unknown>, stamp: number): Version {
    return { record: { ...r, updatedAt: at(stamp) }, updatedAt: at(stamp), hash: hashOf("customer", r) };
  }

  private apply(read: Partial<Record<Side, Version>>): number {
    const current: Partial<Record<Side, Version | null>> = {};
    for (const s of needsCurrent(this.state, read)) {
      const sys = this.sys[s];
      current[s] = sys.record ? this.version(sys.record, sys.stamp) : null;
    }
    const r = reconcile({
      entity: "customer",
      state: this.state,
      read,
      current,
      ownership: this.ownership,
      policy: this.policy,
      names,
    });
    let writes = 0;
    if (r.kind === "merged") {
      for (const s of SIDES) {
        if (!r.writes[s]) continue;
        const sys = this.sys[s];
        // A write never changes a field its target owns.
        for (const [f, owner] of Object.entries(this.ownership)) {
          if (owner === s && sys.record)
            assert.deepEqual(r.merged[f], sys.record[f], `write to ${s} changes ${f}`);
        }
        sys.record = { ...r.merged };
        sys.stamp = ++this.clock;
        sys.history.push({ record: sys.record, stamp: sys.stamp });
        sys.writes++;
        writes++;
      }
      this.held = null;
    } else if (r.kind === "conflict") {
      this.held = { versions: r.versions };
    }
    this.state = r.state;
    return writes;
  }

  cycle(): number {
    const read: Partial<Record<Side, Version>> = {};
    for (const s of SIDES) {
      const sys = this.sys[s];
      if (sys.record && sys.stamp > sys.cursor) read[s] = this.version(sys.record, sys.stamp);
    }
    // The cursor moves to what was read, not past our own writes: their echoes are read next cycle.
    for (const s of SIDES) if (read[s]) this.sys[s].cursor = this.sys[s].stamp;
    return this.apply(read);
  }

  /**
   * A version at or before the cursor delivered again (a late webhook, a late echo of our own write): never
   * changes anything. (Polling cannot deliver one; a webhook can.)
   */
  late(s: Side, pick: number): void {
    const sys = this.sys[s];
    const seen = sys.history.filter((h) => h.stamp <= sys.cursor);
    const h = seen[pick % Math.max(seen.length, 1)];
    if (!h || this.state.base === null) return;
    const before = { a: this.sys.a.record, b: this.sys.b.record };
    const writes = this.apply({ [s]: this.version(h.record, h.stamp) });
    assert.equal(writes, 0, `late delivery of ${s}@${h.stamp} caused a write`);
    assert.deepEqual({ a: this.sys.a.record, b: this.sys.b.record }, before);
  }

  /** The operator takes one side's version of a held record (both sides re-read, as the CLI does). */
  resolve(take: Side): number {
    if (!this.held) return 0;
    const record = resolveTaken(this.held.versions[take] as Rec, this.held.versions, this.ownership);
    let writes = 0;
    for (const s of SIDES) {
      const sys = this.sys[s];
      if (!sys.record || contentsDiffer(sys.record, record)) {
        sys.record = { ...record };
        sys.stamp = ++this.clock;
        sys.history.push({ record: sys.record, stamp: sys.stamp });
        sys.writes++;
        writes++;
      }
    }
    const hash = hashOf("customer", record);
    const link = (s: Side) => ({
      lastHash: hash,
      version: this.state[s]?.version ?? null,
      seenHash: this.state[s]?.seenHash ?? null,
    });
    this.state = { base: record, held: false, a: link("a"), b: link("b") };
    this.held = null;
    return writes;
  }
}

const contentsDiffer = (x: Rec, y: Rec) => hashOf("customer", x) !== hashOf("customer", y);

const startArb = fc.record({
  a: fc.option(fc.constantFrom("x", "y"), { nil: undefined }),
  b: fc.option(fc.constantFrom("x", "y"), { nil: undefined }),
  shape: fc.constantFrom("a only", "b only", "both"),
});

test("property: any interleaving of edits, late deliveries and cycles converges, keeps owned values, and stops writing", () => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.constantFrom(...FIELDS), fc.constantFrom<Side>("a", "b"), { maxKeys: 3 }),
      fc.constantFrom<ConflictPolicy>("merge", "last-writer-wins", "hold"),
      startArb,
      fc.array(opArb, { maxLength: 40 }),
      fc.constantFrom<Side>("a", "b"),
      (ownership, policy, start, ops, take) => {
        const rec = (v: string | undefined) => ({
          key: "k@example.com",
          email: "k@example.com",
          lastName: "L",
          ...(v ? { company: v } : {}),
        });
        const w = new World(ownership, policy, {
          a: start.shape === "b only" ? null : rec(start.a),
          b: start.shape === "a only" ? null : rec(start.b),
        });
        for (const op of ops) {
          if (op.kind === "edit") w.edit(op.side, op.field, op.value);
          else if (op.kind === "editBoth") {
            // Both sides changed at the same instant: the tie-break decides under last-writer-wins.
            const stamp = ++w.clock;
            w.edit("a", op.field, op.a, stamp);
            w.edit("b", op.field, op.b, stamp);
          } else if (op.kind === "cycle") w.cycle();
          else w.late(op.side, op.pick);
        }
        // Edits stop. A held record is resolved by the operator; then a few cycles settle everything.
        for (let i = 0; i < 3; i++) {
          w.cycle();
          w.resolve(take);
        }
        const settled = { a: w.sys.a.writes, b: w.sys.b.writes };
        for (let i = 0; i < 4; i++) assert.equal(w.cycle(), 0, "a settled world writes again");
        assert.deepEqual({ a: w.sys.a.writes, b: w.sys.b.writes }, settled);
        assert.equal(w.held, null);
        const [ra, rb] = [w.sys.a.record, w.sys.b.record];
        assert.ok(ra && rb, "both sides hold the record");
        assert.deepEqual(contentOf(ra), contentOf(rb), "both sides converged");
        for (const s of SIDES) {
          for (const [f, v] of Object.entries(w.own[s])) {
            // A side that held the record from the start keeps its own last value of every field it owns.
            if ((s === "a" ? start.shape !== "b only" : start.shape !== "a only") && v !== undefined) {
              assert.equal(w.sys[s].record?.[f], v, `${s} owns ${f}`);
            }
          }
        }
      },
    ),
    { numRuns: 500 },
  );
});

test("removalStep: propagate archives where the other side can, deletes where it can only delete; archive never deletes", () => {
  const step = (policy: "propagate" | "archive" | "ignore", can: ("archive" | "delete")[], holds = true) =>
    removalStep({ policy, side: "b", how: "deleted", other: { holds, can }, names });
  assert.deepEqual(step("propagate", ["archive", "delete"]), {
    write: "archive",
    reason: "deleted in vendure; deletes: propagate — archived in tryton; never recreated in vendure",
  });
  assert.equal(step("propagate", ["delete"]).write, "delete");
  assert.equal(step("archive", ["delete"]).write, null);
  assert.match(step("archive", ["delete"]).reason, /tryton cannot archive this record; kept there/);
  assert.deepEqual(step("ignore", ["archive", "delete"]), {
    write: null,
    reason: "deleted in vendure; deletes: ignore — kept in tryton; never recreated in vendure",
  });
  assert.match(step("propagate", ["archive"], false).reason, /no longer in tryton either; nothing written/);
});

test("a removed record is never merged or written again; each new version is said once", () => {
  const base = { key: "ada@example.com", email: "ada@example.com", lastName: "Lovelace" };
  const state: KeyState = {
    base,
    held: false,
    removed: { side: "b", how: "deleted", at: "2026-01-02T00:00:00Z", other: "kept" },
    a: { lastHash: "h0", version: "2026-01-01T00:00:00Z", seenHash: "h0" },
    b: { lastHash: "h0", version: "2026-01-01T00:00:00Z", seenHash: "h0" },
  };
  const record = { ...base, lastName: "King" };
  const v = { record, updatedAt: "2026-01-03T00:00:00Z", hash: hashOf("customer", record) };
  const input = { entity: "customer" as const, state, ownership: {}, policy: "merge" as const, names };
  assert.deepEqual(needsCurrent(state, { a: v }), []);
  const first = reconcile({ ...input, read: { a: v } });
  assert.equal(first.kind, "none");
  assert.equal(first.dropped[0]?.kind, "removed");
  assert.match(
    first.dropped[0]?.reason ?? "",
    /deleted in vendure .*; kept in tryton; the flow no longer carries/,
  );
  // The same version read again (a shop read whole every run) is dropped silently.
  const again = reconcile({ ...input, state: first.state, read: { a: v } });
  assert.equal(again.kind, "none");
  assert.equal(again.dropped[0]?.kind, "unchanged");
  assert.deepEqual(again.state, first.state);
});
