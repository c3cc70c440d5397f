/**
 * The shared connector contract, run against the NetSuite emulator (fixture in test/fixtures/netsuite-contract.ts).
 * The emulator holds every request to the documented shapes (test/fixtures/netsuite/record-shapes.json; no
 * vendor file exists for NetSuite) and the last test requires that none broke them.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type NetSuiteContractFixture,
  netsuiteContractFixture,
} from "../../../test/fixtures/netsuite-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { netsuite } from "./index.ts";

describe("the NetSuite connector under the contract suite", () => {
  let fixture: NetSuiteContractFixture | undefined;
  runContractSuite(netsuite, async () => {
    fixture = await netsuiteContractFixture();
    return fixture;
  });

  test("no request of the contract run broke the documented NetSuite shapes", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    assert.ok(fixture.emu.checked.size >= 6, `only ${fixture.emu.checked.size} operations exercised`);
    console.log(
      `# netsuite contract: ${fixture.emu.checked.size} distinct operations checked against the documented shapes: ${[...fixture.emu.checked.keys()].sort().join(", ")}`,
    );
  });
});
