/**
 * MySQL and MariaDB through `mysql2`: `?` parameters, `backquoted` identifiers,
 * `INSERT … ON DUPLICATE KEY UPDATE`. A schema is a database.
 */
import { CompiledQuery, Kysely, MysqlDialect, sql } from "kysely";
import { type CatalogueColumn, codeOf, type Db, type Dialect, NETWORK } from "./dialect.ts";

/** mysql2's options from a mysql:// or mariadb:// URL (mysql2 reads mysql:// URLs itself). */
function poolOptions(url: string) {
  const u = new URL(url.replace(/^mariadb:/i, "mysql:"));
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.replace(/^\//, "") || undefined,
  };
}

const RETRY_ERRNO = new Set(["1205", "1213", "2002", "2003", "2006", "2013", "1040", "1053"]);
const CONFIG_ERRNO = new Set(["1044", "1045", "1049", "1142", "1227", "1698", "1792"]);
const DATA_ERRNO = new Set(["1264", "1265", "1292", "1366", "1406", "1367", "3140"]);

export const mysql: Dialect = {
  name: "mysql",
  readOnlyTransactions: true,
  open(url, opts) {
    const options = poolOptions(url);
    // mysql2 is loaded when a MySQL/MariaDB connection is first used, not by every CLI start (~15 MB RSS).
    const pool = async () =>
      (await import("mysql2")).createPool({
        ...options,
        connectionLimit: opts.poolSize,
        connectTimeout: opts.timeoutMs,
        // Timestamps as the server prints them (the session is in UTC): a cursor value goes back unchanged.
        dateStrings: true,
        supportBigNumbers: true,
        bigNumberStrings: true,
      });
    return new Kysely({
      dialect: new MysqlDialect({
        pool,
        async onCreateConnection(conn) {
          await conn.executeQuery(CompiledQuery.raw("SET time_zone = '+00:00'"));
          if (opts.readOnly) await conn.executeQuery(CompiledQuery.raw("SET SESSION TRANSACTION READ ONLY"));
        },
      }),
    });
  },
  async catalogue(db: Db) {
    const { rows } = await sql<Omit<CatalogueColumn, "nullable"> & { nullable: number | string }>`
      select c.table_schema as \`schema\`, c.table_name as \`table\`,
             case when t.table_type = 'VIEW' then 'view' else 'table' end as kind,
             c.column_name as \`column\`, c.column_type as type,
             c.is_nullable = 'YES' as nullable,
             k.ordinal_position as pk
        from information_schema.columns c
        join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
        left join information_schema.key_column_usage k
          on k.table_schema = c.table_schema and k.table_name = c.table_name
         and k.column_name = c.column_name and k.constraint_name = 'PRIMARY'
       where c.table_schema not in ('mysql', 'information_schema', 'performance_schema', 'sys')
       order by c.table_schema, c.table_name, c.ordinal_position`.execute(db);
    return rows.map((r) => ({
      ...r,
      nullable: Number(r.nullable) === 1,
      pk: r.pk === null || r.pk === undefined ? null : Number(r.pk),
    }));
  },
  async defaultSchema(db) {
    const { rows } = await sql<{ s: string | null }>`select database() as s`.execute(db);
    return rows[0]?.s ?? "";
  },
  upsert(table, columns, keys, values) {
    const rest = columns.filter((c) => !keys.includes(c));
    const set = (rest.length > 0 ? rest : keys.slice(0, 1)).map(
      (c) => sql`${sql.id(c)} = values(${sql.id(c)})`,
    );
    return sql`insert into ${table} (${sql.join(columns.map((c) => sql.id(c)))}) values (${sql.join(values)})
      on duplicate key update ${sql.join(set)}`;
  },
  atOrAfter(column, iso) {
    // DATETIME and TIMESTAMP (in the session's UTC) take 'YYYY-MM-DD HH:MM:SS.fff'.
    return sql`${column} >= ${iso.replace("T", " ").replace(/Z$|[+-]00:?00$/, "")}`;
  },
  classify(err) {
    const code = codeOf(err);
    const errno = String((err as { errno?: unknown } | null)?.errno ?? "");
    // MariaDB's error numbers above 4000 are not MySQL's: mysql2's code names would mislabel them.
    const label = Number(errno) >= 1000 ? `errno ${errno}` : code;
    if (
      NETWORK.has(code) ||
      RETRY_ERRNO.has(errno) ||
      code === "PROTOCOL_CONNECTION_LOST" ||
      code === "PROTOCOL_SEQUENCE_TIMEOUT"
    ) {
      return { kind: "retryable", code: label };
    }
    if (CONFIG_ERRNO.has(errno)) return { kind: "config", code: label };
    if (DATA_ERRNO.has(errno)) return { kind: "data", code: label };
    if (/^ER_/.test(code) || (errno !== "" && Number(errno) >= 1000))
      return { kind: "permanent", code: label };
    return null;
  },
};
