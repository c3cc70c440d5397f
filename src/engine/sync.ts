/**
 * Runs a flow: read → map → plan → write → bind, one source page at a time.
 *
 * Each page ends in one store transaction that commits, together, the links of every record written, the
 * per-record events, the failed records, and the cursor just past the page. A crash anywhere before that
 * commit leaves the cursor where it was, so the page is read again; records already written are then found
 * by their link (skipped when unchanged) or, for creates interrupted between the vendor's answer and the
 * commit, by the intent recorded before the call and `findByExternalRef` — never by creating again.
 *
 * A record that fails does not hold the cursor back: it is committed to the failed-records inbox in the same
 * transaction as the cursor that moves past it, with its source and mapped payloads, and is retried from
 * there. Holding the cursor instead would let one poison record stop every later change of its flow.
 *
 * Over 400 lines on purpose: one page's steps (read ahead, map, plan, intents, write, bind, commit) share the
 * page's state and its ordering guarantees, so they read best in one place; the pieces that stand alone are
 * beside it (plan in core/plan.ts, retries in retry.ts, failed-record actions in failures.ts).
 */
import { categoryCycles, cycleReason } from "../core/category.ts";
import { compareCursors, isBefore } from "../core/cursor.ts";
import { asSyncError, SyncError } from "../core/errors.ts";
import { contentHash } from "../core/hash.ts";
import { kitCycleReason, kitCycles, restockOf } from "../core/kit.ts";
import {
  type Canonical,
  type Category,
  type EntityName,
  type InventoryLevel,
  type Invoice,
  type Product,
  SCHEMAS,
  type Shipment,
} from "../core/model.ts";
import {
  type ParentRef,
  PLAN_ACTIONS,
  type PlanAction,
  type PlanInput,
  parentOf,
  planRecord,
} from "../core/plan.ts";
import {
  type Cursor,
  requireStream,
  requireWriter,
  type Stream,
  type WriteContext,
  type WriteItem,
  type WriteResult,
  type Writer,
} from "../ports/connector.ts";
import type {
  Intent,
  Link,
  NewFailure,
  PageCommit,
  Run,
  RunCounts,
  RunStatus,
  Store,
  SyncEvent,
} from "../ports/store.ts";
import type { Flow } from "./flow.ts";
import { type RetryPolicy, retryEach, type Sleep, withRetry } from "./retry.ts";

export type { PlanAction };

export interface PlanLine {
  key: string;
  action: PlanAction;
  sourceId: string;
  targetId: string | null;
  reason?: string;
}

export interface Progress {
  flow: string;
  read: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
}

export interface SyncOptions {
  dryRun?: boolean;
  /** Called with every planned record (dry runs and real runs alike). */
  onPlan?: (line: PlanLine) => void;
  onProgress?: (p: Progress) => void;
  now?: () => Date;
  retry?: RetryPolicy;
  sleep?: Sleep;
  /** Stop after this many pages (the rest is read on the next run). */
  maxPages?: number;
  /** How far behind the sync's start the cursor stops (see signpostAt). */
  cursorLagMs?: number;
  /**
   * Asks a run to stop (SIGTERM, Ctrl-C, a lost lease): the read in flight is abandoned, the batch being
   * written is finished and committed, and the run ends `interrupted`; the next run resumes from its cursor.
   */
  signal?: AbortSignal;
}

export const DEFAULT_CURSOR_LAG_MS = 5_000;

/**
 * The latest point the cursor may reach in a run (streams themselves read up to the run's start). Sources stamp changes with their own clock, often to the
 * whole second (Odoo's write_date), and a change committed just after a page was read can carry a stamp at
 * or before that page's last record (same second, lower id; or a source clock a little behind ours). So
 * the cursor stops a few seconds short of the start, on a whole second: records newer than that are still
 * written this run, read again next run, and skipped there by their unchanged hash.
 */
export function signpostAt(start: Date, lagMs: number): string {
  const ms = Math.floor((start.getTime() - lagMs) / 1000) * 1000;
  return new Date(ms).toISOString();
}

export interface RunSummary {
  runId: number;
  flow: string;
  mode: Run["mode"];
  status: RunStatus;
  /** `skippedWithReason`: not written on purpose, the reason in each record's lineage (a stale stock level,
   * a shipment whose order is not in the target); part of `skipped`. */
  counts: RunCounts & { held: number; filtered: number; skippedWithReason: number };
  /** Records per planned action. */
  plan: Record<PlanAction, { records: number }>;
  /** Dry runs: the target calls that writing the planned records would make, as its writer estimates them. */
  estimatedCalls: number;
  error: SyncError | null;
  durationMs: number;
}

