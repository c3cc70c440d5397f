// The checkpoint thread of the webhook inbox's writer (see writer-thread.ts): a PASSIVE checkpoint of each
// file every `checkpointMs`, on connections of its own. Plain JavaScript so it loads in a worker thread
// without a TypeScript loader, from the sources and from a build alike.
import { workerData } from "node:worker_threads";
import Database from "better-sqlite3";

// `checkpoint`: the database files to checkpoint (the inbox's, and the store's when it is another file).
const dbs = workerData.checkpoint.map((path) => {
  const db = new Database(path);
  db.pragma("synchronous = NORMAL");
  return db;
});
setInterval(() => {
  for (const db of dbs) {
    try {
      db.pragma("wal_checkpoint(PASSIVE)");
    } catch {
      // A checkpoint that could not run (the database is busy) is tried again at the next tick.
    }
  }
}, workerData.checkpointMs);
