// The entry of `passerelle run`'s jobs thread (server.jobsThread; jobs-thread.ts). Plain JavaScript, so that
// it starts the same way from dist/ and from the TypeScript sources: under the sources it first registers
// tsx in this thread (the main thread's loader hooks do not reach a worker started this way).
import { parentPort, workerData } from "node:worker_threads";

if (workerData.module.endsWith(".ts")) {
  const { register } = await import("tsx/esm/api");
  register();
}
const { runJobsThread } = await import(workerData.module);
await runJobsThread(parentPort, workerData);