/** One record ready to be planned: read from the source and mapped, or an error saying why not. */
export interface Prepared {
  key: string;
  sourceId: string;
  updatedAt: string;
  native: unknown;
  /** Canonical, as read from the source. */
  canonical: Canonical | null;
  /** Canonical, after the flow mapping: what the target receives. */
  mapped: Canonical | null;
  filtered: boolean;
  error: SyncError | null;
}

function emptyPlan(): RunSummary["plan"] {
  return Object.fromEntries(PLAN_ACTIONS.map((a) => [a, { records: 0 }])) as RunSummary["plan"];
}

/** A summary with nothing counted yet. */
export function emptySummary(runId: number, flow: string, mode: Run["mode"]): RunSummary {
  return {
    runId,
    flow,
    mode,
    status: "running",
    counts: {
      read: 0,
      created: 0,
      updated: 0,
      skipped: 0,
      failed: 0,
      calls: 0,
      held: 0,
      filtered: 0,
      skippedWithReason: 0,
    },
    plan: emptyPlan(),
    estimatedCalls: 0,
    error: null,
    durationMs: 0,
  };
}

function validate(entity: EntityName, value: unknown, stage: string): Canonical {
  const parsed = SCHEMAS[entity].safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => {
    const path = i.path.join(".") || "(record)";
    return `${path}: ${i.message}`;
  });
  const first = parsed.error.issues[0];
  throw new SyncError("data", `${stage} ${entity} is not valid: ${issues.join("; ")}`, {
    field: first ? first.path.join(".") : undefined,
  });
}

function keyOf(native: unknown, stream: Stream): string {
  return `${stream.entity}#${stream.idOf(native)}`;
}

/**
 * Lets the event loop run what is waiting (timers, sockets: a webhook to acknowledge) before the sync goes
 * on. Without it, a page's mapping, planning and commit run as one unbroken chain of microtasks: the SQLite
 * store answers synchronously, so no `await` in between gives I/O a turn.
 */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Records a page is mapped in between two yields to the event loop (prepareYielding). */
export const PREPARE_SLICE = 50;

/**
 * prepare() for every record of a page, results in the page's order, started PREPARE_SLICE records at a
 * time with a turn of the event loop in between. Each slice is started without waiting for the one before,
 * so records whose mapping waits on the network (a lookup per record) still wait together, as they did
 * with every record started at once; records mapped without waiting finish slice by slice.
 */
export async function prepareYielding(flow: Flow, stream: Stream, page: unknown[]): Promise<Prepared[]> {
  const started: Promise<Prepared>[] = [];
  for (let i = 0; i < page.length; i += PREPARE_SLICE) {
    if (i > 0) await yieldToLoop();
    for (const native of page.slice(i, i + PREPARE_SLICE)) started.push(prepare(flow, stream, native));
  }
  return Promise.all(started);
}

/** Reads and maps one native record; never throws. */
export async function prepare(flow: Flow, stream: Stream, native: unknown): Promise<Prepared> {
  const sourceId = stream.idOf(native);
  const base = { sourceId, updatedAt: stream.updatedAtOf(native), native, filtered: false };
  let canonical: Canonical | null = null;
  // The key as the source gave it, so a record that fails validation is still filed (and traced, and later
  // resolved) under its real key rather than its source id.
  let givenKey: string | null = null;
  try {
    const raw: unknown = await stream.toCanonical(native);
    const k = raw !== null && typeof raw === "object" ? (raw as { key?: unknown }).key : undefined;
    if (typeof k === "string" && k !== "") givenKey = k;
    canonical = validate(flow.entity, raw, `${flow.source.name}`);
    const given = flow.mapping
      ? validate(
          flow.entity,
          await flow.mapping.apply(structuredClone(canonical)),
          `flow ${flow.name}: mapped`,
        )
      : canonical;
    const mapped = withDocumentLink(
      flow,
      withRestock(flow, flow.linkCategories ? given : withoutCategories(given)),
    );
    const filtered = flow.filter ? !(await flow.filter(mapped)) : false;
    return { ...base, key: canonical.key, canonical, mapped, filtered, error: null };
  } catch (e) {
    const err =
      e instanceof SyncError ? e : new SyncError("data", e instanceof Error ? e.message : String(e));
    return {
      ...base,
      key: canonical?.key ?? givenKey ?? keyOf(native, stream),
      canonical,
      mapped: null,
      error: err,
    };
  }
}

/**
 * A stock level with its restock date and backorder flag derived (core/kit.ts restockOf), from today's date
 * and the flow's policy, whatever the source or the mapping said; other records as they are.
 */
