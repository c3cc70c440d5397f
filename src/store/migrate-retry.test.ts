import assert from "node:assert/strict";
import { test } from "node:test";
import { MIGRATE_TRIES, otherSchemaDropped, retryWhileOtherSchemaDropped } from "./kysely-store.ts";

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

test("a migration is tried again only when another session's schema vanished under the table listing", () => {
  const dropped = pgError("3F000", 'schema "passerelle_leases_1" does not exist');
  assert.equal(otherSchemaDropped(dropped, "passerelle_jobs_1"), true);
  assert.equal(otherSchemaDropped(dropped, null), true);
  // Our own schema missing is a real error, and so is any other failure.
  assert.equal(
    otherSchemaDropped(pgError("3F000", 'schema "passerelle_jobs_1" does not exist'), "passerelle_jobs_1"),
    false,
  );
  assert.equal(
    otherSchemaDropped(pgError("42P01", 'relation "links" does not exist'), "passerelle_jobs_1"),
    false,
  );
  // Seen in CI: another test file dropped its schema between Kysely's table listing and its column reads.
  const gone = pgError("42P01", 'relation "resilience_8431_mx9vv0kt_4.kysely_migration" does not exist');
  assert.equal(otherSchemaDropped(gone, "rows_8502_mx9vv1ab_2"), true);
  assert.equal(otherSchemaDropped(gone, null), true);
  assert.equal(
    otherSchemaDropped(
      pgError("42P01", 'relation "rows_8502_mx9vv1ab_2.kysely_migration" does not exist'),
      "rows_8502_mx9vv1ab_2",
    ),
    false,
  );
  assert.equal(otherSchemaDropped(undefined, "s"), false);
  assert.equal(otherSchemaDropped("3F000", "s"), false);
});

test("a migration is tried again, with growing pauses, while other schemas keep vanishing; then gives up", async () => {
  // Seen in CI: a suite dropping its schemas one by one broke five listings in a row.
  const gone = (n: number) => pgError("3F000", `schema "rows_5719_mxat5srs_${n}" does not exist`);
  const pauses: number[] = [];
  const sleep = async (ms: number) => {
    pauses.push(ms);
  };
  let tries = 0;
  const result = await retryWhileOtherSchemaDropped(
    async () => {
      tries += 1;
      return tries <= 7 ? { error: gone(tries) } : { error: undefined, results: [] };
    },
    "store_1",
    { sleep },
  );
  assert.equal(result.error, undefined);
  assert.equal(tries, 8);
  assert.deepEqual(pauses, [50, 100, 200, 400, 800, 1000, 1000]);

  // Our own schema missing is not retried; a listing that never recovers stops after MIGRATE_TRIES tries.
  tries = 0;
  const own = await retryWhileOtherSchemaDropped(
    async () => {
      tries += 1;
      return { error: pgError("3F000", 'schema "store_1" does not exist') };
    },
    "store_1",
    { sleep },
  );
  assert.match(String(own.error), /store_1/);
  assert.equal(tries, 1);
  tries = 0;
  const never = await retryWhileOtherSchemaDropped(
    async () => {
      tries += 1;
      return { error: gone(tries) };
    },
    "store_1",
    { sleep },
  );
  assert.ok(never.error);
  assert.equal(tries, MIGRATE_TRIES);
});
