/**
 * What an operator can ask of a configured Passerelle, in one place for both front ends: the CLI
 * (`status`, `trace`, `failures …`, `plan`) and the management API (src/server/api/) call these and only
 * print or serialise what they return. Nothing here holds sync logic: it reads the store and calls the
 * engine (engine/failures.ts, the dry run of runFlow).
 */
import { type Cursor, compareCursors } from "../core/cursor.ts";
import { ERROR_KINDS, SyncError } from "../core/errors.ts";
import { compileMapping, type Mapping, type PreviewField } from "../core/mapping.ts";
import { EntityName } from "../core/model.ts";
import { editFailure, type RetryOutcome, resolveFailure, skipFailure } from "../engine/failures.ts";
import type { Flow } from "../engine/flow.ts";
import { emptySummary, type PlanLine, prepare, type RunSummary } from "../engine/sync.ts";
import { type RestoreOutcome, sideCursorName } from "../engine/two-way.ts";
import { requireStream } from "../ports/connector.ts";
import type { FailedRecord, FailureStatus, Link, Run, SyncEvent } from "../ports/store.ts";
import type { Context } from "./context.ts";
import { leaseHolder } from "./leases.ts";
import { FlowBusyError, resolveConflict, restoreRemoved, retryFlowFailures, runFlow } from "./run-flow.ts";

/** Something asked for by id or name that does not exist (the API answers 404). */
export class NotFoundError extends SyncError {
  constructor(message: string) {
    super("config", message);
  }
}

// ---- status ---------------------------------------------------------------------------------------------

export interface FlowStatus {
  flow: string;
  from: string;
  to: string;
  lastRun: Run | null;
  /** Who runs the flow right now (its lease), null when nobody does. */
  runningBy: string | null;
  cursor: Cursor | null;
  openFailures: number;
}

/**
 * Every flow's last run, lease holder, cursor and open failures. Runs still marked running of a flow nobody
 * holds were left by a process that died: they are recorded interrupted on the way (only runs started
 * before the lease was seen free, so a run that starts meanwhile is not touched).
 */
export async function flowStatuses(ctx: Context, names = ctx.flowNames(), by = "passerelle status") {
  const open = await ctx.store.listFailures({ status: "open" });
  const rows: FlowStatus[] = [];
  for (const name of names) {
    const seen = new Date().toISOString();
    const runningBy = await leaseHolder(ctx.store, `flow:${name}`);
    if (runningBy === null) {
      await ctx.store.interruptRuns(
        name,
        `interrupted: the process running it stopped before the end (no process holds flow:${name} any more); found by ${by} at ${seen}`,
        { startedBefore: seen },
      );
    }
    // The flow's own last run: dry runs and operators' retries of single records are not its health.
    const last = (await ctx.store.lastRuns(name, 20)).find((r) => r.mode === "sync");
    const spec = ctx.config.flows[name];
    // A two-way flow has a cursor per side: the one further behind says how far the flow has come
    // (a side whose stream reads whole, compared by content, has none).
    const cursors =
      spec?.direction === "two-way"
        ? await Promise.all(
            [spec.source.connection, spec.target.connection].map((c) =>
              ctx.store.getCursor(sideCursorName(name, c)),
            ),
          )
        : [await ctx.store.getCursor(name)];
    const cursor =
      cursors.filter((c): c is Cursor => c !== null).sort((x, y) => compareCursors(x, y))[0] ?? null;
    rows.push({
      flow: name,
      from: `${spec?.source.connection}.${spec?.source.entity}`,
      to: `${spec?.target.connection}.${spec?.target.entity}`,
      lastRun: last ?? null,
      runningBy,
      cursor,
      openFailures: open.filter((f) => f.flow === name).length,
    });
  }
  return rows;
}

export async function webhookEventCounts(ctx: Context): Promise<{ pending: number; failed: number }> {
  const inbox = ctx.store.openInbox();
  return {
    pending: await inbox.count({ status: "pending" }),
    failed: await inbox.count({ status: "failed" }),
  };
}

/** A configured flow's name, or NotFoundError listing the flows. */
export function knownFlow(ctx: Context, name: string): Flow {
  if (!ctx.flowNames().includes(name)) {
    throw new NotFoundError(
      `no flow named ${JSON.stringify(name)}; flows: ${ctx.flowNames().join(", ") || "(none)"}`,
    );
  }
  return ctx.flow(name);
}

// ---- trace ----------------------------------------------------------------------------------------------

export interface Trace {
  entity: EntityName;
  id: string;
  links: Record<string, Link[]>;
  events: SyncEvent[];
}

