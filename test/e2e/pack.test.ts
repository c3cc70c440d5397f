/**
 * The published package, as a user gets it: `npm pack` of this checkout's build, installed from the tarball
 * into an empty folder, then `npx passerelle init` and `npx passerelle validate` there. Proves the tarball
 * holds the compiled CLI and everything it loads (no TypeScript, no tsx, no emulators, no specs) and that
 * its dependencies are declared. `passerelle demo` there must say the emulators are not installed.
 *
 * It packs dist/ as built (`npm test` builds before running the tests; so does `npm install`) and refuses a
 * dist/ older than the sources. Dependencies install from the npm cache when it has them
 * (--prefer-offline), from the registry otherwise; install scripts are skipped, so better-sqlite3's native
 * addon is not compiled (about two minutes here): init and validate do not open the store.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "./helpers.ts";

const run = promisify(execFile);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function newest(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    t = Math.max(t, st.isDirectory() ? newest(p) : name.endsWith(".test.ts") ? 0 : st.mtimeMs);
  }
  return t;
}

let work: string;
let app: string;
let files: string[] = [];
const env = {
  ...process.env,
  ODOO_PASSWORD: "pack-test-odoo-password",
  SHOPIFY_ACCESS_TOKEN: "pack-test-shopify-token",
  npm_config_update_notifier: "false",
};

before(async () => {
  const main = join(ROOT, "dist/cli/main.js");
  assert.ok(existsSync(main), "dist/ is missing: run `npm run build` before this test");
  assert.ok(
    statSync(main).mtimeMs >= newest(join(ROOT, "src")),
    "dist/ is older than src/: run `npm run build` before this test",
  );
  assert.ok(
    existsSync(join(ROOT, "dist/web/index.html")) &&
      statSync(join(ROOT, "dist/web/index.html")).mtimeMs >= newest(join(ROOT, "web")),
    "the dashboard (dist/web) is missing or older than web/: run `npm run build` before this test",
  );
  work = mkdtempSync(join(tmpdir(), "passerelle-pack-"));
  app = join(work, "app");
  mkdirSync(app);
  // --ignore-scripts: dist/ is already built (prepare would build it again).
  const { stdout } = await run(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
    cwd: ROOT,
    env,
  });
  const packed = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  const tgz = join(work, packed[0]?.filename ?? "");
  files = (packed[0]?.files ?? []).map((f) => f.path);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "pack-test", private: true }));
  await run(
    npm,
    ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", tgz],
    { cwd: app, env, timeout: 120_000 },
  );
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the tarball holds the compiled CLI and its docs, and no sources, tests, emulators or specs", () => {
  assert.ok(files.includes("bin/passerelle.mjs"));
  assert.ok(files.includes("bin/heap.mjs"), "the heap settings the bin runs the CLI with");
  assert.ok(files.includes("dist/cli/main.js"));
  assert.ok(files.includes("dist/cli/templates/passerelle.yaml"));
  assert.ok(files.includes("dist/connectors/shopify/cost-plans.json"));
  assert.ok(files.includes("dist/store/inbox/writer-thread.worker.mjs"), "the inbox writer thread");
  assert.ok(files.includes("dist/store/inbox/checkpoint-thread.worker.mjs"), "the inbox checkpoint thread");
  assert.ok(files.includes("README.md"));
  // The dashboard, built by Vite (scripts/build.mjs): its page and the bundle it loads.
  assert.ok(files.includes("dist/web/index.html"), "the dashboard's page");
  const page = readFileSync(join(app, "node_modules/passerelle/dist/web/index.html"), "utf8");
  const bundle = /src="\.\/(assets\/[^"]+\.js)"/.exec(page)?.[1];
  assert.ok(bundle && files.includes(`dist/web/${bundle}`), `the bundle index.html loads (${bundle})`);
  const stray = files.filter(
    (f) =>
      f.endsWith(".ts") ||
      f.startsWith("src/") ||
      f.startsWith("test/") ||
      f.startsWith("packages/") ||
      f.startsWith("specs/") ||
      /(^|\/)emulators?\//.test(f) ||
      f === "bin/passerelle-src.mjs",
  );
  assert.deepEqual(stray, []);
  // The emulators package is named by the lazy loader alone (type-only imports are erased by the build).
  const naming = files.filter(
    (f) =>
      f.endsWith(".js") &&
      readFileSync(join(app, "node_modules/passerelle", f), "utf8").includes("@passerelle/emulators"),
  );
  assert.deepEqual(naming, ["dist/cli/emulators.js"]);
});

test("npx passerelle init, then validate, in an empty folder", async () => {
  const init = await run("npx", ["--no-install", "passerelle", "init"], { cwd: app, env });
  assert.match(init.stdout, /Wrote .*passerelle\.yaml\. Next: passerelle validate/);
  const validate = await run("npx", ["--no-install", "passerelle", "validate", "--json"], { cwd: app, env });
  const report = JSON.parse(validate.stdout) as { valid: boolean; connections: string[] };
  assert.equal(report.valid, true);
  assert.deepEqual(report.connections.sort(), ["odoo", "shopify"]);
  // The secrets are read from the environment and appear nowhere in the output.
  assert.doesNotMatch(validate.stdout + validate.stderr, /pack-test-odoo-password|pack-test-shopify-token/);
});

test("passerelle demo from the published package says the emulators are not installed", async () => {
  const demo = await run("npx", ["--no-install", "passerelle", "demo", "--once"], { cwd: app, env }).then(
    () => assert.fail("passerelle demo succeeded without the emulators package"),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  assert.notEqual(demo.code, 0);
  assert.match(
    demo.stderr,
    /passerelle demo needs the emulators package @passerelle\/emulators, which is not installed/,
  );
  assert.doesNotMatch(demo.stdout, /Starting the Odoo and Shopify emulators/);
});