function withRestock(flow: Flow, record: Canonical): Canonical {
  if (flow.entity !== "inventory") return record;
  const level = record as InventoryLevel;
  const { restock: _given, ...rest } = level;
  const restock = restockOf(level, new Date(), flow.backorders ?? "deny");
  return (restock ? { ...rest, restock } : rest) as Canonical;
}

/**
 * An invoice's or shipment's document with the flow's signed link (Flow.documentLink), counted from the
 * record's own date so that reading it again gives the same link and the same hash.
 */
function withDocumentLink(flow: Flow, record: Canonical): Canonical {
  if (!flow.documentLink || (flow.entity !== "invoice" && flow.entity !== "shipment")) return record;
  const r = record as Invoice | Shipment;
  if (!r.document) return record;
  const from = new Date("issuedAt" in r ? r.issuedAt : r.shippedAt);
  return { ...r, document: { ...r.document, url: flow.documentLink(r.document.ref, from) } } as Canonical;
}

/**
 * Kits of the page that contain themselves, directly or through other kits of the page, fail naming the
 * cycle; the rest of the page proceeds. (A kit listing its own SKU is refused by the canonical schema.)
 */
function refuseKitCycles(flow: Flow, ready: Prepared[]): void {
  if (flow.entity !== "product") return;
  const mapped = ready.filter((p) => p.mapped && !p.error);
  const cycles = kitCycles(
    mapped.map((p) => {
      const product = p.mapped as Product;
      return { key: product.key, skus: product.variants.map((v) => v.sku), components: product.components };
    }),
  );
  for (const p of mapped) {
    const cycle = cycles.get(p.key);
    if (cycle)
      p.error = new SyncError("data", kitCycleReason(cycle), {
        system: flow.source.name,
        field: "components",
      });
  }
}

/** The record without its `categories` (see Flow.linkCategories); the same object when it has none. */
function withoutCategories(record: Canonical): Canonical {
  if (!("categories" in record) || record.categories === undefined) return record;
  const { categories: _dropped, ...rest } = record;
  return rest as Canonical;
}

function placedAtOf(canonical: unknown): { placedAt?: string } {
  const placedAt =
    canonical !== null && typeof canonical === "object" && "placedAt" in canonical
      ? canonical.placedAt
      : undefined;
  return typeof placedAt === "string" ? { placedAt } : {};
}

/**
 * Lineage starts where a record was read: for every record this page wrote, failed or held, a "read" event
 * on the source system comes first (unchanged records get none: the trace would drown in them).
 */
function withReads(flow: Flow, ready: Prepared[], events: PageCommit["events"]): PageCommit["events"] {
  const touched = new Set(events.map((e) => e.key));
  const reads: PageCommit["events"] = ready
    .filter((p) => touched.has(p.key))
    .map((p) => ({
      entity: flow.entity,
      key: p.key,
      system: flow.source.name,
      externalId: p.sourceId,
      kind: "read",
      message: null,
      // An order's placing time in the shop: what the order-missing alert measures from (src/alerts/).
      detail: { updatedAt: p.updatedAt, ...placedAtOf(p.canonical) },
    }));
  return [...reads, ...events];
}

/**
 * Categories of the page whose parent chain comes back to themselves fail, naming the cycle; the rest of
 * the page proceeds (a dry run shows them as errors too). Cycles through categories written on earlier
 * pages are the writer's to find, from the target's own tree (see core/category.ts).
 */
function refuseCategoryCycles(flow: Flow, ready: Prepared[]): void {
  if (flow.entity !== "category") return;
  const mapped = ready.filter((p) => p.mapped && !p.error);
  const cycles = categoryCycles(mapped.map((p) => p.mapped as Category));
  for (const p of mapped) {
    const cycle = cycles.get(p.key);
    if (cycle)
      p.error = new SyncError("data", cycleReason(cycle), { system: flow.source.name, field: "parent" });
  }
}

interface Bucket {
  item: WriteItem;
  prepared: Prepared;
  hash: string;
  action: "create" | "update";
  intentId: number | null;
}

export class SyncEngine {
  constructor(private readonly store: Store) {}

  private writeContext(flow: Flow): WriteContext {
    const cache = new Map<string, string | null>();
    return {
      resolve: async (entity, key) => {
        const k = `${entity}\u0000${key}`;
        if (!cache.has(k)) {
          const links = await this.store.getLinks(entity, flow.target.name, [key]);
          cache.set(k, links.get(key)?.externalId ?? null);
        }
        return cache.get(k) ?? null;
      },
    };
  }

