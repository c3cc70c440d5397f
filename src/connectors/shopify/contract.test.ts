/** The shared connector contract, run against the Shopify emulator (fixture in test/fixtures/shopify-contract.ts). */

import { shopifyContractFixture } from "../../../test/fixtures/shopify-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { shopify } from "./index.ts";

runContractSuite(shopify, shopifyContractFixture);
