/**
 * scripts/ci/postgres.sh on a fresh machine: given a brand-new cluster (no test database, no password-less
 * login over TCP) and the name of a restart cluster that does not exist yet, the script leaves both ready
 * for the suites, which then connect as they always do; a second run changes nothing. Both clusters are
 * throw-away ones on free ports, dropped afterwards. Needs root and postgresql-common; skipped with a
 * message without them, except under CI, where it fails.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import pg from "pg";
import { closedPort } from "../helpers/net.ts";
import { ROOT } from "./helpers.ts";

const run = promisify(execFile);
const SCRIPT = join(ROOT, "scripts/ci/postgres.sh");

async function missing(): Promise<string | null> {
  if (process.getuid?.() !== 0) return "needs root (pg_createcluster)";
  try {
    await run("pg_lsclusters", ["--no-header"]);
    return null;
  } catch {
    return "PostgreSQL's cluster tools (postgresql-common) are not installed";
  }
}

const lacking = await missing();
const skip = lacking !== null && !process.env.CI ? `scripts/ci/postgres.sh test ${lacking}` : false;

async function newestVersion(): Promise<string> {
  const { stdout } = await run("ls", ["/usr/lib/postgresql"]);
  const versions = stdout.split(/\s+/).filter(Boolean);
  return versions.sort((a, b) => Number(a) - Number(b)).at(-1) ?? "";
}

async function clusterNames(): Promise<string[]> {
  const { stdout } = await run("pg_lsclusters", ["--no-header"]);
  return stdout
    .split("\n")
    .map((l) => l.split(/\s+/)[1] ?? "")
    .filter(Boolean);
}

/** What the suites do (test/helpers/postgres.ts): connect as postgres, no password, and ask something. */
async function connectAsTests(port: number): Promise<string> {
  const client = new pg.Client({
    connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
    const { rows } = await client.query<{ db: string }>("select current_database() as db");
    return rows[0]?.db ?? "";
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe("scripts/ci/postgres.sh on a fresh machine", { skip }, () => {
  const suffix = randomBytes(4).toString("hex");
  const main = `pt_main_${suffix}`;
  const restart = `pt_restart_${suffix}`;
  let version = "";

  after(async () => {
    for (const name of [main, restart]) {
      if (version !== "" && (await clusterNames()).includes(name)) {
        await run("pg_dropcluster", ["--stop", version, name]);
      }
    }
  });

  it("creates what the suites need, and a second run changes nothing", async () => {
    assert.equal(lacking, null, `scripts/ci/postgres.sh test ${lacking}; CI requires it`);
    version = await newestVersion();
    const mainPort = await closedPort();
    let restartPort = await closedPort();
    while (restartPort === mainPort) restartPort = await closedPort();

    // A cluster as the Debian package leaves it: running, password logins over TCP, no test database.
    await run("pg_createcluster", ["--port", String(mainPort), version, main]);
    await run("pg_ctlcluster", ["--skip-systemctl-redirect", version, main, "start"]);
    await assert.rejects(connectAsTests(mainPort), /password|does not exist/);
    // …and stopped, as after a reboot.
    await run("pg_ctlcluster", ["--skip-systemctl-redirect", version, main, "stop"]);
    assert.equal((await clusterNames()).includes(restart), false);

    const env = {
      ...process.env,
      PASSERELLE_PG_CLUSTER: main,
      PASSERELLE_PG_PORT: String(mainPort),
      PASSERELLE_PG_RESTART_CLUSTER: restart,
      PASSERELLE_PG_RESTART_PORT: String(restartPort),
    };
    const first = await run("bash", [SCRIPT], { env });
    assert.match(first.stdout, new RegExp(`starting ${version}/${main}`));
    assert.match(first.stdout, new RegExp(`creating cluster ${version}/${restart} on port ${restartPort}`));
    assert.equal(await connectAsTests(mainPort), "test");
    assert.equal(await connectAsTests(restartPort), "test");

    const hba = `/etc/postgresql/${version}/${main}/pg_hba.conf`;
    const before = readFileSync(hba, "utf8");
    const second = await run("bash", [SCRIPT], { env });
    assert.doesNotMatch(second.stdout, /creating|starting|letting/, second.stdout);
    assert.equal(readFileSync(hba, "utf8"), before, "the second run rewrote pg_hba.conf");
    assert.equal(await connectAsTests(mainPort), "test");
  });
});
