/**
 * `passerelle run` tells the operator when its webhook server is reachable from the network without TLS:
 * bound to a non-loopback address over plain HTTP it prints a warning naming the address and the fix
 * (server.tls); on loopback, or with TLS, it says nothing. The real CLI in a child process, as run.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { explain, hasStackTrace, startWorld, type World } from "./helpers.ts";
import { startCli } from "./long-running.ts";

const WARNING = /serving webhooks over plain HTTP/;

describe("passerelle run: plain HTTP on a network address", () => {
  let world: World;

  before(async () => {
    world = await startWorld({ products: 4 });
  });
  after(async () => {
    await world?.close();
  });

  /** Starts `passerelle run …args`, waits for `ready` on stderr, runs `during`, then stops it with SIGTERM. */
  async function runUntil(
    args: string[],
    ready: RegExp,
    env: NodeJS.ProcessEnv = world.env,
    during?: (stderr: string) => Promise<void>,
  ) {
    const run = startCli(["run", ...args], env);
    try {
      await run.waitFor("stderr", ready);
      await during?.(run.stderr());
    } finally {
      await run.stop();
    }
    return run.stop();
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
