/**
 * One page of a sync, committed in one transaction: either every link, the cursor, the lineage and the
 * failures of the page are stored, or none are. Work is done in multi-row statements (no per-record
 * round trips), except updates of repeated failures, which are rare.
 */
import { type Kysely, sql, type Transaction } from "kysely";
import type { Link, NewFailure, PageCommit, RunCounts } from "../ports/store.ts";
import { named } from "./errors.ts";
import { executeRows } from "./row-statements.ts";
import { chunks, eventToRow, toJson } from "./rows.ts";
import type { Database, NewSyncEventRow } from "./schema.ts";

const COUNTERS = ["read", "created", "updated", "skipped", "failed", "calls"] as const;
const LIVE = ["open", "retrying"] as const;

/**
 * `status in ('open', 'retrying')` with the values written into the SQL, not bound: SQLite looks a page's
 * keys up through the partial unique index failed_records_live_uq (flow, key, where status is one of those)
 * only when it can see that the query asks for those statuses, which it cannot through parameters. Bound,
 * it walked every open failure of every flow through the status index instead, in each page's commit
 * (about 9 ms at 26,000 open failures, while the commit held the write lock; 0.07 ms through the index).
 */
const LIVE_LITERALS = LIVE.map((s) => sql.lit(s));

/** The live (open or retrying) failures of `flow` among `keys`: their ids. */
export function liveFailuresQuery(db: Kysely<Database>, flow: string, keys: readonly string[]) {
  return db
    .selectFrom("failed_records")
    .select(["id", "key"])
    .where("flow", "=", flow)
    .where("key", "in", keys)
    .where("status", "in", LIVE_LITERALS);
}

/** Marks the live failures of `flow` among `keys` resolved, returning what the resolved events name. */
export function resolveFailuresQuery(db: Kysely<Database>, flow: string, keys: readonly string[]) {
  return db
    .updateTable("failed_records")
    .set({ status: "resolved" })
    .where("flow", "=", flow)
    .where("key", "in", keys)
    .where("status", "in", LIVE_LITERALS)
    .returning(["id", "entity", "key", "source_system", "source_id", "attempts"]);
}

type Trx = Transaction<Database>;

export async function commitPageIn(trx: Trx, page: PageCommit, now: string): Promise<void> {
  // The run update goes first because it always writes: a SQLite transaction that starts by writing
  // takes the write lock at once (waiting busy_timeout), instead of failing later on a lock upgrade.
  await bumpCounts(trx, page.runId, page.counts);
  for (const r of page.rekeys ?? []) {
    await named("commitPage: rekey links", () =>
      trx
        .updateTable("links")
        .set({ key: r.to, updated_at: now })
        .where("entity", "=", r.entity)
        .where("key", "=", r.from)
        .execute(),
    );
  }
  for (const u of page.unlinks ?? []) {
    await named("commitPage: drop links", () =>
      trx
        .deleteFrom("links")
        .where("entity", "=", u.entity)
        .where("system", "=", u.system)
        .where("key", "=", u.key)
        .execute(),
    );
  }
  await upsertLinks(trx, page.links, now);
  if (page.cursor) {
    const { updatedAt, id } = page.cursor;
    await named("commitPage: upsert cursors", () =>
      trx
        .insertInto("cursors")
        .values({ flow: page.flow, updated_at_cursor: updatedAt, id_cursor: id, committed_at: now })
        .onConflict((oc) =>
          oc.column("flow").doUpdateSet({ updated_at_cursor: updatedAt, id_cursor: id, committed_at: now }),
        )
        .execute(),
    );
  }
  for (const { name, cursor } of page.cursors ?? []) {
    const { updatedAt, id } = cursor;
    await named("commitPage: upsert cursors", () =>
      trx
        .insertInto("cursors")
        .values({ flow: name, updated_at_cursor: updatedAt, id_cursor: id, committed_at: now })
        .onConflict((oc) =>
          oc.column("flow").doUpdateSet({ updated_at_cursor: updatedAt, id_cursor: id, committed_at: now }),
        )
        .execute(),
    );
  }
  await upsertTwoWayStates(trx, page, now);
  const events: NewSyncEventRow[] = page.events.map((e) => eventToRow(e, page.runId, page.flow, now));
  // Resolve before recording new failures: a key that both succeeded and failed on one page stays visible.
  events.push(...(await resolve(trx, page.flow, page.runId, page.resolvedKeys, now)));
  await insertEvents(trx, "commitPage", events);
  await recordFailures(trx, page.failures, now);
  for (const ids of chunks(page.completedIntents)) {
    await named("commitPage: complete intents", () =>
      executeRows(
        trx,
        "complete intents",
        ids,
        (id) => [id],
        () =>
          trx
            .updateTable("intents")
            .set({ completed_at: now })
            .where("id", "in", ids)
            .where("completed_at", "is", null),
        [now],
      ),
    );
  }
}

