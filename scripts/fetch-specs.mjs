#!/usr/bin/env node
// Installs the official Shopify Admin GraphQL schema (an introspection result Shopify publishes inside its
// npm package @shopify/dev-mcp) under node_modules/.cache/passerelle/specs, for the Shopify emulator and the
// schema checks. Runs after `npm install`; only the one file is kept, verified against a pinned sha256.
// A machine that has the specs folder beside the repository (../shared/specs) copies it from there.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const FILE = "shopify/admin_2026-10.json.gz";
const SHA256 = "f3b522f264556925eada700e795e4a002a9cba83444ebcc6c0d724254a0c6593";
const PACKAGE = "@shopify/dev-mcp@1.16.0";
const IN_PACKAGE = "package/dist/data/admin_2026-10.json.gz";
const target = join(ROOT, "node_modules/.cache/passerelle/specs", FILE);

const sha = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");
const good = (path) => existsSync(path) && sha(path) === SHA256;

function install(from) {
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(from, `${target}.tmp`);
  renameSync(`${target}.tmp`, target);
}

if (good(target)) process.exit(0);
const beside = join(ROOT, "../shared/specs", FILE);
if (good(beside)) {
  install(beside);
  console.log(`passerelle: Shopify Admin schema copied from ${beside}`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), "passerelle-specs-"));
try {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const tgz = execFileSync(npm, ["pack", PACKAGE, "--silent", "--pack-destination", work], {
    encoding: "utf8",
  }).trim();
  execFileSync("tar", ["xzf", join(work, tgz.split("\n").pop()), "-C", work, IN_PACKAGE]);
  const extracted = join(work, IN_PACKAGE);
  if (!good(extracted))
    throw new Error(`${PACKAGE} ${IN_PACKAGE} does not have the expected sha256 ${SHA256}`);
  install(extracted);
  console.log(`passerelle: Shopify Admin schema installed from ${PACKAGE}`);
} catch (e) {
  console.warn(
    `passerelle: could not install the Shopify Admin schema (${e instanceof Error ? e.message : e}).\n` +
      "  The Shopify emulator (npm start) and the schema checks need it; run `npm run fetch:specs` once online,\n" +
      "  or set PASSERELLE_SPECS to a folder holding shopify/admin_2026-10.json.gz.",
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
