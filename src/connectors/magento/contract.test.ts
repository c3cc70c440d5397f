/**
 * The shared connector contract, run against the Magento emulator (fixture in
 * test/fixtures/magento-contract.ts); the emulator checks every request and answer against Adobe's OpenAPI
 * document, and the last test requires that none broke it.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { magentoSpecSkip } from "@passerelle/emulators";
import {
  type MagentoContractFixture,
  magentoContractFixture,
} from "../../../test/fixtures/magento-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { magento } from "./index.ts";

describe("the Magento connector under the contract suite", { skip: magentoSpecSkip() }, () => {
  let fixture: MagentoContractFixture | undefined;
  runContractSuite(magento, async () => {
    fixture = await magentoContractFixture();
    return fixture;
  });

  test("no request or answer of the contract run broke Magento's OpenAPI document", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    console.log(
      `# magento contract: ${fixture.emu.checked.size} distinct operations checked against the document`,
    );
  });
  after(() => undefined);
});
