/**
 * The shared connector contract, run against the Business Central emulator (fixture in
 * test/fixtures/business-central-contract.ts); the emulator checks every request and answer against the
 * digest of the API v2.0 pages, and the last test requires that none broke it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type BcContractFixture,
  bcContractFixture,
} from "../../../test/fixtures/business-central-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { businessCentral } from "./index.ts";

describe("the Business Central connector under the contract suite", () => {
  let fixture: BcContractFixture | undefined;
  runContractSuite(businessCentral, async () => {
    fixture = await bcContractFixture();
    return fixture;
  });

  test("no request or answer of the contract run broke the API v2.0 digest", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    assert.ok(fixture.emu.checked.size > 10, `only ${fixture.emu.checked.size} operations exercised`);
    console.log(
      `# business-central contract: ${fixture.emu.checked.size} distinct operations checked against the API v2.0 digest: ${[...fixture.emu.checked.keys()].sort().join(", ")}`,
    );
  });
});
