/**
 * The shared connector contract, run against the Acumatica emulator (fixture in
 * test/fixtures/acumatica-contract.ts); the emulator checks every request and answer against the
 * Default/24.200.001 OpenAPI document, and the last test requires that none broke it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { acumaticaSpecSkip } from "@passerelle/emulators";
import {
  type AcumaticaContractFixture,
  acumaticaContractFixture,
} from "../../../test/fixtures/acumatica-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { acumatica } from "./index.ts";

describe("the Acumatica connector under the contract suite", { skip: acumaticaSpecSkip() }, () => {
  let fixture: AcumaticaContractFixture | undefined;
  runContractSuite(acumatica, async () => {
    fixture = await acumaticaContractFixture();
    return fixture;
  });

  test("no request or answer of the contract run broke the Default/24.200.001 OpenAPI document", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    assert.ok(fixture.emu.checked.size >= 5, `only ${fixture.emu.checked.size} operations exercised`);
    console.log(
      `# acumatica contract: ${fixture.emu.checked.size} distinct operations checked against the OpenAPI document: ${[...fixture.emu.checked.keys()].sort().join(", ")}`,
    );
  });
});
