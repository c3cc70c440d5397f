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
  assert.equal(otherSchemaDropped(undefined, "s"), false);
  assert.equal(otherSchemaDropped("3F000", "s"), false);
});
