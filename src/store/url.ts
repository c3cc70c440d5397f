import { maskUrl } from "../core/redact.ts";
import { DEFAULT_RETRY_MS } from "./resilience.ts";
/**
 * Parses the store URL:
 * - `sqlite:<path>` (relative to the working directory, or absolute), `sqlite:///abs/path.db`,
 *   `sqlite::memory:` for a throw-away database;
 * - `postgres://user:pass@host:5432/db` or `postgresql://…`. An extra `?schema=<name>` puts every
 *   table in that PostgreSQL schema (created when missing), e.g. one schema per test run or per tenant;
 *   `?retry_ms=<n>` is how long a store call that lost its connection keeps trying (default 60000; 0: it
 *   fails at once), see resilience.ts.
 */
export type StoreTarget =
  | { dialect: "sqlite"; path: string }
  | { dialect: "postgres"; connectionString: string; schema: string | null; retryMs: number };

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function parseStoreUrl(url: string): StoreTarget {
  if (url.startsWith("sqlite:")) {
    let path = url.slice("sqlite:".length);
    if (path.startsWith("//")) path = path.slice(2);
    if (path === "") {
      throw new Error(`store url "${url}": missing the database file path, e.g. sqlite:./data/passerelle.db`);
    }
    return { dialect: "sqlite", path };
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`store url "${maskUrl(url)}" is not a valid PostgreSQL URL`);
    }
    const schema = u.searchParams.get("schema");
    if (schema !== null && !SCHEMA_NAME.test(schema)) {
      throw new Error(
        `store url "${maskUrl(url)}": schema "${schema}" must be letters, digits and _ (not starting with a digit)`,
      );
    }
    const retry = u.searchParams.get("retry_ms");
    if (retry !== null && !/^\d{1,9}$/.test(retry)) {
      throw new Error(
        `store url "${maskUrl(url)}": retry_ms must be a whole number of milliseconds (0 or more), got "${retry}"`,
      );
    }
    u.searchParams.delete("schema");
    u.searchParams.delete("retry_ms");
    return {
      dialect: "postgres",
      connectionString: u.toString(),
      schema,
      retryMs: retry === null ? DEFAULT_RETRY_MS : Number(retry),
    };
  }
  throw new Error(
    `store url "${maskUrl(url)}" has an unknown scheme: use sqlite:<path>, sqlite::memory: or postgres://…`,
  );
}
