/**
 * The Store port on Kysely: the same queries run on SQLite and PostgreSQL. Over 400 lines because it is the
 * one class implementing the Store port's ~25 methods, each a few lines of query; the larger pieces live
 * beside it (commit-page.ts, rows.ts, jobs.ts, inbox/), and the runtime's concerns are handed out as ports
 * of their own (`jobs()`, `leases()`, `marks()`, `openInbox()`, `access()`).
 */
import { type Kysely, Migrator, sql } from "kysely";
import type { KeyState } from "../core/merge.ts";
import type { EntityName } from "../core/model.ts";
import type { AccessStore } from "../ports/access.ts";
import type { AlertStore } from "../ports/alerts.ts";
import type { Cursor } from "../ports/connector.ts";
import type { InboxOptions, WebhookInbox } from "../ports/inbox.ts";
import type { JobTable } from "../ports/jobs.ts";
import type { LeaseStore } from "../ports/leases.ts";
import type { MarkStore } from "../ports/marks.ts";
import type {
  FailedRecord,
  FailureStatus,
  Intent,
  Link,
  PageCommit,
  Run,
  RunStatus,
  Store,
  SyncEvent,
} from "../ports/store.ts";
import { SqlAccess } from "./access.ts";
import { SqlAlertStore } from "./alerts.ts";
import { commitPageIn, insertEvents } from "./commit-page.ts";
import { named, StoreError } from "./errors.ts";
import { SqlWebhookInbox } from "./inbox/inbox.ts";
import { SqlMarks } from "./inbox/marks.ts";
import { moveInboxToOwnFile } from "./inbox/own-file.ts";
import { JobStore } from "./jobs.ts";
import { migrationProvider } from "./migrations/index.ts";
import { type GateOptions, StoreGate } from "./resilience.ts";
import { executeRows } from "./row-statements.ts";
import {
  chunks,
  cursorFromRow,
  eventFromRow,
  eventToRow,
  failureFromRow,
  intentFromRow,
  linkFromRow,
  runFromRow,
  toJson,
} from "./rows.ts";
import type { Database, DialectName } from "./schema.ts";
import { Scrubber } from "./scrub.ts";

/** The subset of a pino logger the store uses. */
export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface KyselyStoreOptions {
  dialect: DialectName;
  /** PostgreSQL schema holding every table (null: the connection's default search_path). */
  schema: string | null;
  logger?: StoreLogger;
  /** Clock for stored timestamps; tests may freeze it. */
  now?: () => Date;
  /** Values never to store (the configuration's resolved secrets): redacted from what is written. */
  secrets?: readonly string[];
  /** The store URL as it may be shown (password masked), for errors and logs. */
  where?: string;
  /** How long a call retries a lost connection (the URL's retry_ms); 0: no retry. */
  retryMs?: number;
  /** The gate's clock and sleep; tests drive them. */
  gate?: Pick<GateOptions, "sleep" | "now" | "random">;
}

export class KyselyStore implements Store {
  readonly db: Kysely<Database>;
  /** Redacts what is written; the job runtime and the webhook inbox write through it too. */
  readonly scrub: Scrubber;
  /** Every call after migrate goes through it: retried after a lost connection (resilience.ts). */
  readonly gate: StoreGate;
  readonly #opts: KyselyStoreOptions;

  constructor(db: Kysely<Database>, opts: KyselyStoreOptions) {
    this.db = db;
    this.#opts = opts;
    this.scrub = new Scrubber(opts.secrets ?? []);
    this.gate = new StoreGate(db, {
      dialect: opts.dialect,
      where: opts.where ?? `${opts.dialect} store`,
      budgetMs: opts.retryMs ?? 0,
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...opts.gate,
    });
  }

  jobs(): JobTable {
    return new JobStore(this.db, this.scrub, this.gate);
  }

  leases(): LeaseStore {
    return new JobStore(this.db, this.scrub, this.gate);
  }

