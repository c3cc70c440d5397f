#!/usr/bin/env node
// Fetches the SAP Cloud SDK packages whose service descriptions hold the S/4HANA contracts no EDMX in
// ../shared/specs gives (deliveries, billing documents, material stock, sales pricing condition records) into
// .cache/vendor-specs/s4hana/ with `npm pack`, byte for byte as npm publishes them, and checks each against
// its pinned sha512. The packages, files and digests are listed once, in
// packages/emulators/src/s4hana/vdm-packages.json, which the emulator (vdm.ts) reads too. They are read at test
// time only and never committed: their licence (the SAP Developer License Agreement) is not the project's.
// .ci/run calls this before `npm test`; without the files the tests of those services skip with the reason
// (outside CI).
//
//   node scripts/specs/fetch-sap-vdm.mjs        # or: npm run specs:fetch
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const DIR = join(ROOT, ".cache/vendor-specs/s4hana");
const PACKAGES = Object.values(
  JSON.parse(readFileSync(join(ROOT, "packages/emulators/src/s4hana/vdm-packages.json"), "utf8")),
);

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
