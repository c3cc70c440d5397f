/**
 * Writing an entity: into a table, one transaction per record — the row upserted by its key columns
 * (`ON CONFLICT … DO UPDATE`, `ON DUPLICATE KEY UPDATE`) and its child rows replaced — or as a row of a
 * staging table (entity, record_key, payload, content_hash, received_at) the ERP picks up. A record whose
 * row (and children) the database already holds as they would be written is not written again, so a
 * second run writes nothing. A record the database refuses (a NOT NULL or CHECK constraint) fails alone with
 * the database's message; a record's id here is its key columns' values.
 */
import { createHash } from "node:crypto";
import { type RawBuilder, sql } from "kysely";
import { SyncError } from "../../core/errors.ts";
import type { CanonicalByEntity, EntityName } from "../../core/model.ts";
import type { PlannedPage, WriteItem, WriteResult, Writer } from "../../ports/connector.ts";
import { applyRows, type Values } from "../rows.ts";
import { perItem } from "../write-results.ts";
import type { Table } from "./catalogue.ts";
import { plainRow, type SqlClient, toIso, type WriteChildPlan, type WritePlan } from "./client.ts";
import type { Db } from "./dialects/dialect.ts";
import { idOf } from "./stream.ts";

type TablePlan = Extract<WritePlan, { kind: "table" }>;

/** A value as a query parameter: lists and objects as JSON text, booleans as 1/0 for SQLite. */
function param(v: unknown, sqlite: boolean): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === "boolean") return sqlite ? (v ? 1 : 0) : v;
  if (typeof v === "object" && !(v instanceof Date) && !Buffer.isBuffer(v)) return JSON.stringify(v);
  return v;
}

/** MySQL/MariaDB DATETIME and TIMESTAMP take 'YYYY-MM-DD HH:MM:SS.fff' (UTC, as the session is), not ISO 8601. */
function mysqlStamp(v: unknown): unknown {
  const iso = typeof v === "string" ? toIso(v) : null;
  return iso === null ? v : iso.replace("T", " ").replace("Z", "");
}

const NUMBER = /^-?\d+(\.\d+)?$/;

/** A value as compared with what the database holds ("12.50" = 12.5, true = 1, timestamps as instants). */
function comparable(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string") {
    if (NUMBER.test(v.trim())) return Number(v);
    if (/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/.test(v)) return toIso(v) ?? v;
    return v;
  }
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

const same = (a: Values, b: Values, columns: string[]) =>
  columns.every((c) => {
    let x = comparable(a[c]);
    let y = comparable(b[c]);
    // JSON columns come back parsed (MariaDB, PostgreSQL) or as text: compare them as text.
    if (typeof x === "string" && typeof y === "string" && x !== y) {
      try {
        x = JSON.stringify(JSON.parse(x));
        y = JSON.stringify(JSON.parse(y));
      } catch {}
    }
    return x === y;
  });

