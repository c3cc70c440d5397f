/**
 * A two-way flow's run: read what changed on each side since that side's cursor, group the records by key,
 * reconcile each key with the pure core (core/merge.ts: echoes and late versions dropped, the new versions
 * merged against the stored base under the flow's ownership and conflict policy), write each side only when
 * the merged record differs from what it holds, and commit, per batch of keys and in one transaction, the
 * links of both sides (with the hash written there: the next read of our own write is then known as an
 * echo), the new merge state, the lineage, held conflicts and failures, the completed intents, and — with
 * the last batch — both sides' cursors.
 *
 * Exactly once as for one-way flows: a create is preceded by an intent, and after a crash the intent makes
 * the writer look the record up (`findByExternalRef`) before creating it again; updates write the same merged
 * record again, which changes nothing the second time, and the side's next read of it is an echo.
 */
import { compareCursors, isBefore } from "../core/cursor.ts";
import { asSyncError, SyncError } from "../core/errors.ts";
import {
  EMPTY_STATE,
  hashOf,
  type KeyState,
  needsCurrent,
  other,
  type Rec,
  type Reconciled,
  type Removal,
  reconcile,
  removalStep,
  resolveTaken,
  SIDES,
  type Side,
  type Tombstone,
  type Version,
} from "../core/merge.ts";
import { type Canonical, SCHEMAS } from "../core/model.ts";
import {
  type Connector,
  type Cursor,
  requireStream,
  requireWriter,
  type Stream,
  type WriteItem,
} from "../ports/connector.ts";
import type { FailedRecord, Link, NewFailure, PageCommit, Store } from "../ports/store.ts";
import type { RetryOutcome } from "./failures.ts";
import type { Flow } from "./flow.ts";
import {
  DEFAULT_CURSOR_LAG_MS,
  emptySummary,
  type PlanLine,
  type Prepared,
  prepare,
  type RunSummary,
  type SyncEngine,
  type SyncOptions,
  signpostAt,
} from "./sync.ts";

type TwoWayFlow = Flow & { twoWay: NonNullable<Flow["twoWay"]> };

/** The cursor of one side of a two-way flow, stored beside the one-way flows' cursors under this name. */
export const sideCursorName = (flow: string, connection: string): string => `${flow}:${connection}`;

export function isTwoWay(flow: Flow): flow is TwoWayFlow {
  return flow.twoWay !== undefined;
}

interface SideParts {
  side: Side;
  conn: Connector;
  stream: Stream;
  /** The flow as seen from this side: its reads come from `source`, its writes go to `target`. */
  asSource: Flow;
  asTarget: Flow;
}

function partsOf(flow: TwoWayFlow): Record<Side, SideParts> {
  const make = (side: Side, conn: Connector, other: Connector): SideParts => ({
    side,
    conn,
    stream: requireStream(conn, flow.entity),
    asSource: { ...flow, source: conn, target: other },
    asTarget: { ...flow, source: other, target: conn },
  });
  return { a: make("a", flow.source, flow.target), b: make("b", flow.target, flow.source) };
}

const versionOf = (flow: Flow, p: Prepared): Version => ({
  record: p.canonical as Rec,
  updatedAt: p.updatedAt,
  hash: hashOf(flow.entity, p.canonical as Rec),
});

/** A record read under the key its link holds (see Stream.keysFromLinks); unchanged without one. */
function withKey(p: Prepared, key: string | undefined): Prepared {
  if (key === undefined || key === p.key) return p;
  const rekey = (c: Canonical | null): Canonical | null => (c === null ? null : ({ ...c, key } as Canonical));
  return { ...p, key, canonical: rekey(p.canonical), mapped: rekey(p.mapped) };
}

/** One write to a side: the item, what to record once it succeeds, and the trace's words for it. */
interface SideWrite {
  item: WriteItem;
  key: string;
  after: () => void;
  fields: string;
  /** The record's id on the other side (a plan line's source id). */
  sourceId: string;
}

/** One key's inputs: the versions read this run, and what was read of a side by id. */
interface KeyInput {
  key: string;
  read: Partial<Record<Side, Prepared>>;
}

/** What one batch of keys commits. */
interface Batch {
  links: PageCommit["links"];
  events: PageCommit["events"];
  failures: NewFailure[];
  resolvedKeys: string[];
  completedIntents: number[];
  twoWayStates: NonNullable<PageCommit["twoWayStates"]>;
  counts: { read: number; created: number; updated: number; skipped: number; failed: number };
  /** What each record comes to (a dry run's plan; told to onPlan in real runs too). */
  lines: PlanLine[];
  /** Dry runs: the calls writing the planned records would make, as each side's writer estimates them. */
  estimatedCalls: number;
}

const emptyBatch = (): Batch => ({
  links: [],
  events: [],
  failures: [],
  resolvedKeys: [],
  completedIntents: [],
  twoWayStates: [],
  counts: { read: 0, created: 0, updated: 0, skipped: 0, failed: 0 },
  lines: [],
  estimatedCalls: 0,
});

/** What a batch commits: everything but its plan lines and estimate. */
function committed(b: Batch): Omit<Batch, "lines" | "estimatedCalls"> {
  const { lines: _lines, estimatedCalls: _estimated, ...rest } = b;
  return rest;
}

export class TwoWayRunner {
  constructor(
    private readonly store: Store,
    private readonly engine: SyncEngine,
  ) {}

