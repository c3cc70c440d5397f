/**
 * The PostgreSQL cluster tests may restart (passerelle_restart on port 5499, made by scripts/ci/postgres.sh),
 * so restarts never reach the tests sharing 127.0.0.1:5432. The same lookup as in
 * test/e2e/store-pg-restart.test.ts; the advisory lock `passerelle restart cluster` on the shared server
 * keeps two suites from restarting it under each other.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { pgUnreachable } from "./postgres.ts";

const run = promisify(execFile);
export const RESTART_CLUSTER = process.env.PASSERELLE_TEST_PG_RESTART_CLUSTER ?? "passerelle_restart";
export const RESTART_LOCK = "select pg_advisory_lock(hashtext('passerelle restart cluster'))";

/** The restart cluster's version and URL, or why it cannot be used. */
export async function restartCluster(): Promise<{ version: string; url: string } | string> {
  let listing: string;
  try {
    listing = (await run("pg_lsclusters", ["--no-header"])).stdout;
  } catch {
    return "PostgreSQL's cluster tools (pg_lsclusters) are not installed";
  }
  const line = listing.split("\n").find((l) => l.split(/\s+/)[1] === RESTART_CLUSTER);
  if (!line)
    return `no PostgreSQL cluster named ${RESTART_CLUSTER}; create it with scripts/ci/postgres.sh (as root)`;
  const [version, , port] = line.split(/\s+/);
  if (process.getuid?.() !== 0) return `restarting cluster ${RESTART_CLUSTER} needs root`;
  const url = `postgres://postgres@127.0.0.1:${port}/test`;
  const down = await pgUnreachable(url);
  return down === null
    ? { version: version as string, url }
    : `cluster ${RESTART_CLUSTER} (${url}) is unreachable: ${down}`;
}

export async function ctlCluster(version: string, action: "restart" | "stop" | "start"): Promise<void> {
  await run("pg_ctlcluster", ["--skip-systemctl-redirect", "-m", "fast", version, RESTART_CLUSTER, action]);
}
