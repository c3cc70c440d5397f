/**
 * bin/passerelle.mjs, the compiled CLI's entry, sizes Node's heap itself when the user did not: it runs the
 * CLI in a child Node process with its own flags (bin/heap.mjs) and stands in for it — same output, same
 * exit code, signals passed on, and the child gone when the bin is killed outright. Runs dist/ (built by
 * `npm test`, `npm run build`).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { heapFlags, OLD_SPACE_MB, SEMI_SPACE_MB } from "../../bin/heap.mjs";
import { ROOT } from "./helpers.ts";

const BIN = join(ROOT, "bin/passerelle.mjs");

describe("heapFlags: the bin's own heap flags only when the user gave none", () => {
  it("adds a cap and small semi-spaces by default", () => {
    assert.deepEqual(heapFlags([], {}), [
      `--max-old-space-size=${OLD_SPACE_MB}`,
      `--max-semi-space-size=${SEMI_SPACE_MB}`,
    ]);
  });
  it("leaves a heap the user sized on the command line or in NODE_OPTIONS alone", () => {
    assert.equal(heapFlags(["--max-old-space-size=512"], {}), null);
    assert.equal(heapFlags([], { NODE_OPTIONS: "--enable-source-maps --max_old_space_size=1024" }), null);
  });
  it("keeps the user's semi-space size", () => {
    assert.deepEqual(heapFlags(["--max-semi-space-size=32"], {}), [`--max-old-space-size=${OLD_SPACE_MB}`]);
  });
  it("does nothing in the re-run child or when turned off", () => {
    assert.equal(heapFlags([], { PASSERELLE_NODE_FLAGS: "applied" }), null);
    assert.equal(heapFlags([], { PASSERELLE_NODE_FLAGS: "off" }), null);
  });
});

/** The pids of a process's children (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every bin started, killed at the end whatever a test left running. */
const started: ChildProcess[] = [];

function run(args: string[], env: NodeJS.ProcessEnv = {}, input?: string) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, PASSERELLE_NODE_FLAGS: "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  started.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  child.stdin.end(input ?? "");
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, done, out: () => stdout, err: () => stderr };
}

/** A foreground command that runs until stopped, its CLI process (the bin's child) and that child's argv. */
async function emulator(): Promise<{
  bin: ChildProcess & { pid: number };
  cli: number;
  argv: string[];
  r: ReturnType<typeof run>;
}> {
  const r = run(["emulate", "odoo", "--port", "0"]);
  await until("the emulator to start", () => /emulator running/.test(r.out()), 60_000);
  const bin = r.child as ChildProcess & { pid: number };
  const [cli] = childrenOf(bin.pid);
  assert.ok(cli, "the bin runs the CLI in a child process");
  const argv = readFileSync(`/proc/${cli}/cmdline`, "utf8").split("\0");
  return { bin, cli, argv, r };
}

describe("bin/passerelle.mjs runs the CLI with its heap flags, as if it were the CLI", () => {
  before(() => {
    assert.ok(
      existsSync(join(ROOT, "dist/cli/main.js")),
      "dist/ is missing: run `npm run build` before this test",
    );
  });
  after(() => {
    for (const c of started) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      // The CLI first (with the bin re-running itself it is the bin's child), then the bin.
      for (const pid of childrenOf(c.pid as number)) process.kill(pid, "SIGKILL");
      c.kill("SIGKILL");
    }
  });

  it("gives the CLI's output and exit code, with and without the re-run", async () => {
    const direct = run(["validate", "--config", "/nonexistent/passerelle.yaml"], {
      PASSERELLE_NODE_FLAGS: "off",
    });
    const wrapped = run(["validate", "--config", "/nonexistent/passerelle.yaml"]);
    const [a, b] = await Promise.all([direct.done, wrapped.done]);
    assert.notEqual(a.code, 0, direct.err());
    assert.deepEqual(b, a);
    assert.equal(wrapped.err(), direct.err());
    assert.equal(wrapped.out(), direct.out());
  });

  it("starts the CLI with the heap flags, passes SIGTERM on and exits as the CLI did", async () => {
    const { bin, cli, argv, r } = await emulator();
    assert.ok(argv.includes(`--max-old-space-size=${OLD_SPACE_MB}`), argv.join(" "));
    assert.ok(argv.includes(`--max-semi-space-size=${SEMI_SPACE_MB}`), argv.join(" "));
    bin.kill("SIGTERM");
    const end = await r.done;
    assert.ok(end.code !== null || end.signal === "SIGTERM", JSON.stringify(end));
    await until("the CLI to exit", () => !alive(cli));
  });

  it("does not re-run when the user sized the heap", async () => {
    const r = run(["emulate", "odoo", "--port", "0"], { NODE_OPTIONS: "--max-old-space-size=300" });
    await until("the emulator to start", () => /emulator running/.test(r.out()), 60_000);
    assert.deepEqual(childrenOf(r.child.pid as number), []);
    r.child.kill("SIGTERM");
    await r.done;
  });

  it("leaves no CLI behind when the bin is killed with SIGKILL", async () => {
    const { bin, cli } = await emulator();
    bin.kill("SIGKILL");
    await until("the CLI to die with the bin", () => !alive(cli));
  });
});
