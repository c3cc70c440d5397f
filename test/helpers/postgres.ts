/** The PostgreSQL side of tests that run one suite on SQLite and on PostgreSQL alike. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import pg from "pg";
import type { Store } from "../../src/ports/store.ts";
import { maskUrl, type OpenStoreOptions, openStore } from "../../src/store/index.ts";

/** The test server: PASSERELLE_TEST_PG, else a local default. */
export const TEST_PG_URL = process.env.PASSERELLE_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

/** Why the test server cannot be used; null when it answers a query. */
export async function pgUnreachable(url = TEST_PG_URL): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Fresh migrated stores on the test server, each in a schema of its own named after `prefix`, this
 * process and this run; `cleanup` drops every schema opened.
 */
export function pgStores(
  prefix: string,
  options: () => OpenStoreOptions = () => ({}),
): { open(): Promise<Store>; cleanup(): Promise<void> } {
  const run = `${prefix}_${process.pid}_${Date.now().toString(36)}`;
  const schemas: string[] = [];
  return {
    async open() {
      const schema = `${run}_${schemas.length + 1}`;
      schemas.push(schema);
      const url = new URL(TEST_PG_URL);
      url.searchParams.set("schema", schema);
      const store = await openStore(url.toString(), options());
      await store.migrate();
      return store;
    },
    async cleanup() {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        for (const s of schemas) await client.query(`drop schema if exists "${s}" cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Registers a suite's PostgreSQL variant (`register`) when the test server answers. Otherwise the suite
 * fails under CI, which requires PostgreSQL, and is reported skipped elsewhere.
 */
export async function onPostgres(name: string, register: () => void): Promise<void> {
  const down = await pgUnreachable();
  if (down === null) {
    register();
  } else if (process.env.CI) {
    test(name, () =>
      assert.fail(`PostgreSQL unreachable at ${maskUrl(TEST_PG_URL)} (${down}); CI requires it`),
    );
  } else {
    describe(name, {
      skip: `PostgreSQL unreachable at ${maskUrl(TEST_PG_URL)} (${down}); set PASSERELLE_TEST_PG`,
    }, () => {});
  }
}
