/** Injected faults, seen through the real Odoo client: what each one looks like and what it leaves behind. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FaultInjector, type OdooEmulator, parseFaults, startOdooEmulator } from "@passerelle/emulators";
import { OdooClient } from "../../src/connectors/odoo/client.ts";
import { OdooConfig } from "../../src/connectors/odoo/config.ts";
import type { SyncError } from "../../src/core/errors.ts";

test("parseFaults reads rates, percentages and settings; bad input names the part", () => {
  assert.deepEqual(parseFaults("5xx=0.05,timeout=2%,429=0.01,drop=0.03,seed=7,slowMs=300"), {
    rates: { "5xx": 0.05, timeout: 0.02, "429": 0.01, drop: 0.03 },
    seed: 7,
    slowMs: 300,
  });
  assert.throws(() => parseFaults("5xx"), /cannot read "5xx"/);
  assert.throws(() => parseFaults("lag=0.1"), /unknown fault "lag"/);
  assert.throws(() => parseFaults("5xx=0.7,drop=0.6"), /add up to 1.3/);
});

test("the die is seeded: the same seed injects the same faults", () => {
  const rolls = (seed: number) => {
    const f = new FaultInjector({ rates: { "5xx": 0.2, drop: 0.2 }, seed });
    return Array.from({ length: 200 }, () => f.roll(true));
  };
  assert.deepEqual(rolls(5), rolls(5));
  assert.notDeepEqual(rolls(5), rolls(6));
  const f = new FaultInjector({ rates: { drop: 1 } });
  assert.equal(f.roll(false), null, "a read is never 'dropped after the write'");
  assert.equal(f.roll(true), "drop");
});

test("a drop rolled by a read is owed to the next write: batched writes meet drops at the request rate", () => {
  // One write in ten requests, as a client that batches its writes makes them: 10 % of all requests roll
  // a drop, and each lands on a write (about 100 of the 100 writes here), not only those a write rolled
  // itself (about 10).
  const f = new FaultInjector({ rates: { drop: 0.1 }, seed: 3 });
  for (let i = 0; i < 1000; i++) f.roll(i % 10 === 9);
  assert.ok(f.stats.injected.drop > 50, `drops: ${f.stats.injected.drop}`);
  assert.ok(f.stats.injected.drop <= 100, `drops: ${f.stats.injected.drop}`);
  const reads = new FaultInjector({ rates: { drop: 1 } });
  reads.roll(false);
  reads.roll(false);
  assert.equal(reads.stats.injected.drop, 0, "a read itself is never dropped");
});

describe("Odoo emulator faults", () => {
  let emu: OdooEmulator;
  let client: OdooClient;
  before(async () => {
    emu = await startOdooEmulator({ products: 3, customers: 2, orders: 0 });
    client = new OdooClient(
      OdooConfig.parse({
        url: emu.url,
        db: emu.db,
        username: emu.login,
        password: emu.password,
        timeoutMs: 500,
      }),
      "odoo",
    );
    await client.authenticate();
  });
  after(async () => emu.close());

  const fails = async (run: () => Promise<unknown>): Promise<SyncError> => {
    try {
      await run();
    } catch (e) {
      return e as SyncError;
    }
    throw new Error("expected the call to fail");
  };
  const createPartner = (name: string) => client.execute("res.partner", "create", [{ name }]);
  const partners = (name: string) => emu.data.search("res.partner", [["name", "=", name]]);

  test("5xx and 429 refuse the call before Odoo runs it", async () => {
    emu.faults.configure({ rates: { "5xx": 1 } });
    const e5 = await fails(() => createPartner("P-5xx"));
    assert.equal(e5.kind, "retryable");
    assert.equal(e5.details.status, 503);
    emu.faults.configure({ rates: { "429": 1 } });
    const e4 = await fails(() => createPartner("P-429"));
    assert.equal(e4.kind, "rate_limited");
    assert.equal(e4.details.status, 429);
    emu.faults.configure({});
    assert.deepEqual([...partners("P-5xx"), ...partners("P-429")], []);
  });

  test("a timeout leaves the client waiting until it gives up; nothing is written", async () => {
    emu.faults.configure({ rates: { timeout: 1 } });
    const err = await fails(() => createPartner("P-timeout"));
    emu.faults.configure({});
    assert.equal(err.kind, "retryable");
    assert.match(err.message, /did not answer/);
    assert.deepEqual(partners("P-timeout"), []);
  });

  test("a dropped connection after the write: the client sees a network error, the record exists", async () => {
    emu.faults.configure({ rates: { drop: 1 } });
    const rows = await client.searchRead("res.partner", [], ["id"], { limit: 1 });
    assert.equal(rows.length, 1, "reads are answered");
    const err = await fails(() => createPartner("P-dropped"));
    emu.faults.configure({});
    assert.equal(err.kind, "retryable");
    assert.equal(partners("P-dropped").length, 1, "the write was applied");
    assert.equal(emu.faults.stats.injected.drop, 1);
  });
});
