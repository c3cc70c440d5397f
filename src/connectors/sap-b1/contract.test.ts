/**
 * The shared connector contract, run against the SAP Business One emulator (fixture in
 * test/fixtures/sap-b1-contract.ts); the emulator checks every request and answer against Service Layer's
 * $metadata document, and the last test requires that none broke it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sapB1SpecSkip } from "@passerelle/emulators";
import { type SapB1ContractFixture, sapB1ContractFixture } from "../../../test/fixtures/sap-b1-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { sapB1 } from "./index.ts";

describe("the SAP Business One connector under the contract suite", { skip: sapB1SpecSkip() }, () => {
  let fixture: SapB1ContractFixture | undefined;
  runContractSuite(sapB1, async () => {
    fixture = await sapB1ContractFixture();
    return fixture;
  });

  test("no request or answer of the contract run broke Service Layer's $metadata", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    assert.ok(fixture.emu.checked.size > 10, `only ${fixture.emu.checked.size} operations exercised`);
    console.log(
      `# sap-b1 contract: ${fixture.emu.checked.size} distinct operations checked against $metadata: ${[...fixture.emu.checked.keys()].sort().join(", ")}`,
    );
  });
});
