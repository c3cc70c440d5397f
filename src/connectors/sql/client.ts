/**
 * What a SQL connection's streams and writers share: the dialect, a read-only session for reads and (only
 * when some entity is written) a writable one, the catalogue every name is checked against, the compiled
 * `fields` rules, and the translation of driver errors into SyncErrors with every secret taken out.
 */
import { type RawBuilder, sql } from "kysely";
import { SyncError } from "../../core/errors.ts";
import type { EntityName } from "../../core/model.ts";
import { maskUrl, redactString } from "../../core/redact.ts";
import { compileRows, type RowMapping, type Values } from "../rows.ts";
import { Catalogue, type Table } from "./catalogue.ts";
import {
  type DialectName,
  dialectOf,
  type EntityTables,
  type ReadSettings,
  type SqlConfig,
  type WriteStaging,
  type WriteTable,
  writes,
} from "./config.ts";
import type { Db, Dialect } from "./dialects/dialect.ts";
import { mysql } from "./dialects/mysql.ts";
import { postgres } from "./dialects/postgres.ts";
import { sqlite } from "./dialects/sqlite.ts";

const DIALECTS: Record<DialectName, Dialect> = { postgres, mysql, sqlite };

export interface ReadChildPlan {
  field: string;
  table: Table;
  parentKey: string;
  columns: string[];
  order: string[];
}

export interface ReadPlan {
  table: Table;
  /** Every column of the table, selected by name. */
  columns: string[];
  /** ORDER BY and keyset columns: the cursor, then the key columns it lacks. */
  order: string[];
  /** The row's id. */
  key: string[];
  where: [string, unknown][];
  children: ReadChildPlan[];
}

export interface WriteChildPlan {
  name: string;
  from: string;
  table: Table;
  parentKey: string;
  rows: RowMapping;
  columns: string[];
}

export type WritePlan =
  | {
      kind: "table";
      table: Table;
      key: string[];
      rows: RowMapping;
      columns: string[];
      children: WriteChildPlan[];
    }
  | { kind: "staging"; table: Table; rows: RowMapping | null };

export interface EntityContext {
  entity: EntityName;
  settings: EntityTables;
  /** Row → canonical; null: the row is the record. */
  fields: RowMapping | null;
}

export const STAGING_COLUMNS = ["entity", "record_key", "payload", "content_hash", "received_at"] as const;

export class SqlClient {
  readonly dialect: Dialect;
  calls = 0;
  /** Statements that changed data (inserts, updates, deletes). */
  writes = 0;
  readonly #secrets: string[];
  readonly #contexts = new Map<EntityName, EntityContext>();
  #lastStamp = 0;
  #reader: Db | null = null;
  #writer: Db | null = null;
  #catalogue: Promise<Catalogue> | null = null;
  readonly #plans = new Map<string, Promise<ReadPlan | WritePlan>>();

