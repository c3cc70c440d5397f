/**
 * The shared connector contract, run against the SFCC emulator (fixture in test/fixtures/sfcc-contract.ts);
 * the emulator checks every request and answer against Salesforce's SCAPI OpenAPI documents, and the last
 * test requires that none broke them.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sfccSpecSkip } from "@passerelle/emulators";
import { type SfccContractFixture, sfccContractFixture } from "../../../test/fixtures/sfcc-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { sfcc } from "./index.ts";

describe("the SFCC connector under the contract suite", { skip: sfccSpecSkip() }, () => {
  let fixture: SfccContractFixture | undefined;
  runContractSuite(sfcc, async () => {
    fixture = await sfccContractFixture();
    return fixture;
  });

  test("no request or answer of the contract run broke Salesforce's SCAPI documents", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    const ops = [...fixture.emu.checked.keys()].sort();
    console.log(
      `# sfcc contract: ${ops.length} distinct operations checked against the documents: ${ops.join(", ")}`,
    );
    assert.ok(ops.length >= 12, `only ${ops.length} operations exercised`);
  });
});