const signature = (row: Values, columns: string[]) => JSON.stringify(columns.map((c) => comparable(row[c])));

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export class SqlWriter<E extends EntityName> implements Writer<E> {
  constructor(
    readonly entity: E,
    private readonly client: SqlClient,
  ) {}

  private get sqlite() {
    return this.client.dialect.name === "sqlite";
  }

  /** A row's values for these columns of the table, as parameters. */
  private params(table: Table, columns: string[], row: Values): unknown[] {
    const mysql = this.client.dialect.name === "mysql";
    return columns.map((c) => {
      const v = param(row[c], this.sqlite);
      if (!mysql) return v;
      const type = table.columns.find((x) => x.name === c)?.type ?? "";
      return /^(datetime|timestamp)/i.test(type) ? mysqlStamp(v) : v;
    });
  }

  async upsert(items: WriteItem<E>[], _ctx: unknown): Promise<WriteResult[]> {
    const plan = await this.client.writePlan(this.entity);
    const results: WriteResult[] = [];
    for (const item of items) {
      results.push(
        await perItem(item.key, this.client.name, () =>
          plan.kind === "staging" ? this.stage(plan, item) : this.write(plan, item),
        ),
      );
    }
    return results;
  }

  /** The record's row and child rows, as the mapping makes them. */
  private async rowsOf(plan: TablePlan, record: CanonicalByEntity[E]) {
    const row = await applyRows(plan.rows, record as Values);
    const key = plan.key.map((k) => row[k]);
    const empty = plan.key.find((k) => row[k] === undefined || row[k] === null || row[k] === "");
    if (empty !== undefined) {
      throw new SyncError(
        "data",
        `${this.client.name}: key column ${empty} of ${plan.table.qualified} is empty`,
        {
          system: this.client.name,
          field: empty,
        },
      );
    }
    const children = new Map<WriteChildPlan, Values[]>();
    for (const child of plan.children) {
      const list = (record as Values)[child.from];
      if (list !== undefined && !Array.isArray(list)) {
        throw new SyncError("data", `${this.client.name}: ${child.from} is not a list`, {
          system: this.client.name,
          field: child.from,
        });
      }
      const rows: Values[] = [];
      for (const el of (list ?? []) as Values[]) {
        const r = await applyRows(child.rows, el);
        r[child.parentKey] = key[0];
        rows.push(r);
      }
      children.set(child, rows);
    }
    return { row, key, children };
  }

  private where(columns: string[], values: unknown[]): RawBuilder<unknown> {
    return sql.join(
      columns.map((c, i) => sql`${sql.id(c)} = ${values[i]}`),
      sql` and `,
    );
  }

  private async write(plan: TablePlan, item: WriteItem<E>): Promise<WriteResult> {
    const { row, key, children } = await this.rowsOf(plan, item.record);
    const targetId = idOf(key);
    const what = `${item.key} → ${plan.table.qualified} ${targetId}`;
    const action = await this.inTransaction(what, async (db, pending) => {
      const { rows: found } = await sql<Values>`select ${sql.join(plan.columns.map((c) => sql.id(c)))}
        from ${plan.table.ref} where ${this.where(plan.key, key)}`.execute(db);
      const existing = found[0] ? plainRow(found[0]) : null;
      let unchanged = existing !== null && same(existing, row, plan.columns);
      const held = new Map<WriteChildPlan, Values[]>();
      for (const child of plan.children) {
        const { rows } = await sql<Values>`select ${sql.join(child.columns.map((c) => sql.id(c)))}
          from ${child.table.ref} where ${sql.id(child.parentKey)} = ${key[0]}`.execute(db);
        held.set(
          child,
          rows.map((r) => plainRow(r)),
        );
        const want = (children.get(child) ?? []).map((r) => signature(r, child.columns)).sort();
        const have = rows.map((r) => signature(plainRow(r), child.columns)).sort();
        if (JSON.stringify(want) !== JSON.stringify(have)) unchanged = false;
      }
      if (unchanged) return "unchanged" as const;
      pending.n++;
      await this.client.dialect
        .upsert(plan.table.ref, plan.columns, plan.key, this.params(plan.table, plan.columns, row))
        .execute(db);
      for (const child of plan.children) {
        const rows = children.get(child) ?? [];
        if ((held.get(child)?.length ?? 0) > 0) {
          pending.n++;
          await sql`delete from ${child.table.ref} where ${sql.id(child.parentKey)} = ${key[0]}`.execute(db);
        }
        const cols = [child.parentKey, ...child.columns];
        for (const r of rows) {
          pending.n++;
          await sql`insert into ${child.table.ref} (${sql.join(cols.map((c) => sql.id(c)))})
            values (${sql.join(this.params(child.table, cols, r))})`.execute(db);
        }
      }
      return existing === null ? ("created" as const) : ("updated" as const);
    });
    return {
      key: item.key,
      ok: true,
      targetId,
      action,
      note: `${action === "unchanged" ? "already in" : "written to"} ${plan.table.qualified} ${targetId}`,
    };
  }

  private async stage(
    plan: Extract<WritePlan, { kind: "staging" }>,
    item: WriteItem<E>,
  ): Promise<WriteResult> {
    const payload = plan.rows ? await applyRows(plan.rows, item.record as Values) : (item.record as Values);
    const json = JSON.stringify(payload);
    const hash = sha256(`${this.entity}\n${json}`);
    const what = `${item.key} → ${plan.table.qualified}`;
    const action = await this.inTransaction(what, async (db, pending) => {
      const { rows } = await sql<{
        content_hash: string;
      }>`select ${sql.id("content_hash")} from ${plan.table.ref}
        where ${sql.id("entity")} = ${this.entity} and ${sql.id("record_key")} = ${item.key}
        order by ${sql.id("received_at")} desc limit 1`.execute(db);
      if (rows[0]?.content_hash === hash) return "unchanged" as const;
      pending.n++;
      await sql`insert into ${plan.table.ref} (${sql.join(
        ["entity", "record_key", "payload", "content_hash", "received_at"].map((c) => sql.id(c)),
      )}) values (${sql.join(
        this.params(plan.table, ["entity", "record_key", "payload", "content_hash", "received_at"], {
          entity: this.entity,
          record_key: item.key,
          payload: json,
          content_hash: hash,
          // From here, in milliseconds and strictly increasing: the database's current_timestamp has whole
          // seconds on SQLite and MariaDB, and a record changed twice within one must still tell its latest.
          received_at: this.client.stamp(),
        }),
      )})`.execute(db);
      return rows.length === 0 ? ("created" as const) : ("updated" as const);
    });
    return {
      key: item.key,
      ok: true,
      targetId: item.key,
      action,
      note: `${action === "unchanged" ? "already staged in" : "staged in"} ${plan.table.qualified}`,
    };
  }

  /** One record's statements in one transaction; a database error is the record's (or the batch's) error. */
  private async inTransaction<T>(
    what: string,
    run: (db: Db, pending: { n: number }) => Promise<T>,
  ): Promise<T> {
    const db = this.client.writer;
    this.client.calls++;
    // Statements that changed data, counted once their transaction commits.
    const pending = { n: 0 };
    try {
      const out = await db.transaction().execute((trx) => run(trx, pending));
      this.client.writes += pending.n;
      return out;
    } catch (err) {
      throw this.client.error(err, what);
    }
  }

  async findByExternalRef(externalRef: string, record: CanonicalByEntity[E]): Promise<string | null> {
    const plan = await this.client.writePlan(this.entity);
    if (plan.kind === "staging") {
      const { rows } = await this.client.query(
        (db) =>
          sql`select 1 as found from ${plan.table.ref}
          where ${sql.id("entity")} = ${this.entity} and ${sql.id("record_key")} = ${externalRef}`.execute(
            db,
          ),
        this.client.writer,
      );
      return rows.length > 0 ? externalRef : null;
    }
    const { key } = await this.rowsOf(plan, record);
    const { rows } = await this.client.query(
      (db) => sql`select 1 as found from ${plan.table.ref} where ${this.where(plan.key, key)}`.execute(db),
      this.client.writer,
    );
    return rows.length > 0 ? idOf(key) : null;
  }

  estimateCalls(page: PlannedPage<E>): number {
    // One transaction per record, and a look per interrupted create.
    return page.create.length + page.update.length + page.lookups.length;
  }
}
