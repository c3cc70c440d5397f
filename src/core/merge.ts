/**
 * Two-way sync, decided per record without I/O: which version of a record read from either side is new,
 * which is our own echo or a late copy of an older version, and how two sides' versions merge against the
 * record both last agreed on (the base). The engine (src/engine/two-way.ts) reads, writes and stores; every
 * decision is made here, so the property tests drive exactly what the engine runs.
 *
 * Granularity is the canonical record's top-level field: a list or an object (a customer's `addresses`) is
 * one unit, owned, changed and merged as a whole. Provenance (source, sourceId, updatedAt) and the key are
 * not merged: the key is what both sides share, provenance belongs to the side that holds the record.
 */
import { isBefore } from "./cursor.ts";
import { contentHash, stableStringify } from "./hash.ts";
import { type EntityName, PROVENANCE_FIELDS } from "./model.ts";

/** The two sides of a two-way flow: `a` is the flow's `source` connection, `b` its `target`. */
export type Side = "a" | "b";
export const SIDES = ["a", "b"] as const satisfies readonly Side[];
export const other = (s: Side): Side => (s === "a" ? "b" : "a");

/**
 * What happens to a field both sides changed since the last sync, to different values:
 * - `merge`: changes to different fields are all applied; a field changed on both sides is held for review.
 * - `last-writer-wins`: changes to different fields are all applied; a field changed on both sides takes the
 *   value of the side whose record was changed last (its source `updatedAt`); at the same instant, the
 *   flow's `source` side wins.
 * - `hold`: a record changed on both sides since the last sync is held for review as a whole, whichever
 *   fields each side touched.
 * Owned fields never conflict: their owner's value is taken.
 */
export const CONFLICT_POLICIES = ["merge", "last-writer-wins", "hold"] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];

/**
 * What happens on the other side to a record one side removed (deleted, or archived/deactivated):
 * - `propagate`: removed there too, the gentlest way that side has: archived where it can archive the entity,
 *   deleted where it can only delete.
 * - `archive`: archived there, never deleted (both sides must be able to archive the entity).
 * - `ignore`: the other side keeps it as it is.
 * Whatever the policy, the record is never recreated where it was removed, and the flow no longer carries it.
 */
export const DELETE_POLICIES = ["propagate", "archive", "ignore"] as const;
export type DeletePolicy = (typeof DELETE_POLICIES)[number];

/** How a side no longer holds a record: gone from it, or still there but archived (deactivated). */
export type Removal = "deleted" | "archived";
/** How a writer can remove a record it holds. */
export type RemoveHow = "delete" | "archive";

/** Canonical field → the side owning it. Fields not listed are owned by neither and follow the policy. */
export type Ownership = Readonly<Record<string, Side>>;

export type Rec = Readonly<Record<string, unknown>>;

/** One side's version of a record as read: its canonical content, when its system says it changed, and its hash. */
export interface Version {
  record: Rec;
  updatedAt: string;
  hash: string;
}

/**
 * What is stored per side for a record: the hash last written to or read from it (the side's link hash),
 * and the version last read from it (its source updatedAt and content hash).
 */
export interface SideLink {
  lastHash: string | null;
  version: string | null;
  seenHash: string | null;
}

const NOT_MERGED = new Set<string>([...PROVENANCE_FIELDS, "key"]);

/** Equal content (key order aside); a missing field and `undefined` are the same. */
export function sameValue(x: unknown, y: unknown): boolean {
  if (x === undefined || y === undefined) return x === y;
  return stableStringify(x) === stableStringify(y);
}

/** The record without its provenance: what is merged, stored as the base and hashed. */
export function contentOf(record: Rec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (!PROVENANCE_FIELDS.includes(k as never) && v !== undefined) out[k] = v;
  }
  return out;
}

export function hashOf(entity: EntityName, record: Rec): string {
  return contentHash(entity, contentOf(record));
}

/**
 * What a version read from a side is, against that side's link:
 * - `new`: a change to merge.
 * - `echo`: a newer stamp with the content last written to (or read from) this side: our own write coming
 *   back (or a save that changed nothing). Dropped.
 * - `unchanged`: the version already seen (read again: an overlapping poll, the signpost). Dropped.
 * - `stale`: stamped before the version already merged for this side (a late webhook, a late echo of an
 *   earlier write): applying it would revert the newer change. Dropped.
 * Before a first merge (no base) nothing can be an echo: every version read is `new`.
 */
