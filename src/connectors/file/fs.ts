/**
 * The few file operations the connector needs, on a local folder (node:fs) or over SFTP
 * (ssh2-sftp-client). Paths are relative to the exchange folder and use "/".
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import type { SFTPWrapper } from "ssh2";
import type SftpClient from "ssh2-sftp-client";
import { SyncError } from "../../core/errors.ts";
import type { FileConfig } from "./config.ts";

export interface FileEntry {
  name: string;
  size: number;
  mtimeMs: number;
}

export interface Files {
  /** Where the folder is, for messages: a local path or sftp://user@host:port/path (never a secret). */
  readonly where: string;
  /** Operations made so far (each a call to the disk or the server). */
  calls: number;
  /** Files written so far. */
  writes: number;
  /** Regular files directly in `dir` ("" is the folder itself); [] when `dir` does not exist. */
  list(dir: string): Promise<FileEntry[]>;
  read(path: string): Promise<Buffer>;
  exists(path: string): Promise<boolean>;
  /** Writes `data` under a temporary name in the same folder, flushes it to disk, then renames it. */
  writeAtomic(path: string, data: Buffer): Promise<void>;
  /** Moves a file; the target must not exist. */
  move(from: string, to: string): Promise<void>;
  mkdirp(dir: string): Promise<void>;
  /** Throws SyncError("config") when the folder is missing or refused, "retryable" when unreachable. */
  check(): Promise<void>;
  close(): Promise<void>;
}

const tempName = (path: string) => {
  const dir = posix.dirname(path);
  const name = `.${posix.basename(path)}.${randomBytes(6).toString("hex")}.tmp`;
  return dir === "." ? name : `${dir}/${name}`;
};

export class LocalFiles implements Files {
  calls = 0;
  writes = 0;
  readonly where: string;

  constructor(
    private readonly system: string,
    private readonly root: string,
  ) {
    this.where = root;
  }

  private abs(path: string): string {
    return path === "" ? this.root : join(this.root, ...path.split("/"));
  }

