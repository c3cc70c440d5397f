/**
 * `passerelle run` tells the operator when its webhook server is reachable from the network without TLS:
 * bound to a non-loopback address over plain HTTP it prints a warning naming the address and the fix
 * (server.tls); on loopback, or with TLS, it says nothing. The real CLI in a child process, as run.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { explain, hasStackTrace, ROOT, startWorld, type World } from "./helpers.ts";

const DEADLINE_MS = 60_000;
const WARNING = /serving webhooks over plain HTTP/;

describe("passerelle run: plain HTTP on a network address", () => {
  let world: World;

  before(async () => {
    world = await startWorld({ products: 4 });
  });
  after(async () => {
    await world?.close();
  });

  /**
   * Starts `passerelle run …args`, waits until `ready` matches its stderr, runs `during` (if given), stops
   * it with SIGTERM and returns everything it printed.
   */
  async function runUntil(
    args: string[],
    ready: RegExp,
    env: NodeJS.ProcessEnv = world.env,
    during?: (stderr: string) => Promise<void>,
  ) {
    const child = spawn(process.execPath, [join(ROOT, "bin/passerelle.mjs"), "run", ...args], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    const exit = new Promise<number>((done) => child.once("exit", (code) => done(code ?? -1)));
    const end = Date.now() + DEADLINE_MS;
    try {
      while (!ready.test(stderr)) {
        if (child.exitCode !== null) break;
        if (Date.now() > end) throw new Error(`passerelle run never printed ${ready}:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await during?.(stderr);
    } finally {
      child.kill("SIGTERM");
    }
    const code = await exit;
    return { code, stdout, stderr };
  }

  it("--host 0.0.0.0 without TLS: a warning naming the address and server.tls, then it serves", async () => {
    let health = 0;
    const res = await runUntil(
      ["--host", "0.0.0.0", "--port", "0"],
      /Listening on/,
      world.env,
      async (err) => {
        const port = /Listening on http:\/\/0\.0\.0\.0:(\d+)/.exec(err)?.[1];
        health = (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
      },
    );
    assert.equal(res.code, 0, explain(res));
    assert.equal(health, 200, "it serves");
    const line = res.stderr.split("\n").find((l) => WARNING.test(l));
    assert.ok(line, explain(res));
    assert.match(
      line,
      /^warning: serving webhooks over plain HTTP on 0\.0\.0\.0:\d+, every network interface/,
    );
    assert.match(line, /server\.tls: \{ cert, key \}/);
    assert.ok(!hasStackTrace(res.stderr), res.stderr);
  });

  it("--json: the warning is still on stderr, as a log line", async () => {
    const res = await runUntil(["--host", "0.0.0.0", "--port", "0", "--json"], WARNING);
    assert.equal(res.code, 0, explain(res));
    const line = res.stderr.split("\n").find((l) => WARNING.test(l));
    assert.ok(line, explain(res));
    const log = JSON.parse(line) as { level: number; msg: string; url: string };
    assert.equal(log.level, 40, "pino's warn");
    assert.match(log.url, /^http:\/\/0\.0\.0\.0:\d+$/);
    assert.match(log.msg, /on 0\.0\.0\.0:\d+, every network interface.*server\.tls/);
  });

  it("on loopback: no warning", async () => {
    const res = await runUntil(["--host", "127.0.0.1", "--port", "0"], /Listening on/);
    assert.equal(res.code, 0, explain(res));
    assert.doesNotMatch(res.stderr, WARNING);
  });

  it("--host 0.0.0.0 with server.tls: HTTPS, no warning", async () => {
    const cert = join(world.dir, "cert.pem");
    const key = join(world.dir, "key.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
      ],
      { stdio: "ignore" },
    );
    const config = world.writeConfig("tls.yaml", (doc) =>
      doc.setIn(["server", "tls"], doc.createNode({ cert, key })),
    );
    const res = await runUntil(["--host", "0.0.0.0", "--port", "0"], /Listening on/, {
      ...world.env,
      PASSERELLE_CONFIG: config,
    });
    assert.equal(res.code, 0, explain(res));
    assert.match(res.stderr, /Listening on https:\/\/0\.0\.0\.0:\d+/);
    assert.doesNotMatch(res.stderr, WARNING);
  });
});
