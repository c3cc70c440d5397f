/**
 * The shared connector contract, run against the BigCommerce emulator (fixture in
 * test/fixtures/bigcommerce-contract.ts); the emulator checks every request and answer against BigCommerce's
 * OpenAPI documents, and the last test requires that none broke them.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bigcommerceSpecSkip } from "@passerelle/emulators";
import {
  type BigCommerceContractFixture,
  bigcommerceContractFixture,
} from "../../../test/fixtures/bigcommerce-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { bigcommerce } from "./index.ts";

describe("the BigCommerce connector under the contract suite", { skip: bigcommerceSpecSkip() }, () => {
  let fixture: BigCommerceContractFixture | undefined;
  runContractSuite(bigcommerce, async () => {
    fixture = await bigcommerceContractFixture();
    return fixture;
  });

  test("no request or answer of the contract run broke BigCommerce's OpenAPI documents", () => {
    assert.ok(fixture, "the suite's fixture was not set up");
    assert.deepEqual(fixture.emu.violations, []);
    console.log(
      `# bigcommerce contract: ${fixture.emu.checked.size} distinct operations checked against the documents`,
    );
  });
});
