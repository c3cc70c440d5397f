/**
 * A real SFTP server for tests: the `ssh2` package's SSH server on a loopback port, with a host key made
 * for the occasion, one user (a password and a public key), serving a temporary folder as its "/". It
 * speaks SFTP version 3 over real SSH; files land on this machine's disk, where the test can look at them.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import ssh2 from "ssh2";

const { Server, utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

export interface SftpServer {
  host: string;
  port: number;
  username: string;
  password: string;
  /** The user's private key (OpenSSH format), accepted as well as the password. */
  privateKey: string;
  /** The host key's fingerprint, as ssh-keygen -lf prints it. */
  hostKey: string;
  /** The folder served as "/". */
  root: string;
  /** SSH connections accepted so far. */
  logins: number;
  close(): Promise<void>;
}

type Handle = { kind: "file"; fd: number } | { kind: "dir"; path: string; sent: boolean };

function attrsOf(s: Stats) {
  return {
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    atime: Math.floor(s.atimeMs / 1000),
    mtime: Math.floor(s.mtimeMs / 1000),
  };
}

function statusFor(e: unknown): number {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return STATUS_CODE.NO_SUCH_FILE;
  if (code === "EACCES" || code === "EPERM") return STATUS_CODE.PERMISSION_DENIED;
  return STATUS_CODE.FAILURE;
}

function fingerprintOf(publicKey: string): string {
  const key = utils.parseKey(publicKey);
  if (key instanceof Error) throw key;
  return `SHA256:${createHash("sha256").update(key.getPublicSSH()).digest("base64").replace(/=+$/, "")}`;
}

/**
 * An ed25519 key pair that ssh2 itself can read back. ssh2's generator drops every leading zero byte of
 * the public key, so about one pair in 256 has a 31-byte key that its own parser then refuses ("Malformed
 * OpenSSH public key"; mscdex/ssh2 issues 1390 and 1513): such a pair is thrown away and another made.
 */
export function readableKeyPair(): { private: string; public: string } {
  for (let attempt = 0; ; attempt++) {
    const pair = utils.generateKeyPairSync("ed25519");
    if (!(utils.parseKey(pair.public) instanceof Error) && !(utils.parseKey(pair.private) instanceof Error))
      return pair;
    if (attempt === 20) throw new Error("ssh2 made 20 unreadable ed25519 key pairs in a row");
  }
}