  /**
   * Intents left pending by an interrupted write, read afresh for every page: a cache would miss those that a
   * failed page of this same process left behind, and then create again what that page had created.
   */
  private async intentsFor(flow: Flow): Promise<Map<string, Intent>> {
    return new Map((await this.store.pendingIntents(flow.name)).map((i) => [i.key, i]));
  }

  /**
   * Plans and (unless dry) writes a batch of prepared records, and returns what the page commit needs.
   * Shared by the sync loop and by retries of failed records.
   */
  async apply(
    flow: Flow,
    batch: Prepared[],
    opts: SyncOptions & { runId: number; summary: RunSummary },
  ): Promise<Omit<PageCommit, "flow" | "runId" | "cursor">> {
    const { summary } = opts;
    const writer = requireWriter(flow.target, flow.entity);
    const events: PageCommit["events"] = [];
    const failures: NewFailure[] = [];
    const links: PageCommit["links"] = [];
    const resolvedKeys: string[] = [];
    const completedIntents: number[] = [];
    const counts: Partial<RunCounts> = { read: 0, created: 0, updated: 0, skipped: 0, failed: 0, calls: 0 };
    const planned = (p: Prepared, action: PlanAction, targetId: string | null, reason?: string) => {
      summary.plan[action].records++;
      if (action === "skip" && reason) summary.counts.skippedWithReason++;
      // A dry run fails nothing, but what a sync would fail or hold makes the plan partial all the same.
      if (opts.dryRun && (action === "error" || action === "hold")) counts.failed = (counts.failed ?? 0) + 1;
      opts.onPlan?.({ key: p.key, action, sourceId: p.sourceId, targetId, ...(reason ? { reason } : {}) });
    };
    /** The calls writing the planned records would make (dry runs), from the writer's own batching. */
    const estimate = async (buckets: Bucket[], intents: Map<string, Intent>) => {
      const page = {
        create: buckets.filter((b) => b.action === "create").map((b) => b.item),
        update: buckets.filter((b) => b.action === "update").map((b) => b.item),
        lookups: buckets.filter((b) => b.action === "create" && intents.has(b.item.key)).map((b) => b.item),
        first: summary.plan.create.records + summary.plan.update.records === buckets.length,
      };
      summary.estimatedCalls += await writer.estimateCalls(page, this.writeContext(flow));
    };
    const fail = (p: Prepared, err: SyncError, kind?: string) => {
      counts.failed = (counts.failed ?? 0) + 1;
      failures.push({
        flow: flow.name,
        entity: flow.entity,
        key: p.key,
        sourceSystem: flow.source.name,
        sourceId: p.sourceId,
        sourcePayload: p.native,
        mappedPayload: p.mapped,
        errorKind: kind ?? err.kind,
        errorMessage: err.message,
        errorDetail: err.toJSON(),
      });
      events.push({
        entity: flow.entity,
        key: p.key,
        system: kind === "hold" ? flow.target.name : (err.details.system ?? flow.target.name),
        externalId: null,
        kind: kind === "hold" ? "held" : "failed",
        message: err.message,
        detail: { errorKind: kind ?? err.kind, status: err.details.status ?? null },
      });
    };

    // Last occurrence wins when a page holds the same key twice (a record changed while we paged).
    const byKey = new Map<string, Prepared>();
    for (const p of batch) byKey.set(p.key, p);
    const ready = [...byKey.values()];
    counts.read = batch.length;

    // A record already linked under another key has had its key changed in the source (a customer's new
    // e-mail, an edited order reference): its links move to the new key, so its target is updated, not
    // duplicated. If the new key already belongs to another record, the two cannot be told apart: fail it.
    const rekeys: NonNullable<PageCommit["rekeys"]> = [];
    const renamedFrom = new Map<string, string>();
    const known = await this.store.linksByExternalIds(
      flow.entity,
      flow.source.name,
      ready.filter((p) => p.canonical).map((p) => p.sourceId),
    );
    const moved = ready.filter(
      (p) => p.canonical && known.has(p.sourceId) && known.get(p.sourceId)?.key !== p.key,
    );
    const taken = await this.store.getLinks(
      flow.entity,
      flow.source.name,
      moved.map((p) => p.key),
    );
    for (const p of moved) {
      const from = known.get(p.sourceId)?.key as string;
      if (taken.has(p.key)) {
        p.error = new SyncError(
          "data",
          `${flow.entity} ${p.sourceId} in ${flow.source.name} changed its key from ${JSON.stringify(from)} to ${JSON.stringify(p.key)}, which another record already has`,
          { system: flow.source.name, field: "key" },
        );
        continue;
      }
      rekeys.push({ entity: flow.entity, from, to: p.key });
      renamedFrom.set(p.key, from);
      events.push({
        entity: flow.entity,
        key: p.key,
        system: flow.source.name,
        externalId: p.sourceId,
        kind: "read",
        message: `key changed in the source from ${JSON.stringify(from)}; links moved to the new key`,
        detail: { previousKey: from },
      });
    }

    refuseCategoryCycles(flow, ready);
    refuseKitCycles(flow, ready);

    // Bind the source side: the record's id in the system it came from (used to resolve references later).
    // Without a mapping the record sent is the record read: its hash is computed once, for both sides.
    const sourceHashes = new Map<Prepared, string>();
    for (const p of ready) {
      if (!p.canonical || p.error) continue;
      const hash = contentHash(flow.entity, p.canonical);
      sourceHashes.set(p, hash);
      links.push({
        entity: flow.entity,
        key: p.key,
        system: flow.source.name,
        externalId: p.sourceId,
        lastHash: hash,
        version: p.updatedAt,
      });
    }

    const withTarget = ready.filter((p) => p.mapped && !p.error);
    const targetLinks: Map<string, Link> = await this.store.getLinks(
      flow.entity,
      flow.target.name,
      withTarget.map((p) => renamedFrom.get(p.key) ?? p.key),
    );
    for (const [to, from] of renamedFrom) {
      const link = targetLinks.get(from);
      if (link) targetLinks.set(to, { ...link, key: to });
    }
    const intents = await this.intentsFor(flow);
    const parents = await this.parentsInTarget(flow, withTarget);
    const buckets: Bucket[] = [];
    for (const p of ready) {
      const link = targetLinks.get(p.key) ?? null;
      const hash =
        p.mapped && !p.error
          ? ((p.mapped === p.canonical ? sourceHashes.get(p) : undefined) ??
            contentHash(flow.entity, p.mapped))
          : null;
      const decision = planRecord({
        entity: flow.entity,
        mapped: p.mapped,
        error: p.error?.message ?? null,
        filtered: p.filtered,
        hash,
        target: link,
        sourceUpdatedAt: p.updatedAt,
        pendingIntent: intents.has(p.key),
        updateOnly: writer.updateOnly === true,
        unsupported: p.mapped && !p.error ? (writer.unsupported?.(p.mapped as never) ?? null) : null,
        allowFreeItems: flow.allowFreeItems === true,
        parent: parents.get(p) ?? null,
      });
      planned(p, decision.action, decision.targetId, decision.reason);
      switch (decision.action) {
        case "error":
          if (!opts.dryRun)
            fail(p, p.error ?? new SyncError("data", decision.reason ?? "record could not be mapped"));
          break;
        case "filtered":
          counts.skipped = (counts.skipped ?? 0) + 1;
          summary.counts.filtered++;
          break;
        case "skip":
          counts.skipped = (counts.skipped ?? 0) + 1;
          if (decision.reason && !opts.dryRun) {
            // Not written on purpose (stale, cancelled before it was ever written, its order is not in the
            // target, or an update-only target does not hold it): an open failure of the
            // record is moot. The lineage says why once per version, and to an operator's retry; a version
            // read again by a later run (the signpost, an overlapping poll) adds nothing.
            resolvedKeys.push(p.key);
            const last = known.get(p.sourceId);
            const seen = last?.version === p.updatedAt && last.lastHash === sourceHashes.get(p);
            if (!seen || summary.mode === "retry") {
              events.push({
                entity: flow.entity,
                key: p.key,
                system: flow.target.name,
                externalId: decision.targetId,
                kind: "skipped",
                message: decision.reason,
                detail: { sourceUpdatedAt: p.updatedAt, appliedVersion: link?.version ?? null },
              });
            }
          }
          break;
        case "hold":
          summary.counts.held++;
          if (!opts.dryRun) {
            fail(p, new SyncError("data", decision.reason ?? "held", { system: flow.target.name }), "hold");
          }
          break;
        case "create":
        case "update":
          buckets.push({
            item: {
              key: p.key,
              record: p.mapped as Canonical,
              targetId: decision.targetId,
              externalRef: p.key,
            },
            prepared: p,
            hash: hash as string,
            action: decision.action,
            intentId: null,
          });
      }
    }

    // What the page commit needs; a dry run binds nothing.
    const done = () => ({
      links: opts.dryRun ? [] : links,
      events: withReads(flow, ready, events),
      failures,
      resolvedKeys,
      completedIntents,
      counts,
      rekeys,
    });
    if (opts.dryRun && buckets.length > 0) await estimate(buckets, intents);
    if (opts.dryRun || buckets.length === 0) return done();

    // A create interrupted by a crash may have happened in the target: look before creating again.
    for (const b of buckets) {
      const pending = b.action === "create" ? intents.get(b.item.key) : undefined;
      if (!pending) continue;
      const found = await withRetry(() => writer.findByExternalRef(b.item.externalRef, b.item.record), {
        system: flow.target.name,
        ...(opts.retry ? { policy: opts.retry } : {}),
        ...(opts.sleep ? { sleep: opts.sleep } : {}),
      });
      completedIntents.push(pending.id);
      if (found) {
        b.item.targetId = found;
        b.action = "update";
        events.push({
          entity: flow.entity,
          key: b.item.key,
          system: flow.target.name,
          externalId: found,
          kind: "intent",
          message: "found a document written before an interruption; updating it instead of creating",
          detail: { externalRef: b.item.externalRef },
        });
      }
    }
    const creates = buckets.filter((b) => b.action === "create");
    if (creates.length > 0) {
      const recorded = await this.store.recordIntents(
        creates.map((b) => ({
          flow: flow.name,
          entity: flow.entity,
          key: b.item.key,
          system: flow.target.name,
          externalRef: b.item.externalRef,
        })),
      );
      const ids = new Map(recorded.map((i) => [i.key, i.id]));
      for (const b of creates) b.intentId = ids.get(b.item.key) ?? null;
    }

    const results = await this.writeWithRetries(flow, writer, buckets, opts);
    for (const b of buckets) {
      const r = results.get(b.item.key);
      const p = b.prepared;
      if (!r) {
        fail(p, new SyncError("permanent", `${flow.target.name} returned no result for ${p.key}`));
        continue;
      }
      if (r.ok) {
        if (b.intentId !== null) completedIntents.push(b.intentId);
        links.push({
          entity: flow.entity,
          key: p.key,
          system: flow.target.name,
          externalId: r.targetId,
          lastHash: b.hash,
          version: p.updatedAt,
        });
        resolvedKeys.push(p.key);
        const kind: SyncEvent["kind"] =
          r.action === "created" ? "created" : r.action === "updated" ? "updated" : "skipped";
        if (kind === "created") counts.created = (counts.created ?? 0) + 1;
        else if (kind === "updated") counts.updated = (counts.updated ?? 0) + 1;
        else counts.skipped = (counts.skipped ?? 0) + 1;
        events.push({
          entity: flow.entity,
          key: p.key,
          system: flow.target.name,
          externalId: r.targetId,
          kind,
          message: r.note ?? null,
          detail: { hash: b.hash, sourceSystem: flow.source.name, sourceId: p.sourceId },
        });
      } else {
        // A retryable failure may have been applied by the vendor (the answer was lost): keep its intent
        // pending so the next attempt looks before it creates.
        if (b.intentId !== null && !r.error.retryable) completedIntents.push(b.intentId);
        fail(p, r.error);
      }
    }
    return done();
  }