  constructor(
    readonly name: string,
    readonly config: SqlConfig,
  ) {
    this.dialect = DIALECTS[dialectOf(config.url) as DialectName];
    this.#secrets = passwordOf(config.url);
    for (const [entity, settings] of Object.entries(config.entities) as [EntityName, EntityTables][]) {
      this.#contexts.set(entity, {
        entity,
        settings,
        fields: settings.fields ? compileRows(settings.fields, `entities.${entity}.fields`) : null,
      });
    }
  }

  /** Where reads go: a session that refuses writes (SQLite: the file opened read only). */
  get reader(): Db {
    this.#reader ??= this.dialect.open(this.config.url, {
      readOnly: true,
      timeoutMs: this.config.timeoutMs,
      poolSize: this.config.poolSize,
    });
    return this.#reader;
  }

  /** Where writes go; opened only for a connection whose settings write some entity. */
  get writer(): Db {
    if (!writes(this.config)) {
      throw new SyncError(
        "config",
        `${this.name}: no entity is written (no write settings): the connection is read only`,
        {
          system: this.name,
        },
      );
    }
    this.#writer ??= this.dialect.open(this.config.url, {
      readOnly: false,
      timeoutMs: this.config.timeoutMs,
      poolSize: this.config.poolSize,
    });
    return this.#writer;
  }

  /**
   * Now, ISO 8601, later than every stamp this connection gave before (by a millisecond when the clock has not
   * moved): the staging table's latest row of a record is the one with the greatest received_at.
   */
  stamp(): string {
    this.#lastStamp = Math.max(Date.now(), this.#lastStamp + 1);
    return new Date(this.#lastStamp).toISOString();
  }

  entity(entity: EntityName): EntityContext {
    const ctx = this.#contexts.get(entity);
    if (!ctx) {
      throw new SyncError(
        "config",
        `${this.name}: no tables are configured for ${entity} (entities.${entity} in the connection's settings); configured: ${[...this.#contexts.keys()].join(", ")}`,
        { system: this.name },
      );
    }
    return ctx;
  }

  catalogue(): Promise<Catalogue> {
    this.#catalogue ??= this.query(async (db) => {
      const [rows, schema] = [await this.dialect.catalogue(db), await this.dialect.defaultSchema(db)];
      return new Catalogue(rows, schema);
    }).catch((e: unknown) => {
      this.#catalogue = null;
      throw e;
    });
    return this.#catalogue;
  }

  /** Runs one statement (or a few) on the read-only session, counted, its errors translated. */
  async query<T>(run: (db: Db) => Promise<T>, db: Db = this.reader): Promise<T> {
    this.calls++;
    try {
      return await run(db);
    } catch (err) {
      throw this.error(err);
    }
  }

  /** Statements on the read-only session inside a read-only transaction where the database has them. */
  async read<T>(run: (db: Db) => Promise<T>): Promise<T> {
    return this.query((db) =>
      this.dialect.readOnlyTransactions
        ? db
            .transaction()
            .setAccessMode("read only")
            .execute((trx) => run(trx))
        : run(db),
    );
  }

  /** A driver error as a SyncError: its kind from the dialect, its message without secrets. */
  error(err: unknown, what?: string): SyncError {
    if (err instanceof SyncError) return err;
    const known = this.dialect.classify(err);
    const raw =
      err instanceof Error ? err.message || String((err as { code?: unknown }).code ?? err) : String(err);
    const message = redactString(maskUrl(raw), this.#secrets);
    const kind = known?.kind ?? "retryable";
    const prefix = what ? `${this.name}: ${what}: ` : `${this.name}: `;
    return new SyncError(kind, `${prefix}${message}${known?.code ? ` (${known.code})` : ""}`, {
      system: this.name,
    });
  }

  /** The resolved read settings of an entity, names checked against the catalogue (once). */
  readPlan(entity: EntityName): Promise<ReadPlan> {
    const key = `read:${entity}`;
    let plan = this.#plans.get(key) as Promise<ReadPlan> | undefined;
    if (!plan) {
      plan = this.resolveRead(entity);
      plan.catch(() => this.#plans.delete(key));
      this.#plans.set(key, plan);
    }
    return plan;
  }

  writePlan(entity: EntityName): Promise<WritePlan> {
    const key = `write:${entity}`;
    let plan = this.#plans.get(key) as Promise<WritePlan> | undefined;
    if (!plan) {
      plan = this.resolveWrite(entity);
      plan.catch(() => this.#plans.delete(key));
      this.#plans.set(key, plan);
    }
    return plan;
  }

  /** Every configured name checked against the catalogue (check() runs it). */
  async validate(): Promise<void> {
    for (const [entity, ctx] of this.#contexts) {
      if (ctx.settings.read) await this.readPlan(entity);
      if (ctx.settings.write) await this.writePlan(entity);
    }
  }

  private async resolveRead(entity: EntityName): Promise<ReadPlan> {
    const settings = this.entity(entity).settings.read;
    if (!settings) {
      throw new SyncError(
        "config",
        `${this.name}: ${entity} is not read here; give entities.${entity}.read (table, cursor) to read it`,
        { system: this.name },
      );
    }
    return this.plan(entity, settings);
  }

  private async plan(entity: EntityName, s: ReadSettings): Promise<ReadPlan> {
    const cat = await this.catalogue();
    const at = (setting: string) => ({ system: this.name, setting: `entities.${entity}.read.${setting}` });
    const table = cat.table(s.table, at("table"));
    for (const c of s.cursor) cat.column(table, c, at("cursor"));
    const key = s.key ?? table.key;
    if (key.length === 0) {
      throw new SyncError(
        "config",
        `${this.name}: entities.${entity}.read.key: ${table.qualified} has no primary key (a view never has one): give key, the columns that identify a row`,
        { system: this.name, field: `entities.${entity}.read.key` },
      );
    }
    for (const c of key) cat.column(table, c, at("key"));
    const sqliteDb = this.dialect.name === "sqlite";
    const where = Object.entries(s.where ?? {}).map(([c, v]): [string, unknown] => [
      c,
      sqliteDb && typeof v === "boolean" ? Number(v) : v,
    ]);
    for (const [c] of where) cat.column(table, c, at("where"));
    const children: ReadChildPlan[] = [];
    for (const [field, child] of Object.entries(s.children ?? {})) {
      const cat2 = (setting: string) => at(`children.${field}.${setting}`);
      if (key.length !== 1) {
        throw new SyncError(
          "config",
          `${this.name}: entities.${entity}.read.children.${field}: child rows need a parent with a one-column key (${table.qualified}'s is ${key.join(", ")})`,
          { system: this.name },
        );
      }
      const ct = cat.table(child.table, cat2("table"));
      cat.column(ct, child.parentKey, cat2("parentKey"));
      const order = child.key ?? ct.key;
      for (const c of order) cat.column(ct, c, cat2("key"));
      children.push({
        field,
        table: ct,
        parentKey: child.parentKey,
        columns: ct.columns.map((c) => c.name),
        order: order.length > 0 ? order : ct.columns.map((c) => c.name),
      });
    }
    return {
      table,
      columns: table.columns.map((c) => c.name),
      order: [...s.cursor, ...key.filter((k) => !s.cursor.includes(k))],
      key,
      where,
      children,
    };
  }

  private async resolveWrite(entity: EntityName): Promise<WritePlan> {
    const settings = this.entity(entity).settings.write;
    if (!settings) {
      throw new SyncError(
        "config",
        `${this.name}: ${entity} is read only here; give entities.${entity}.write (table, key, fields, or staging) to write it`,
        { system: this.name },
      );
    }
    const cat = await this.catalogue();
    const at = (setting: string) => ({ system: this.name, setting: `entities.${entity}.write.${setting}` });
    if ("staging" in settings) {
      const s = settings as WriteStaging;
      const table = cat.table(s.staging, at("staging"));
      for (const c of STAGING_COLUMNS) cat.column(table, c, at("staging"));
      return {
        kind: "staging",
        table,
        rows: s.fields ? compileRows(s.fields, `entities.${entity}.write.fields`) : null,
      };
    }
    const s = settings as WriteTable;
    const table = cat.table(s.table, at("table"));
    const rows = compileRows(s.fields, `entities.${entity}.write.fields`);
    for (const c of rows.fields) cat.column(table, c, at(`fields.${c}`));
    for (const c of s.key) {
      cat.column(table, c, at("key"));
      if (!rows.fields.includes(c)) {
        throw new SyncError(
          "config",
          `${this.name}: entities.${entity}.write.key: ${JSON.stringify(c)} is not set by write.fields (give it a rule)`,
          { system: this.name, field: `entities.${entity}.write.key` },
        );
      }
    }
    const children: WriteChildPlan[] = [];
    for (const [name, child] of Object.entries(s.children ?? {})) {
      if (s.key.length !== 1) {
        throw new SyncError(
          "config",
          `${this.name}: entities.${entity}.write.children.${name}: child rows need a parent with a one-column key`,
          { system: this.name },
        );
      }
      const ct = cat.table(child.table, at(`children.${name}.table`));
      cat.column(ct, child.parentKey, at(`children.${name}.parentKey`));
      const crows = compileRows(child.fields, `entities.${entity}.write.children.${name}.fields`);
      for (const c of crows.fields) cat.column(ct, c, at(`children.${name}.fields.${c}`));
      children.push({
        name,
        from: child.from ?? name,
        table: ct,
        parentKey: child.parentKey,
        rows: crows,
        columns: crows.fields.filter((c) => c !== child.parentKey),
      });
    }
    return { kind: "table", table, key: s.key, rows, columns: rows.fields, children };
  }

  async close(): Promise<void> {
    const dbs = [this.#reader, this.#writer];
    this.#reader = null;
    this.#writer = null;
    this.#catalogue = null;
    this.#plans.clear();
    for (const db of dbs) await db?.destroy().catch(() => undefined);
  }
}

/** The password of a connection URL, so no error ever shows it. */
function passwordOf(url: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/@]*:([^/@]*)@/i.exec(url);
  if (!m?.[1]) return [];
  const raw = m[1];
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {}
  return [...new Set([raw, decoded])];
}

/** `(a, b)` of identifiers. */
export const ids = (columns: string[]): RawBuilder<unknown> =>
  sql`(${sql.join(columns.map((c) => sql.id(c)))})`;

/** A JSON-safe value of a row (bigint → string, bytes → base64, Date → ISO). */
export function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  return v;
}

/**
 * A row as the mapping sees it: JSON-safe values, and the columns the catalogue types as timestamps
 * (`stamps`) in ISO 8601 (UTC), so they map into canonical timestamps as they are.
 */
export function plainRow(row: Values, stamps?: ReadonlySet<string>): Values {
  const out: Values = {};
  for (const [k, v] of Object.entries(row)) out[k] = stamps?.has(k) ? (toIso(v) ?? plain(v)) : plain(v);
  return out;
}

/** The columns of a table whose type holds a point in time. */
export function stampColumns(table: Table): Set<string> {
  return new Set(table.columns.filter((c) => /timestamp|datetime/i.test(c.type)).map((c) => c.name));
}

const STAMP = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d)?)(\.\d+)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i;

/** A timestamp value (text as the database prints it, a Date, epoch seconds) as ISO 8601; null when it is none. */
export function toIso(v: unknown): string | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (typeof v === "number" && Number.isFinite(v)) return new Date(v < 1e11 ? v * 1000 : v).toISOString();
  if (typeof v !== "string") return null;
  const m = STAMP.exec(v.trim());
  if (!m) return null;
  const [, date, time = "00:00:00", frac = "", zone = "Z"] = m;
  // Timestamps without a zone are taken as UTC (the sessions run in UTC).
  const z =
    zone.toUpperCase() === "Z"
      ? "Z"
      : zone.length === 3
        ? `${zone}:00`
        : zone.replace(/^([+-]\d\d)(\d\d)$/, "$1:$2");
  const ms = Date.parse(`${date}T${time.length === 5 ? `${time}:00` : time}${frac.slice(0, 4)}${z}`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
