/** The shared connector contract, run against the Odoo emulator (fixture in contract-fixture.ts). */
import { runContractSuite } from "../../ports/contract-suite.ts";
import { odooContractFixture } from "./contract-fixture.ts";
import { odoo } from "./index.ts";

runContractSuite(odoo, odooContractFixture);
