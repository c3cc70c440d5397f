/**
 * The writer thread (the inbox's `writerThread` option): the inbox's own SQLite connection on a thread of
 * its own (writer-thread.worker.mjs), so neither a commit's write() (which the kernel may hold up when other
 * processes fill the page cache) nor its fsync ever stops the event loop. One prepared statement, one
 * immediate transaction per group; it answers with the indexes of the rows that were new.
 *
 * Why synchronous=NORMAL plus an explicit fsync, and not synchronous=FULL: in WAL mode a commit only
 * appends frames to the -wal file. With FULL, SQLite fsyncs the -wal inside the commit, holding the
 * database's write lock until the disk answers, so the store's own connection (job queue, inbox settlement,
 * on the event loop) would wait out every fsync too. The thread commits with NORMAL, which releases the
 * write lock without waiting for the disk, then fsyncs the -wal file itself before answering: a group is
 * acknowledged only once on disk (the durability of FULL), and the other connection waits on the lock only
 * for the insert. An fsync covers every frame written so far; frames a checkpoint moved into the database
 * file were synced there first. The -wal file keeps its inode while this connection is open; it is checked
 * before each fsync and reopened if it changed. Outside WAL mode the commit itself syncs (synchronous as
 * asked).
 *
 * The checkpoint thread (checkpoint-thread.worker.mjs, started by the writer): a PASSIVE checkpoint every
 * CHECKPOINT_MS on a connection of its own, of the inbox's file and of the store's (the inbox has a file of
 * its own beside the store's, own-file.ts). SQLite's automatic checkpoint runs inside the commit that
 * crosses 1,000 WAL pages, on whichever connection made it: it put a checkpoint's copying and database
 * fsync (tens to hundreds of ms on a busy disk) on the event loop. Kept small by this thread, the WALs do
 * not reach that mark; a PASSIVE checkpoint never waits for (or holds up) a reader or a writer.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { SQLITE_INSERT } from "./rows.ts";

/** How often the checkpoint thread moves the WAL into the database file. */
const CHECKPOINT_MS = 50;

const WORKER_MODULE = new URL("./writer-thread.worker.mjs", import.meta.url);

/**
 * Whether the worker modules are there. They are plain JavaScript beside this file; a build that compiles
 * only the TypeScript must copy them. Without them the inbox commits on the store's connection (durable
 * too, with synchronous=FULL for the commit) instead of losing the first group to a thread that cannot start.
 */
export function writerThreadAvailable(): boolean {
  return (
    existsSync(fileURLToPath(WORKER_MODULE)) &&
    existsSync(fileURLToPath(new URL("./checkpoint-thread.worker.mjs", import.meta.url)))
  );
}

export class WriterThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (fresh: number[]) => void; reject: (e: Error) => void }>();
  #next = 1;
  #broken: Error | null = null;

  /** `path`: the inbox's database file; `store`: the store's, checkpointed too when it is another file. */
  constructor(path: string, store: string, durability: "full" | "normal") {
    this.#worker = new Worker(WORKER_MODULE, {
      workerData: {
        path,
        checkpoint: store && store !== path ? [path, store] : [path],
        synchronous: durability === "full" ? "FULL" : "NORMAL",
        insert: SQLITE_INSERT,
        checkpointMs: CHECKPOINT_MS,
      },
    });
    this.#worker.unref(); // kept alive only while a commit is outstanding
    this.#worker.on("message", (m: { id: number; fresh?: number[]; error?: string }) => {
      const w = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (this.#waiting.size === 0) this.#worker.unref();
      if (m.error !== undefined) w?.reject(new Error(`webhook inbox commit failed: ${m.error}`));
      else w?.resolve(m.fresh ?? []);
    });
    const fail = (e: Error) => {
      this.#broken = e;
      for (const w of this.#waiting.values()) w.reject(e);
      this.#waiting.clear();
    };
    this.#worker.on("error", fail);
    this.#worker.on("exit", () => fail(new Error("webhook inbox writer thread stopped")));
  }

  get broken(): boolean {
    return this.#broken !== null;
  }

  /** Commits one group of rows (SQLITE_INSERT's parameters); resolves with the indexes of the new ones. */
  commit(rows: unknown[][]): Promise<number[]> {
    if (this.#broken) return Promise.reject(this.#broken);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      if (this.#waiting.size === 0) this.#worker.ref();
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ id, rows });
    });
  }

  async close(): Promise<void> {
    if (this.#broken) return;
    this.#worker.ref();
    const exited = new Promise<void>((done) => this.#worker.once("exit", () => done()));
    this.#worker.postMessage({ close: true });
    await exited;
  }
}
