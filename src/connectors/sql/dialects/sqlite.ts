/**
 * SQLite through better-sqlite3: a file on this machine, `?` parameters, "quoted" identifiers,
 * `INSERT … ON CONFLICT (…) DO UPDATE`. A connection that only reads opens the file read only.
 */
import Database from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import type { CatalogueColumn, Db, Dialect } from "./dialect.ts";

/** The file of a sqlite: URL (`sqlite:/path/file.db`, `sqlite:///path/file.db`, `sqlite:relative.db`). */
export function sqlitePath(url: string): string {
  return decodeURIComponent(url.replace(/^sqlite:(\/\/(?=\/))?/i, ""));
}

export const sqlite: Dialect = {
  name: "sqlite",
  readOnlyTransactions: false,
  open(url, opts) {
    const path = sqlitePath(url);
    return new Kysely({
      dialect: new SqliteDialect({
        // Opened on first use, so a missing file is an error of check() or the first read, not of loading.
        database: async () =>
          new Database(path, { readonly: opts.readOnly, fileMustExist: true, timeout: opts.timeoutMs }),
      }),
    });
  },
  async catalogue(db: Db) {
    const { rows: tables } = await sql<{ name: string; type: string }>`
      select name, type from sqlite_schema where type in ('table', 'view') and name not like 'sqlite\\_%' escape '\\'
      order by name`.execute(db);
    const out: CatalogueColumn[] = [];
    for (const t of tables) {
      const { rows } = await sql<{ name: string; type: string; notnull: number; pk: number }>`
        select name, type, "notnull", pk from pragma_table_info(${t.name})`.execute(db);
      for (const c of rows) {
        out.push({
          schema: "main",
          table: t.name,
          kind: t.type === "view" ? "view" : "table",
          column: c.name,
          type: c.type || "unknown",
          nullable: c.notnull === 0 && c.pk === 0,
          pk: c.pk > 0 ? c.pk : null,
        });
      }
    }
    return out;
  },
  async defaultSchema() {
    return "main";
  },
  upsert(table, columns, keys, values) {
    const rest = columns.filter((c) => !keys.includes(c));
    const onConflict =
      rest.length === 0
        ? sql`do nothing`
        : sql`do update set ${sql.join(rest.map((c) => sql`${sql.id(c)} = excluded.${sql.id(c)}`))}`;
    return sql`insert into ${table} (${sql.join(columns.map((c) => sql.id(c)))}) values (${sql.join(values)})
      on conflict (${sql.join(keys.map((c) => sql.id(c)))}) ${onConflict}`;
  },
  atOrAfter(column, iso) {
    // Timestamps are text (or numbers) in SQLite: compared as instants, whatever their spelling.
    return sql`julianday(${column}) >= julianday(${iso})`;
  },
  classify(err) {
    const code = typeof (err as { code?: unknown })?.code === "string" ? (err as { code: string }).code : "";
    if (!code.startsWith("SQLITE_")) return null;
    if (/^SQLITE_(BUSY|LOCKED|IOERR|INTERRUPT)/.test(code)) return { kind: "retryable", code };
    if (/^SQLITE_(CANTOPEN|AUTH|NOTADB|READONLY|PERM|CORRUPT)/.test(code)) return { kind: "config", code };
    if (/^SQLITE_(MISMATCH|TOOBIG|RANGE)/.test(code)) return { kind: "data", code };
    return { kind: "permanent", code };
  },
};