async function upsertTwoWayStates(trx: Trx, page: PageCommit, now: string): Promise<void> {
  const unique = new Map((page.twoWayStates ?? []).map((s) => [s.key, s]));
  for (const batch of chunks([...unique.values()])) {
    await named("commitPage: upsert two_way_state", () =>
      trx
        .insertInto("two_way_state")
        .values(
          batch.map((s) => ({
            flow: page.flow,
            entity: s.entity,
            key: s.key,
            // The base is redacted like every payload the store keeps (Scrubber.page).
            state: toJson(s.state) as string,
            updated_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(["flow", "key"]).doUpdateSet((eb) => ({
            state: eb.ref("excluded.state"),
            updated_at: eb.ref("excluded.updated_at"),
          })),
        )
        .execute(),
    );
  }
}

async function bumpCounts(trx: Trx, runId: number, counts: Partial<RunCounts>): Promise<void> {
  for (const name of COUNTERS) {
    const n = counts[name];
    if (n !== undefined && !(Number.isInteger(n) && n >= 0)) {
      throw new Error(`commitPage: counts.${name} must be a non-negative integer, got ${String(n)}`);
    }
  }
  const result = await named("commitPage: update runs", () =>
    trx
      .updateTable("runs")
      .set((eb) => ({
        read: eb("read", "+", counts.read ?? 0),
        created: eb("created", "+", counts.created ?? 0),
        updated: eb("updated", "+", counts.updated ?? 0),
        skipped: eb("skipped", "+", counts.skipped ?? 0),
        failed: eb("failed", "+", counts.failed ?? 0),
        calls: eb("calls", "+", counts.calls ?? 0),
      }))
      .where("id", "=", runId)
      .executeTakeFirst(),
  );
  if (result.numUpdatedRows === 0n) {
    throw new Error(`commitPage: run ${runId} does not exist (start it with startRun first)`);
  }
}

async function upsertLinks(trx: Trx, links: PageCommit["links"], now: string): Promise<void> {
  // PostgreSQL refuses a statement that upserts the same row twice; the last link for a record wins.
  const unique = new Map<string, Omit<Link, "updatedAt">>();
  for (const l of links) unique.set(`${l.entity}\u0000${l.key}\u0000${l.system}`, l);
  for (const batch of chunks([...unique.values()])) {
    await named("commitPage: upsert links", () =>
      executeRows(
        trx,
        "upsert links",
        batch,
        (l) => [l.entity, l.key, l.system, l.externalId, l.lastHash ?? null, l.version ?? null, now],
        () =>
          trx
            .insertInto("links")
            .values(
              batch.map((l) => ({
                entity: l.entity,
                key: l.key,
                system: l.system,
                external_id: l.externalId,
                last_hash: l.lastHash ?? null,
                version: l.version ?? null,
                updated_at: now,
              })),
            )
            .onConflict((oc) =>
              oc.columns(["entity", "key", "system"]).doUpdateSet((eb) => ({
                external_id: eb.ref("excluded.external_id"),
                last_hash: eb.ref("excluded.last_hash"),
                version: eb.ref("excluded.version"),
                updated_at: eb.ref("excluded.updated_at"),
              })),
            ),
      ),
    );
  }
}

export async function insertEvents(trx: Trx, operation: string, events: NewSyncEventRow[]): Promise<void> {
  for (const batch of chunks(events)) {
    await named(`${operation}: insert sync_events`, () =>
      executeRows(
        trx,
        "insert sync_events",
        batch,
        (e) => [
          e.run_id ?? null,
          e.flow,
          e.entity,
          e.key,
          e.system,
          e.external_id ?? null,
          e.kind,
          e.message ?? null,
          e.detail ?? null,
          e.at,
        ],
        () =>
          trx.insertInto("sync_events").values(
            batch.map((e) => ({
              run_id: e.run_id ?? null,
              flow: e.flow,
              entity: e.entity,
              key: e.key,
              system: e.system,
              external_id: e.external_id ?? null,
              kind: e.kind,
              message: e.message ?? null,
              detail: e.detail ?? null,
              at: e.at,
            })),
          ),
      ),
    );
  }
}

async function resolve(
  trx: Trx,
  flow: string,
  runId: number,
  keys: string[],
  now: string,
): Promise<NewSyncEventRow[]> {
  const events: NewSyncEventRow[] = [];
  // Nearly every page resolves its keys while its flow has no live failure at all: one probe of the partial
  // index says so, instead of a look-up per key (and the statement built for every page's key list).
  if (keys.length === 0 || !(await hasLiveFailures(trx, flow))) return events;
  for (const batch of chunks([...new Set(keys)])) {
    const { rows } = await named("commitPage: resolve failed_records", () =>
      executeRows(
        trx,
        "resolve failed_records",
        batch,
        (k) => [k],
        () => resolveFailuresQuery(trx, flow, batch),
        ["resolved", flow],
      ),
    );
    for (const r of rows) {
      events.push({
        run_id: runId,
        flow,
        entity: r.entity,
        key: r.key,
        system: r.source_system,
        external_id: r.source_id,
        kind: "resolved",
        message: `failure #${r.id} resolved after ${r.attempts} attempt(s)`,
        detail: toJson({ failureId: Number(r.id), attempts: r.attempts }),
        at: now,
      });
    }
  }
  return events;
}

/** Whether `flow` has any live (open or retrying) failure, through failed_records_live_uq's partial index. */
async function hasLiveFailures(trx: Trx, flow: string): Promise<boolean> {
  const row = await named("commitPage: find live failed_records", () =>
    trx
      .selectFrom("failed_records")
      .select("id")
      .where("flow", "=", flow)
      .where("status", "in", LIVE_LITERALS)
      .limit(1)
      .executeTakeFirst(),
  );
  return row !== undefined;
}

async function recordFailures(trx: Trx, failures: NewFailure[], now: string): Promise<void> {
  if (failures.length === 0) return;
  const flows = new Map<string, Map<string, { last: NewFailure; count: number }>>();
  for (const f of failures) {
    const byKey = flows.get(f.flow) ?? new Map<string, { last: NewFailure; count: number }>();
    flows.set(f.flow, byKey);
    const seen = byKey.get(f.key);
    byKey.set(f.key, { last: f, count: (seen?.count ?? 0) + 1 });
  }
  for (const [flow, byKey] of flows) {
    const live = new Map<string, number>();
    for (const keys of chunks([...byKey.keys()])) {
      const rows = await named("commitPage: find live failed_records", () =>
        liveFailuresQuery(trx, flow, keys).execute(),
      );
      for (const r of rows) live.set(r.key, Number(r.id));
    }
    const fresh: NewFailure[] = [];
    for (const [key, { last, count }] of byKey) {
      const id = live.get(key);
      if (id === undefined) {
        fresh.push(last);
        continue;
      }
      // A failed retry reopens the failure: "retrying" only lasts while a retry is in flight.
      await named("commitPage: update failed_records", () =>
        trx
          .updateTable("failed_records")
          .set((eb) => ({
            attempts: eb("attempts", "+", count),
            status: "open",
            entity: last.entity,
            source_system: last.sourceSystem,
            source_id: last.sourceId,
            source_payload: toJson(last.sourcePayload),
            mapped_payload: toJson(last.mappedPayload),
            error_kind: last.errorKind,
            error_message: last.errorMessage,
            error_detail: toJson(last.errorDetail),
            last_failed_at: now,
          }))
          .where("id", "=", id)
          .execute(),
      );
    }
    for (const batch of chunks(fresh)) {
      await named("commitPage: insert failed_records", () =>
        trx
          .insertInto("failed_records")
          .values(
            batch.map((f) => ({
              flow: f.flow,
              entity: f.entity,
              key: f.key,
              source_system: f.sourceSystem,
              source_id: f.sourceId,
              source_payload: toJson(f.sourcePayload),
              mapped_payload: toJson(f.mappedPayload),
              error_kind: f.errorKind,
              error_message: f.errorMessage,
              error_detail: toJson(f.errorDetail),
              attempts: byKey.get(f.key)?.count ?? 1,
              status: "open" as const,
              reason: null,
              first_failed_at: now,
              last_failed_at: now,
            })),
          )
          .execute(),
      );
    }
  }
}
