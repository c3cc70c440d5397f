/**
 * A CLI command that runs until it is signalled (`passerelle run`, `passerelle emulate`), as a child
 * process: its output is collected, a test waits for a line to appear, then stops it as a user would.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { type CliResult, ROOT } from "./helpers.ts";

/** A guard against a child that never prints what is awaited, not a measure of speed. */
const DEADLINE_MS = 60_000;

export interface LongRunning {
  stdout(): string;
  stderr(): string;
  /**
   * Resolves with the first match of `pattern` in the stream; rejects, with everything printed, if the
   * process exits first.
   */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp): Promise<RegExpExecArray>;
  /** Sends `signal` (unless it already exited) and resolves with its exit code and output. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv): LongRunning {
  const child = spawn(process.execPath, [join(ROOT, "bin/passerelle-src.mjs"), ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  child.stderr.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  const exited = new Promise<CliResult>((done) =>
    child.once("close", (code) => done({ code: code ?? -1, stdout: out, stderr: err })),
  );
  const describe = () => `passerelle ${args.join(" ")}\nstdout:\n${out}\nstderr:\n${err}`;
  return {
    stdout: () => out,
    stderr: () => err,
    async waitFor(stream, pattern) {
      const end = Date.now() + DEADLINE_MS;
      for (;;) {
        const m = pattern.exec(stream === "stdout" ? out : err);
        if (m) return m;
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(
            `exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}\n${describe()}`,
          );
        if (Date.now() > end) throw new Error(`never printed ${pattern}\n${describe()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
