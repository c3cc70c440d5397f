/**
 * Reading an entity's table or view with keyset paging: `WHERE (cursor…, key…) > (last row's values) ORDER BY
 * cursor…, key… LIMIT n`, the first cursor column (its last change) at or after the engine's cursor, every
 * value a parameter, inside a read-only transaction. Child rows (an item's variants) come in one query per
 * page and fill an array field of their parent row. A row's id is its key; its updatedAt, the first cursor
 * column.
 */
import { sql } from "kysely";
import { SyncError } from "../../core/errors.ts";
import type { EntityName } from "../../core/model.ts";
import type { ListRequest, Stream } from "../../ports/connector.ts";
import { applyRows, naturalKey, type Values } from "../rows.ts";
import { ids, plainRow, type ReadPlan, type SqlClient, stampColumns, toIso } from "./client.ts";
import type { Db } from "./dialects/dialect.ts";

/** One row read, with its child rows. */
export interface SqlRow {
  id: string;
  updatedAt: string;
  /** The ORDER BY columns' values as the database returned them (the next page starts after them). */
  position: unknown[];
  row: Values;
}

/** A row's id: its key column's value, or the JSON list of its key columns' values. */
export const idOf = (values: unknown[]): string =>
  values.length === 1
    ? String(values[0])
    : JSON.stringify(values.map((v) => (v === null ? null : String(v))));

function keyValues(id: string, size: number): unknown[] | null {
  if (size === 1) return [id];
  try {
    const v = JSON.parse(id) as unknown;
    return Array.isArray(v) && v.length === size ? v : null;
  } catch {
    return null;
  }
}

export class SqlStream<E extends EntityName> implements Stream<E, SqlRow> {
  readonly sorted = true;

  constructor(
    readonly entity: E,
    private readonly client: SqlClient,
  ) {}

  async *list(req: ListRequest): AsyncGenerator<SqlRow[]> {
    const plan = await this.client.readPlan(this.entity);
    const size = Math.max(1, Math.min(req.pageSize, this.client.config.pageSize));
    let after: unknown[] | null = null;
    for (;;) {
      req.signal?.throwIfAborted();
      const conditions = plan.where.map(([c, v]) => sql`${sql.id(c)} = ${v}`);
      if (req.since)
        conditions.push(this.client.dialect.atOrAfter(sql.id(plan.order[0] as string), req.since.updatedAt));
      if (after) conditions.push(sql`${ids(plan.order)} > (${sql.join(after)})`);
      const page = await this.client.read((db) =>
        this.rows(
          db,
          plan,
          conditions,
          sql`order by ${sql.join(plan.order.map((c) => sql.id(c)))} limit ${size}`,
        ),
      );
      if (page.length > 0) yield page;
      if (page.length < size) return;
      after = (page[page.length - 1] as SqlRow).position;
    }
  }

  private async rows(
    db: Db,
    plan: ReadPlan,
    conditions: ReturnType<typeof sql>[],
    tail: ReturnType<typeof sql>,
  ): Promise<SqlRow[]> {
    const where = conditions.length > 0 ? sql`where ${sql.join(conditions, sql` and `)}` : sql``;
    const { rows } =
      await sql<Values>`select ${sql.join(plan.columns.map((c) => sql.id(c)))} from ${plan.table.ref} ${where} ${tail}`.execute(
        db,
      );
    const stamps = stampColumns(plan.table);
    const out = rows.map((r) => this.toRow(plan, r, stamps));
    for (const child of plan.children) {
      const parents = [...new Set(rows.map((r) => r[plan.key[0] as string]))];
      const byParent = new Map<string, Values[]>();
      const stamps = stampColumns(child.table);
      for (const r of out) r.row[child.field] = [];
      if (parents.length === 0) continue;
      const { rows: kids } =
        await sql<Values>`select ${sql.join(child.columns.map((c) => sql.id(c)))} from ${child.table.ref}
        where ${sql.id(child.parentKey)} in (${sql.join(parents)})
        order by ${sql.join([child.parentKey, ...child.order].map((c) => sql.id(c)))}`.execute(db);
      for (const k of kids) {
        const p = String(k[child.parentKey]);
        const list = byParent.get(p) ?? [];
        list.push(plainRow(k, stamps));
        byParent.set(p, list);
      }
      for (const r of out) r.row[child.field] = byParent.get(String(r.row[plan.key[0] as string])) ?? [];
    }
    return out;
  }

  private toRow(plan: ReadPlan, r: Values, stamps: ReadonlySet<string>): SqlRow {
    const id = idOf(plan.key.map((k) => r[k]));
    const stamp = r[plan.order[0] as string];
    const updatedAt = toIso(stamp);
    if (updatedAt === null) {
      throw new SyncError(
        "config",
        `${this.client.name}: entities.${this.entity}.read.cursor: ${plan.table.qualified} row ${id} has ${JSON.stringify(stamp)} in ${plan.order[0]}, which is not a timestamp (the first cursor column must be the row's last change)`,
        { system: this.client.name },
      );
    }
    return { id, updatedAt, position: plan.order.map((c) => r[c]), row: plainRow(r, stamps) };
  }

  async get(id: string): Promise<SqlRow | null> {
    const plan = await this.client.readPlan(this.entity);
    const values = keyValues(id, plan.key.length);
    if (!values) return null;
    const conditions = [
      ...plan.key.map((k, i) => sql`${sql.id(k)} = ${values[i]}`),
      ...plan.where.map(([c, v]) => sql`${sql.id(c)} = ${v}`),
    ];
    try {
      const [row] = await this.client.read((db) => this.rows(db, plan, conditions, sql``));
      return row ?? null;
    } catch (e) {
      // An id that cannot even be a key value (text for a number column) is not there.
      if (e instanceof SyncError && e.kind === "data") return null;
      throw e;
    }
  }

  idOf(native: SqlRow): string {
    return native.id;
  }

  updatedAtOf(native: SqlRow): string {
    return native.updatedAt;
  }

  async toCanonical(native: SqlRow) {
    const ctx = this.client.entity(this.entity);
    let mapped: Values;
    try {
      mapped = ctx.fields ? await applyRows(ctx.fields, native.row) : structuredClone(native.row);
    } catch (e) {
      const field = e instanceof SyncError ? e.details.field : undefined;
      throw new SyncError("data", `row ${native.id}: ${e instanceof Error ? e.message : String(e)}`, {
        system: this.client.name,
        ...(field !== undefined ? { field } : {}),
      });
    }
    const canonical: Values = {
      ...mapped,
      key: naturalKey(this.entity, mapped),
      source: this.client.name,
      sourceId: native.id,
      updatedAt: mapped.updatedAt ?? native.updatedAt,
    };
    if (canonical.key === undefined) delete canonical.key;
    return canonical as never;
  }
}
