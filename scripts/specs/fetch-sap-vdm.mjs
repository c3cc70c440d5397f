#!/usr/bin/env node
// Fetches the two SAP Cloud SDK packages whose service descriptions hold the S/4HANA deliveries and billing
// documents contract (API_OUTBOUND_DELIVERY_SRV, API_BILLING_DOCUMENT_SRV; no EDMX of them is in
// ../shared/specs) into .cache/vendor-specs/s4hana/ with `npm pack`, byte for byte as npm publishes them, and
// checks each against the sha512 the emulator pins (packages/emulators/src/s4hana/vdm.ts). They are read at
// test time only and never committed: their licence (the SAP Developer License Agreement) is not the
// project's. .ci/run calls this before `npm test`; without the files the delivery and billing tests skip
// with the reason (outside CI).
//
//   node scripts/specs/fetch-sap-vdm.mjs        # or: npm run specs:fetch
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const DIR = join(ROOT, ".cache/vendor-specs/s4hana");
// The same names and digests as S4_VDM_SERVICES in packages/emulators/src/s4hana/vdm.ts (checked there too).
const PACKAGES = [
  {
    spec: "@sap/cloud-sdk-vdm-outbound-delivery-service@2.1.0",
    file: "sap-cloud-sdk-vdm-outbound-delivery-service-2.1.0.tgz",
    integrity:
      "sha512-W2Gp5d4st/6+Ksa0KYuQXkDNvGcKZlnb1OiZg/0lf1M147rcqLomEN77Z5yjd2Oy6ve07r6NX0ZxrPsiGgl8ow==",
  },
  {
    spec: "@sap/cloud-sdk-vdm-billing-document-service@2.1.0",
    file: "sap-cloud-sdk-vdm-billing-document-service-2.1.0.tgz",
    integrity:
      "sha512-knKL7kkHs21+FLN74CxIP3JqMF31IjPkLYrUeGS1ArR+YzND2dCj46/EdjllbK6Go6IzSGn0WZoiTwjatJkJhQ==",
  },
];

const digest = (path) => `sha512-${createHash("sha512").update(readFileSync(path)).digest("base64")}`;

mkdirSync(DIR, { recursive: true });
for (const p of PACKAGES) {
  const path = join(DIR, p.file);
  if (existsSync(path) && digest(path) === p.integrity) {
    console.log(`${p.file}: present`);
    continue;
  }
  rmSync(path, { force: true });
  const npm = spawnSync("npm", ["pack", p.spec, "--pack-destination", DIR, "--silent"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (npm.status !== 0 || !existsSync(path)) {
    console.error(`npm pack ${p.spec} failed (exit ${npm.status})`);
    process.exit(1);
  }
  const got = digest(path);
  if (got !== p.integrity) {
    rmSync(path, { force: true });
    console.error(`${p.file}: sha512 ${got}, expected ${p.integrity}: removed`);
    process.exit(1);
  }
  console.log(`${p.file}: fetched, sha512 checked`);
}
