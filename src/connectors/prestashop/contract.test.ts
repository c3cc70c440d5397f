/**
 * The shared connector contract, run against the PrestaShop emulator (fixture in
 * test/fixtures/prestashop-contract.ts); the emulator checks every request body and answer against
 * PrestaShop's documented resource schemas, and the last test requires that none broke them.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type PrestaShopContractFixture,
  prestashopContractFixture,
} from "../../../test/fixtures/prestashop-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { prestashop } from "./index.ts";

describe("the PrestaShop connector under the contract suite", () => {
  let fixture: PrestaShopContractFixture | undefined;
  runContractSuite(prestashop, async () => {
    fixture = await prestashopContractFixture();
    return fixture;
  });

  test("no request or answer of the contract run broke PrestaShop's documented resource schemas", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    console.log(
      `# prestashop contract: ${fixture.emu.checked.size} distinct operations checked against the schemas`,
    );
  });
});