  /** Runs a two-way flow from both sides' cursors to the end of both sides' changes. */
  async run(flow: Flow, opts: SyncOptions = {}): Promise<RunSummary> {
    if (!isTwoWay(flow)) throw new Error(`flow ${flow.name} is not two-way`);
    // A dry run (passerelle plan) reads both sides and decides every record as a sync would, and writes
    // nothing: no system, no link, no state, no cursor.
    const dry = opts.dryRun === true;
    const mode = dry ? "plan" : "sync";
    const run = await this.store.startRun(flow.name, mode);
    const summary = emptySummary(run.id, flow.name, mode);
    const started = performance.now();
    const parts = partsOf(flow);
    const calls = () => flow.source.stats().calls + flow.target.stats().calls;
    const callsAtStart = calls();
    const now = opts.now ?? (() => new Date());
    const start = now();
    const signpost = signpostAt(start, opts.cursorLagMs ?? DEFAULT_CURSOR_LAG_MS);
    const marks = this.store.marks();
    try {
      // Both sides' changes since their cursors, read whole: a key changed on both sides must meet itself.
      const read: Record<Side, Prepared[]> = { a: [], b: [] };
      const cursors: NonNullable<PageCommit["cursors"]> = [];
      for (const s of SIDES) {
        const { conn, stream, asSource } = parts[s];
        const name = sideCursorName(flow.name, conn.name);
        const since = await this.store.getCursor(name);
        let last: Cursor | null = null;
        for await (const page of stream.list({
          since,
          signpost: start.toISOString(),
          pageSize: flow.batchSize,
          ...(dry ? {} : { marks }),
          ...(opts.signal ? { signal: opts.signal } : {}),
        })) {
          for (const native of page) {
            const at = { updatedAt: stream.updatedAtOf(native), id: stream.idOf(native) };
            if (stream.sorted && since && compareCursors(at, since) <= 0) continue;
            read[s].push(await prepare(asSource, stream, native));
            if (stream.sorted) last = at;
          }
        }
        if (stream.keysFromLinks && read[s].length > 0) {
          const links = await this.store.linksByExternalIds(
            flow.entity,
            conn.name,
            read[s].map((p) => p.sourceId),
          );
          read[s] = read[s].map((p) => withKey(p, links.get(p.sourceId)?.key));
        }
        if (last) {
          const capped = isBefore(last.updatedAt, signpost) ? last : { updatedAt: signpost, id: "" };
          cursors.push({ name, cursor: capped });
        }
      }
      // Records removed from a side since they were merged: the delete policy is applied (and the record
      // tombstoned) before any change is merged, so a removed record is never written again.
      await this.sweepRemovals(flow, parts, run.id, summary, start.toISOString(), opts);
      const byKey = new Map<string, KeyInput>();
      for (const s of SIDES) {
        for (const p of read[s]) {
          const k = byKey.get(p.key) ?? { key: p.key, read: {} };
          k.read[s] = p;
          byKey.set(p.key, k);
        }
      }
      const keys = [...byKey.values()];
      for (let i = 0; i < keys.length || i === 0; i += flow.batchSize) {
        const chunk = keys.slice(i, i + flow.batchSize);
        const batch = await this.reconcileKeys(flow, parts, chunk, opts);
        const lastChunk = i + flow.batchSize >= keys.length;
        batch.counts.read = chunk.reduce((n, k) => n + Object.keys(k.read).length, 0);
        if (!dry) {
          await this.store.commitPage({
            flow: flow.name,
            runId: run.id,
            ...committed(batch),
            ...(lastChunk ? { cursors } : {}),
          });
        }
        this.tally(summary, batch, opts);
        opts.onProgress?.({
          flow: flow.name,
          read: summary.counts.read,
          created: summary.counts.created,
          updated: summary.counts.updated,
          skipped: summary.counts.skipped,
          failed: summary.counts.failed,
        });
        if (opts.signal?.aborted) break;
      }
      summary.status = opts.signal?.aborted
        ? "interrupted"
        : summary.counts.failed > 0
          ? "partial"
          : "succeeded";
    } catch (e) {
      summary.error = asSyncError(e, flow.source.name);
      summary.status = "failed";
    }
    summary.counts.calls = calls() - callsAtStart;
    if (summary.counts.calls > 0 && !dry) {
      await this.store.commitPage({
        flow: flow.name,
        runId: run.id,
        links: [],
        events: [],
        failures: [],
        resolvedKeys: [],
        completedIntents: [],
        counts: { calls: summary.counts.calls },
      });
    }
    summary.durationMs = Math.round(performance.now() - started);
    await this.store.finishRun(run.id, summary.status, summary.error?.message ?? null);
    return summary;
  }

  /** Adds a batch's counts, plan lines and estimate to the run's summary (a dry run counts what would fail). */
  private tally(summary: RunSummary, batch: Batch, opts: SyncOptions): void {
    for (const k of ["read", "created", "updated", "skipped", "failed"] as const) {
      summary.counts[k] += batch.counts[k];
    }
    for (const line of batch.lines) {
      summary.plan[line.action].records++;
      opts.onPlan?.(line);
    }
    summary.estimatedCalls += batch.estimatedCalls;
  }

