// The webhook inbox's writer thread (see writer-thread.ts for why it exists and how it stays durable).
// Plain JavaScript so it loads in a worker thread without a TypeScript loader, from the sources and from a
// build alike. Messages in: { id, rows } (one group to commit) or { close: true }. Out: { id, fresh } (the
// indexes of the rows that were new) or { id, error }.
import fs from "node:fs";
import { parentPort, Worker, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
const wal = String(db.pragma("journal_mode", { simple: true })).toLowerCase() === "wal";
const syncAfter = wal && workerData.synchronous === "FULL";
db.pragma(`synchronous = ${wal ? "NORMAL" : workerData.synchronous}`);
if (wal) {
  db.pragma("wal_autocheckpoint = 0");
  const checkpointer = new Worker(new URL("./checkpoint-thread.worker.mjs", import.meta.url), { workerData });
  checkpointer.on("error", () => db.pragma("wal_autocheckpoint = 1000"));
}
const walPath = `${workerData.path}-wal`;
let walFd = -1;
let walIno = -1;
const syncWal = () => {
  const ino = fs.statSync(walPath).ino;
  if (walFd < 0 || ino !== walIno) {
    if (walFd >= 0) fs.closeSync(walFd);
    walFd = fs.openSync(walPath, "r");
    walIno = fs.fstatSync(walFd).ino;
  }
  fs.fsyncSync(walFd);
};
const insert = db.prepare(workerData.insert);
const commit = db.transaction((rows) => {
  const fresh = [];
  for (let i = 0; i < rows.length; i++) if (insert.get(...rows[i]) !== undefined) fresh.push(i);
  return fresh;
});
parentPort.on("message", (m) => {
  if (m.close) {
    db.close();
    process.exit(0);
  }
  try {
    const fresh = commit.immediate(m.rows);
    if (syncAfter) syncWal();
    parentPort.postMessage({ id: m.id, fresh });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e?.message || e) });
  }
});
