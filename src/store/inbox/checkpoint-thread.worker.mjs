// The checkpoint thread of the webhook inbox's writer (see writer-thread.ts): a PASSIVE checkpoint every
// `checkpointMs` on a connection of its own. Plain JavaScript so it loads in a worker thread without a
// TypeScript loader, from the sources and from a build alike.
import { workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const db = new Database(workerData.path);
db.pragma("synchronous = NORMAL");
setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    // A checkpoint that could not run (the database is busy) is tried again at the next tick.
  }
}, workerData.checkpointMs);