  marks(opts: { now?: () => Date } = {}): MarkStore {
    return new SqlMarks(this.db, opts.now ?? this.#opts.now);
  }

  alerts(): AlertStore {
    return new SqlAlertStore(this.db, this.scrub, this.gate);
  }

  openInbox(opts: InboxOptions = {}): WebhookInbox {
    return new SqlWebhookInbox(this.db, this.scrub, opts);
  }

  access(): AccessStore {
    return new SqlAccess(this.db, this.gate, this.scrub, this.#opts.now);
  }

  #now(): string {
    return (this.#opts.now?.() ?? new Date()).toISOString();
  }

  async reserveRateSlot(key: string, intervalMs: number): Promise<number> {
    if (!(intervalMs > 0))
      throw new RangeError(`rate slot ${key}: interval must be above 0 ms, got ${intervalMs}`);
    if (this.#opts.dialect === "postgres") {
      // The database's clock decides, so processes on hosts whose clocks differ share one timeline.
      const { rows } = await this.gate.repeatable(`reserveRateSlot ${key}`, () =>
        sql<{ wait_ms: number }>`
          with now as (select extract(epoch from clock_timestamp()) * 1000 as ms)
          insert into rate_governor (key, next_ms) select ${key}, now.ms + ${intervalMs} from now
          on conflict (key) do update
            set next_ms = greatest(rate_governor.next_ms, (select ms from now)) + ${intervalMs}
          returning next_ms - ${intervalMs} - (select ms from now) as wait_ms`.execute(this.db),
      );
      return Math.max(0, Number(rows[0]?.wait_ms ?? 0));
    }
    const now = Date.now();
    const { rows } = await sql<{ next_ms: number }>`
      insert into rate_governor (key, next_ms) values (${key}, ${now + intervalMs})
      on conflict (key) do update set next_ms = max(rate_governor.next_ms, ${now}) + ${intervalMs}
      returning next_ms`.execute(this.db);
    return Math.max(0, Number(rows[0]?.next_ms ?? now) - intervalMs - now);
  }

  async webhookAddresses(
    connection?: string,
  ): Promise<{ connection: string; address: string; registeredAt: string }[]> {
    let q = this.db.selectFrom("webhook_addresses").selectAll().orderBy("registered_at").orderBy("address");
    if (connection !== undefined) q = q.where("connection", "=", connection);
    const rows = await this.gate.repeatable("webhookAddresses: select webhook_addresses", () => q.execute());
    return rows.map((r) => ({ connection: r.connection, address: r.address, registeredAt: r.registered_at }));
  }

  async rememberWebhookAddress(connection: string, address: string): Promise<void> {
    const at = this.#now();
    await this.gate.transaction("rememberWebhookAddress: upsert webhook_addresses", (trx) =>
      trx
        .insertInto("webhook_addresses")
        .values({ connection, address, registered_at: at })
        .onConflict((oc) => oc.columns(["connection", "address"]).doUpdateSet({ registered_at: at }))
        .execute(),
    );
  }

  async forgetWebhookAddresses(connection: string, address?: string): Promise<number> {
    const res = await this.gate.transaction("forgetWebhookAddresses: delete webhook_addresses", (trx) => {
      let q = trx.deleteFrom("webhook_addresses").where("connection", "=", connection);
      if (address !== undefined) q = q.where("address", "=", address);
      return q.executeTakeFirst();
    });
    return Number(res.numDeletedRows);
  }

  async migrate(): Promise<void> {
    const { schema, dialect, logger } = this.#opts;
    if (schema !== null) {
      // "if not exists" is checked before the row is written: a process creating the same schema at that
      // moment (a web, a worker and a scheduler started together) makes this one fail with unique_violation
      // (or duplicate_schema) once it commits. The schema then exists, which is all this asks.
      await named(`migrate: create schema ${schema}`, () =>
        sql`create schema if not exists ${sql.id(schema)}`.execute(this.db).catch((e: unknown) => {
          const code = e !== null && typeof e === "object" && "code" in e ? e.code : undefined;
          if (code === "23505" || code === "42P06") return;
          throw e;
        }),
      );
    }
    const migrate = (db: Kysely<Database>) =>
      new Migrator({
        db,
        provider: migrationProvider(dialect),
        ...(schema === null ? {} : { migrationTableSchema: schema }),
      }).migrateToLatest();
    if (dialect === "sqlite") {
      await this.#migrateSqlite(migrate);
      return;
    }
    // Kysely reads the table list of every schema the role can use (has_schema_privilege per schema); a
    // schema another session drops meanwhile makes that read fail with invalid_schema_name, or with
    // undefined_table naming one of its tables. Nothing is applied by then, and migrations already applied
    // are recorded, so trying again is safe.
    const { error, results } = await retryWhileOtherSchemaDropped(() => migrate(this.db), schema, {
      onRetry: (attempt) =>
        logger?.warn({ attempt }, "store migration retried: another schema was dropped while listing tables"),
    });
    this.#reportMigrations(error, results);
  }

  /**
   * On SQLite, Kysely takes no lock for migrations (it assumes one process), so two commands started
   * together on a new store both found `0001` pending and the second failed with "table links already
   * exists". Every pending migration runs instead inside one `BEGIN IMMEDIATE` transaction: the second
   * process waits for the first's write lock, then reads the migrations as applied and has nothing to do.
   * All-or-nothing too: a migration that fails leaves the store as it was.
   */
  async #migrateSqlite(migrate: (db: Kysely<Database>) => ReturnType<Migrator["migrateToLatest"]>) {
    await this.db.connection().execute(async (conn) => {
      await immediate(conn);
      let result: Awaited<ReturnType<Migrator["migrateToLatest"]>> = {};
      try {
        result = await migrate(conn);
      } finally {
        await sql.raw(result.error === undefined && result.results ? "commit" : "rollback").execute(conn);
      }
      this.#reportMigrations(result.error, result.results);
      await named("migrate: move the webhook inbox to its own file", () =>
        moveInboxToOwnFile(conn, async (step) => {
          await immediate(conn);
          try {
            await step();
            await sql`commit`.execute(conn);
          } catch (e) {
            await sql`rollback`.execute(conn).catch(() => undefined);
            throw e;
          }
        }),
      );
    });
  }

  #reportMigrations(
    error: unknown,
    results: Awaited<ReturnType<Migrator["migrateToLatest"]>>["results"],
  ): void {
    const { logger } = this.#opts;
    for (const r of results ?? []) {
      if (r.status === "Success") logger?.info({ migration: r.migrationName }, "store migration applied");
      if (r.status === "Error") logger?.warn({ migration: r.migrationName }, "store migration failed");
    }
    if (error !== undefined) {
      const failed = results?.find((r) => r.status === "Error")?.migrationName;
      throw new StoreError(failed ? `migrate: ${failed}` : "migrate", error);
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async getLinks(entity: EntityName, system: string, keys: string[]): Promise<Map<string, Link>> {
    return this.linksBy("getLinks", entity, system, "key", keys);
  }

  async linksByExternalIds(
    entity: EntityName,
    system: string,
    externalIds: string[],
  ): Promise<Map<string, Link>> {
    return this.linksBy("linksByExternalIds", entity, system, "external_id", externalIds);
  }

  /** One system's links of an entity whose `column` is one of `values`, keyed by that column. */
  private async linksBy(
    operation: string,
    entity: EntityName,
    system: string,
    column: "key" | "external_id",
    values: string[],
  ): Promise<Map<string, Link>> {
    const out = new Map<string, Link>();
    for (const batch of chunks([...new Set(values)])) {
      const { rows } = await this.gate.repeatable(`${operation}: select links`, () =>
        executeRows(
          this.db,
          `select links by ${column}`,
          batch,
          (v) => [v],
          () =>
            this.db
              .selectFrom("links")
              .selectAll()
              .where("entity", "=", entity)
              .where("system", "=", system)
              .where(column, "in", batch),
          [entity, system],
        ),
      );
      for (const r of rows) out.set(r[column], linkFromRow(r));
    }
    return out;
  }

  async findLinkByExternalId(entity: EntityName, system: string, externalId: string): Promise<Link | null> {
    const row = await this.gate.repeatable("findLinkByExternalId: select links", () =>
      this.db
        .selectFrom("links")
        .selectAll()
        .where("system", "=", system)
        .where("entity", "=", entity)
        .where("external_id", "=", externalId)
        .executeTakeFirst(),
    );
    return row ? linkFromRow(row) : null;
  }

  async linksForKey(entity: EntityName, key: string): Promise<Link[]> {
    const rows = await this.gate.repeatable("linksForKey: select links", () =>
      this.db
        .selectFrom("links")
        .selectAll()
        .where("entity", "=", entity)
        .where("key", "=", key)
        .orderBy("system")
        .execute(),
    );
    return rows.map(linkFromRow);
  }

  async twoWayStates(flow: string, keys: string[]): Promise<Map<string, KeyState>> {
    const out = new Map<string, KeyState>();
    for (const batch of chunks([...new Set(keys)])) {
      const rows = await this.gate.repeatable("twoWayStates: select two_way_state", () =>
        this.db
          .selectFrom("two_way_state")
          .select(["key", "state"])
          .where("flow", "=", flow)
          .where("key", "in", batch)
          .execute(),
      );
      for (const r of rows) out.set(r.key, JSON.parse(r.state) as KeyState);
    }
    return out;
  }

  async twoWayStatePage(
    flow: string,
    afterKey: string | null,
    limit: number,
  ): Promise<{ key: string; state: KeyState }[]> {
    const rows = await this.gate.repeatable("twoWayStatePage: select two_way_state", () => {
      let q = this.db.selectFrom("two_way_state").select(["key", "state"]).where("flow", "=", flow);
      if (afterKey !== null) q = q.where("key", ">", afterKey);
      return q.orderBy("key").limit(limit).execute();
    });
    return rows.map((r) => ({ key: r.key, state: JSON.parse(r.state) as KeyState }));
  }

  async getCursor(flow: string): Promise<Cursor | null> {
    const row = await this.gate.repeatable("getCursor: select cursors", () =>
      this.db
        .selectFrom("cursors")
        .select(["updated_at_cursor", "id_cursor"])
        .where("flow", "=", flow)
        .executeTakeFirst(),
    );
    return row ? cursorFromRow(row) : null;
  }

  async resetCursor(flow: string): Promise<void> {
    await this.gate.repeatable("resetCursor: delete cursors", () =>
      this.db.deleteFrom("cursors").where("flow", "=", flow).execute(),
    );
  }

  async startRun(flow: string, mode: Run["mode"]): Promise<Run> {
    // A transaction, not a repeatable insert: a second run row must not appear when the first committed.
    const row = await this.gate.transaction("startRun: insert runs", (trx) =>
      trx
        .insertInto("runs")
        .values({ flow, mode, status: "running", started_at: this.#now(), finished_at: null, error: null })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return runFromRow(row);
  }

  async finishRun(runId: number, status: RunStatus, error: string | null = null): Promise<void> {
    const result = await this.gate.repeatable("finishRun: update runs", () =>
      this.db
        .updateTable("runs")
        .set({ status, error: this.scrub.text(error), finished_at: this.#now() })
        .where("id", "=", runId)
        .executeTakeFirst(),
    );
    if (result.numUpdatedRows === 0n) throw new Error(`finishRun: run ${runId} does not exist`);
  }

  async lastRuns(flow?: string, limit = 20): Promise<Run[]> {
    let q = this.db.selectFrom("runs").selectAll().orderBy("id", "desc").limit(limit);
    if (flow !== undefined) q = q.where("flow", "=", flow);
    const rows = await this.gate.repeatable("lastRuns: select runs", () => q.execute());
    return rows.map(runFromRow);
  }

  async interruptRuns(flow: string, reason: string, opts: { startedBefore?: string } = {}): Promise<Run[]> {
    let q = this.db
      .updateTable("runs")
      .set({ status: "interrupted", error: reason, finished_at: this.#now() })
      .where("flow", "=", flow)
      .where("status", "=", "running")
      .where("mode", "!=", "plan");
    if (opts.startedBefore !== undefined) q = q.where("started_at", "<", opts.startedBefore);
    const rows = await named("interruptRuns: update runs", () => q.returningAll().execute());
    return rows.map(runFromRow).sort((a, b) => a.id - b.id);
  }

  async recordIntents(intents: Omit<Intent, "id" | "createdAt">[]): Promise<Intent[]> {
    if (intents.length === 0) return [];
    const now = this.#now();
    return this.gate.transaction("recordIntents: insert intents", async (trx) => {
      const out: Intent[] = [];
      for (const batch of chunks(intents)) {
        const { rows } = await executeRows(
          trx,
          "insert intents",
          batch,
          (i) => [i.flow, i.entity, i.key, i.system, i.externalRef, now, null],
          () =>
            trx
              .insertInto("intents")
              .values(
                batch.map((i) => ({
                  flow: i.flow,
                  entity: i.entity,
                  key: i.key,
                  system: i.system,
                  external_ref: i.externalRef,
                  created_at: now,
                  completed_at: null,
                })),
              )
              .returningAll(),
        );
        // Ids are assigned in VALUES order on both databases; sorting undoes any reordering of RETURNING.
        out.push(...rows.map(intentFromRow).sort((a, b) => a.id - b.id));
      }
      return out;
    });
  }

  async pendingIntents(flow: string): Promise<Intent[]> {
    const rows = await this.gate.repeatable("pendingIntents: select intents", () =>
      this.db
        .selectFrom("intents")
        .selectAll()
        .where("flow", "=", flow)
        .where("completed_at", "is", null)
        .orderBy("id")
        .execute(),
    );
    return rows.map(intentFromRow);
  }

  async commitPage(page: PageCommit): Promise<void> {
    const now = this.#now();
    const clean = this.scrub.page(page);
    await this.gate.transaction(`commitPage (flow ${page.flow}, run ${page.runId})`, (trx) =>
      commitPageIn(trx, clean, now),
    );
  }

  async appendEvents(events: Omit<SyncEvent, "id" | "at">[]): Promise<void> {
    if (events.length === 0) return;
    const now = this.#now();
    const rows = events.map((e) => eventToRow(this.scrub.event(e), e.runId, e.flow, now));
    await this.gate.transaction("appendEvents", (trx) => insertEvents(trx, "appendEvents", rows));
  }

  async listFailures(
    filter: { flow?: string; status?: FailureStatus; errorKind?: string; limit?: number } = {},
  ): Promise<FailedRecord[]> {
    let q = this.db
      .selectFrom("failed_records")
      .selectAll()
      .orderBy("last_failed_at", "desc")
      .orderBy("id", "desc")
      .limit(filter.limit ?? 100);
    if (filter.flow !== undefined) q = q.where("flow", "=", filter.flow);
    if (filter.status !== undefined) q = q.where("status", "=", filter.status);
    if (filter.errorKind !== undefined) q = q.where("error_kind", "=", filter.errorKind);
    const rows = await this.gate.repeatable("listFailures: select failed_records", () => q.execute());
    return rows.map(failureFromRow);
  }

  async getFailure(id: number): Promise<FailedRecord | null> {
    const row = await this.gate.repeatable("getFailure: select failed_records", () =>
      this.db.selectFrom("failed_records").selectAll().where("id", "=", id).executeTakeFirst(),
    );
    return row ? failureFromRow(row) : null;
  }

  async updateFailure(
    id: number,
    patch: { status?: FailureStatus; reason?: string | null; mappedPayload?: unknown },
  ): Promise<void> {
    const set: { status?: FailureStatus; reason?: string | null; mapped_payload?: string | null } = {};
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.reason !== undefined) set.reason = this.scrub.text(patch.reason);
    if ("mappedPayload" in patch) set.mapped_payload = toJson(this.scrub.payload(patch.mappedPayload));
    if (Object.keys(set).length === 0) return;
    const result = await this.gate.repeatable("updateFailure: update failed_records", () =>
      this.db.updateTable("failed_records").set(set).where("id", "=", id).executeTakeFirst(),
    );
    if (result.numUpdatedRows === 0n) throw new Error(`updateFailure: failure ${id} does not exist`);
  }

  async trace(entity: EntityName, keyOrExternalId: string): Promise<SyncEvent[]> {
    const x = keyOrExternalId;
    const rows = await this.gate.repeatable("trace: select sync_events", () =>
      this.db
        .selectFrom("sync_events as e")
        .selectAll("e")
        .where("e.entity", "=", entity)
        .where((eb) =>
          eb.or([
            eb("e.key", "=", x),
            eb("e.external_id", "=", x),
            // Asked by an external id: every event of the record that id is linked to.
            eb(
              "e.key",
              "in",
              eb
                .selectFrom("links")
                .select("links.key")
                .where("links.entity", "=", entity)
                .where("links.external_id", "=", x),
            ),
            // Asked by key: events that only knew the record's id in one system (e.g. a webhook).
            eb.exists(
              eb
                .selectFrom("links as l")
                .select("l.key")
                .where("l.entity", "=", entity)
                .where("l.key", "=", x)
                .whereRef("l.system", "=", "e.system")
                .whereRef("l.external_id", "=", "e.external_id"),
            ),
          ]),
        )
        .orderBy("e.at")
        .orderBy("e.id")
        .execute(),
    );
    return rows.map(eventFromRow);
  }
}

/**
 * PostgreSQL's invalid_schema_name about a schema other than the store's own (null: the default one), or
 * its undefined_table about a table of another schema (`relation "other.kysely_migration" does not exist`:
 * the schema was dropped between the listing of its tables and the reading of their columns).
 */
export function otherSchemaDropped(error: unknown, own: string | null): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof message !== "string") return false;
  if (code === "3F000") return own === null || !message.includes(`"${own}"`);
  if (code !== "42P01") return false;
  const schema = /^relation "([^".]+)\.[^"]+" does not exist/.exec(message)?.[1];
  return schema !== undefined && schema !== (own ?? "public");
}

/** Tries of a migration whose table listing another session's dropped schema broke (retryWhileOtherSchemaDropped). */
export const MIGRATE_TRIES = 10;

/**
 * `migrate` again while it fails because another session dropped its schema under Kysely's table listing
 * (otherSchemaDropped), up to MIGRATE_TRIES tries, waiting 50 ms before the second and twice as long before
 * each next one, at most 1 s (about 5.5 s in all): one session dropping its schemas one by one (a test
 * suite's clean-up, a tenant removed) can break several listings in a row, as five tries without a pause
 * were seen to be.
 */
export async function retryWhileOtherSchemaDropped<R extends { error?: unknown }>(
  migrate: () => Promise<R>,
  own: string | null,
  opts: { onRetry?: (attempt: number) => void; sleep?: (ms: number) => Promise<void> } = {},
): Promise<R> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let result = await migrate();
  for (let attempt = 1; attempt < MIGRATE_TRIES && otherSchemaDropped(result.error, own); attempt++) {
    opts.onRetry?.(attempt);
    await sleep(Math.min(1_000, 50 * 2 ** (attempt - 1)));
    result = await migrate();
  }
  return result;
}

/** BEGIN IMMEDIATE on a SQLite connection, waiting out another process's migration (up to two minutes). */
async function immediate(conn: Kysely<Database>): Promise<void> {
  for (let waited = 0; ; waited += 5_000) {
    try {
      await sql`begin immediate`.execute(conn);
      return;
    } catch (e) {
      // busy_timeout (5 s) passed while another process migrates: wait on.
      if (!String((e as Error)?.message).includes("database is locked") || waited >= 120_000) {
        throw new StoreError("migrate: waiting for another process's migration", e);
      }
    }
  }
}
