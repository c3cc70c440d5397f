/**
 * The shared connector contract, run against the Oracle Fusion emulator (fixture in
 * test/fixtures/oracle-fusion-contract.ts); the emulator refuses any request the SCM collections do not
 * define, and the last test requires that none was refused.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fusionSpecSkip } from "@passerelle/emulators";
import {
  type FusionContractFixture,
  fusionContractFixture,
} from "../../../test/fixtures/oracle-fusion-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { oracleFusion } from "./index.ts";

describe("the Oracle Fusion connector under the contract suite", { skip: fusionSpecSkip() }, () => {
  let fixture: FusionContractFixture | undefined;
  runContractSuite(oracleFusion, async () => {
    fixture = await fusionContractFixture();
    return fixture;
  });

  test("no request of the contract run broke the SCM collections", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    assert.ok(fixture.emu.checked.size >= 6, `only ${fixture.emu.checked.size} operations exercised`);
    console.log(
      `# oracle-fusion contract: ${fixture.emu.checked.size} distinct operations checked against the SCM collections: ${[...fixture.emu.checked.keys()].sort().join(", ")}`,
    );
  });
});