  /** Reconciles one batch of keys: reads what the core needs by id, writes both sides, and says what to commit. */
  private async reconcileKeys(
    flow: TwoWayFlow,
    parts: Record<Side, SideParts>,
    inputs: KeyInput[],
    opts: SyncOptions,
    how: { afresh?: boolean } = {},
  ): Promise<Batch> {
    const out = emptyBatch();
    const keys = inputs.map((k) => k.key);
    const states = await this.store.twoWayStates(flow.name, keys);
    if (how.afresh) {
      // A retry: the versions read are each side's current record, whatever was seen of them before.
      for (const [k, st] of states) {
        states.set(k, {
          ...st,
          held: true,
          a: st.a ? { ...st.a, seenHash: null, version: null } : null,
          b: st.b ? { ...st.b, seenHash: null, version: null } : null,
        });
      }
    }
    const links = {
      a: await this.store.getLinks(flow.entity, parts.a.conn.name, keys),
      b: await this.store.getLinks(flow.entity, parts.b.conn.name, keys),
    };
    const names = { a: parts.a.conn.name, b: parts.b.conn.name };
    /** Per side, the writes to make, with what to record once each succeeds. */
    const writes: Record<Side, SideWrite[]> = { a: [], b: [] };
    const pendingStates = new Map<string, { state: KeyState; waiting: Set<Side>; failedState: KeyState }>();
    for (const input of inputs) {
      const { key } = input;
      // A record that could not be read fails alone, filed under the side it came from.
      const bad = SIDES.find((s) => input.read[s]?.error);
      if (bad) {
        const p = input.read[bad] as Prepared;
        this.fail(out, flow, parts[bad].conn, p, p.error as SyncError);
        continue;
      }
      // A key changed on one side (a customer's new e-mail) is not followed yet: fail it rather than
      // create a second record on the other side.
      const moved = await this.movedKey(flow, parts, input);
      if (moved) {
        const [s, p, from] = moved;
        this.fail(
          out,
          flow,
          parts[s].conn,
          p,
          new SyncError(
            "data",
            `${flow.entity} ${p.sourceId} in ${parts[s].conn.name} changed its key from ${JSON.stringify(from)} to ${JSON.stringify(key)}; two-way flows do not follow key changes yet`,
            { system: parts[s].conn.name, field: "key" },
          ),
        );
        continue;
      }
      const link = { a: links.a.get(key) ?? null, b: links.b.get(key) ?? null };
      const state: KeyState = states.get(key) ?? {
        ...EMPTY_STATE,
        // Links made before this flow was two-way (or by a one-way flow): the side holds the record.
        a: link.a ? { lastHash: link.a.lastHash, version: link.a.version, seenHash: null } : null,
        b: link.b ? { lastHash: link.b.lastHash, version: link.b.version, seenHash: null } : null,
      };
      const versions: Partial<Record<Side, Version>> = {};
      for (const s of SIDES) {
        const p = input.read[s];
        if (p) versions[s] = versionOf(flow, p);
      }
      const current: Partial<Record<Side, Version | null>> = {};
      const ids: Partial<Record<Side, string>> = {};
      for (const s of SIDES) {
        const p = input.read[s];
        if (p) ids[s] = p.sourceId;
        else if (link[s]) ids[s] = (link[s] as Link).externalId;
      }
      let gone: Side | null = null;
      for (const s of needsCurrent(state, versions)) {
        const fetched = await this.readById(parts[s], ids[s] as string, key);
        if (fetched && !fetched.error) current[s] = versionOf(flow, fetched);
        else if (fetched?.error) {
          this.fail(out, flow, parts[s].conn, fetched, fetched.error);
          gone = s;
        } else {
          current[s] = null;
          gone = s;
        }
      }
      if (gone !== null) {
        // The side no longer holds the record live: the delete policy applies, and it is never recreated there.
        if (current[gone] === null) {
          const id = ids[gone] as string;
          const how = (await parts[gone].stream.removed?.([id], opts.signal))?.get(id) ?? "deleted";
          const at = (opts.now ?? (() => new Date()))().toISOString();
          await this.applyRemoval(out, flow, parts, key, state, gone, how, ids, false, at, opts);
        }
        continue;
      }
      const r = reconcile({
        entity: flow.entity,
        state,
        read: versions,
        current,
        ownership: flow.twoWay.ownership,
        policy: flow.twoWay.conflict,
        names,
      });
      this.recordDrops(out, flow, input, r, names);
      // The read events come first in a record's lineage, for versions that led somewhere.
      if (r.kind !== "none") {
        for (const s of SIDES) {
          const p = input.read[s];
          if (!p || r.dropped.some((d) => d.side === s)) continue;
          out.events.push({
            entity: flow.entity,
            key,
            system: names[s],
            externalId: p.sourceId,
            kind: "read",
            message: null,
            detail: { updatedAt: p.updatedAt },
          });
        }
      }
      const linksFor = (st: KeyState) => {
        for (const s of SIDES) {
          const id = ids[s];
          const l = st[s];
          if (id && l) {
            out.links.push({
              entity: flow.entity,
              key,
              system: names[s],
              externalId: id,
              lastHash: l.lastHash,
              version: l.version,
            });
          }
        }
      };
      if (r.kind === "none") {
        out.counts.skipped += Object.keys(input.read).length;
        for (const d of r.dropped) {
          const p = input.read[d.side] as Prepared;
          out.lines.push({
            key,
            action: "skip",
            sourceId: p.sourceId,
            targetId: ids[other(d.side)] ?? null,
            ...(d.kind === "unchanged" ? {} : { reason: d.reason }),
          });
        }
        if (JSON.stringify(r.state) !== JSON.stringify(state)) {
          out.twoWayStates.push({ entity: flow.entity, key, state: r.state });
          linksFor(r.state);
        }
        continue;
      }
      if (r.kind === "conflict") {
        this.hold(out, flow, key, r, ids, names, state);
        out.twoWayStates.push({ entity: flow.entity, key, state: r.state });
        linksFor(r.state);
        continue;
      }
      // Merged: write the sides that differ, each the merged record (a side's owned fields are its own values).
      const sidesToWrite = SIDES.filter((s) => r.writes[s]);
      const why = r.fields.map(
        (f) => `${f.field} from ${f.from === "both" ? "both" : names[f.from]} (${f.reason})`,
      );
      if (sidesToWrite.length === 0) {
        out.counts.skipped++;
        out.lines.push({ key, action: "skip", sourceId: ids.a ?? ids.b ?? key, targetId: ids.b ?? null });
        out.resolvedKeys.push(key);
        out.twoWayStates.push({ entity: flow.entity, key, state: r.state });
        linksFor(r.state);
        continue;
      }
      const provenance = SIDES.map((s) => input.read[s]).find((p) => p !== undefined) as Prepared;
      let record: Canonical;
      try {
        record = validateMerged(flow, {
          ...r.merged,
          source: names[SIDES.find((s) => input.read[s] === provenance) as Side],
          sourceId: provenance.sourceId,
          updatedAt: provenance.updatedAt,
        });
      } catch (e) {
        this.fail(out, flow, parts.a.conn, provenance, asSyncError(e, names.a));
        continue;
      }
      const entry = { state: r.state, waiting: new Set(sidesToWrite), failedState: { ...state, held: true } };
      pendingStates.set(key, entry);
      for (const s of sidesToWrite) {
        const w = r.writes[s] as { action: "create" | "update"; fields: string[] };
        writes[s].push({
          key,
          item: { key, record, targetId: w.action === "create" ? null : (ids[s] ?? null), externalRef: key },
          fields: `${w.action === "create" ? "created" : `wrote ${w.fields.join(", ")}`}; ${why.join("; ")}`,
          after: () => entry.waiting.delete(s),
          sourceId: ids[other(s)] ?? key,
        });
      }
      // Ids of sides not written (they hold the record already) go into the links now.
      for (const s of SIDES) {
        if (!r.writes[s] && ids[s] && r.state[s]) {
          out.links.push({
            entity: flow.entity,
            key,
            system: names[s],
            externalId: ids[s] as string,
            lastHash: r.state[s]?.lastHash ?? null,
            version: r.state[s]?.version ?? null,
          });
        }
      }
    }
    for (const s of SIDES) {
      if (opts.dryRun) await this.planSide(flow, parts[s], writes[s], out);
      else await this.writeSide(flow, parts[s], writes[s], pendingStates, out, opts);
    }
    for (const [key, entry] of pendingStates) {
      // Every side written: the merged state stands. A side whose write failed keeps the previous state,
      // marked so that both sides are read afresh at the record's next change.
      const state = entry.waiting.size === 0 ? entry.state : entry.failedState;
      out.twoWayStates.push({ entity: flow.entity, key, state });
      if (entry.waiting.size === 0) out.resolvedKeys.push(key);
    }
    return out;
  }