/**
 * A record's lineage by its canonical key, any system's id, or the number its key carries after the
 * system prefix (an order name: `#1001` finds `shopify:#1001`).
 */
export async function traceRecord(ctx: Context, entity: string, id: string): Promise<Trace> {
  const parsed = EntityName.safeParse(entity);
  if (!parsed.success) {
    throw new SyncError(
      "config",
      `unknown entity ${JSON.stringify(entity)}; entities: ${EntityName.options.join(", ")}`,
      { field: "entity" },
    );
  }
  let events = await ctx.store.trace(parsed.data, id);
  if (events.length === 0) {
    // A number rather than a key or an id: an order name `#1001` is the key `shopify:#1001`.
    for (const key of await ctx.store.access().keysNumbered(parsed.data, id))
      events = [...events, ...(await ctx.store.trace(parsed.data, key))];
  }
  const links: Record<string, Link[]> = {};
  for (const key of new Set(events.map((e) => e.key)))
    links[key] = await ctx.store.linksForKey(parsed.data, key);
  return { entity: parsed.data, id, links, events };
}

// ---- failed records -------------------------------------------------------------------------------------

export const FAILURE_STATUSES: readonly FailureStatus[] = ["open", "retrying", "resolved", "skipped"];
export const FAILURE_TYPES: readonly string[] = [...ERROR_KINDS, "hold", "conflict"];

export function parseFailureId(raw: string): number {
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0)
    throw new SyncError("config", `failure id must be a positive integer, got ${JSON.stringify(raw)}`, {
      field: "id",
    });
  return id;
}

export async function getFailure(ctx: Context, raw: string, hint = ""): Promise<FailedRecord> {
  const f = await ctx.store.getFailure(parseFailureId(raw));
  if (!f) throw new NotFoundError(`no failed record with id ${raw}${hint}`);
  return f;
}

/** The flow a failure belongs to, when it is still configured. */
export function flowOfFailure(ctx: Context, f: FailedRecord): Flow {
  if (!ctx.flowNames().includes(f.flow)) {
    throw new SyncError(
      "config",
      `failure ${f.id} belongs to flow ${JSON.stringify(f.flow)}, which is no longer in ${ctx.configPath}; skip it with a reason or restore the flow`,
    );
  }
  return ctx.flow(f.flow);
}

export async function findFailures(
  ctx: Context,
  opts: { flow?: string; type?: string; status?: string; all?: boolean; limit?: number },
  names: { status: string; type: string } = { status: "status", type: "type" },
): Promise<FailedRecord[]> {
  if (opts.status && !FAILURE_STATUSES.includes(opts.status as FailureStatus)) {
    throw new SyncError(
      "config",
      `${names.status} must be one of ${FAILURE_STATUSES.join(", ")}, got ${JSON.stringify(opts.status)}`,
      { field: "status" },
    );
  }
  if (opts.type && !FAILURE_TYPES.includes(opts.type)) {
    throw new SyncError(
      "config",
      `${names.type} must be one of ${FAILURE_TYPES.join(", ")}, got ${JSON.stringify(opts.type)}`,
      { field: "type" },
    );
  }
  return ctx.store.listFailures({
    ...(opts.flow ? { flow: opts.flow } : {}),
    ...(opts.type ? { errorKind: opts.type } : {}),
    ...(opts.status ? { status: opts.status as FailureStatus } : opts.all ? {} : { status: "open" }),
    ...(opts.limit ? { limit: opts.limit } : {}),
  });
}

export interface RetryReport {
  outcomes: RetryOutcome[];
  /** Some flow was running elsewhere: its records were not retried (reported failed with why). */
  busy: boolean;
}

/**
 * Retries failed records under each flow's lease, like every run of it: a retry never writes at the same
 * time as a sync of the same flow. With `strict`, the first retry that cannot start (the record is gone
 * from its source, the failure is already resolved, the flow is busy or removed) is thrown; otherwise each
 * is reported with its reason.
 */
