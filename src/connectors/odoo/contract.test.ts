/** The shared connector contract, run against the Odoo emulator (fixture in test/fixtures/odoo-contract.ts). */

import { odooContractFixture } from "../../../test/fixtures/odoo-contract.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { odoo } from "./index.ts";

runContractSuite(odoo, odooContractFixture);
