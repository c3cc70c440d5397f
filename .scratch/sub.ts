import { writeFileSync, mkdirSync } from "node:fs";
import { sapB1Metadata } from "@passerelle/emulators";
import { edmxSubset } from "../test/helpers/sap-b1-edmx.ts";
mkdirSync("/tmp/sapb1-gen/in", { recursive: true });
const x = edmxSubset(sapB1Metadata(), ["Items", "Orders", "BusinessPartners"]);
writeFileSync("/tmp/sapb1-gen/in/ServiceLayer.edmx", x);
console.log(x.length);
