/** The shared connector contract, run on the test JSON API (fixture in test/fixtures/rest-contract.ts). */

import { restContractFixture } from "../../../test/fixtures/rest-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { rest } from "./index.ts";

runContractSuite(rest, () => restContractFixture());