export async function startSftpServer(
  opts: { username?: string; password?: string } = {},
): Promise<SftpServer> {
  const root = mkdtempSync(join(tmpdir(), "passerelle-sftp-"));
  const username = opts.username ?? "erp";
  const password = opts.password ?? "s3cret-sftp";
  const hostKey = readableKeyPair();
  const userKey = readableKeyPair();
  const allowed = utils.parseKey(userKey.public);
  if (allowed instanceof Error) throw allowed;
  const local = (p: string) => join(root, posix.resolve("/", p));
  let logins = 0;
  const clients = new Set<{ end(): void }>();

  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    clients.add(client);
    client.on("close", () => clients.delete(client));
    client.on("error", () => undefined);
    client.on("authentication", (ctx) => {
      if (ctx.username !== username) return ctx.reject();
      if (ctx.method === "password" && ctx.password === password) return ctx.accept();
      if (ctx.method === "publickey" && ctx.key.data.equals(allowed.getPublicSSH())) {
        if (!ctx.signature) return ctx.accept();
        if (ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      }
      ctx.reject(["password", "publickey"]);
    });
    client.on("ready", () => {
      logins++;
      client.on("session", (acceptSession) => {
        const session = acceptSession();
        session.on("sftp", (acceptSftp) => {
          const sftp = acceptSftp();
          const handles = new Map<number, Handle>();
          let next = 1;
          const handleOf = (buf: Buffer): Handle | undefined =>
            buf.length === 4 ? handles.get(buf.readUInt32BE(0)) : undefined;
          const newHandle = (h: Handle) => {
            const id = next++;
            handles.set(id, h);
            const buf = Buffer.alloc(4);
            buf.writeUInt32BE(id, 0);
            return buf;
          };
          const attempt = (reqid: number, fn: () => void) => {
            try {
              fn();
            } catch (e) {
              sftp.status(reqid, statusFor(e), (e as Error).message);
            }
          };
          sftp.on("OPEN", (reqid, filename, flags) =>
            attempt(reqid, () => {
              let mode = flags & OPEN_MODE.WRITE ? (flags & OPEN_MODE.READ ? "r+" : "w") : "r";
              if (flags & OPEN_MODE.CREAT && !(flags & OPEN_MODE.TRUNC))
                mode = flags & OPEN_MODE.APPEND ? "a" : "r+";
              if (flags & OPEN_MODE.CREAT && flags & OPEN_MODE.TRUNC)
                mode = flags & OPEN_MODE.READ ? "w+" : "w";
              if (flags & OPEN_MODE.EXCL) mode = mode.includes("+") ? "wx+" : "wx";
              sftp.handle(reqid, newHandle({ kind: "file", fd: openSync(local(filename), mode) }));
            }),
          );
          sftp.on("READ", (reqid, handle, offset, length) =>
            attempt(reqid, () => {
              const h = handleOf(handle);
              if (h?.kind !== "file") return sftp.status(reqid, STATUS_CODE.FAILURE);
              const buf = Buffer.alloc(length);
              const n = readSync(h.fd, buf, 0, length, offset);
              if (n === 0) return sftp.status(reqid, STATUS_CODE.EOF);
              sftp.data(reqid, buf.subarray(0, n));
            }),
          );
          sftp.on("WRITE", (reqid, handle, offset, data) =>
            attempt(reqid, () => {
              const h = handleOf(handle);
              if (h?.kind !== "file") return sftp.status(reqid, STATUS_CODE.FAILURE);
              writeSync(h.fd, data, 0, data.length, offset);
              sftp.status(reqid, STATUS_CODE.OK);
            }),
          );
          sftp.on("CLOSE", (reqid, handle) =>
            attempt(reqid, () => {
              const h = handleOf(handle);
              if (!h) return sftp.status(reqid, STATUS_CODE.FAILURE);
              if (h.kind === "file") closeSync(h.fd);
              handles.delete(handle.readUInt32BE(0));
              sftp.status(reqid, STATUS_CODE.OK);
            }),
          );
          sftp.on("FSTAT", (reqid, handle) =>
            attempt(reqid, () => {
              const h = handleOf(handle);
              if (h?.kind !== "file") return sftp.status(reqid, STATUS_CODE.FAILURE);
              sftp.attrs(reqid, attrsOf(fstatSync(h.fd)));
            }),
          );
          const stat = (reqid: number, path: string) =>
            attempt(reqid, () => sftp.attrs(reqid, attrsOf(statSync(local(path)))));
          sftp.on("STAT", stat);
          sftp.on("LSTAT", stat);
          sftp.on("SETSTAT", (reqid) => sftp.status(reqid, STATUS_CODE.OK));
          sftp.on("FSETSTAT", (reqid) => sftp.status(reqid, STATUS_CODE.OK));
          sftp.on("OPENDIR", (reqid, path) =>
            attempt(reqid, () => {
              if (!statSync(local(path)).isDirectory()) return sftp.status(reqid, STATUS_CODE.FAILURE);
              sftp.handle(reqid, newHandle({ kind: "dir", path: local(path), sent: false }));
            }),
          );
          sftp.on("READDIR", (reqid, handle) =>
            attempt(reqid, () => {
              const h = handleOf(handle);
              if (h?.kind !== "dir") return sftp.status(reqid, STATUS_CODE.FAILURE);
              if (h.sent) return sftp.status(reqid, STATUS_CODE.EOF);
              h.sent = true;
              const names = readdirSync(h.path).map((filename) => {
                const s = statSync(join(h.path, filename));
                const type = s.isDirectory() ? "d" : "-";
                return {
                  filename,
                  longname: `${type}rw-r--r-- 1 ${username} ${username} ${s.size} Jan 1 00:00 ${filename}`,
                  attrs: attrsOf(s),
                };
              });
              if (names.length === 0) return sftp.status(reqid, STATUS_CODE.EOF);
              sftp.name(reqid, names);
            }),
          );
          sftp.on("REALPATH", (reqid, path) =>
            sftp.name(reqid, [{ filename: posix.resolve("/", path), longname: "", attrs: {} as never }]),
          );
          sftp.on("RENAME", (reqid, from, to) =>
            attempt(reqid, () => {
              // SFTP version 3: a rename never replaces a file.
              if (existsSync(local(to))) return sftp.status(reqid, STATUS_CODE.FAILURE, `${to} exists`);
              renameSync(local(from), local(to));
              sftp.status(reqid, STATUS_CODE.OK);
            }),
          );
          sftp.on("MKDIR", (reqid, path) =>
            attempt(reqid, () => {
              mkdirSync(local(path));
              sftp.status(reqid, STATUS_CODE.OK);
            }),
          );
          sftp.on("RMDIR", (reqid, path) =>
            attempt(reqid, () => {
              rmdirSync(local(path));
              sftp.status(reqid, STATUS_CODE.OK);
            }),
          );
          sftp.on("REMOVE", (reqid, path) =>
            attempt(reqid, () => {
              unlinkSync(local(path));
              sftp.status(reqid, STATUS_CODE.OK);
            }),
          );
          sftp.on("close", () => {
            for (const h of handles.values()) if (h.kind === "file") closeSync(h.fd);
            handles.clear();
          });
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: "127.0.0.1",
    port,
    username,
    password,
    privateKey: userKey.private,
    hostKey: fingerprintOf(hostKey.public),
    root,
    get logins() {
      return logins;
    },
    async close() {
      for (const c of clients) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
