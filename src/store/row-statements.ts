/**
 * Multi-row statements built once per shape. Kysely builds and compiles a query from scratch on every call:
 * for a page commit's 500-row inserts that costs about as much CPU as SQLite spends running them. A page
 * commit sends the same statements with the same row counts again and again, so the SQL text of a
 * statement is kept per (statement, row count, database) and later calls only bind their values.
 *
 * The first call of a shape is built by Kysely as before; its bound values must equal `head` followed by
 * `values` applied to every row in order, or the shape is never cached (the statement stays correct, only
 * slower). `head` is what the statement binds once before the rows: a look-up's `where entity = ? and
 * system = ? and key in (…)`, an update's `set completed_at = ? where id in (…)`.
 */
import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from "kysely";
import type { Database } from "./schema.ts";

type Texts = Map<string, string | null>;

// Per dialect adapter (one per opened database): SQLite and PostgreSQL write the same statement differently.
const cache = new WeakMap<object, Texts>();

export async function executeRows<R, O>(
  db: Kysely<Database>,
  name: string,
  rows: readonly R[],
  values: (row: R) => readonly unknown[],
  build: () => Compilable<O>,
  head: readonly unknown[] = [],
): Promise<QueryResult<O>> {
  const executor = db.getExecutor();
  let texts = cache.get(executor.adapter);
  if (texts === undefined) {
    texts = new Map();
    cache.set(executor.adapter, texts);
  }
  const shape = `${name}\u0000${head.length}\u0000${rows.length}\u0000${executor.plugins.length}`;
  const text = texts.get(shape);
  if (text === null) return db.executeQuery(build());
  const params: unknown[] = [...head];
  for (const row of rows) for (const v of values(row)) params.push(v);
  if (text !== undefined) return db.executeQuery(CompiledQuery.raw(text, params) as CompiledQuery<O>);
  const compiled = build().compile();
  texts.set(shape, sameValues(compiled.parameters, params) ? compiled.sql : null);
  return db.executeQuery(compiled);
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}