export type InboundKind = "new" | "echo" | "unchanged" | "stale";

/**
 * Order: a version stamped before the one already read is stale; at the same instant with the content read
 * then, it is that version again; with the content last written here, our echo; anything else is new (two
 * changes within one second of a source that stamps to the second differ by their content).
 */
export function classifyInbound(link: SideLink | null, v: Version, hasBase: boolean): InboundKind {
  if (!link || !hasBase) return "new";
  const sameInstant = link.version !== null && !isBefore(link.version, v.updatedAt);
  if (link.version !== null && isBefore(v.updatedAt, link.version)) return "stale";
  if (sameInstant && v.hash === link.seenHash) return "unchanged";
  if (v.hash === link.lastHash) return sameInstant ? "unchanged" : "echo";
  return "new";
}

export interface FieldDecision {
  field: string;
  /** Where the merged value came from. */
  from: Side | "both";
  reason: string;
}

export interface Names {
  a: string;
  b: string;
}

export type MergeResult =
  | {
      kind: "merged";
      /** The merged content (no provenance). */
      record: Record<string, unknown>;
      /** Per side, the fields whose value there differs from the merged record: what a write there changes. */
      changes: Record<Side, string[]>;
      /** One entry per field that differed somewhere, with the reason for the trace. */
      fields: FieldDecision[];
    }
  | {
      kind: "conflict";
      /** The fields both sides changed to different values (under `hold`, every field either side changed). */
      fields: string[];
      reason: string;
    };

export interface MergeInput {
  /** The content both sides last agreed on; null before the first merge of this record. */
  base: Rec | null;
  a: { record: Rec; updatedAt: string };
  b: { record: Rec; updatedAt: string };
  ownership: Ownership;
  policy: ConflictPolicy;
  names: Names;
}

/**
 * Merges two sides' current records against the base. A field owned by a side takes that side's value. An
 * unowned field changed on one side only (against the base) takes that side's value; changed on both to the
 * same value, that value; to different values, the policy decides (see CONFLICT_POLICIES). Without a base
 * (the record met on both sides for the first time) every differing field counts as changed on both.
 */
export function mergeRecords(input: MergeInput): MergeResult {
  const { base, a, b, ownership, policy, names } = input;
  const fields = new Set<string>();
  for (const r of [base, a.record, b.record]) {
    for (const k of Object.keys(r ?? {})) if (!NOT_MERGED.has(k)) fields.add(k);
  }
  const sorted = [...fields].sort();
  const changed = (side: { record: Rec }, f: string) =>
    base === null ? true : !sameValue(side.record[f], base[f]);
  const conflicts: string[] = [];
  const touched = { a: [] as string[], b: [] as string[] };
  for (const f of sorted) {
    if (ownership[f] !== undefined) continue;
    const [ca, cb] = [changed(a, f), changed(b, f)];
    if (ca && base !== null) touched.a.push(f);
    if (cb && base !== null) touched.b.push(f);
    if (ca && cb && !sameValue(a.record[f], b.record[f])) conflicts.push(f);
  }
  if (policy === "hold" && touched.a.length > 0 && touched.b.length > 0) {
    const all = [...new Set([...touched.a, ...touched.b])].sort();
    return {
      kind: "conflict",
      fields: all,
      reason: `changed on both sides since the last sync (${names.a}: ${touched.a.join(", ")}; ${names.b}: ${touched.b.join(", ")}); the flow holds such records for review`,
    };
  }
  if (conflicts.length > 0 && policy !== "last-writer-wins") {
    return {
      kind: "conflict",
      fields: conflicts,
      reason: `${conflicts.join(", ")} changed on both sides since the last sync to different values; the flow's policy (${policy}) holds it for review`,
    };
  }
  // Last writer: the later updatedAt; at the same instant, the flow's source side (a).
  const later: Side = isBefore(a.updatedAt, b.updatedAt) ? "b" : "a";
  const tie = !isBefore(a.updatedAt, b.updatedAt) && !isBefore(b.updatedAt, a.updatedAt);
  const record: Record<string, unknown> = {};
  const decisions: FieldDecision[] = [];
  const sideOf = { a, b };
  for (const f of sorted) {
    const [va, vb] = [a.record[f], b.record[f]];
    let from: Side | "both";
    let reason: string;
    const owner = ownership[f];
    if (owner !== undefined) {
      from = owner;
      reason = `owned by ${names[owner]}`;
    } else if (sameValue(va, vb)) {
      from = "both";
      reason = "same on both sides";
    } else {
      const [ca, cb] = [changed(a, f), changed(b, f)];
      if (ca && !cb) {
        from = "a";
        reason = `changed in ${names.a} since the last sync`;
      } else if (cb && !ca) {
        from = "b";
        reason = `changed in ${names.b} since the last sync`;
      } else {
        from = later;
        const loser = other(later);
        reason = tie
          ? `changed on both sides at the same instant (${a.updatedAt}); last writer wins, a tie goes to the flow's source, ${names.a}`
          : `changed on both sides; last writer wins: ${names[later]} (${sideOf[later].updatedAt}) after ${names[loser]} (${sideOf[loser].updatedAt})`;
      }
    }
    const value = from === "both" ? va : sideOf[from].record[f];
    if (value !== undefined) record[f] = value;
    // The trace lists what differed somewhere (between the sides, or from the base), never untouched fields.
    if (!sameValue(va, vb) || !sameValue(va, base?.[f])) decisions.push({ field: f, from, reason });
  }
  const key = a.record.key ?? b.record.key;
  if (key !== undefined) record.key = key;
  const changes = {
    a: sorted.filter((f) => ownership[f] !== "a" && !sameValue(a.record[f], record[f])),
    b: sorted.filter((f) => ownership[f] !== "b" && !sameValue(b.record[f], record[f])),
  };
  return {
    kind: "merged",
    record,
    changes,
    fields: decisions,
  };
}

