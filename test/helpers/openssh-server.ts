/**
 * OpenSSH's own sshd (Debian's openssh-server) for tests: started on a free loopback port with a host key
 * and a client key made for the occasion, key login for the user running the tests, SFTP by Debian's
 * sftp-server program, everything both log kept (at DEBUG3, so the SFTP requests a client made can be
 * checked).
 * There is no chroot (it needs root-owned parent folders): the client works with absolute paths under
 * `root`. Absent sshd, `opensshMissing` says why the tests that need it are skipped.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

const SSHD = "/usr/sbin/sshd";

export const opensshMissing: string | false = existsSync(SSHD)
  ? false
  : `OpenSSH's sshd is not installed (${SSHD}; Debian package openssh-server, which .ci/run installs)`;

export interface OpensshServer {
  host: string;
  port: number;
  username: string;
  /** The client's private key (OpenSSH format). */
  privateKey: string;
  /** A key the server does not accept. */
  strangerKey: string;
  /** The host key's fingerprint, as ssh-keygen -lf prints it. */
  hostKey: string;
  /** A folder of this machine for the test's files (reached over SFTP by this absolute path). */
  root: string;
  /** What sshd has logged so far (internal-sftp's requests included). */
  log(): string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, "127.0.0.1");
    socket.once("data", (chunk) => {
      socket.destroy();
      resolve(chunk.toString("latin1").startsWith("SSH-"));
    });
    socket.once("error", () => resolve(false));
  });
}

function keygen(path: string): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "passerelle-test", "-f", path]);
}

export async function startOpensshServer(): Promise<OpensshServer> {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-sshd-"));
  const root = join(dir, "files");
  mkdirSync(root);
  keygen(join(dir, "host_ed25519"));
  keygen(join(dir, "client"));
  keygen(join(dir, "stranger"));
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client.pub")));
  const username = userInfo().username;
  const port = await freePort();
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_ed25519")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      // The throwaway files live in a temporary folder whose parents sshd would judge too open.
      "StrictModes no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      "LogLevel DEBUG3",
      // Debian's own SFTP server program, as its default sshd_config runs it, logging every request.
      `Subsystem sftp /usr/lib/openssh/sftp-server -e -l DEBUG3 2>>${join(dir, "sftp.log")}`,
      `AllowUsers ${username}`,
      "",
    ].join("\n"),
  );
  // Privilege separation needs its empty folder when sshd runs as root.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true });
  let log = "";
  // Its own process group: the per-connection sshd processes it forks go with it at close.
  const child = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout.on("data", (b: Buffer) => {
    log += b.toString();
  });
  child.stderr.on("data", (b: Buffer) => {
    log += b.toString();
  });
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  for (let i = 0; i < 100 && !(await answers(port)); i++) {
    if (exited) throw new Error(`sshd did not start:\n${log}`);
    await delay(50);
  }
  const fingerprint = execFileSync("ssh-keygen", ["-l", "-f", join(dir, "host_ed25519.pub")])
    .toString()
    .split(" ")[1] as string;
  return {
    host: "127.0.0.1",
    port,
    username,
    privateKey: readFileSync(join(dir, "client"), "utf8"),
    strangerKey: readFileSync(join(dir, "stranger"), "utf8"),
    hostKey: fingerprint,
    root,
    log: () => log + (existsSync(join(dir, "sftp.log")) ? readFileSync(join(dir, "sftp.log"), "utf8") : ""),
    async close() {
      if (!exited) {
        const gone = new Promise((r) => child.once("exit", r));
        process.kill(-(child.pid as number), "SIGTERM");
        await gone;
      }
      child.stdout.destroy();
      child.stderr.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
