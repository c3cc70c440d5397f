/**
 * The real CLI with its store on PostgreSQL (a fresh schema, dropped afterwards): a second sync of an
 * unchanged catalogue writes nothing. PostgreSQL comes from PASSERELLE_TEST_PG (default the local server);
 * when it cannot be reached the case is skipped with a message, unless CI is set, where it fails.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { maskUrl } from "../../src/core/redact.ts";
import { explain, startWorld, type World } from "./helpers.ts";
import { parseOutput, SyncOutput, written } from "./outputs.ts";

const PG_URL = process.env.PASSERELLE_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

async function unreachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    await client.end().catch(() => {});
  }
}

const down = await unreachable();
const skip =
  down !== null && !process.env.CI
    ? `PostgreSQL unreachable at ${maskUrl(PG_URL)} (${down}); set PASSERELLE_TEST_PG`
    : false;

describe("the CLI with its store on PostgreSQL", { skip }, () => {
  const schema = `e2e_${randomBytes(6).toString("hex")}`;
  let world: World;

  before(async () => {
    assert.equal(down, null, `PostgreSQL unreachable at ${maskUrl(PG_URL)} (${down}); CI requires it`);
    const url = new URL(PG_URL);
    url.searchParams.set("schema", schema);
    world = await startWorld({ products: 12, storeUrl: url.toString() });
  });
  after(async () => {
    await world?.close();
    if (down !== null) return;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
  });

  it("sync products, then again: the second run writes nothing", async () => {
    const first = await world.cli(["sync", "products", "--json"]);
    assert.equal(first.code, 0, explain(first));
    // The 12 seeded products and the seed's kit (GIFT-SET, made of two of them).
    assert.equal(parseOutput(SyncOutput, first).runs[0]?.counts.created, 13, explain(first));
    assert.equal(world.systems.shopify.data.products.size, 13);

    world.systems.shopify.resetStats();
    const second = await world.cli(["sync", "products", "--json"]);
    assert.equal(second.code, 0, explain(second));
    assert.equal(written(parseOutput(SyncOutput, second)), 0, explain(second));
    assert.equal(world.systems.shopify.stats.writes, 0, "the shop was written to");
    assert.equal(world.systems.shopify.data.products.size, 13);
  });
});
