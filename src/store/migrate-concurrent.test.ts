/**
 * Two commands started together on a store that does not exist yet (two operators, a cron beside a
 * service) both migrate it. Each migration must end applied once, and neither command may fail.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import pg from "pg";
import { onPostgres, TEST_PG_URL } from "../../test/helpers/postgres.ts";
import { openStore } from "./index.ts";

const STORE = resolve(dirname(fileURLToPath(import.meta.url)), "index.ts");

/** A separate process that opens and migrates the store, as every CLI command does first. */
function migrateInChild(url: string): Promise<{ code: number; stderr: string }> {
  const script = `const { openStore } = await import(${JSON.stringify(STORE)});
const store = await openStore(${JSON.stringify(url)});
await store.migrate();
await store.close();`;
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("close", (code) => done({ code: code ?? -1, stderr }));
  });
}

test("SQLite: processes migrating a new store at once all succeed, each migration applied once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-migrate-"));
  try {
    for (let round = 0; round < 3; round++) {
      const file = join(dir, `store-${round}.sqlite`);
      const outcomes = await Promise.all([1, 2, 3].map(() => migrateInChild(`sqlite:${file}`)));
      for (const o of outcomes) assert.equal(o.code, 0, `round ${round}: ${o.stderr}`);
      const db = new Database(file, { readonly: true });
      const applied = db.prepare("select name from kysely_migration order by name").all() as {
        name: string;
      }[];
      db.close();
      const names = applied.map((r) => r.name);
      assert.deepEqual(names, [...new Set(names)], `round ${round}: a migration recorded twice`);
      assert.ok(names.length >= 4, `round ${round}: ${names.join(", ")}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

await onPostgres("PostgreSQL: processes starting together on a new schema", () => {
  test("a start whose schema another process is creating at that moment migrates it, and does not fail", async () => {
    const schema = `migrate_race_${process.pid}_${Date.now().toString(36)}`;
    const url = new URL(TEST_PG_URL);
    url.searchParams.set("schema", schema);
    const other = new pg.Client({ connectionString: TEST_PG_URL });
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await other.connect();
    await admin.connect();
    const store = await openStore(url.toString());
    try {
      // Another process (a web, a worker and a scheduler started by one systemd target) is creating the
      // schema: its transaction is not committed yet when this start asks for it.
      await other.query("begin");
      await other.query(`create schema "${schema}"`);
      const migrating = store.migrate().then(
        () => null,
        (e: unknown) => e,
      );
      // This start now waits on the other's uncommitted schema; then the other commits.
      const end = Date.now() + 20_000;
      for (;;) {
        const waiting = await admin.query(
          "select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'create schema if not exists%'",
        );
        if (waiting.rowCount && waiting.rowCount > 0) break;
        assert.ok(Date.now() < end, "the start never waited on the other's schema");
        await new Promise((r) => setTimeout(r, 20));
      }
      await other.query("commit");
      const failed = await migrating;
      assert.equal(failed, null, `the start failed: ${String(failed)}`);
      const applied = await admin.query(`select name from "${schema}".kysely_migration`);
      assert.ok(applied.rowCount && applied.rowCount >= 4, JSON.stringify(applied.rows));
    } finally {
      await store.close();
      await admin.query(`drop schema if exists "${schema}" cascade`).catch(() => {});
      await other.end();
      await admin.end();
    }
  });
});
