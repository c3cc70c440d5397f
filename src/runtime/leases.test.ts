/** Named leases, on SQLite and (when reachable) PostgreSQL. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { onPostgres, pgStores } from "../../test/helpers/postgres.ts";
import type { Store } from "../ports/store.ts";
import { openStore } from "../store/index.ts";
import { acquireLease, leaseHolder, releaseLease, renewLease, withLease } from "./leases.ts";

const dir = mkdtempSync(join(tmpdir(), "passerelle-leases-test-"));
const opened: Store[] = [];
after(async () => {
  for (const s of opened) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const pgs = pgStores("passerelle_leases");

async function openSqlite(): Promise<Store> {
  const s = await openStore(`sqlite:${join(dir, `l${opened.length}.db`)}`);
  await s.migrate();
  opened.push(s);
  return s;
}

async function openPg(): Promise<Store> {
  const s = await pgs.open();
  opened.push(s);
  return s;
}

function manualClock() {
  let t = Date.parse("2026-01-01T00:00:00.000Z");
  return {
    now: () => new Date(t),
    advance: (ms: number) => {
      t += ms;
    },
  };
}

function suite(name: string, open: () => Promise<Store>): void {
  describe(name, () => {
    test("one holder at a time; an expired lease can be taken; renew fails once lost", async () => {
      const store = await open();
      const clock = manualClock();
      const o = { now: clock.now };
      assert.equal(await acquireLease(store, "flow:orders", "a", 10_000, o), true);
      assert.equal(await acquireLease(store, "flow:orders", "b", 10_000, o), false);
      assert.equal(
        await acquireLease(store, "flow:orders", "a", 10_000, o),
        true,
        "re-entrant for its holder",
      );
      assert.equal(await acquireLease(store, "flow:stock", "b", 10_000, o), true, "names are independent");
      clock.advance(9_000);
      assert.equal(await renewLease(store, "flow:orders", "a", 10_000, o), true);
      clock.advance(9_000);
      assert.equal(await acquireLease(store, "flow:orders", "b", 10_000, o), false, "renewed");
      assert.equal(await leaseHolder(store, "flow:orders", o), "a");
      clock.advance(2_000);
      assert.equal(await leaseHolder(store, "flow:orders", o), null, "expired");
      assert.equal(await acquireLease(store, "flow:orders", "b", 10_000, o), true);
      assert.equal(await renewLease(store, "flow:orders", "a", 10_000, o), false, "a lost it to b");
      await releaseLease(store, "flow:orders", "a");
      assert.equal(
        await leaseHolder(store, "flow:orders", o),
        "b",
        "releasing someone else's lease does nothing",
      );
      await releaseLease(store, "flow:orders", "b");
      assert.equal(await acquireLease(store, "flow:orders", "c", 10_000, o), true);
    });

    test("withLease runs work only for the holder and releases afterwards, even on error", async () => {
      const store = await open();
      await acquireLease(store, "record:order:1001", "other", 60_000);
      assert.equal(await withLease(store, "record:order:1001", "me", 60_000, async () => 1), null);
      await releaseLease(store, "record:order:1001", "other");
      assert.deepEqual(await withLease(store, "record:order:1001", "me", 60_000, async () => 2), {
        value: 2,
      });
      assert.equal(await leaseHolder(store, "record:order:1001"), null);
      await assert.rejects(
        withLease(store, "record:order:1001", "me", 60_000, async () => {
          throw new Error("boom");
        }),
        /boom/,
      );
      assert.equal(await leaseHolder(store, "record:order:1001"), null);
    });

    test("racing holders: exactly one wins", async () => {
      const store = await open();
      const won = await Promise.all(
        ["a", "b", "c", "d", "e"].map((h) => acquireLease(store, "flow:race", h, 60_000)),
      );
      assert.equal(won.filter(Boolean).length, 1);
    });

    test("bad arguments name the value", async () => {
      const store = await open();
      await assert.rejects(acquireLease(store, "", "a", 1000), /lease name must not be empty/);
      await assert.rejects(acquireLease(store, "x", "a", -5), /ttlMs must be a positive number.*-5/);
    });
  });
}

suite("leases on SQLite", openSqlite);

await onPostgres("leases on PostgreSQL", () => {
  after(pgs.cleanup);
  suite("leases on PostgreSQL", openPg);
});