  async list(dir: string): Promise<FileEntry[]> {
    this.calls++;
    let names: string[];
    try {
      names = await readdir(this.abs(dir));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        if (dir !== "") return [];
        throw new SyncError("config", `${this.system}: folder ${this.root} does not exist`, {
          system: this.system,
        });
      }
      throw this.fail(e, dir);
    }
    const out: FileEntry[] = [];
    for (const name of names) {
      try {
        const s = await stat(this.abs(dir === "" ? name : `${dir}/${name}`));
        if (s.isFile()) out.push({ name, size: s.size, mtimeMs: s.mtimeMs });
      } catch (e) {
        // Moved away between the listing and the look: not ours to read any more.
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw this.fail(e, name);
      }
    }
    return out;
  }

  async read(path: string): Promise<Buffer> {
    this.calls++;
    try {
      return await readFile(this.abs(path));
    } catch (e) {
      throw this.fail(e, path);
    }
  }

  async exists(path: string): Promise<boolean> {
    this.calls++;
    try {
      await stat(this.abs(path));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw this.fail(e, path);
    }
  }

  async writeAtomic(path: string, data: Buffer): Promise<void> {
    this.calls++;
    const tmp = this.abs(tempName(path));
    try {
      const fh = await open(tmp, "wx");
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.abs(path));
      // The rename itself is made durable by flushing the folder that holds it.
      const dir = await open(this.abs(posix.dirname(path) === "." ? "" : posix.dirname(path)), "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      this.writes++;
    } catch (e) {
      throw this.fail(e, path);
    }
  }

  async move(from: string, to: string): Promise<void> {
    this.calls++;
    try {
      if (await this.exists(to)) throw new Error(`${to} already exists`);
      await rename(this.abs(from), this.abs(to));
    } catch (e) {
      throw this.fail(e, from);
    }
  }

  async mkdirp(dir: string): Promise<void> {
    this.calls++;
    await mkdir(this.abs(dir), { recursive: true }).catch((e: unknown) => {
      throw this.fail(e, dir);
    });
  }

  async check(): Promise<void> {
    this.calls++;
    let s: Awaited<ReturnType<typeof stat>>;
    try {
      s = await stat(this.root);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new SyncError(
        "config",
        `${this.system}: folder ${this.root} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code})`}`,
        { system: this.system },
      );
    }
    if (!s.isDirectory()) {
      throw new SyncError("config", `${this.system}: ${this.root} is not a folder`, { system: this.system });
    }
  }

  async close(): Promise<void> {}

  private fail(e: unknown, path: string): SyncError {
    if (e instanceof SyncError) return e;
    const err = e as NodeJS.ErrnoException;
    const kind =
      err.code === "EACCES" || err.code === "EPERM" || err.code === "ENOTDIR" ? "config" : "retryable";
    return new SyncError(kind, `${this.system}: ${path || this.root}: ${err.message}`, {
      system: this.system,
      cause: e,
    });
  }
}

type SftpSettings = NonNullable<FileConfig["sftp"]>;

/** The same operations over SFTP; one connection, opened on first use and reopened after a loss. */
export class SftpFiles implements Files {
  calls = 0;
  writes = 0;
  readonly where: string;
  #client: SftpClient | null = null;
  #connecting: Promise<SftpClient> | null = null;

  constructor(
    private readonly system: string,
    private readonly root: string,
    private readonly settings: SftpSettings,
  ) {
    this.where = `sftp://${settings.username}@${settings.host}:${settings.port}${root.startsWith("/") ? "" : "/"}${root}`;
  }

  private abs(path: string): string {
    return path === "" ? this.root : posix.join(this.root, path);
  }

  private async client(): Promise<SftpClient> {
    if (this.#client) return this.#client;
    this.#connecting ??= (async () => {
      // Loaded on first use: ssh2 costs every CLI start a quarter of a second, and most never use SFTP.
      const { default: Sftp } = await import("ssh2-sftp-client");
      const c = new Sftp(`passerelle-${this.system}`);
      const s = this.settings;
      let shown: string | null = null;
      try {
        await c.connect({
          ...(s.hostKey !== undefined
            ? {
                hostVerifier: (key: Buffer) => {
                  shown = fingerprint(key);
                  return shown === s.hostKey?.replace(/=$/, "");
                },
              }
            : {}),
          host: s.host,
          port: s.port,
          username: s.username,
          readyTimeout: s.timeoutMs,
          retries: 0,
          ...(s.password !== undefined ? { password: s.password } : {}),
          ...(s.privateKey !== undefined ? { privateKey: s.privateKey } : {}),
          ...(s.passphrase !== undefined ? { passphrase: s.passphrase } : {}),
        });
      } catch (e) {
        await c.end().catch(() => undefined);
        if (shown !== null && shown !== s.hostKey?.replace(/=$/, "")) {
          throw new SyncError(
            "config",
            `${this.system}: the SFTP server ${s.host}:${s.port} shows host key ${shown}, not the configured hostKey ${s.hostKey}`,
            { system: this.system },
          );
        }
        throw this.connectError(e);
      }
      // A lost connection is reopened by the next call.
      c.on("end", () => {
        if (this.#client === c) this.#client = null;
      });
      c.on("close", () => {
        if (this.#client === c) this.#client = null;
      });
      c.on("error", () => {
        if (this.#client === c) this.#client = null;
      });
      this.#client = c;
      return c;
    })().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  private connectError(e: unknown): SyncError {
    const msg = e instanceof Error ? e.message : String(e);
    const s = this.settings;
    if (/authentication|auth fail|permission denied/i.test(msg)) {
      return new SyncError(
        "config",
        `${this.system}: the SFTP server ${s.host}:${s.port} refused user ${s.username}'s credentials`,
        { system: this.system },
      );
    }
    return new SyncError(
      "retryable",
      `${this.system}: cannot reach the SFTP server ${s.host}:${s.port}: ${msg}`,
      {
        system: this.system,
      },
    );
  }

  private fail(e: unknown, path: string): SyncError {
    if (e instanceof SyncError) return e;
    const msg = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: unknown }).code;
    // SFTP status 3: permission denied.
    const kind = code === 3 || /permission denied/i.test(msg) ? "config" : "retryable";
    return new SyncError(kind, `${this.system}: ${this.where}/${path}: ${msg}`, {
      system: this.system,
      cause: e,
    });
  }

  async list(dir: string): Promise<FileEntry[]> {
    const c = await this.client();
    this.calls++;
    try {
      if (!(await c.exists(this.abs(dir)))) {
        if (dir !== "") return [];
        throw new SyncError("config", `${this.system}: ${this.where} does not exist`, {
          system: this.system,
        });
      }
      const items = await c.list(this.abs(dir));
      return items
        .filter((i) => i.type === "-")
        .map((i) => ({ name: i.name, size: i.size, mtimeMs: i.modifyTime }));
    } catch (e) {
      throw this.fail(e, dir);
    }
  }

  async read(path: string): Promise<Buffer> {
    const c = await this.client();
    this.calls++;
    try {
      return (await c.get(this.abs(path))) as Buffer;
    } catch (e) {
      throw this.fail(e, path);
    }
  }

  async exists(path: string): Promise<boolean> {
    const c = await this.client();
    this.calls++;
    try {
      return (await c.exists(this.abs(path))) !== false;
    } catch (e) {
      throw this.fail(e, path);
    }
  }

  async writeAtomic(path: string, data: Buffer): Promise<void> {
    const c = await this.client();
    this.calls++;
    const tmp = this.abs(tempName(path));
    try {
      // The raw SFTP channel, for fsync before the rename (ssh2-sftp-client's put does not flush).
      const sftp = (c as unknown as { sftp: SFTPWrapper }).sftp;
      await new Promise<void>((resolve, reject) => {
        sftp.open(tmp, "wx", (err, handle) => {
          if (err) return reject(err);
          const closeWith = (first: Error | null | undefined) =>
            sftp.close(handle, (closeErr) =>
              first ? reject(first) : closeErr ? reject(closeErr) : resolve(),
            );
          let offset = 0;
          const writeNext = () => {
            if (offset >= data.length) {
              // fsync@openssh.com where the server has it (OpenSSH does): the bytes are on its disk before
              // the rename makes them visible.
              try {
                sftp.ext_openssh_fsync(handle, (fsyncErr) => closeWith(fsyncErr));
              } catch {
                closeWith(null);
              }
              return;
            }
            const n = Math.min(32 * 1024, data.length - offset);
            sftp.write(handle, data, offset, n, offset, (writeErr) => {
              if (writeErr) return closeWith(writeErr);
              offset += n;
              writeNext();
            });
          };
          writeNext();
        });
      });
      await c.rename(tmp, this.abs(path));
      this.writes++;
    } catch (e) {
      await c.delete(tmp, true).catch(() => undefined);
      throw this.fail(e, path);
    }
  }

  async move(from: string, to: string): Promise<void> {
    const c = await this.client();
    this.calls++;
    try {
      // SFTP's rename never replaces an existing file.
      await c.rename(this.abs(from), this.abs(to));
    } catch (e) {
      throw this.fail(e, from);
    }
  }

  async mkdirp(dir: string): Promise<void> {
    const c = await this.client();
    this.calls++;
    try {
      if (!(await c.exists(this.abs(dir)))) await c.mkdir(this.abs(dir), true);
    } catch (e) {
      throw this.fail(e, dir);
    }
  }

  async check(): Promise<void> {
    const c = await this.client();
    this.calls++;
    const found = await c.exists(this.root).catch((e: unknown) => {
      throw this.fail(e, "");
    });
    if (found !== "d") {
      throw new SyncError(
        "config",
        `${this.system}: ${this.where} ${found === false ? "does not exist" : "is not a folder"}`,
        { system: this.system },
      );
    }
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = null;
    if (c) await c.end().catch(() => undefined);
  }
}

/** A host key's fingerprint as OpenSSH prints it: SHA256: and the unpadded base64 of its sha256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

export function filesFor(system: string, config: FileConfig): Files {
  return config.sftp
    ? new SftpFiles(system, config.folder, config.sftp)
    : new LocalFiles(system, config.folder);
}
