/**
 * `passerelle validate` on a configuration whose stock flow carries a value map of N entries (warehouse
 * code → shop location), the case a merchant with many sites writes. Linear means the time per entry
 * stays flat from size to size.
 *
 *   node --import tsx bench/config-validate.ts [--sizes 10k,100k,200k] [--root <checkout>] [--label name]
 *
 * Per size: the real CLI (`node bin/passerelle.mjs validate`, a fresh process, wall time including Node's
 * start) and `parseConfig` in one process (best of three after a warm-up, wall and CPU). A tiny
 * configuration gives the CLI's fixed start-up cost. `--root` measures another checkout (e.g. the commit
 * before a change, extracted with `git archive <rev> | tar -x -C /tmp/head` and node_modules linked in);
 * `--max-seconds N` gives up on a size after N seconds of the CLI (a quadratic run may take minutes).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseSize } from "./dataset.ts";
import { argValue, loadAverages, saveResult } from "./lib/measure.ts";

const here = fileURLToPath(new URL("..", import.meta.url));
const root = resolve(argValue("root") ?? here);
const sizes = (argValue("sizes") ?? "10k,100k,200k").split(",").map((s) => parseSize(s, 0));
const maxSeconds = argValue("max-seconds") === undefined ? undefined : Number(argValue("max-seconds"));
const label = argValue("label");

const env = {
  ODOO_URL: "http://127.0.0.1:8069",
  ODOO_DB: "odoo",
  ODOO_USER: "admin",
  ODOO_PASSWORD: "bench-password",
  SHOPIFY_SHOP: "bench.myshopify.com",
  SHOPIFY_ACCESS_TOKEN: "shpat_bench",
};

/** The demo's connections and a stock flow mapping `entries` warehouse codes to locations. */
export function configWithValueMap(entries: number): string {
  const lines = [
    "version: 1",
    "connections:",
    `  odoo: { type: odoo, url: '\${env:ODOO_URL}', db: '\${env:ODOO_DB}', username: '\${env:ODOO_USER}', password: '\${env:ODOO_PASSWORD}' }`,
    `  shopify: { type: shopify, shop: '\${env:SHOPIFY_SHOP}', accessToken: '\${env:SHOPIFY_ACCESS_TOKEN}' }`,
    "flows:",
    "  stock:",
    "    source: { connection: odoo, entity: inventory }",
    "    target: { connection: shopify, entity: inventory }",
    "    mapping:",
    "      location:",
    "        from: location",
    "        strict: true",
    "        map:",
  ];
  for (let i = 0; i < entries; i++) lines.push(`          WH${i}: Site ${i}`);
  if (entries === 0) lines.push("          WH: Main Warehouse");
  return `${lines.join("\n")}\n`;
}

interface CliRun {
  ms: number;
  code: number | null;
  stoppedAfterS?: number;
}

function runCli(config: string): Promise<CliRun> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, "bin/passerelle.mjs"), "validate", "--json"], {
      cwd: root,
      env: { ...process.env, ...env, PASSERELLE_CONFIG: config },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    const timer =
      maxSeconds === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), maxSeconds * 1000);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - t0);
      if (code === null) return done({ ms, code, stoppedAfterS: maxSeconds });
      if (code !== 0) return fail(new Error(`validate exited ${code}: ${stderr.slice(0, 2000)}`));
      done({ ms, code });
    });
  });
}

type ParseConfig = (text: string, definitions: readonly unknown[], opts: object) => unknown;

/** Best of three after a warm-up; a run longer than 20 s is measured once (the old quadratic code). */
async function inProcess(text: string, parse: ParseConfig, definitions: readonly unknown[]) {
  let best = { ms: Number.POSITIVE_INFINITY, cpuMs: 0, runs: 0 };
  for (let i = 0; i < 4; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    parse(text, definitions, { env });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const run = { ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), runs: i + 1 };
    if (i === 0 && ms > 20_000) return run;
    if (i > 0 && ms < best.ms) best = run;
  }
  return { ...best, runs: 4 };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-config-bench-"));
  const { parseConfig } = (await import(pathToFileURL(join(root, "src/config/load.ts")).href)) as {
    parseConfig: ParseConfig;
  };
  const { connectorDefinitions } = (await import(
    pathToFileURL(join(root, "src/connectors/index.ts")).href
  )) as { connectorDefinitions: readonly unknown[] };
  try {
    const tiny = join(dir, "tiny.yaml");
    writeFileSync(tiny, configWithValueMap(0));
    const startup = await runCli(tiny);
    console.log(JSON.stringify({ cliStartupMs: startup.ms }));
    const results = [];
    for (const size of sizes) {
      const text = configWithValueMap(size);
      const path = join(dir, `map-${size}.yaml`);
      writeFileSync(path, text);
      const loadAtStart = loadAverages();
      const cli = await runCli(path);
      const parse =
        cli.stoppedAfterS === undefined ? await inProcess(text, parseConfig, connectorDefinitions) : null;
      const result = {
        entries: size,
        bytes: Buffer.byteLength(text),
        cli,
        parseConfig: parse,
        parseUsPerEntry: parse ? Math.round((parse.ms * 1000) / size) : null,
        loadAverage: { start: loadAtStart, end: loadAverages() },
      };
      console.log(JSON.stringify(result));
      results.push(result);
    }
    const name = `config-validate-${sizes.join("-")}${label ? `-${label}` : ""}`;
    const saved = saveResult(name, {
      root,
      command: `node --import tsx bench/config-validate.ts ${process.argv.slice(2).join(" ")}`.trim(),
      cliStartupMs: startup.ms,
      results,
    });
    console.log(`saved ${saved}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
