/** The shared connector contract, run against the Shopify emulator (fixture in contract-fixture.ts). */
import { runContractSuite } from "../../ports/contract-suite.ts";
import { shopifyContractFixture } from "./contract-fixture.ts";
import { shopify } from "./index.ts";

runContractSuite(shopify, shopifyContractFixture);
