import assert from "node:assert/strict";
import { test } from "node:test";
import { otherSchemaDropped } from "./kysely-store.ts";

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
