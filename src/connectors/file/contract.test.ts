/** The shared connector contract, run on a temporary folder (fixture in test/fixtures/file-contract.ts). */

import { fileContractFixture } from "../../../test/fixtures/file-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { file } from "./index.ts";

runContractSuite(file, () => fileContractFixture());