  /**
   * A dry run's writes to one side: a plan line per record (`<side>: wrote …` says where and why), and the
   * calls the side's writer says writing them would make.
   */
  private async planSide(flow: TwoWayFlow, side: SideParts, todo: SideWrite[], out: Batch): Promise<void> {
    if (todo.length === 0) return;
    const writer = requireWriter(side.conn, flow.entity);
    const page = {
      create: [] as WriteItem[],
      update: [] as WriteItem[],
      lookups: [] as WriteItem[],
      first: true,
    };
    for (const t of todo) {
      const action = t.item.targetId === null ? "create" : "update";
      page[action].push(t.item);
      out.lines.push({
        key: t.key,
        action,
        sourceId: t.sourceId,
        targetId: t.item.targetId,
        reason: `${side.conn.name}: ${t.fields}`,
      });
    }
    const links = this.store;
    out.estimatedCalls += await writer.estimateCalls(page, {
      resolve: async (entity, key) =>
        (await links.getLinks(entity, side.conn.name, [key])).get(key)?.externalId ?? null,
    });
  }

  /** Writes one side's merged records: intents before creates, lookups for interrupted creates, retries. */
  private async writeSide(
    flow: TwoWayFlow,
    side: SideParts,
    todo: SideWrite[],
    /** Each key's state to store; a side written here gets the hash read back from it. */
    pending: Map<string, { state: KeyState }>,
    out: Batch,
    opts: SyncOptions,
  ): Promise<void> {
    if (todo.length === 0) return;
    const writer = requireWriter(side.conn, flow.entity);
    const intents = new Map(
      (await this.store.pendingIntents(flow.name))
        .filter((i) => i.system === side.conn.name)
        .map((i) => [i.key, i]),
    );
    for (const t of todo) {
      const prior = t.item.targetId === null ? intents.get(t.key) : undefined;
      if (!prior) continue;
      out.completedIntents.push(prior.id);
      const found = await writer.findByExternalRef(t.item.externalRef, t.item.record);
      if (found) {
        t.item.targetId = found;
        out.events.push({
          entity: flow.entity,
          key: t.key,
          system: side.conn.name,
          externalId: found,
          kind: "intent",
          message: "found a record written before an interruption; updating it instead of creating",
          detail: { externalRef: t.item.externalRef },
        });
      }
    }
    const creates = todo.filter((t) => t.item.targetId === null);
    const recorded = await this.store.recordIntents(
      creates.map((t) => ({
        flow: flow.name,
        entity: flow.entity,
        key: t.key,
        system: side.conn.name,
        externalRef: t.item.externalRef,
      })),
    );
    const intentIds = new Map(recorded.map((i) => [i.key, i.id]));
    const results = await this.engine.writeWithRetries(
      side.asTarget,
      writer,
      todo.map((t) => ({ item: t.item })),
      opts,
    );
    for (const t of todo) {
      const r = results.get(t.key) ?? {
        key: t.key,
        ok: false as const,
        error: new SyncError("permanent", `${side.conn.name} returned no result for ${t.key}`),
      };
      const intent = intentIds.get(t.key);
      if (r.ok) {
        if (intent !== undefined) out.completedIntents.push(intent);
        t.after();
        // Read back what the side now holds: its own form of our write (a shop that keeps addresses its own
        // way, a field it cannot hold) is the hash its echo will carry, so the echo is known whatever the
        // connector's round trip changes.
        const entry = pending.get(t.key);
        const back = await this.readById(side, r.targetId, t.key);
        if (entry && back && !back.error && entry.state[side.side]) {
          const readBack = hashOf(flow.entity, back.canonical as Rec);
          entry.state = { ...entry.state, [side.side]: { ...entry.state[side.side], lastHash: readBack } };
        }
        const st = entry?.state[side.side];
        out.links.push({
          entity: flow.entity,
          key: t.key,
          system: side.conn.name,
          externalId: r.targetId,
          lastHash: st?.lastHash ?? null,
          version: st?.version ?? null,
        });
        if (r.action === "created") out.counts.created++;
        else if (r.action === "updated") out.counts.updated++;
        else out.counts.skipped++;
        out.events.push({
          entity: flow.entity,
          key: t.key,
          system: side.conn.name,
          externalId: r.targetId,
          kind: r.action === "created" ? "created" : r.action === "updated" ? "updated" : "skipped",
          message: r.note ? `${t.fields}; ${r.note}` : t.fields,
          detail: { hash: st?.lastHash ?? null, twoWay: true },
        });
      } else {
        if (intent !== undefined && !r.error.retryable) out.completedIntents.push(intent);
        out.counts.failed++;
        out.failures.push({
          flow: flow.name,
          entity: flow.entity,
          key: t.key,
          sourceSystem: side.conn.name,
          sourceId: t.item.targetId ?? t.key,
          sourcePayload: null,
          mappedPayload: t.item.record,
          errorKind: r.error.kind,
          errorMessage: `writing to ${side.conn.name} failed: ${r.error.message}`,
          errorDetail: r.error.toJSON(),
        });
        out.events.push({
          entity: flow.entity,
          key: t.key,
          system: side.conn.name,
          externalId: t.item.targetId,
          kind: "failed",
          message: r.error.message,
          detail: { errorKind: r.error.kind },
        });
      }
    }
  }

