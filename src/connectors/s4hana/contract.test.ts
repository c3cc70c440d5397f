/**
 * The shared connector contract, run against the S/4HANA emulator (fixture in test/fixtures/s4hana-contract.ts);
 * the emulator checks every request and answer against the three services' EDMX documents, and the last test
 * requires that none broke them.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { s4SpecSkip } from "@passerelle/emulators";
import { type S4ContractFixture, s4ContractFixture } from "../../../test/fixtures/s4hana-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { s4hana } from "./index.ts";

describe("the SAP S/4HANA connector under the contract suite", { skip: s4SpecSkip() }, () => {
  let fixture: S4ContractFixture | undefined;
  runContractSuite(s4hana, async () => {
    fixture = await s4ContractFixture();
    return fixture;
  });

  test("no request or answer of the contract run broke the EDMX documents", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    assert.ok(fixture.emu.checked.size >= 10, `only ${fixture.emu.checked.size} operations exercised`);
    console.log(
      `# s4hana contract: ${fixture.emu.checked.size} distinct operations checked against the EDMX documents: ${[...fixture.emu.checked.keys()].sort().join(", ")}`,
    );
  });
});
