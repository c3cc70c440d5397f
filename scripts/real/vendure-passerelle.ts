/**
 * Passerelle between a real Tryton and a real Vendure, driven as a merchant drives it: a generated
 * passerelle.yaml (secrets only as `${env:…}` references) and `bin/passerelle-src.mjs` (the CLI from its sources) as a child process
 * whose pid the caller holds, so a test can SIGKILL it at a moment of its choosing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TrytonConnection } from "./tryton.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(ROOT, "bin/passerelle-src.mjs");

export interface FlowSpec {
  name: string;
  entity: string;
  /** Tryton to Vendure (`erp` → `shop`) unless said otherwise. */
  from?: "erp" | "shop";
}

const envRef = (name: string) => `\${env:${name}}`;

/** A passerelle.yaml with connections `erp` (Tryton) and `shop` (Vendure at `shopUrl`). */
export function passerelleYaml(opts: {
  store: string;
  erp: TrytonConnection;
  shopUrl: string;
  shopUser: string;
  locationMap: Record<string, string>;
  flows: FlowSpec[];
}): string {
  return [
    "version: 1",
    "store:",
    `  url: sqlite:${opts.store}`,
    "connections:",
    "  erp:",
    "    type: tryton",
    `    url: ${opts.erp.url}`,
    `    db: ${opts.erp.db}`,
    `    username: ${opts.erp.user}`,
    `    password: ${envRef("TRYTON_PASSWORD")}`,
    "  shop:",
    "    type: vendure",
    `    url: ${opts.shopUrl}`,
    `    username: ${opts.shopUser}`,
    `    password: ${envRef("VENDURE_PASSWORD")}`,
    "    locationMap:",
    ...Object.entries(opts.locationMap).map(([k, v]) => `      ${k}: ${v}`),
    "flows:",
    ...opts.flows.flatMap((f) => {
      const [from, to] = f.from === "shop" ? ["shop", "erp"] : ["erp", "shop"];
      return [
        `  ${f.name}:`,
        `    source: { connection: ${from}, entity: ${f.entity} }`,
        `    target: { connection: ${to}, entity: ${f.entity} }`,
      ];
    }),
    "",
  ].join("\n");
}

export interface CliRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `passerelle …args`; `done` settles when it exits, however it exits. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on("data", (c: Buffer) => out.push(c));
  child.stderr?.on("data", (c: Buffer) => err.push(c));
  const done = new Promise<Awaited<CliRun["done"]>>((settle, fail) => {
    child.on("error", fail);
    child.on("close", (code, signal) =>
      settle({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
  return { child, done };
}

/** `passerelle sync …flows --json`, which must succeed; the error carries what it printed. */
export async function syncOk(
  env: NodeJS.ProcessEnv,
  flows: readonly string[],
): Promise<{ flow: string; counts: Record<string, number> }[]> {
  const res = await runCli(["sync", ...flows, "--json"], env).done;
  if (res.code !== 0) {
    const failures = await runCli(["failures", "list", "--json"], env).done;
    throw new Error(
      `passerelle sync ${flows.join(" ")} exit ${res.code}:\n${res.stdout}\n${res.stderr}\nfailures: ${failures.stdout}`,
    );
  }
  return (JSON.parse(res.stdout) as { runs: { flow: string; counts: Record<string, number> }[] }).runs;
}