  /**
   * Asks each side whose stream reports removals which of the records this flow merged it no longer holds
   * live (one call per side and batch of records, every run), and applies the delete policy to those.
   */
  private async sweepRemovals(
    flow: TwoWayFlow,
    parts: Record<Side, SideParts>,
    runId: number,
    summary: RunSummary,
    at: string,
    opts: SyncOptions,
  ): Promise<void> {
    const reporting = SIDES.filter((s) => parts[s].stream.removed !== undefined);
    if (reporting.length === 0) return;
    const names = { a: parts.a.conn.name, b: parts.b.conn.name };
    let after: string | null = null;
    for (;;) {
      const page = await this.store.twoWayStatePage(flow.name, after, flow.batchSize);
      if (page.length === 0) break;
      after = (page.at(-1) as { key: string }).key;
      const live = page.filter((p) => !p.state.removed);
      const keys = live.map((p) => p.key);
      const links = {
        a: await this.store.getLinks(flow.entity, names.a, keys),
        b: await this.store.getLinks(flow.entity, names.b, keys),
      };
      const found: Record<Side, Map<string, Removal>> = { a: new Map(), b: new Map() };
      for (const s of reporting) {
        const ids = keys.flatMap((k) => links[s].get(k)?.externalId ?? []);
        const removed = parts[s].stream.removed;
        if (ids.length > 0 && removed) found[s] = await removed(ids, opts.signal);
      }
      const out = emptyBatch();
      for (const { key, state } of live) {
        const ids: Partial<Record<Side, string>> = {};
        const how: Partial<Record<Side, Removal>> = {};
        for (const s of SIDES) {
          const id = links[s].get(key)?.externalId;
          if (id === undefined) continue;
          ids[s] = id;
          const h = found[s].get(id);
          if (h) how[s] = h;
        }
        const side = SIDES.find((s) => how[s] !== undefined);
        if (side === undefined) continue;
        const both = how[other(side)] !== undefined;
        await this.applyRemoval(
          out,
          flow,
          parts,
          key,
          state,
          side,
          how[side] as Removal,
          ids,
          both,
          at,
          opts,
        );
      }
      if (out.events.length > 0 && !opts.dryRun) {
        await this.store.commitPage({ flow: flow.name, runId, ...committed(out) });
      }
      this.tally(summary, out, opts);
      if (page.length < flow.batchSize) break;
    }
  }

  /**
   * A record removed from `side` (deleted, or archived there): the flow's delete policy decides what happens to
   * the other side's record (core/merge.ts removalStep), and the record is tombstoned, so that it is never
   * merged, written or recreated again. A removal the other side refuses goes to the inbox and the record is
   * left live: the next run finds it removed again and tries again.
   */
  private async applyRemoval(
    out: Batch,
    flow: TwoWayFlow,
    parts: Record<Side, SideParts>,
    key: string,
    state: KeyState,
    side: Side,
    how: Removal,
    ids: Partial<Record<Side, string>>,
    otherGone: boolean,
    at: string,
    opts: SyncOptions,
  ): Promise<void> {
    const o = other(side);
    const names = { a: parts.a.conn.name, b: parts.b.conn.name };
    const otherId = ids[o];
    const holds = !otherGone && otherId !== undefined;
    const step = removalStep({
      policy: flow.twoWay.deletes,
      side,
      how,
      other: { holds, can: parts[o].conn.removals?.[flow.entity] ?? [] },
      names,
    });
    let done: Tombstone["other"] = holds ? "kept" : "gone";
    out.lines.push({
      key,
      action: step.write !== null ? "update" : "skip",
      sourceId: ids[side] ?? key,
      targetId: otherId ?? null,
      reason: step.reason,
    });
    if (opts.dryRun) {
      if (step.write !== null) out.estimatedCalls += 2;
      return;
    }
    if (step.write !== null && otherId !== undefined) {
      try {
        const writer = requireWriter(parts[o].conn, flow.entity);
        if (!writer.remove) {
          throw new SyncError(
            "config",
            `${names[o]} (${parts[o].conn.kind}) cannot remove ${flow.entity} records`,
            {
              system: names[o],
            },
          );
        }
        await writer.remove(otherId, step.write, opts.signal);
        done = step.write === "archive" ? "archived" : "deleted";
        out.counts.updated++;
      } catch (e) {
        const err = asSyncError(e, names[o]);
        const message = `${how} in ${names[side]}; deletes: ${flow.twoWay.deletes} — ${step.write} in ${names[o]} failed: ${err.message}`;
        out.counts.failed++;
        out.failures.push({
          flow: flow.name,
          entity: flow.entity,
          key,
          sourceSystem: names[side],
          sourceId: ids[side] ?? key,
          sourcePayload: {
            removed: { side: names[side], how },
            remove: { side: names[o], id: otherId, how: step.write },
          },
          mappedPayload: null,
          errorKind: err.kind,
          errorMessage: message,
          errorDetail: err.toJSON(),
        });
        out.events.push({
          entity: flow.entity,
          key,
          system: names[o],
          externalId: otherId,
          kind: "failed",
          message,
          detail: { errorKind: err.kind },
        });
        return;
      }
    }
    out.events.push({
      entity: flow.entity,
      key,
      system: names[side],
      externalId: ids[side] ?? null,
      kind: "removed",
      message: step.reason,
      detail: { how, deletes: flow.twoWay.deletes, other: done, ...(otherId ? { otherId } : {}) },
    });
    out.twoWayStates.push({
      entity: flow.entity,
      key,
      state: { ...state, held: false, removed: { side, how, at, other: done } },
    });
    out.resolvedKeys.push(key);
  }

  /**
   * One record of a side by its id. A side whose stream takes keys from links gets the key the caller
   * knows (a record just created there has no link yet), else the key its link holds.
   */
  private async readById(side: SideParts, id: string, key?: string): Promise<Prepared | null> {
    const native = await side.stream.get(id);
    if (native === null) return null;
    const p = await prepare(side.asSource, side.stream, native);
    if (!side.stream.keysFromLinks) return p;
    const linked =
      key ?? (await this.store.findLinkByExternalId(side.asSource.entity, side.conn.name, id))?.key;
    return withKey(p, linked);
  }

  /** A version read under a key its side's record was not linked under: [side, record, the old key]. */
  private async movedKey(
    flow: Flow,
    parts: Record<Side, SideParts>,
    input: KeyInput,
  ): Promise<[Side, Prepared, string] | null> {
    for (const s of SIDES) {
      const p = input.read[s];
      if (!p) continue;
      const l = await this.store.findLinkByExternalId(flow.entity, parts[s].conn.name, p.sourceId);
      if (l && l.key !== input.key) return [s, p, l.key];
    }
    return null;
  }