/** The stored state of one record of a two-way flow. */
export interface KeyState {
  /** The content both sides last agreed on; null before the first merge. */
  base: Rec | null;
  /**
   * The record was removed from a side (deleted or archived there) and the flow's delete policy applied:
   * the flow no longer carries it, and never recreates it where it was removed. Absent: live on both sides.
   */
  removed?: Tombstone;
  /** A conflict is held for review: the sides' current records are read afresh until it is resolved. */
  held: boolean;
  a: SideLink | null;
  b: SideLink | null;
}

export interface Tombstone {
  side: Side;
  how: Removal;
  /** When Passerelle found it removed. */
  at: string;
  /** What the policy did on the other side: archived, deleted, or nothing (ignore, or already gone there). */
  other: "archived" | "deleted" | "kept" | "gone";
}

export const EMPTY_STATE: KeyState = { base: null, held: false, a: null, b: null };

export interface Dropped {
  side: Side;
  /** `removed`: a new version of a record the flow no longer carries (see KeyState.removed). */
  kind: Exclude<InboundKind, "new"> | "removed";
  reason: string;
}

export type Reconciled =
  | { kind: "none"; dropped: Dropped[]; state: KeyState }
  | {
      /** Merged; `writes` may be empty (both sides already agree), the state is stored all the same. */
      kind: "merged";
      dropped: Dropped[];
      merged: Record<string, unknown>;
      /** Per side to write: create (the side does not hold the record) or update, and the fields it changes. */
      writes: Partial<Record<Side, { action: "create" | "update"; fields: string[] }>>;
      fields: FieldDecision[];
      /** The state to store once the writes succeeded. */
      state: KeyState;
    }
  | {
      kind: "conflict";
      dropped: Dropped[];
      fields: string[];
      reason: string;
      /** Both sides' current records, as merged against the base. */
      versions: Record<Side, Rec | null>;
      /** The base is kept; `held` is set, and the versions read are remembered as seen. */
      state: KeyState;
    };

export interface ReconcileInput {
  entity: EntityName;
  state: KeyState;
  /** The version of each side read this cycle, if any. */
  read: Partial<Record<Side, Version>>;
  /**
   * The current record of each side `needsCurrent` names, read by its id (null: the side no longer holds
   * it). Other sides that sent nothing new hold the base.
   */
  current?: Partial<Record<Side, Version | null>>;
  ownership: Ownership;
  policy: ConflictPolicy;
  names: Names;
}

