/**
 * What differs between the databases, each in its own module (postgres.ts, mysql.ts, sqlite.ts): opening a
 * connection (read only or not), the catalogue query, the upsert's syntax, timestamps as parameters, and
 * which driver errors mean "try again", "fix the settings" or "this row was refused". Queries themselves are
 * built with Kysely's `sql` tag: identifiers through `sql.id` (quoted by the dialect), values always as
 * parameters.
 */
import type { Kysely, RawBuilder } from "kysely";
import type { ErrorKind } from "../../../core/errors.ts";
import type { DialectName } from "../config.ts";

// biome-ignore lint/suspicious/noExplicitAny: tables are only known from the settings at run time
export type Db = Kysely<any>;

/** One column of the catalogue. */
export interface CatalogueColumn {
  schema: string;
  table: string;
  kind: "table" | "view";
  column: string;
  type: string;
  nullable: boolean;
  /** Position in the primary key (1-based), or null. */
  pk: number | null;
}

export interface OpenOptions {
  /** The session refuses every write (PostgreSQL/MariaDB: read-only session; SQLite: opened read only). */
  readOnly: boolean;
  timeoutMs: number;
  poolSize: number;
}

export interface Dialect {
  name: DialectName;
  open(url: string, opts: OpenOptions): Db;
  /** Every column of every table and view outside the system's own schemas. */
  catalogue(db: Db): Promise<CatalogueColumn[]>;
  /** The schema an unqualified table name is in. */
  defaultSchema(db: Db): Promise<string>;
  /** Reads run in read-only transactions (PostgreSQL, MariaDB; SQLite reads a read-only handle). */
  readOnlyTransactions: boolean;
  /** INSERT … or update the non-key columns when a row with these keys exists. */
  upsert(
    table: RawBuilder<unknown>,
    columns: string[],
    keys: string[],
    values: unknown[],
  ): RawBuilder<unknown>;
  /** A timestamp column compared with an ISO 8601 instant (the cursor's updatedAt). */
  atOrAfter(column: RawBuilder<unknown>, iso: string): RawBuilder<unknown>;
  /** What an error of the driver means (null: not a database error the dialect knows). */
  classify(err: unknown): { kind: ErrorKind; code: string } | null;
}

/** An error's code property (driver errors carry `code`, mysql2 also `errno`), as a string. */
export function codeOf(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown } | null;
  if (e && typeof e.code === "string") return e.code;
  if (e && typeof e.errno === "number") return String(e.errno);
  return "";
}

/** Network failures every driver reports with Node's codes. */
export const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
]);
