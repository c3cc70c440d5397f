#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`; `npm install` in a checkout builds it, and the
// published package ships it). From a checkout's TypeScript sources, without building, use
// bin/passerelle-src.mjs.
//
// Unless the user sized Node's heap (see heap.mjs), the CLI runs in a child Node process started with the
// bin's own heap flags; this process only waits for it: the child inherits stdin, stdout and stderr, its
// exit code (or the signal that ended it) becomes this process's, and SIGINT, SIGTERM and SIGHUP are passed
// on (a terminal's Ctrl-C or a process group's SIGTERM then reaches the CLI twice at once, which it counts
// as one: src/runtime/shutdown.ts). If this process is killed outright (SIGKILL), the child, told by the
// IPC channel closing, kills itself the same way.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { heapFlags } from "./heap.mjs";

const flags = heapFlags(process.execArgv, process.env);
if (flags !== null) {
  const child = spawn(
    process.execPath,
    [...process.execArgv, ...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: ["inherit", "inherit", "inherit", "ipc"],
      env: { ...process.env, PASSERELLE_NODE_FLAGS: "applied" },
    },
  );
  const pass = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on("SIGINT", pass);
  process.on("SIGTERM", pass);
  process.on("SIGHUP", pass);
  child.on("error", (e) => {
    console.error(`passerelle: could not start Node for the CLI: ${e.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  if (process.env.PASSERELLE_NODE_FLAGS === "applied") {
    // The re-run child: its own children (a `demo`'s CLI runs) size their heaps afresh.
    delete process.env.PASSERELLE_NODE_FLAGS;
    if (process.channel) {
      process.channel.unref();
      process.on("disconnect", () => process.kill(process.pid, "SIGKILL"));
    }
  }
  let main;
  try {
    ({ main } = await import("../dist/cli/main.js"));
  } catch (e) {
    if (e?.code !== "ERR_MODULE_NOT_FOUND" || !String(e.message).includes("dist/cli/main.js")) throw e;
    console.error(
      "passerelle: the compiled CLI (dist/) is missing. In a checkout of the repository, run `npm run build`\n" +
        "(npm install does it too), or run the sources with `node bin/passerelle-src.mjs`.",
    );
    process.exit(1);
  }
  await main(process.argv);
}
