/**
 * The SQLite webhook inbox in a file of its own (own-file.ts): a webhook's commit never waits for the sync's
 * write lock on the store's file, and a store of an earlier version (inbox in the store's file) keeps every
 * event it held, ids included.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import type { InboundEvent } from "../../ports/connector.ts";
import type { Store } from "../../ports/store.ts";
import { inboxFilePath, openStore, recreateWebhookInbox } from "../index.ts";
import { migrationProvider } from "../migrations/index.ts";
import { writerThreadAvailable } from "./writer-thread.ts";

const ev = (key: string): InboundEvent => ({
  dedupeKey: key,
  topic: "orders/updated",
  entity: "order",
  recordId: key,
  occurredAt: null,
  payload: { id: key },
});

const dir = mkdtempSync(join(tmpdir(), "passerelle-inbox-file-"));
let n = 0;
const stores: Store[] = [];
after(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function open(file: string): Promise<Store> {
  const store = await openStore(`sqlite:${file}`);
  stores.push(store);
  await store.migrate();
  return store;
}

/** Deletes a store's inbox file with its WAL and shm files, as an operator losing it would. */
const removeInboxFile = (storeFile: string): void => {
  const inbox = inboxFilePath(storeFile);
  for (const f of [inbox, `${inbox}-wal`, `${inbox}-shm`]) rmSync(f, { force: true });
};

const tablesOf = (file: string): string[] => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[])
      .map((r) => r.name)
      .sort();
  } finally {
    db.close();
  }
};

/** A store as the versions before the inbox's own file left it: every migration applied, the inbox in main. */
async function earlierVersionStore(file: string, keys: string[]): Promise<void> {
  const raw = new Database(file);
  raw.pragma("journal_mode = WAL");
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
  const { error } = await new Migrator({ db, provider: migrationProvider("sqlite") }).migrateToLatest();
  assert.equal(error, undefined);
  const insert = raw.prepare(
    `insert into webhook_inbox (connection, dedupe_key, topic, entity, record_id, occurred_at, payload, received_at, status)
     values ('shop', ?, 'orders/updated', 'order', ?, null, '{}', '2026-12-01T00:00:00.000Z', ?)`,
  );
  for (const [i, k] of keys.entries()) insert.run(k, k, i === 0 ? "processed" : "pending");
  await db.destroy();
}

