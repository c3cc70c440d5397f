#!/usr/bin/env node
// Builds the product to JavaScript (src/ → dist/) and the emulators package (packages/emulators/src → its
// dist/), with tsc (the `.ts` import specifiers become `.js`: rewriteRelativeImportExtensions), then copies
// the non-TypeScript files the code reads at run time (cost-plans.json, the init template, the inbox's
// worker-thread modules, *.mjs) beside it, and finally the web dashboard (web/ → dist/web, with Vite; served by
// `passerelle run` at `/`).
// `npm run build` runs it; so does `npm install` in a checkout (the `prepare` script). No network. Emit only
// (noCheck in tsconfig.build.json): `npm run typecheck` (part of `npm test`) checks the types.
import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const ASSETS = new Set([".json", ".yaml", ".mjs"]);

function build(dir) {
  const src = join(dir, "src");
  const out = join(dir, "dist");
  rmSync(out, { recursive: true, force: true });
  const res = spawnSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.build.json")], {
    stdio: "inherit",
  });
  if (res.status !== 0) {
    console.error(`build: tsc failed for ${relative(ROOT, dir) || "."}`);
    process.exit(res.status ?? 1);
  }
  const copy = (path) => {
    for (const name of readdirSync(path)) {
      const p = join(path, name);
      if (statSync(p).isDirectory()) copy(p);
      else if (ASSETS.has(extname(name))) cpSync(p, join(out, relative(src, p)));
    }
  };
  copy(src);
}

/**
 * The dashboard: Vite bundles web/ (React) into dist/web. Vite and React are devDependencies: a checkout has
 * them (npm install / npm ci), the published package carries dist/web already built. Without Vite (an
 * install that left out dev dependencies) the server still runs and says at `/` that the dashboard is not built.
 */
async function buildWeb() {
  let vite;
  try {
    vite = await import("vite");
  } catch {
    console.warn("build: vite is not installed (dev dependency); the dashboard (dist/web) is not built");
    return;
  }
  try {
    await vite.build({ configFile: join(ROOT, "web/vite.config.ts"), logLevel: "warn" });
  } catch (e) {
    console.error(`build: the dashboard (web/) failed to build: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  }
}

build(ROOT);
build(join(ROOT, "packages/emulators"));
await buildWeb();
