/** PostgreSQL through `pg`: `$n` parameters, "quoted" identifiers, `INSERT … ON CONFLICT (…) DO UPDATE`. */
import { CompiledQuery, Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { type CatalogueColumn, codeOf, type Db, type Dialect, NETWORK } from "./dialect.ts";

/** Timestamps as the server prints them (the session is in UTC), so a cursor value goes back unchanged. */
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    // timestamp, timestamptz, date
    if (oid === 1114 || oid === 1184 || oid === 1082) return (v: string) => v;
    return pg.types.getTypeParser(oid, format);
  },
};

export const postgres: Dialect = {
  name: "postgres",
  readOnlyTransactions: true,
  open(url, opts) {
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize,
      connectionTimeoutMillis: opts.timeoutMs,
      statement_timeout: opts.timeoutMs,
      types: types as never,
    });
    // An idle connection dropped by the server must not crash the process: the next query reconnects.
    pool.on("error", () => undefined);
    return new Kysely({
      dialect: new PostgresDialect({
        pool,
        async onCreateConnection(conn) {
          await conn.executeQuery(CompiledQuery.raw("SET TIME ZONE 'UTC'"));
          if (opts.readOnly) {
            await conn.executeQuery(
              CompiledQuery.raw("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"),
            );
          }
        },
      }),
    });
  },
  async catalogue(db: Db) {
    const { rows } = await sql<CatalogueColumn>`
      select c.table_schema as schema, c.table_name as "table",
             case when t.table_type = 'VIEW' then 'view' else 'table' end as kind,
             c.column_name as "column",
             case when c.data_type in ('character varying', 'character') and c.character_maximum_length is not null
                    then c.data_type || '(' || c.character_maximum_length || ')'
                  when c.data_type = 'numeric' and c.numeric_precision is not null
                    then 'numeric(' || c.numeric_precision || ',' || coalesce(c.numeric_scale, 0) || ')'
                  else c.data_type end as type,
             c.is_nullable = 'YES' as nullable,
             k.ordinal_position as pk
        from information_schema.columns c
        join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
        left join information_schema.table_constraints tc
          on tc.table_schema = c.table_schema and tc.table_name = c.table_name and tc.constraint_type = 'PRIMARY KEY'
        left join information_schema.key_column_usage k
          on k.constraint_schema = tc.constraint_schema and k.constraint_name = tc.constraint_name
         and k.table_name = c.table_name and k.column_name = c.column_name
       where c.table_schema not in ('pg_catalog', 'information_schema') and c.table_schema not like 'pg\\_%'
       order by c.table_schema, c.table_name, c.ordinal_position`.execute(db);
    return rows.map((r) => ({ ...r, pk: r.pk === null ? null : Number(r.pk) }));
  },
  async defaultSchema(db) {
    const { rows } = await sql<{ s: string }>`select current_schema() as s`.execute(db);
    return rows[0]?.s ?? "public";
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
    return sql`${column} >= ${iso}`;
  },
  classify(err) {
    const code = codeOf(err);
    if (NETWORK.has(code) || /^(08|53|57P|40)/.test(code)) return { kind: "retryable", code };
    // Authentication, unknown database or role, no privilege, writing in a read-only transaction.
    if (/^(28|3D|42501|25006)/.test(code)) return { kind: "config", code };
    if (/^22/.test(code)) return { kind: "data", code };
    if (/^\d{2}[0-9A-Z]{3}$/.test(code)) return { kind: "permanent", code };
    const message = err instanceof Error ? err.message : "";
    if (/timeout|terminated|Connection terminated/i.test(message))
      return { kind: "retryable", code: "timeout" };
    return null;
  },
};