export async function retryFailures(
  ctx: Context,
  targets: FailedRecord[],
  opts: { resync: boolean; strict: boolean; actor: string; holder: string },
): Promise<RetryReport> {
  const outcomes: RetryOutcome[] = [];
  const byFlow = new Map<string, FailedRecord[]>();
  for (const f of targets) {
    try {
      flowOfFailure(ctx, f);
    } catch (e) {
      if (opts.strict) throw e;
      outcomes.push({ id: f.id, key: f.key, ok: false, action: "failed", message: (e as Error).message });
      continue;
    }
    byFlow.set(f.flow, [...(byFlow.get(f.flow) ?? []), f]);
  }
  let busy = false;
  for (const [flow, failures] of byFlow) {
    try {
      const results = await retryFlowFailures(ctx, ctx.flow(flow), failures, {
        holder: opts.holder,
        resync: opts.resync,
        actor: opts.actor,
      });
      for (const r of results) {
        if (r.ok) outcomes.push(r.outcome);
        else if (opts.strict) throw r.error;
        else
          outcomes.push({
            id: r.failure.id,
            key: r.failure.key,
            ok: false,
            action: "failed",
            message: r.error.message,
          });
      }
    } catch (e) {
      if (!(e instanceof FlowBusyError) || opts.strict) throw e;
      busy = true;
      for (const f of failures)
        outcomes.push({ id: f.id, key: f.key, ok: false, action: "failed", message: e.message });
    }
  }
  return { outcomes, busy };
}

/** Saves the corrected mapped payload, then retries the record with it (FlowBusyError: saved, not retried). */
export async function editAndRetry(
  ctx: Context,
  failure: FailedRecord,
  payload: unknown,
  opts: { actor: string; holder: string },
): Promise<RetryOutcome> {
  flowOfFailure(ctx, failure);
  await editFailure(ctx.store, failure, payload, opts.actor);
  const updated = (await ctx.store.getFailure(failure.id)) ?? failure;
  const { outcomes } = await retryFailures(ctx, [updated], { ...opts, resync: false, strict: true });
  const [outcome] = outcomes;
  if (!outcome) throw new SyncError("permanent", `failure ${updated.id} was not retried`);
  return outcome;
}

export { resolveFailure, skipFailure };

/** What an operator takes to close a held two-way conflict: one side's version, or a merged record. */
export type ConflictChoice = { side: string } | { record: unknown };

/** The two-way flow a conflict belongs to; a failure of a one-way flow is refused, saying what to use. */
export function conflictFlow(ctx: Context, failure: FailedRecord): Flow {
  const flow = flowOfFailure(ctx, failure);
  if (!flow.twoWay) {
    throw new SyncError(
      "config",
      `failure ${failure.id} belongs to the one-way flow ${failure.flow}; use failures retry, edit or skip`,
    );
  }
  return flow;
}

/**
 * Closes a held two-way conflict by writing the version taken — a side named by its connection (or
 * `source` / `target`), or a merged record — to both sides, under the flow's lease (FlowBusyError when it
 * is running elsewhere). The CLI's `failures resolve --take` and the API's `POST /failures/:id/take`.
 */
export async function takeConflict(
  ctx: Context,
  failure: FailedRecord,
  take: ConflictChoice,
  opts: { actor: string; holder: string },
): Promise<{ written: string[] }> {
  const flow = conflictFlow(ctx, failure);
  let choice: { side: "a" | "b" } | { record: unknown };
  if ("record" in take) {
    if (take.record === null || typeof take.record !== "object" || Array.isArray(take.record))
      throw new SyncError("data", "record must be a JSON object: the merged record to write to both sides", {
        field: "record",
      });
    choice = { record: take.record };
  } else if (take.side === "source" || take.side === flow.source.name) choice = { side: "a" };
  else if (take.side === "target" || take.side === flow.target.name) choice = { side: "b" };
  else {
    throw new SyncError(
      "config",
      `side must be ${flow.source.name}, ${flow.target.name}, source or target; got ${JSON.stringify(take.side)}`,
      { field: "side" },
    );
  }
  return resolveConflict(ctx, flow, failure, choice, { holder: opts.holder, actor: opts.actor });
}

/**
 * Brings back a record a two-way flow's delete policy stopped carrying (its tombstone): reactivated where it
 * is archived, created again where it was deleted, then merged — under the flow's lease (FlowBusyError when
 * it is running elsewhere). The CLI's `passerelle restore` and the API's `POST /flows/:name/records/:key/restore`.
 */
export async function restoreRecord(
  ctx: Context,
  flowName: string,
  key: string,
  opts: { actor: string; holder: string },
): Promise<RestoreOutcome> {
  if (!ctx.flowNames().includes(flowName)) {
    throw new SyncError(
      "config",
      `unknown flow ${JSON.stringify(flowName)}; flows: ${ctx.flowNames().join(", ")}`,
      {
        field: "flow",
      },
    );
  }
  const flow = ctx.flow(flowName);
  if (!flow.twoWay) {
    throw new SyncError(
      "config",
      `flow ${flowName} is one-way: only two-way flows remove records (twoWay.deletes), so there is nothing to restore`,
      { field: "flow" },
    );
  }
  return restoreRemoved(ctx, flow, key, { holder: opts.holder, actor: opts.actor });
}