  /**
   * Each record's parent (see parentOf), and whether the target holds it: a link there (one look-up per
   * entity), or a key saying it came from there.
   */
  private async parentsInTarget(
    flow: Flow,
    records: Prepared[],
  ): Promise<Map<Prepared, PlanInput["parent"]>> {
    const refs = new Map<Prepared, ParentRef>();
    for (const p of records) {
      const ref = parentOf(flow.entity, p.mapped as Canonical);
      if (ref) refs.set(p, ref);
    }
    const held = new Set<string>();
    for (const entity of new Set([...refs.values()].map((r) => r.entity))) {
      const keys = [...refs.values()].filter((r) => r.entity === entity).map((r) => r.key);
      const links = await this.store.getLinks(entity, flow.target.name, keys);
      for (const key of links.keys()) held.add(`${entity}\u0000${key}`);
    }
    const out = new Map<Prepared, PlanInput["parent"]>();
    // An order's key names the connection it came from (`<connection>:<number>`): one that came from the
    // target is the target's even when this store has no link for it yet (a store started afresh beside a
    // shop that already has the orders), and its writer finds it by number.
    const fromTarget = `${flow.target.name}:`;
    for (const [p, ref] of refs) {
      const inTarget = held.has(`${ref.entity}\u0000${ref.key}`) || ref.key.startsWith(fromTarget);
      out.set(p, { ...ref, system: flow.target.name, inTarget });
    }
    return out;
  }