const DROP_REASONS: Record<Exclude<InboundKind, "new">, (name: string) => string> = {
  echo: (n) => `content equals what Passerelle last wrote to or read from ${n}: our own echo, dropped`,
  unchanged: (n) => `the version of ${n} already merged, read again; dropped`,
  stale: (n) =>
    `older than the version of ${n} already merged (a late delivery); dropped, not applied as a revert`,
};

/**
 * The sides whose current record must be read by id before `reconcile`: those linked but not read this
 * cycle, when no base stands for them (before the first merge, or while a conflict is held, when the side
 * holds its own unmerged changes).
 */
export function needsCurrent(state: KeyState, read: Partial<Record<Side, Version>>): Side[] {
  if ((!read.a && !read.b) || state.removed) return [];
  // A version read that is the side's current content (new, our echo, the same again) serves as it; a
  // stale one does not.
  const current = (s: Side) => {
    const v = read[s];
    return v !== undefined && classifyInbound(state[s], v, state.base !== null) !== "stale";
  };
  return SIDES.filter((s) => !current(s) && state[s] !== null && (state.base === null || state.held));
}

/**
 * One record's sync step: classify what each side sent, merge the new versions (a side that sent nothing new
 * holds the base, or, per needsCurrent, what was read of it by id), and say what to write where and what to
 * store after. Writes go only where the merged record differs from what the side holds; a side that does
 * not hold the record gets it created.
 */
export function reconcile(input: ReconcileInput): Reconciled {
  const { entity, state, ownership, policy, names } = input;
  const dropped: Dropped[] = [];
  const fresh: Partial<Record<Side, Version>> = {};
  const next: KeyState = { ...state };
  if (state.removed) {
    // Removed from a side: nothing is merged or written any more. A new version is said once (and remembered
    // as seen), the same version read again is dropped silently.
    for (const s of SIDES) {
      const v = input.read[s];
      if (!v) continue;
      const link = state[s];
      const seen = link !== null && link.seenHash === v.hash && link.version === v.updatedAt;
      if (seen) {
        dropped.push({ side: s, kind: "unchanged", reason: DROP_REASONS.unchanged(names[s]) });
        continue;
      }
      dropped.push({ side: s, kind: "removed", reason: removedReason(state.removed, names) });
      next[s] = { lastHash: link?.lastHash ?? null, version: v.updatedAt, seenHash: v.hash };
    }
    return { kind: "none", dropped, state: next };
  }
  for (const s of SIDES) {
    const v = input.read[s];
    if (!v) continue;
    const kind = classifyInbound(state[s], v, state.base !== null);
    if (kind === "new") fresh[s] = v;
    else {
      dropped.push({ side: s, kind, reason: DROP_REASONS[kind](names[s]) });
      // An echo moves the side's version on, so a late copy of an older version is known as stale.
      const link = state[s];
      if (kind === "echo" && link) next[s] = { ...link, version: v.updatedAt, seenHash: v.hash };
    }
  }
  if (!fresh.a && !fresh.b) return { kind: "none", dropped, state: next };
  const currentOf = (s: Side): { record: Rec; updatedAt: string } | null => {
    const v = fresh[s];
    if (v) return v;
    const link = state[s];
    const dropped = input.read[s];
    if ((state.base === null || state.held) && dropped) {
      // Our echo or the same version again, while both sides must be read afresh: it is the side's record.
      const kind = classifyInbound(link, dropped, state.base !== null);
      if (kind !== "stale") return dropped;
    }
    if (state.base !== null && link !== null && !state.held) {
      return { record: state.base, updatedAt: link.version ?? "1970-01-01T00:00:00Z" };
    }
    if (link !== null && input.current?.[s] === undefined) {
      throw new Error(`reconcile: the current record of side ${s} is needed (see needsCurrent)`);
    }
    return input.current?.[s] ?? null;
  };
  const [ca, cb] = [currentOf("a"), currentOf("b")];
  let merged: Record<string, unknown>;
  let fields: FieldDecision[];
  const writes: Extract<Reconciled, { kind: "merged" }>["writes"] = {};
  if (ca && cb) {
    const m = mergeRecords({ base: state.base, a: ca, b: cb, ownership, policy, names });
    if (m.kind === "conflict") {
      for (const s of SIDES) {
        const v = fresh[s];
        if (v) next[s] = { lastHash: state[s]?.lastHash ?? null, version: v.updatedAt, seenHash: v.hash };
      }
      return {
        kind: "conflict",
        dropped,
        fields: m.fields,
        reason: m.reason,
        versions: { a: ca.record, b: cb.record },
        state: { ...next, held: true },
      };
    }
    merged = m.record;
    fields = m.fields;
    for (const s of SIDES)
      if (m.changes[s].length > 0) writes[s] = { action: "update", fields: m.changes[s] };
  } else {
    const [has, missing] = ca ? (["a", "b"] as const) : (["b", "a"] as const);
    merged = contentOf((ca ?? cb)?.record as Rec);
    const list = Object.keys(merged)
      .filter((f) => !NOT_MERGED.has(f))
      .sort();
    fields = [{ field: "*", from: has, reason: `only in ${names[has]}; created in ${names[missing]}` }];
    writes[missing] = { action: "create", fields: list };
  }
  const hash = contentHash(entity, merged);
  for (const s of SIDES) {
    const v = fresh[s] ?? input.current?.[s] ?? null;
    // After the drops above: an echo read this cycle has moved the side's version on.
    const prior = next[s];
    if (writes[s]) {
      next[s] = {
        lastHash: hash,
        version: v?.updatedAt ?? prior?.version ?? null,
        seenHash: v?.hash ?? prior?.seenHash ?? null,
      };
    } else if (v) next[s] = { lastHash: v.hash, version: v.updatedAt, seenHash: v.hash };
  }
  return { kind: "merged", dropped, merged, writes, fields, state: { ...next, base: merged, held: false } };
}