// ---- plan and mapping preview ---------------------------------------------------------------------------

/** What a plan's call estimate covers, said with it. */
export const ESTIMATE_COVERS =
  "reads of the source, counted as this plan made them, and the target's lookups and writes, estimated " +
  "from its writer's batching; records the target finds unchanged cost less, retries more";

export interface FlowPlan {
  summary: RunSummary;
  lines: PlanLine[];
  calls: { total: number; reads: number; writes: number };
}

/** A dry run of a flow from its cursor: what a sync would do, written nowhere. */
export async function planFlow(ctx: Context, name: string): Promise<FlowPlan> {
  const lines: PlanLine[] = [];
  const flow = ctx.flow(name);
  const summary = await runFlow(
    ctx,
    flow,
    { kind: "cursor" },
    { dryRun: true, onPlan: (l) => lines.push(l) },
  );
  // A dry run only reads: every call it made was the source's.
  const reads = summary.counts.calls;
  return {
    summary,
    lines,
    calls: { total: reads + summary.estimatedCalls, reads, writes: summary.estimatedCalls },
  };
}

export interface PreviewResult {
  flow: string;
  entity: EntityName;
  sourceId: string | null;
  /** The canonical record as read from the source (before the flow's mapping). */
  canonical: unknown;
  /** After the mapping: what the target would receive (null when mapping or validation failed). */
  mapped: unknown;
  /** What each mapping rule set. */
  fields: PreviewField[];
  /** Validation and mapping problems, each naming its field. */
  problems: { field: string | null; message: string }[];
  /** The engine's decision for this record, as a sync would take it now. */
  plan: PlanLine | null;
}

/**
 * Applies a flow's mapping (or `mapping`, a draft replacing it) to one source record — given as `sample`
 * (the source system's native shape) or read by id through the stream's `get` — and plans it, writing
 * nothing. A draft that does not compile throws ConfigError naming its field.
 */
export async function previewMapping(
  ctx: Context,
  name: string,
  input: { sample?: unknown; liveId?: string; mapping?: Mapping },
): Promise<PreviewResult> {
  const configured = knownFlow(ctx, name);
  const given = ctx.config.flows[name]?.mapping;
  const compiled = input.mapping
    ? compileMapping(input.mapping, { path: "mapping" })
    : given && Object.keys(given).length > 0
      ? compileMapping(given, { path: `flows.${name}.mapping` })
      : null;
  const flow: Flow = input.mapping && compiled ? { ...configured, mapping: compiled } : configured;
  const stream = requireStream(flow.source, flow.entity);
  let native = input.sample;
  if (input.liveId !== undefined) {
    native = await stream.get(input.liveId);
    if (native === null || native === undefined)
      throw new NotFoundError(
        `${flow.source.name} has no ${flow.entity} with id ${JSON.stringify(input.liveId)}`,
      );
  }
  if (native === null || typeof native !== "object") {
    throw new SyncError(
      "data",
      `sample must be a ${flow.source.name} ${flow.entity} record (a JSON object)`,
      {
        field: "sample",
      },
    );
  }
  let prepared: Awaited<ReturnType<typeof prepare>>;
  try {
    prepared = await prepare(flow, stream, native);
  } catch (e) {
    // The stream could not even tell the record's id: not a record of this source.
    throw new SyncError(
      "data",
      `sample is not a ${flow.source.name} ${flow.entity} record: ${e instanceof Error ? e.message : String(e)}`,
      { field: "sample" },
    );
  }
  let fields: PreviewField[] = [];
  if (prepared.canonical && compiled) {
    try {
      fields = (await compiled.preview(structuredClone(prepared.canonical))).fields;
    } catch {
      // The mapping's error is already in `prepared.error`, naming the field.
    }
  }
  const problems = prepared.error
    ? [{ field: prepared.error.details.field ?? null, message: prepared.error.message }]
    : [];
  let plan: PlanLine | null = null;
  const summary = emptySummary(0, flow.name, "plan");
  await ctx.engine.apply(flow, [prepared], {
    dryRun: true,
    runId: 0,
    summary,
    onPlan: (l) => {
      plan = l;
    },
  });
  return {
    flow: flow.name,
    entity: flow.entity,
    sourceId: prepared.sourceId,
    canonical: prepared.canonical,
    mapped: prepared.mapped,
    fields,
    problems,
    plan,
  };
}