  /**
   * Writes the buckets to `flow.target` (two-way flows pass each side as the target in turn); a record that
   * fails with a retryable error is retried after its own backoff (or the vendor's Retry-After), and the
   * records that come due while it waits are written meanwhile.
   */
  async writeWithRetries(
    flow: Flow,
    writer: Writer,
    buckets: Pick<Bucket, "item">[],
    opts: SyncOptions,
  ): Promise<Map<string, WriteResult>> {
    const ctx = this.writeContext(flow);
    const results = new Map<string, WriteResult>();
    const failed = await retryEach(
      buckets.map((b) => b.item),
      async (due) => {
        // A retry may follow a try the vendor applied: look the document up before writing it again.
        const looked = await Promise.all(
          due.map(async ({ item, attempt }) => {
            if (attempt === 1 || item.targetId) return null;
            try {
              item.targetId = await writer.findByExternalRef(item.externalRef, item.record);
              return null;
            } catch (e) {
              const err = asSyncError(e, flow.target.name);
              // Not knowing whether it exists, the record must not be written (nor its intent completed).
              if (!err.retryable) throw err;
              return err;
            }
          }),
        );
        const ready = due.filter((_, i) => looked[i] === null).map((d) => d.item);
        const out = ready.length > 0 ? await writer.upsert(ready, ctx) : [];
        for (const r of out) results.set(r.key, r);
        const errors = new Map(out.flatMap((r) => (r.ok ? [] : [[r.key, r.error] as const])));
        return due.map(({ item }, i) => looked[i] ?? errors.get(item.key) ?? null);
      },
      {
        system: flow.target.name,
        ...(opts.retry ? { policy: opts.retry } : {}),
        ...(opts.sleep ? { sleep: opts.sleep } : {}),
      },
    );
    for (const [item, error] of failed) results.set(item.key, { key: item.key, ok: false, error });
    return results;
  }

