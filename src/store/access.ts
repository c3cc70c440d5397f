/**
 * The management API's part of the store (ports/access.ts): tokens by hash, the audit log, API calls per
 * day, connection and flow, and the run history paged. Same queries on SQLite and PostgreSQL.
 */
import { type Kysely, type Selectable, sql } from "kysely";
import type { AccessStore, ApiToken, AuditEntry, CallCount, Role } from "../ports/access.ts";
import type { Run, SyncEvent } from "../ports/store.ts";
import type { StoreGate } from "./resilience.ts";
import { eventFromRow, runFromRow } from "./rows.ts";
import type { AuditLogTable, Database } from "./schema.ts";
import type { Scrubber } from "./scrub.ts";

type TokenRow = {
  id: number;
  name: string;
  role: Role;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
};

function tokenFromRow(r: TokenRow): ApiToken {
  return {
    id: Number(r.id),
    name: r.name,
    role: r.role,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

const TOKEN_COLUMNS = ["id", "name", "role", "created_at", "last_used_at", "revoked_at"] as const;

export class SqlAccess implements AccessStore {
  readonly #db: Kysely<Database>;
  readonly #gate: StoreGate;
  readonly #scrub: Scrubber;
  readonly #now: () => Date;

  constructor(db: Kysely<Database>, gate: StoreGate, scrub: Scrubber, now?: () => Date) {
    this.#db = db;
    this.#gate = gate;
    this.#scrub = scrub;
    this.#now = now ?? (() => new Date());
  }

  async createToken(t: { name: string; role: Role; hash: string }): Promise<ApiToken> {
    const row = await this.#gate.transaction("createToken: insert api_tokens", (trx) =>
      trx
        .insertInto("api_tokens")
        .values({
          name: t.name,
          role: t.role,
          token_hash: t.hash,
          created_at: this.#now().toISOString(),
          last_used_at: null,
          revoked_at: null,
        })
        .returning(TOKEN_COLUMNS)
        .executeTakeFirstOrThrow(),
    );
    return tokenFromRow(row);
  }

  async tokenByHash(hash: string): Promise<ApiToken | null> {
    const row = await this.#gate.repeatable("tokenByHash: select api_tokens", () =>
      this.#db
        .selectFrom("api_tokens")
        .select(TOKEN_COLUMNS)
        .where("token_hash", "=", hash)
        .where("revoked_at", "is", null)
        .executeTakeFirst(),
    );
    return row ? tokenFromRow(row) : null;
  }

  async listTokens(): Promise<ApiToken[]> {
    const rows = await this.#gate.repeatable("listTokens: select api_tokens", () =>
      this.#db.selectFrom("api_tokens").select(TOKEN_COLUMNS).orderBy("id").execute(),
    );
    return rows.map(tokenFromRow);
  }

  async revokeToken(idOrName: string): Promise<ApiToken[]> {
    const id = /^\d+$/.test(idOrName) ? Number(idOrName) : null;
    const rows = await this.#gate.repeatable("revokeToken: update api_tokens", () =>
      this.#db
        .updateTable("api_tokens")
        .set({ revoked_at: this.#now().toISOString() })
        .where((eb) => (id === null ? eb("name", "=", idOrName) : eb("id", "=", id)))
        .where("revoked_at", "is", null)
        .returning(TOKEN_COLUMNS)
        .execute(),
    );
    return rows.map(tokenFromRow);
  }

  async touchToken(id: number): Promise<void> {
    await this.#gate.repeatable("touchToken: update api_tokens", () =>
      this.#db
        .updateTable("api_tokens")
        .set({ last_used_at: this.#now().toISOString() })
        .where("id", "=", id)
        .execute(),
    );
  }

  async audit(entry: Omit<AuditEntry, "id" | "at">): Promise<AuditEntry> {
    const row = await this.#gate.transaction("audit: insert audit_log", (trx) =>
      trx
        .insertInto("audit_log")
        .values({
          at: this.#now().toISOString(),
          token_id: entry.tokenId,
          actor: entry.actor,
          role: entry.role,
          action: entry.action,
          target: this.#scrub.text(entry.target) ?? "",
          outcome: this.#scrub.text(entry.outcome) ?? "",
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return auditFromRow(row);
  }

  async listAudit(opts: { limit: number; before?: number }): Promise<AuditEntry[]> {
    let q = this.#db.selectFrom("audit_log").selectAll().orderBy("id", "desc").limit(opts.limit);
    if (opts.before !== undefined) q = q.where("id", "<", opts.before);
    const rows = await this.#gate.repeatable("listAudit: select audit_log", () => q.execute());
    return rows.map(auditFromRow);
  }

  async addCalls(counts: Omit<CallCount, "day">[], day: string): Promise<void> {
    const rows = counts.filter((c) => c.calls > 0).map((c) => ({ ...c, day }));
    if (rows.length === 0) return;
    await this.#gate.transaction("addCalls: upsert api_calls", (trx) =>
      trx
        .insertInto("api_calls")
        .values(rows)
        .onConflict((oc) =>
          oc.columns(["day", "connection", "flow"]).doUpdateSet({
            calls: sql<number>`${sql.ref("api_calls.calls")} + ${sql.ref("excluded.calls")}`,
          }),
        )
        .execute(),
    );
  }

  async calls(opts: { sinceDay: string; connection?: string }): Promise<CallCount[]> {
    let q = this.#db
      .selectFrom("api_calls")
      .selectAll()
      .where("day", ">=", opts.sinceDay)
      .orderBy("day", "desc")
      .orderBy("connection")
      .orderBy("flow");
    if (opts.connection !== undefined) q = q.where("connection", "=", opts.connection);
    const rows = await this.#gate.repeatable("calls: select api_calls", () => q.execute());
    return rows.map((r) => ({ day: r.day, connection: r.connection, flow: r.flow, calls: Number(r.calls) }));
  }

  async listRuns(opts: { flow?: string; limit: number; before?: number }): Promise<Run[]> {
    let q = this.#db.selectFrom("runs").selectAll().orderBy("id", "desc").limit(opts.limit);
    if (opts.flow !== undefined) q = q.where("flow", "=", opts.flow);
    if (opts.before !== undefined) q = q.where("id", "<", opts.before);
    const rows = await this.#gate.repeatable("listRuns: select runs", () => q.execute());
    return rows.map(runFromRow);
  }

  async getRun(id: number): Promise<Run | null> {
    const row = await this.#gate.repeatable("getRun: select runs", () =>
      this.#db.selectFrom("runs").selectAll().where("id", "=", id).executeTakeFirst(),
    );
    return row ? runFromRow(row) : null;
  }

  async keysNumbered(entity: string, numberOrName: string): Promise<string[]> {
    const pattern = `%:${numberOrName.replace(/[!%_]/g, (c) => `!${c}`)}`;
    const rows = await this.#gate.repeatable("keysNumbered: select links", () =>
      this.#db
        .selectFrom("links")
        .select("key")
        .distinct()
        .where("entity", "=", entity as never)
        .where(sql<boolean>`${sql.ref("key")} like ${pattern} escape '!'`)
        .orderBy("key")
        .limit(20)
        .execute(),
    );
    return rows.map((r) => r.key);
  }

  async queueDepth(): Promise<Map<string, number>> {
    const rows = await this.#gate.repeatable("queueDepth: count jobs", () =>
      this.#db
        .selectFrom("jobs")
        .select(["queue", (eb) => eb.fn.countAll<number | string | bigint>().as("n")])
        .where("status", "=", "queued")
        .groupBy("queue")
        .execute(),
    );
    return new Map(rows.map((r) => [r.queue, Number(r.n)]));
  }

  async lagBasis(flow: string): Promise<{ caughtUpAt: string | null; firstStartedAt: string | null }> {
    const caughtUp = await this.#gate.repeatable("lagBasis: last caught-up run", () =>
      this.#db
        .selectFrom("runs")
        .select("started_at")
        .where("flow", "=", flow)
        .where("mode", "=", "sync")
        .where("status", "in", ["succeeded", "partial"])
        .where("error", "is", null)
        .orderBy("id", "desc")
        .limit(1)
        .executeTakeFirst(),
    );
    const first = await this.#gate.repeatable("lagBasis: first run", () =>
      this.#db
        .selectFrom("runs")
        .select("started_at")
        .where("flow", "=", flow)
        .where("mode", "=", "sync")
        .orderBy("id", "asc")
        .limit(1)
        .executeTakeFirst(),
    );
    return { caughtUpAt: caughtUp?.started_at ?? null, firstStartedAt: first?.started_at ?? null };
  }

  async oldestPendingEvent(groups: { connection: string; entity: string }[]): Promise<string | null> {
    if (groups.length === 0) return null;
    const row = await this.#gate.repeatable("oldestPendingEvent: select webhook_inbox", () =>
      this.#db
        .selectFrom("webhook_inbox")
        .select((eb) => eb.fn.min("received_at").as("at"))
        .where("status", "=", "pending")
        .where((eb) =>
          eb.or(
            groups.map((g) =>
              eb.and([eb("connection", "=", g.connection), eb("entity", "=", g.entity as never)]),
            ),
          ),
        )
        .executeTakeFirst(),
    );
    return (row?.at as string | null | undefined) ?? null;
  }

  async runEvents(runId: number, limit: number): Promise<SyncEvent[]> {
    const rows = await this.#gate.repeatable("runEvents: select sync_events", () =>
      this.#db
        .selectFrom("sync_events")
        .selectAll()
        .where("run_id", "=", runId)
        .orderBy("id")
        .limit(limit)
        .execute(),
    );
    return rows.map(eventFromRow);
  }
}

function auditFromRow(r: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: Number(r.id),
    at: r.at,
    tokenId: r.token_id === null ? null : Number(r.token_id),
    actor: r.actor,
    role: r.role as Role | null,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
  };
}