  private fail(out: Batch, flow: Flow, conn: Connector, p: Prepared, err: SyncError): void {
    out.counts.failed++;
    out.lines.push({
      key: p.key,
      action: "error",
      sourceId: p.sourceId,
      targetId: null,
      reason: err.message,
    });
    out.failures.push({
      flow: flow.name,
      entity: flow.entity,
      key: p.key,
      sourceSystem: conn.name,
      sourceId: p.sourceId,
      sourcePayload: p.native,
      mappedPayload: p.canonical,
      errorKind: err.kind,
      errorMessage: err.message,
      errorDetail: err.toJSON(),
    });
    out.events.push({
      entity: flow.entity,
      key: p.key,
      system: conn.name,
      externalId: p.sourceId,
      kind: "failed",
      message: err.message,
      detail: { errorKind: err.kind },
    });
  }

  /** Our echoes and late versions, dropped: said once in the lineage (a version merely read again is not). */
  private recordDrops(
    out: Batch,
    flow: Flow,
    input: KeyInput,
    r: Reconciled,
    names: Record<Side, string>,
  ): void {
    for (const d of r.dropped) {
      if (d.kind === "unchanged") continue;
      const p = input.read[d.side] as Prepared;
      out.events.push({
        entity: flow.entity,
        key: input.key,
        system: names[d.side],
        externalId: p.sourceId,
        kind: "skipped",
        message: d.reason,
        detail: { dropped: d.kind, updatedAt: p.updatedAt },
      });
    }
  }

  /** A conflict goes to the failed-records inbox with both versions, the base and the fields in conflict. */
  private hold(
    out: Batch,
    flow: Flow,
    key: string,
    r: Extract<Reconciled, { kind: "conflict" }>,
    ids: Partial<Record<Side, string>>,
    names: Record<Side, string>,
    prior: KeyState,
  ): void {
    out.counts.failed++;
    out.lines.push({
      key,
      action: "hold",
      sourceId: ids.a ?? key,
      targetId: ids.b ?? null,
      reason: `conflict held for review: ${r.reason}`,
    });
    const payload: ConflictPayload = {
      conflict: { fields: r.fields, reason: r.reason },
      sides: { a: names.a, b: names.b },
      ids: { a: ids.a ?? null, b: ids.b ?? null },
      base: prior.base,
      versions: { a: r.versions.a, b: r.versions.b },
    };
    out.failures.push({
      flow: flow.name,
      entity: flow.entity,
      key,
      sourceSystem: names.a,
      sourceId: ids.a ?? key,
      sourcePayload: payload,
      mappedPayload: null,
      errorKind: "conflict",
      errorMessage: r.reason,
      errorDetail: { fields: r.fields },
    });
    out.events.push({
      entity: flow.entity,
      key,
      system: `${names.a}+${names.b}`,
      externalId: null,
      kind: "held",
      message: `conflict held for review: ${r.reason}`,
      detail: { fields: r.fields },
    });
  }