  /** Runs one flow from its cursor to the end of the source (or `maxPages`). */
  async run(flow: Flow, opts: SyncOptions = {}): Promise<RunSummary> {
    const stream = requireStream(flow.source, flow.entity);
    const mode = opts.dryRun ? "plan" : "sync";
    const run = await this.store.startRun(flow.name, mode);
    const summary = emptySummary(run.id, flow.name, mode);
    const started = performance.now();
    // Vendor calls actually made (reads, lookups, writes, retries), not the plan's estimate.
    const callsSoFar = () =>
      flow.source.stats().calls + (flow.target === flow.source ? 0 : flow.target.stats().calls);
    let calls = callsSoFar();
    const now = opts.now ?? (() => new Date());
    const start = now();
    // Streams read up to the start itself; only the cursor stays behind it (the signpost).
    const signpost = signpostAt(start, opts.cursorLagMs ?? DEFAULT_CURSOR_LAG_MS);
    let cursor: Cursor | null = await this.store.getCursor(flow.name);
    const marks = this.store.marks();
    const progress = (): void =>
      opts.onProgress?.({
        flow: flow.name,
        read: summary.counts.read,
        created: summary.counts.created,
        updated: summary.counts.updated,
        skipped: summary.counts.skipped,
        failed: summary.counts.failed,
      });
    // One page of read-ahead: while a page is written and committed, the next one is already being read from
    // the source and mapped (mapping needs nothing from the store), so the source's latency, the target's
    // and our own work overlap. Pages are still planned, written and committed one at a time, in order; a
    // failed read surfaces when its page is reached, after the pages before it are committed; no read is
    // started past `maxPages`, and the read-ahead is dropped when the run stops.
    const { signal } = opts;
    const request = {
      since: cursor,
      signpost: start.toISOString(),
      pageSize: flow.batchSize,
      ...(signal ? { signal } : {}),
      ...(opts.dryRun ? {} : { marks }),
    };
    const ahead = new ReadAhead(
      () => stream.list(request),
      async (page: unknown[]) => ({ page, prepared: await prepareYielding(flow, stream, page) }),
    );
    let finished = false;
    // The source said it had nothing more (not merely `maxPages` reached): the flow caught up.
    let exhausted = false;
    try {
      // A stop is honoured between pages: what was written is committed first, so nothing is written twice.
      for (let pages = 1; !signal?.aborted; pages++) {
        const read = await ahead.next();
        if (read === undefined) {
          finished = true;
          exhausted = true;
          break;
        }
        const { page } = read;
        const lastPage = opts.maxPages !== undefined && pages >= opts.maxPages;
        if (!lastPage && !signal?.aborted) ahead.prefetch();
        const prepared =
          stream.sorted && cursor
            ? read.prepared.filter((_, i) => this.after(stream, page[i], cursor as Cursor))
            : read.prepared;
        await yieldToLoop();
        const result = await this.apply(flow, prepared, { ...opts, runId: run.id, summary });
        const callsNow = callsSoFar();
        result.counts.calls = callsNow - calls;
        calls = callsNow;
        let next: Cursor | undefined;
        const last = page[page.length - 1];
        if (stream.sorted && last !== undefined) {
          const lastCursor = { updatedAt: stream.updatedAtOf(last), id: stream.idOf(last) };
          // Never at or past the signpost: records stamped there may still be joined by others (same second,
          // lower id), so they are read again next time; "" sorts before every id at that instant.
          next = isBefore(lastCursor.updatedAt, signpost) ? lastCursor : { updatedAt: signpost, id: "" };
        }
        if (!opts.dryRun) {
          await yieldToLoop();
          await this.store.commitPage({
            flow: flow.name,
            runId: run.id,
            ...(next ? { cursor: next } : {}),
            ...result,
          });
          // Only now may a stream consume what it read (move a file away): the page is in the store.
          await stream.committed?.(page, marks);
        }
        if (next) cursor = next;
        for (const k of ["read", "created", "updated", "skipped", "failed", "calls"] as const) {
          summary.counts[k] += result.counts[k] ?? 0;
        }
        progress();
        if (lastPage) {
          finished = true;
          break;
        }
      }
      await ahead.close();
      summary.status = summary.counts.failed > 0 ? "partial" : "succeeded";
    } catch (e) {
      await ahead.close().catch(() => undefined);
      summary.error = asSyncError(e, flow.source.name);
      summary.status = "failed";
    }
    // Calls made after the last committed page (the final read, a page that failed) count too.
    const trailing = callsSoFar() - calls;
    summary.counts.calls += trailing;
    if (trailing > 0 && !opts.dryRun) {
      await this.store.commitPage({
        flow: flow.name,
        runId: run.id,
        links: [],
        events: [],
        failures: [],
        resolvedKeys: [],
        completedIntents: [],
        counts: { calls: trailing },
      });
    }
    summary.durationMs = Math.round(performance.now() - started);
    let message = summary.error?.message ?? null;
    if (finished && !exhausted && summary.status !== "failed") {
      // Recorded on the run: it did not read everything available, so it is no catch-up (runtime/lag.ts).
      message = `stopped after ${opts.maxPages} page(s) (maxPages): the source may hold more, read by the next run`;
    }
    if (signal?.aborted && !finished) {
      // Whatever the read in flight threw when it was abandoned, the run was stopped, not broken.
      summary.status = "interrupted";
      summary.error = null;
      message = `interrupted: ${reasonText(signal.reason)}`;
    }
    await this.store.finishRun(run.id, summary.status, message);
    return summary;
  }

