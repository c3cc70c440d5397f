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