  /**
   * Retries a two-way failed record (`failures retry`): a failed removal is carried out again if the record is
   * still removed; any other failure (a write a side refused, a record that could not be read) is merged
   * again from both sides' current records, read by id, as if both had just changed — writing each side what
   * differs, as a sync would. A held conflict is not retried: `failures resolve` settles it.
   */
  async retry(
    flow: Flow,
    failure: FailedRecord,
    opts: SyncOptions & { actor?: string } = {},
  ): Promise<RetryOutcome> {
    if (!isTwoWay(flow)) throw new SyncError("config", `flow ${flow.name} is not two-way`);
    if (failure.status === "resolved" || failure.status === "skipped") {
      throw new SyncError("config", `failure ${failure.id} is already ${failure.status}; nothing to retry`);
    }
    if (failure.errorKind === "conflict") {
      throw new SyncError(
        "config",
        `failure ${failure.id} is a held two-way conflict: settle it with passerelle failures resolve ${failure.id} --take <side or file>`,
      );
    }
    const parts = partsOf(flow);
    const names = { a: parts.a.conn.name, b: parts.b.conn.name };
    const key = failure.key;
    const run = await this.store.startRun(flow.name, "retry");
    await this.store.appendEvents([
      {
        runId: run.id,
        flow: flow.name,
        entity: flow.entity,
        key,
        system: failure.sourceSystem,
        externalId: null,
        kind: "retried",
        message: `retry of failure ${failure.id} (attempt ${failure.attempts + 1}): both sides read afresh`,
        detail: { failureId: failure.id, actor: opts.actor ?? null },
      },
    ]);
    try {
      const ids: Partial<Record<Side, string>> = {};
      for (const s of SIDES) {
        const l = (await this.store.getLinks(flow.entity, names[s], [key])).get(key);
        if (l) ids[s] = l.externalId;
        else if (failure.sourceSystem === names[s] && failure.sourceId !== key) ids[s] = failure.sourceId;
      }
      const out = emptyBatch();
      const removal = (failure.sourcePayload as { removed?: { side: string; how: Removal } } | null)?.removed;
      const state = (await this.store.twoWayStates(flow.name, [key])).get(key) ?? EMPTY_STATE;
      if (removal && !state.removed) {
        const side = SIDES.find((s) => names[s] === removal.side) as Side;
        const id = ids[side];
        const how = id ? (await parts[side].stream.removed?.([id], opts.signal))?.get(id) : undefined;
        if (how) {
          const at = (opts.now ?? (() => new Date()))().toISOString();
          await this.applyRemoval(out, flow, parts, key, state, side, how, ids, false, at, opts);
        }
      } else if (!state.removed) {
        const read: Partial<Record<Side, Prepared>> = {};
        for (const s of SIDES) {
          const id = ids[s];
          const p = id ? await this.readById(parts[s], id, key) : null;
          if (p) read[s] = p;
        }
        if (read.a || read.b) {
          // Merged as if both sides had just changed: the stored state no longer stands for either side.
          const batch = await this.reconcileKeys(flow, parts, [{ key, read }], opts, { afresh: true });
          Object.assign(out, batch);
        }
      }
      await this.store.commitPage({ flow: flow.name, runId: run.id, ...committed(out) });
      const failed = out.failures[0];
      const outcome: RetryOutcome = failed
        ? {
            id: failure.id,
            key,
            ok: false,
            action: failed.errorKind === "conflict" ? "held" : "failed",
            message: failed.errorMessage,
          }
        : {
            id: failure.id,
            key,
            ok: true,
            action: out.counts.created > 0 ? "created" : out.counts.updated > 0 ? "updated" : "skipped",
            message: null,
          };
      if (outcome.ok && !out.resolvedKeys.includes(key)) {
        // Nothing left to write: both sides agree (or the record is no longer carried); the failure is moot.
        await this.store.updateFailure(failure.id, {
          status: "resolved",
          reason: state.removed
            ? "the record is no longer carried (removed)"
            : removal
              ? `no longer removed from ${removal.side}`
              : "both sides already agree",
        });
      }
      await this.store.finishRun(run.id, outcome.ok ? "succeeded" : "partial", outcome.message);
      return outcome;
    } catch (e) {
      await this.store.finishRun(run.id, "failed", e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  /**
   * Lifts a removed record's tombstone (`passerelle restore`): the operator brings back a record the flow's
   * delete policy stopped carrying. Each side's record is looked at by its link: one archived (by the policy,
   * or by a person) is reactivated through its writer's `restore`; one deleted is unlinked, so that it is
   * created there again from the other side's. Both are then merged afresh, as a retry merges them, and the
   * trace gets a `restored` event. Refused when the record is not removed, or when no side holds it any more.
   */
  async restore(
    flow: Flow,
    key: string,
    opts: SyncOptions & { actor?: string } = {},
  ): Promise<RestoreOutcome> {
    if (!isTwoWay(flow))
      throw new SyncError("config", `flow ${flow.name} is not two-way; nothing to restore`);
    const state = (await this.store.twoWayStates(flow.name, [key])).get(key);
    if (!state?.removed) {
      throw new SyncError(
        "config",
        state
          ? `${flow.entity} ${JSON.stringify(key)} is not removed in flow ${flow.name}; nothing to restore`
          : `flow ${flow.name} has never merged a ${flow.entity} with key ${JSON.stringify(key)}`,
        { field: "key" },
      );
    }
    const parts = partsOf(flow);
    const names = { a: parts.a.conn.name, b: parts.b.conn.name };
    const ids: Partial<Record<Side, string>> = {};
    const how: Partial<Record<Side, Removal | "live">> = {};
    // A live side read here is merged as read; an archived one is read again once reactivated.
    const live: Partial<Record<Side, Prepared>> = {};
    for (const s of SIDES) {
      const l = (await this.store.getLinks(flow.entity, names[s], [key])).get(key);
      if (!l) continue;
      ids[s] = l.externalId;
      const found = await parts[s].stream.removed?.([l.externalId], opts.signal);
      const h = found?.get(l.externalId);
      if (h) {
        how[s] = h;
        continue;
      }
      const p = await this.readById(parts[s], l.externalId, key);
      if (p) live[s] = p;
      how[s] = p ? "live" : "deleted";
    }
    const holding = SIDES.filter((s) => how[s] === "live" || how[s] === "archived");
    if (holding.length === 0) {
      throw new SyncError(
        "config",
        `${flow.entity} ${JSON.stringify(key)} is deleted from ${names.a} and ${names.b}: nothing is left to restore it from`,
        { field: "key" },
      );
    }
    const archived = SIDES.filter((s) => how[s] === "archived");
    for (const s of archived) {
      const writer = requireWriter(parts[s].conn, flow.entity);
      if (!writer.restore) {
        throw new SyncError(
          "config",
          `${names[s]} (${parts[s].conn.kind}) holds ${flow.entity} ${ids[s]} archived and cannot reactivate it; reactivate it there, then restore again`,
          { system: names[s] },
        );
      }
    }
    const run = await this.store.startRun(flow.name, "retry");
    try {
      // Reactivate first: a reactivation that fails leaves the tombstone, and the restore can be repeated.
      for (const s of archived)
        await requireWriter(parts[s].conn, flow.entity).restore?.(ids[s] as string, opts.signal);
      const gone = SIDES.filter((s) => how[s] === "deleted");
      const { removed, ...rest } = state;
      const lifted: KeyState = { ...rest, held: false };
      // Sides deleted are created again; the others' records are merged as new (not as our own echo), so the
      // merge sees them whatever was last written to them.
      for (const s of SIDES) {
        const link = lifted[s];
        lifted[s] = gone.includes(s) || !link ? null : { ...link, lastHash: null, seenHash: null };
      }
      await this.store.commitPage({
        flow: flow.name,
        runId: run.id,
        links: [],
        events: [
          {
            entity: flow.entity,
            key,
            system: `${names.a}+${names.b}`,
            externalId: null,
            kind: "restored",
            message: `restored by ${opts.actor ?? "an operator"}: it was ${removed.how} in ${names[removed.side]} (${removed.at})${
              archived.length > 0 ? `; reactivated in ${archived.map((s) => names[s]).join(" and ")}` : ""
            }${gone.length > 0 ? `; created again in ${gone.map((s) => names[s]).join(" and ")}` : ""}`,
            detail: { was: removed, actor: opts.actor ?? null, sides: how },
          },
        ],
        failures: [],
        resolvedKeys: [],
        completedIntents: [],
        counts: {},
        unlinks: gone.map((s) => ({ entity: flow.entity, key, system: names[s] })),
        twoWayStates: [{ entity: flow.entity, key, state: lifted }],
      });
      const read: Partial<Record<Side, Prepared>> = {};
      for (const s of holding) {
        const p = live[s] ?? (await this.readById(parts[s], ids[s] as string, key));
        if (p) read[s] = p;
      }
      const out = await this.reconcileKeys(flow, parts, [{ key, read }], opts, { afresh: true });
      out.counts.read = Object.keys(read).length;
      await this.store.commitPage({ flow: flow.name, runId: run.id, ...committed(out) });
      const failed = out.failures[0];
      const outcome: RestoreOutcome = {
        key,
        ok: !failed,
        reactivated: archived.map((s) => names[s]),
        recreated: gone.map((s) => names[s]),
        action: failed
          ? failed.errorKind === "conflict"
            ? "held"
            : "failed"
          : out.counts.created > 0
            ? "created"
            : out.counts.updated > 0
              ? "updated"
              : "skipped",
        message: failed?.errorMessage ?? null,
      };
      await this.store.finishRun(run.id, outcome.ok ? "succeeded" : "partial", outcome.message);
      return outcome;
    } catch (e) {
      await this.store.finishRun(run.id, "failed", e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  /**
   * Resolves a held conflict: the record taken (side a's version, side b's, or an operator's merged record)
   * with every owned field kept at its owner's value, written to each side where it differs from what that
   * side holds now (both are read again by id), and stored as the new base.
   */
  async resolve(
    flow: Flow,
    failure: FailedRecord,
    take: { side: Side } | { record: unknown },
    opts: SyncOptions & { actor?: string } = {},
  ): Promise<{ written: string[] }> {
    if (!isTwoWay(flow))
      throw new SyncError("config", `flow ${flow.name} is not two-way; nothing to resolve`);
    if (failure.errorKind !== "conflict" || failure.status === "resolved" || failure.status === "skipped") {
      throw new SyncError("config", `failure ${failure.id} is not an open two-way conflict`);
    }
    const held = failure.sourcePayload as ConflictPayload;
    const parts = partsOf(flow);
    const names = { a: parts.a.conn.name, b: parts.b.conn.name };
    const now: Partial<Record<Side, Version | null>> = {};
    for (const s of SIDES) {
      const id = held.ids[s];
      const p = id ? await this.readById(parts[s], id, failure.key) : null;
      if (p?.error) throw p.error;
      now[s] = p ? versionOf(flow, p) : null;
      const was = held.versions[s];
      // A side changed since the conflict was held: resolving from the held versions would overwrite it.
      if (was && now[s] && hashOf(flow.entity, was) !== now[s]?.hash) {
        throw new SyncError(
          "config",
          `${names[s]} changed ${failure.key} since the conflict was held; run the flow again to merge the new version`,
        );
      }
    }
    const taken = "side" in take ? held.versions[take.side] : take.record;
    if (taken === null || typeof taken !== "object") {
      throw new SyncError(
        "config",
        `nothing to take: ${"side" in take ? names[take.side] : "the file"} holds no version`,
      );
    }
    const versions = { a: now.a?.record ?? null, b: now.b?.record ?? null };
    const content = resolveTaken(taken as Rec, versions, flow.twoWay.ownership);
    const record = validateMerged(flow, {
      ...content,
      key: failure.key,
      source: names.a,
      sourceId: held.ids.a ?? failure.key,
      updatedAt: (now.a ?? now.b)?.updatedAt ?? new Date().toISOString(),
    });
    const hash = hashOf(flow.entity, record as Rec);
    const state: KeyState = {
      base: content,
      held: false,
      a: { lastHash: hash, version: now.a?.updatedAt ?? null, seenHash: now.a?.hash ?? null },
      b: { lastHash: hash, version: now.b?.updatedAt ?? null, seenHash: now.b?.hash ?? null },
    };
    const run = await this.store.startRun(flow.name, "retry");
    const out = emptyBatch();
    const pending = new Map([[failure.key, { state }]]);
    const written: string[] = [];
    for (const s of SIDES) {
      if (now[s] && now[s]?.hash === hash) {
        out.links.push({
          entity: flow.entity,
          key: failure.key,
          system: names[s],
          externalId: held.ids[s] as string,
          lastHash: hash,
          version: now[s]?.updatedAt ?? null,
        });
        continue;
      }
      const item: WriteItem = {
        key: failure.key,
        record,
        targetId: now[s] ? (held.ids[s] ?? null) : null,
        externalRef: failure.key,
      };
      const label = `conflict ${failure.id} resolved by taking ${"side" in take ? names[take.side] : "a merged record"}`;
      await this.writeSide(
        flow,
        parts[s],
        [
          {
            item,
            key: failure.key,
            after: () => written.push(names[s]),
            fields: label,
            sourceId: held.ids[other(s)] ?? failure.key,
          },
        ],
        pending,
        out,
        opts,
      );
    }
    out.events.unshift({
      entity: flow.entity,
      key: failure.key,
      system: `${names.a}+${names.b}`,
      externalId: null,
      kind: "resolved",
      message: `conflict ${failure.id}: took ${"side" in take ? names[take.side] : "a merged record from a file"}`,
      detail: { failureId: failure.id, actor: opts.actor ?? null },
    });
    const ok = out.failures.length === 0;
    await this.store.commitPage({
      flow: flow.name,
      runId: run.id,
      ...committed(out),
      resolvedKeys: ok ? [failure.key] : [],
      twoWayStates: ok
        ? [{ entity: flow.entity, key: failure.key, state: pending.get(failure.key)?.state ?? state }]
        : [],
    });
    await this.store.finishRun(
      run.id,
      ok ? "succeeded" : "partial",
      ok ? null : (out.failures[0]?.errorMessage ?? null),
    );
    if (!ok) throw new SyncError("retryable", out.failures[0]?.errorMessage ?? "a write failed");
    return { written };
  }
}

/** What `passerelle restore` did: the sides reactivated and recreated, and how the merge that followed went. */
export interface RestoreOutcome {
  key: string;
  ok: boolean;
  reactivated: string[];
  recreated: string[];
  action: "created" | "updated" | "skipped" | "held" | "failed";
  message: string | null;
}

/** What a held conflict keeps in its failed record's source payload. */
export interface ConflictPayload {
  conflict: { fields: string[]; reason: string };
  /** Connection names of side a (the flow's source) and b (its target). */
  sides: Record<Side, string>;
  ids: Record<Side, string | null>;
  base: Rec | null;
  versions: Record<Side, Rec | null>;
}

function validateMerged(flow: Flow, record: Record<string, unknown>): Canonical {
  const parsed = SCHEMAS[flow.entity].safeParse(record);
  if (parsed.success) return parsed.data as Canonical;
  const issue = parsed.error.issues[0];
  throw new SyncError(
    "data",
    `the merged ${flow.entity} is not valid: ${issue?.path.join(".") || "(record)"}: ${issue?.message}`,
    { field: issue?.path.join(".") },
  );
}