  private after(stream: Stream, native: unknown, cursor: Cursor): boolean {
    return compareCursors({ updatedAt: stream.updatedAtOf(native), id: stream.idOf(native) }, cursor) > 0;
  }
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return typeof reason === "string" ? reason : "stop requested";
}

/**
 * An async iterable read with at most one `next()` ahead of its consumer, each value passed through
 * `transform` as soon as it arrives. `prefetch` starts the next read without waiting for it; `next` returns
 * that read (or starts one), undefined at the end; `close` waits for a read in flight, ignoring its failure
 * (nobody will handle that page), then lets the iterator clean up.
 */
export class ReadAhead<T, U> {
  #it: AsyncIterator<T> | null = null;
  #pending: Promise<IteratorResult<U>> | null = null;
  #done = false;

  constructor(
    private readonly open: () => AsyncIterable<T>,
    private readonly transform: (value: T) => Promise<U>,
  ) {}

  #iterator(): AsyncIterator<T> {
    this.#it ??= this.open()[Symbol.asyncIterator]();
    return this.#it;
  }

  prefetch(): void {
    if (this.#done || this.#pending) return;
    const read = this.#iterator()
      .next()
      .then(async (r): Promise<IteratorResult<U>> => (r.done ? r : { value: await this.transform(r.value) }));
    // Observed later by next() or close(); until then a rejection must not count as unhandled.
    read.catch(() => undefined);
    this.#pending = read;
  }

  async next(): Promise<U | undefined> {
    if (this.#done) return undefined;
    this.prefetch();
    const read = this.#pending as Promise<IteratorResult<U>>;
    this.#pending = null;
    try {
      const r = await read;
      if (r.done) this.#done = true;
      return r.done ? undefined : r.value;
    } catch (e) {
      // An iterator that threw is finished; there is nothing left to close.
      this.#done = true;
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.#done || this.#it === null) return;
    const read = this.#pending;
    this.#pending = null;
    this.#done = true;
    if (read) {
      const r = await read.then(
        (v) => v,
        () => null,
      );
      if (r === null || r.done) return;
    }
    await this.#it.return?.();
  }
}