/**
 * The record a held conflict is resolved to: the version taken (a side's, or an operator's merged record),
 * with every owned field put back to its owner's value, so a resolution never overwrites a field its side owns.
 */
export function resolveTaken(
  taken: Rec,
  versions: Record<Side, Rec | null>,
  ownership: Ownership,
): Record<string, unknown> {
  const out = contentOf(taken);
  for (const [field, owner] of Object.entries(ownership)) {
    const v = versions[owner];
    if (!v) continue;
    if (v[field] === undefined) delete out[field];
    else out[field] = v[field];
  }
  return out;
}

/** Why a version of a removed record is not carried, for the trace. */
export function removedReason(t: Tombstone, names: Names): string {
  const o = names[other(t.side)];
  const there =
    t.other === "kept" ? `kept in ${o}` : t.other === "gone" ? `gone from ${o} too` : `${t.other} in ${o}`;
  return `${t.how} in ${names[t.side]} (${t.at}); ${there}; the flow no longer carries this record and never recreates it in ${names[t.side]}`;
}

export interface RemovalInput {
  policy: DeletePolicy;
  /** The side the record was removed from, and how. */
  side: Side;
  how: Removal;
  /** The other side: whether it still holds the record live, and how its writer can remove one. */
  other: { holds: boolean; can: readonly RemoveHow[] };
  names: Names;
}

/**
 * What a removal on one side does on the other, by the flow's delete policy: archive or delete it there, or
 * nothing; with the reason for the trace. `propagate` archives where the side can, deletes where it can only
 * delete; `archive` never deletes. A side that cannot do what the policy asks keeps the record, and the reason
 * says so (configuration validation refuses such flows; connectors may still refuse one record).
 */
export function removalStep(input: RemovalInput): { write: RemoveHow | null; reason: string } {
  const { policy, side, how, other: o, names } = input;
  const from = names[side];
  const to = names[other(side)];
  const head = `${how} in ${from}; deletes: ${policy}`;
  if (!o.holds) return { write: null, reason: `${head} — no longer in ${to} either; nothing written` };
  if (policy === "ignore") {
    return { write: null, reason: `${head} — kept in ${to}; never recreated in ${from}` };
  }
  const write: RemoveHow | null = o.can.includes("archive")
    ? "archive"
    : policy === "propagate" && o.can.includes("delete")
      ? "delete"
      : null;
  if (write === null) {
    return {
      write: null,
      reason: `${head} — ${to} cannot ${policy === "archive" ? "archive" : "remove"} this record; kept there, never recreated in ${from}`,
    };
  }
  return {
    write,
    reason: `${head} — ${write === "archive" ? "archived" : "deleted"} in ${to}; never recreated in ${from}`,
  };
}
