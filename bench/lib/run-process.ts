/**
 * A `passerelle run` (or any server that prints "Listening on http://host:port" on stderr) as a child process
 * of a bench: started and waited for until it listens, its CPU time read from /proc, stopped gently.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";

export interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Spawns `node <argv>` and resolves once it prints its address (at most 60 s). */
export async function startListening(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(process.execPath, argv, { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const end = Date.now() + 60_000;
  for (;;) {
    const m = /Listening on (http:\/\/[\d.]+:\d+)/.exec(err);
    if (m?.[1]) return { child, url: m[1], exited, stderr: () => err };
    if (child.exitCode !== null) throw new Error(`passerelle run exited:\n${err}`);
    if (Date.now() > end) throw new Error(`passerelle run did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM, and SIGKILL if it has not exited 20 s later. */
export async function stopServer(server: Server): Promise<void> {
  server.child.kill("SIGTERM");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 20_000);
  await server.exited;
  clearTimeout(timer);
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc). */
export function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}
