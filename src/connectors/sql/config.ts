/**
 * Connection settings for an ERP's own database: its URL (PostgreSQL, MySQL/MariaDB or SQLite) and per
 * canonical entity the table or view it is read from (with its cursor columns, a fixed filter and child
 * tables loaded into array fields) and where it is written (a table upserted by its key, with child tables
 * replaced, or a staging table the ERP picks rows up from). Rows become canonical records, and records rows,
 * through `fields` rules in the flow mapping's rule language.
 */
import { z } from "zod";
import { Mapping } from "../../core/mapping.ts";
import { entitySettings } from "../rows.ts";

/** A table or view, `name` or `schema.name` (MySQL/MariaDB: `database.name`). */
const TableName = z
  .string()
  .regex(/^[^.\s]+(\.[^.\s]+)?$/, { message: "must be a table or view name, optionally schema-qualified" });
const Column = z.string().min(1);
const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** Rows of a child table loaded into an array field of each row read (an order's lines, an item's variants). */
const ReadChild = z.strictObject({
  table: TableName,
  /** The child's column holding the parent's key. */
  parentKey: Column,
  /** Orders the child rows (default: the child table's primary key). */
  key: z
    .array(Column)
    .min(1)
    .or(Column.transform((c) => [c]))
    .optional(),
});

const ReadSettings = z.strictObject({
  table: TableName,
  /**
   * Keyset columns, in order: the first is the row's last change (a timestamp column such as updated_at),
   * the others make the order total (its id). The key columns are appended when missing.
   */
  cursor: z.array(Column).min(1),
  /** The row's id (default: the table's primary key; a view has none, so give it). */
  key: z.array(Column).min(1).optional(),
  /** A fixed filter: column equals value, each value a query parameter. */
  where: z.record(Column, Scalar).optional(),
  /** Array fields filled from child tables, by field name. */
  children: z.record(z.string().min(1), ReadChild).optional(),
});

/** Rows of a child table written with their parent, replaced as a whole when they change. */
const WriteChild = z.strictObject({
  table: TableName,
  /** The child's column holding the parent's key (set by the writer). */
  parentKey: Column,
  /** The canonical record's array the rows come from (default: the child's name). */
  from: z.string().min(1).optional(),
  /** Element of that array → child row columns, in the rule language. */
  fields: Mapping,
});

const WriteTable = z.strictObject({
  table: TableName,
  /** The columns identifying a row (a primary key or unique constraint on them makes the upsert possible). */
  key: z.array(Column).min(1),
  /** Canonical record → columns, in the rule language (`order_no: key`, `total: totals.grand`). */
  fields: Mapping,
  children: z.record(z.string().min(1), WriteChild).optional(),
});

const WriteStaging = z.strictObject({
  /** A table with the columns entity, record_key, payload, content_hash, received_at (docs/connectors/sql.md). */
  staging: TableName,
  /** Canonical record → the payload's fields; absent: the canonical record itself. */
  fields: Mapping.optional(),
});

export const EntityTables = z
  .strictObject({
    read: ReadSettings.optional(),
    /** Row (with its children) → canonical record. Absent: the row is taken as the canonical record. */
    fields: Mapping.optional(),
    write: z.union([WriteTable, WriteStaging]).optional(),
  })
  .superRefine((e, ctx) => {
    if (!e.read && !e.write) {
      ctx.addIssue({
        code: "custom",
        message: "give read (a table to read), write (where to write) or both",
      });
    }
  });
export type EntityTables = z.infer<typeof EntityTables>;
export type ReadSettings = z.infer<typeof ReadSettings>;
export type WriteTable = z.infer<typeof WriteTable>;
export type WriteStaging = z.infer<typeof WriteStaging>;

export const DIALECTS = ["postgres", "mysql", "sqlite"] as const;
export type DialectName = (typeof DIALECTS)[number];

/** The dialect a URL names, or null. */
export function dialectOf(url: string): DialectName | null {
  if (/^postgres(ql)?:\/\//i.test(url)) return "postgres";
  if (/^(mysql|mariadb):\/\//i.test(url)) return "mysql";
  if (/^sqlite:/i.test(url)) return "sqlite";
  return null;
}

export const SqlConfig = z
  .strictObject({
    /**
     * `postgres://user:${env:PW}@host:5432/db`, `mysql://…` or `mariadb://…`, `sqlite:/path/to/file.db`.
     * SQL Server is not supported.
     */
    url: z.string().refine((u) => dialectOf(u) !== null, {
      message:
        "must be a postgres://, postgresql://, mysql://, mariadb:// or sqlite: URL (SQL Server is not supported)",
    }),
    /** Rows per page at most (the flow's batch size is used when smaller). */
    pageSize: z.number().int().min(1).default(500),
    /** How long a query or a lock is waited for before it is a retryable error. */
    timeoutMs: z.number().int().positive().default(30_000),
    /** Connections kept open at most (PostgreSQL, MySQL/MariaDB). */
    poolSize: z.number().int().min(1).max(50).default(4),
    entities: entitySettings(
      EntityTables,
      "Per canonical entity (product, inventory, order, …): the tables it is read from and written to",
    ),
  })
  .superRefine((c, ctx) => {
    if (Object.keys(c.entities).length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["entities"],
        message: "configure the tables of one entity at least",
      });
    }
  });
export type SqlConfig = z.infer<typeof SqlConfig>;

/** Whether any entity is written: otherwise the connection never opens a writable session. */
export const writes = (config: SqlConfig): boolean =>
  Object.values(config.entities).some((e) => e?.write !== undefined);
