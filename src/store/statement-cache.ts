/**
 * Kysely's SQLite driver prepares every statement anew. Preparing a 500-row upsert costs about 2 ms
 * (≈ 4 µs per row, as much as running it), and a sync sends the same full-page statements again and
 * again, so prepared statements are kept and reused by SQL text.
 */
import type SqliteDatabase from "better-sqlite3";
import type { SqliteDatabase as KyselySqliteDatabase } from "kysely";

const MAX_STATEMENTS = 200;

export function withStatementCache(db: SqliteDatabase.Database): KyselySqliteDatabase {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare: (sql: string) => {
      const hit = cache.get(sql);
      if (hit !== undefined) {
        // Re-insert so the Map's order is least recently used first.
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const stmt = db.prepare(sql);
      cache.set(sql, stmt);
      if (cache.size > MAX_STATEMENTS) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      return stmt;
    },
  };
}