describe("SQLite: the webhook inbox in a file of its own", () => {
  test("a new store keeps webhook_inbox in <store>-inbox, and its events there", async () => {
    const file = join(dir, `new-${++n}.sqlite`);
    const store = await open(file);
    const inbox = store.openInbox();
    await inbox.add("shop", [ev("a"), ev("b")]);
    await inbox.close();
    assert.ok(!tablesOf(file).includes("webhook_inbox"), "the store's own file still has webhook_inbox");
    assert.ok(tablesOf(`${file}-inbox`).includes("webhook_inbox"));
    const db = new Database(`${file}-inbox`, { readonly: true });
    const keys = db.prepare("select dedupe_key from webhook_inbox order by id").all() as {
      dedupe_key: string;
    }[];
    db.close();
    assert.deepEqual(
      keys.map((k) => k.dedupe_key),
      ["a", "b"],
    );
  });

  for (const writerThread of writerThreadAvailable() ? [false, true] : [false]) {
    test(`a webhook commits while another connection holds the store file's write lock (writer thread ${writerThread ? "on" : "off"})`, async () => {
      const file = join(dir, `locked-${++n}.sqlite`);
      const store = await open(file);
      const inbox = store.openInbox({ writerThread });
      // Another process's sync in the middle of a page commit, left open: in the store's file, this add
      // waited for the lock until busy_timeout (5 s) and then failed with "database is locked".
      const sync = new Database(file);
      sync.pragma("busy_timeout = 0");
      sync.exec("begin immediate");
      sync.prepare("insert into sync_marks (name, mark, updated_at) values ('held', 'x', 'now')").run();
      try {
        assert.deepEqual(await inbox.add("shop", [ev("k1")]), { stored: 1, duplicates: 0 });
        const [pending] = await inbox.pending("shop", "order");
        assert.equal(pending?.dedupeKey, "k1");
        await inbox.settle([pending?.id ?? -1], "processed");
        assert.equal(await inbox.count({ status: "processed" }), 1);
      } finally {
        sync.exec("rollback");
        sync.close();
        await inbox.close();
      }
    });
  }

  test("a store of an earlier version: its events move to the inbox file, ids and statuses kept, next ids after them", async () => {
    const file = join(dir, `upgrade-${++n}.sqlite`);
    await earlierVersionStore(file, ["old-1", "old-2", "old-3"]);
    assert.ok(tablesOf(file).includes("webhook_inbox"));
    const store = await open(file);
    assert.ok(!tablesOf(file).includes("webhook_inbox"), "moved, not copied");
    const inbox = store.openInbox();
    const all = await inbox.list();
    assert.deepEqual(
      all.map((e) => [e.id, e.dedupeKey, e.status]),
      [
        [1, "old-1", "processed"],
        [2, "old-2", "pending"],
        [3, "old-3", "pending"],
      ],
    );
    // A redelivery of a moved event is still a duplicate; a new one takes an id after the moved ones.
    assert.deepEqual(await inbox.add("shop", [ev("old-2")]), { stored: 0, duplicates: 1 });
    await inbox.add("shop", [ev("new")]);
    const id = (await inbox.byKey("shop", "new"))?.id ?? 0;
    assert.ok(id > 3, `new event's id ${id}`);
    await inbox.close();
    // Opening again changes nothing.
    await store.close();
    const again = await open(file);
    assert.equal(await again.openInbox().count(), 4);
  });

  test("a start cut off between the copy and the drop finishes the move, no event twice", async () => {
    const file = join(dir, `cut-${++n}.sqlite`);
    await earlierVersionStore(file, ["a", "b"]);
    const store = await open(file);
    await store.close();
    // As if the copy had committed and the drop not: main has its table and rows back.
    await earlierVersionStore(`${file}.tmp`, ["a", "b"]);
    const raw = new Database(file);
    raw.exec(`attach database '${file}.tmp' as old`);
    const ddl = raw.prepare("select sql from old.sqlite_master where name = 'webhook_inbox'").get() as {
      sql: string;
    };
    raw.exec(ddl.sql);
    raw.exec("insert into main.webhook_inbox select * from old.webhook_inbox");
    raw.close();
    assert.ok(tablesOf(file).includes("webhook_inbox"));
    const reopened = await open(file);
    assert.ok(!tablesOf(file).includes("webhook_inbox"));
    const all = await reopened.openInbox().list();
    assert.deepEqual(
      all.map((e) => e.dedupeKey),
      ["a", "b"],
    );
  });

  test("a store file deleted to start afresh, its inbox file left: the start is refused, the old events not drained", async () => {
    const file = join(dir, `afresh-${++n}.sqlite`);
    const store = await open(file);
    const inbox = store.openInbox();
    await inbox.add("shop", [ev("of-the-old-store")]);
    await inbox.close();
    await store.close();
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    const again = await openStore(`sqlite:${file}`);
    stores.push(again);
    await assert.rejects(again.migrate(), (e: Error) => {
      const text = `${e.message} ${String((e.cause as Error | undefined)?.message ?? "")}`;
      assert.ok(text.includes(`${file}-inbox holds 1 event(s) this store never had`), text);
      return true;
    });
    await again.close();
    // Deleting the inbox file as the message says starts with an empty inbox.
    removeInboxFile(file);
    const fresh = await open(file);
    assert.equal(await fresh.openInbox().count(), 0);
  });

  test("an inbox file deleted after the store was made: the start fails naming the file", async () => {
    const file = join(dir, `gone-${++n}.sqlite`);
    const store = await open(file);
    await store.close();
    removeInboxFile(file);
    const again = await openStore(`sqlite:${file}`);
    stores.push(again);
    await assert.rejects(again.migrate(), (e: Error) => {
      const text = `${e.message} ${String((e.cause as Error | undefined)?.message ?? "")}`;
      assert.match(text, /webhook inbox file .*-inbox has no webhook_inbox table/);
      assert.ok(text.includes(`${file}-inbox`), text);
      return true;
    });
    assert.ok(existsSync(`${file}-inbox`));
  });

  test("recreate-inbox: a store whose inbox file was lost starts again, with an inbox built as a new store's is", async () => {
    const file = join(dir, `recreate-${++n}.sqlite`);
    const store = await open(file);
    const inbox = store.openInbox();
    await inbox.add("shop", [ev("before-1"), ev("before-2")]);
    await inbox.close();
    await store.close();
    removeInboxFile(file);
    const refused = await openStore(`sqlite:${file}`);
    stores.push(refused);
    await assert.rejects(refused.migrate(), (e: Error) => {
      const text = `${e.message} ${String((e.cause as Error | undefined)?.message ?? "")}`;
      assert.match(text, /passerelle webhooks recreate-inbox/);
      return true;
    });
    await refused.close();

    const r = await recreateWebhookInbox(`sqlite:${file}`);
    assert.deepEqual(r, { created: true, file: `${file}-inbox` });
    const again = await open(file);
    const box = again.openInbox();
    assert.equal(await box.count(), 0, "the lost events are not invented back");
    assert.deepEqual(await box.add("shop", [ev("after-1"), ev("after-1"), ev("after-2")]), {
      stored: 2,
      duplicates: 1,
    });
    assert.equal(await box.count(), 2);
    await box.close();
    // The same table, indexes and constraints as a new store's inbox file.
    const fresh = join(dir, `recreate-fresh-${++n}.sqlite`);
    await (await open(fresh)).close();
    assert.deepEqual(inboxSchema(`${file}-inbox`), inboxSchema(`${fresh}-inbox`));
    // Once there, nothing to do; the store's own file untouched.
    const twice = await recreateWebhookInbox(`sqlite:${file}`);
    assert.equal(twice.created, false);
    assert.match((twice as { reason: string }).reason, /holds the webhook inbox already/);
  });

  test("recreate-inbox refuses what it cannot mend, naming it: no store file, a PostgreSQL store, a store of an earlier or a later version", async () => {
    const missing = join(dir, `nothing-${++n}.sqlite`);
    await assert.rejects(recreateWebhookInbox(`sqlite:${missing}`), (e: Error) => {
      assert.ok(e.message.includes(`no store file at ${missing}`), e.message);
      return true;
    });
    assert.ok(!existsSync(`${missing}-inbox`), "no inbox file made for a store that does not exist");
    await assert.rejects(
      recreateWebhookInbox("postgres://passerelle:hunter2@db.example:5432/passerelle"),
      (e: Error) => {
        assert.match(e.message, /is PostgreSQL, whose webhook inbox is a table of the store itself/);
        assert.ok(!e.message.includes("hunter2"), "the URL's password is never shown");
        return true;
      },
    );
    const older = join(dir, `older-${++n}.sqlite`);
    const raw = new Database(older);
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
    const { error } = await new Migrator({ db, provider: migrationProvider("sqlite") }).migrateTo(
      "0003_webhook_inbox",
    );
    assert.equal(error, undefined);
    raw.prepare("drop table webhook_inbox").run();
    await db.destroy();
    await assert.rejects(recreateWebhookInbox(`sqlite:${older}`), (e: Error) => {
      assert.match(
        e.message,
        /was last run by an earlier version \(migrations not applied: 0004_interrupted_runs, /,
      );
      assert.match(e.message, /recreate its inbox with that version's passerelle webhooks recreate-inbox/);
      return true;
    });
    const later = join(dir, `later-${++n}.sqlite`);
    await (await open(later)).close();
    removeInboxFile(later);
    const marked = new Database(later);
    marked
      .prepare("insert into kysely_migration (name, timestamp) values ('9999_from_the_future', '2027-01-01')")
      .run();
    marked.close();
    await assert.rejects(recreateWebhookInbox(`sqlite:${later}`), (e: Error) => {
      assert.match(
        e.message,
        /was run by a later version of Passerelle \(migrations this one does not know: 9999_from_the_future\)/,
      );
      return true;
    });
  });
});

/** A database file's definitions of webhook_inbox and its indexes, as SQLite stores them. */
function inboxSchema(file: string): { type: string; name: string; sql: string | null }[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare(
        "select type, name, sql from sqlite_master where tbl_name = 'webhook_inbox' order by type, name",
      )
      .all() as { type: string; name: string; sql: string | null }[];
  } finally {
    db.close();
  }
}
