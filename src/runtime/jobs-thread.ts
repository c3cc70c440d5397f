/**
 * The jobs of `passerelle run` in a worker thread of the same process (`server.jobsThread: true`).
 *
 * With every job on the main thread, a sync's synchronous stretches (mapping a page, planning it, the page
 * commit's SQL) sit between a webhook delivery and its acknowledgement. Here the main thread keeps the
 * server, the inbox and the scheduler (role `web` plus `scheduler`), and a worker thread opens its own
 * context on the same configuration and store and runs role `worker`'s service in it: the job runner with
 * every handler (inbox drains, reconciliations, flow syncs and retries, alerts, webhook renewals). The two
 * meet where two processes of a deployment meet — the store's job queue and leases — plus a message port:
 *
 * - main → thread: `wake` (a job was queued here: a schedule tick, the API, a sweep's drain), `notify` (queue
 *   this group's inbox drain: the thread writes it to the job queue, see `notify`), `stop`, `cut`;
 * - thread → main: `ready`, every pass's summary (`pass`, for the CLI's lines and /metrics), the connectors'
 *   call counters every second (`stats`, read by /metrics), and `stopped` with the jobs it had to abandon and
 *   the runs it recorded interrupted.
 *
 * A thread that dies unexpectedly (an uncaught error, out of memory) is logged and started again after a
 * second; its running jobs are taken again once their leases expire, as a dead process's are. Each start
 * holds the leases under a holder of its own (`worker-<host>-<pid>#<n>`), so a new thread never takes a
 * flow lease as if it were the one that died.
 *
 * Not for `sqlite::memory:` (each connection would have its own database): refused with a config error.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { getHeapStatistics } from "node:v8";
import { type MessagePort, Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { SyncError } from "../core/errors.ts";
import type { EntityName } from "../core/model.ts";
import type { RunSummary } from "../engine/sync.ts";
import type { JobRunner } from "../ports/jobs.ts";
import { parseStoreUrl } from "../store/index.ts";
import type { ConnectorStats } from "./metrics.ts";
import type { PassKind } from "./service.ts";

const ENTRY = new URL("./jobs-thread.worker.mjs", import.meta.url);
const RESTART_MS = 1_000;
/**
 * The jobs thread's nice value: when the machine's CPU is short, the acknowledgements on the main thread go
 * first and the jobs take what is left (Linux schedules each thread by its own nice value).
 */
export const JOBS_THREAD_NICE = 10;
const STATS_MS = 1_000;
/** How long a cut-off thread has to hand its jobs back before it is terminated. */
const CUT_ANSWER_MS = 5_000;

/** The service options the thread's runner takes from `passerelle run`'s (service.ts ServiceOptions). */
export interface ThreadServiceOptions {
  pollMs?: number;
  concurrency?: number;
  leaseMs?: number;
  autoRetries?: number;
  jobExpireS?: number;
}

export interface JobsThreadData {
  /** This module's URL: the thread imports it (a .ts file under tsx, .js from dist). */
  module: string;
  configPath: string;
  storeUrl: string;
  holder: string;
  service: ThreadServiceOptions;
}

type ToThread =
  | { type: "wake" }
  | { type: "notify"; connection: string; entity: EntityName | null }
  | { type: "stop"; reason: string }
  | { type: "cut" };
type FromThread =
  | { type: "ready"; nice: number | null }
  | { type: "failed"; message: string }
  | { type: "pass"; kind: PassKind; summary: RunSummary; error: { kind: string; message: string } | null }
  | { type: "stats"; stats: Record<string, ConnectorStats> }
  | { type: "stopped"; abandoned: (number | string)[]; interrupted: number[] };

/** Refuses a store the thread cannot share with the main thread. */
export function checkJobsThreadStore(storeUrl: string): void {
  const target = parseStoreUrl(storeUrl);
  if (target.dialect === "sqlite" && target.path === ":memory:") {
    throw new SyncError(
      "config",
      'server.jobsThread: true needs a store both threads can open; "sqlite::memory:" is private to one connection (use a file, sqlite:./passerelle.db)',
    );
  }
}

export interface JobsThreadOptions {
  configPath: string;
  storeUrl: string;
  /** processHolder("worker"); each start of the thread adds `#<n>`. */
  holder: string;
  service: ThreadServiceOptions;
  logger: Logger;
  onPass?: (kind: PassKind, summary: RunSummary) => void;
  /** The thread's entry module (default jobs-thread.worker.mjs); tests give one that misbehaves. */
  entry?: URL;
}

/** The main thread's side: a JobRunner whose jobs run in the worker thread. */
export class JobsThread implements JobRunner {
  readonly id: string;
  readonly #opts: JobsThreadOptions;
  #worker: Worker | null = null;
  #generation = 0;
  #stopping = false;
  #stats: Record<string, ConnectorStats> = {};
  #ready: Promise<void> | null = null;
  #stopped: Promise<{ abandoned: (number | string)[]; interrupted: number[] }> | null = null;
  #onStopped: ((r: { abandoned: (number | string)[]; interrupted: number[] }) => void) | null = null;
  #restart: NodeJS.Timeout | null = null;

  constructor(opts: JobsThreadOptions) {
    checkJobsThreadStore(opts.storeUrl);
    this.#opts = opts;
    this.id = `${opts.holder}#1`;
  }

  /** Starts the thread; `ready()` tells when its runner took its first look at the queue. */
  start(): void {
    this.#ready = this.#spawn();
    // A failed first start is reported by ready(); nobody else awaits this one.
    this.#ready.catch(() => {});
  }

  ready(): Promise<void> {
    if (!this.#ready) throw new Error("the jobs thread was not started");
    return this.#ready;
  }

  #spawn(): Promise<void> {
    this.#generation += 1;
    const holder = `${this.#opts.holder}#${this.#generation}`;
    const data: JobsThreadData = {
      module: import.meta.url,
      configPath: this.#opts.configPath,
      storeUrl: this.#opts.storeUrl,
      holder,
      service: this.#opts.service,
    };
    // The thread gets the heap limit the process runs with (bin/heap.mjs sizes it), not V8's default.
    const heapMb = Math.max(64, Math.round(getHeapStatistics().heap_size_limit / 2 ** 20));
    const worker = new Worker(this.#opts.entry ?? ENTRY, {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    this.#worker = worker;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on("message", (m: FromThread) => {
        switch (m.type) {
          case "ready":
            started = true;
            resolve();
            break;
          case "failed":
            reject(new SyncError("config", `the jobs thread could not start: ${m.message}`));
            break;
          case "pass": {
            const summary = {
              ...m.summary,
              error: m.error ? new SyncError(m.error.kind as SyncError["kind"], m.error.message) : null,
            };
            this.#opts.onPass?.(m.kind, summary);
            break;
          }
          case "stats":
            this.#stats = m.stats;
            break;
          case "stopped":
            this.#onStopped?.({ abandoned: m.abandoned, interrupted: m.interrupted });
            break;
        }
      });
      worker.on("error", (e) => {
        if (!started) reject(e);
        else this.#opts.logger.error({ err: e.message, holder }, "jobs thread failed");
      });
      worker.on("exit", (code) => {
        if (this.#worker === worker) this.#worker = null;
        if (this.#stopping) this.#onStopped?.({ abandoned: [], interrupted: [] });
        if (!started) {
          reject(new Error(`the jobs thread exited (code ${code}) before it started`));
          return;
        }
        if (this.#stopping) return;
        this.#opts.logger.error(
          { code, holder, restartInMs: RESTART_MS },
          "jobs thread stopped unexpectedly; starting it again (its running jobs run again once their leases expire)",
        );
        this.#restart = setTimeout(() => {
          this.#restart = null;
          if (this.#stopping) return;
          this.#spawn().catch((e: unknown) =>
            this.#opts.logger.error(
              { err: e instanceof Error ? e.message : String(e) },
              "jobs thread could not start again; no job runs in this process",
            ),
          );
        }, RESTART_MS);
      });
    });
  }

  #post(m: ToThread): void {
    this.#worker?.postMessage(m);
  }

  wake(): void {
    this.#post({ type: "wake" });
  }

  /**
   * Asks the thread to queue a group's inbox drain (its event runtime's `notify`), so that the main thread
   * does not write the job itself: a write on the main thread's store connection waits, event loop and all,
   * while the thread's page commit holds SQLite's write lock (measured: ~0.8 s of the main thread's time in
   * 20 s of 3,000 deliveries/s beside a sync, in that insert), and the acknowledgements wait with it. False
   * when there is no thread to ask (stopping, or between a crash and its restart): the caller queues it.
   * A request the thread dies before handling is lost with it; the main thread's sweep (every 5 s) queues
   * the drain of every group with events pending.
   */
  notify(connection: string, entity: EntityName | null): boolean {
    if (!this.#worker || this.#stopping) return false;
    this.#post({ type: "notify", connection, entity });
    return true;
  }

  /** The connectors' call counters in the thread, as last reported (every second). */
  stats(): Record<string, ConnectorStats> {
    return this.#stats;
  }

  stop(how: { reason?: string; cut?: AbortSignal } = {}): Promise<{ abandoned: (number | string)[] }> {
    this.#stopped ??= this.#stop(how);
    return this.#stopped.then(({ abandoned }) => ({ abandoned }));
  }

  /** Runs the thread recorded interrupted when it was cut off (`passerelle run` lists them). */
  async interrupted(): Promise<number[]> {
    return this.#stopped ? (await this.#stopped).interrupted : [];
  }

  async #stop(how: { reason?: string; cut?: AbortSignal }) {
    this.#stopping = true;
    if (this.#restart) clearTimeout(this.#restart);
    const worker = this.#worker;
    if (!worker) return { abandoned: [], interrupted: [] };
    const done = new Promise<{ abandoned: (number | string)[]; interrupted: number[] }>((resolve) => {
      this.#onStopped = resolve;
    });
    // Cut off, the thread hands its running jobs back and answers; one that cannot answer (its event loop
    // held) is terminated after CUT_ANSWER_MS, and its jobs run again once their leases expire.
    let unanswered: NodeJS.Timeout | null = null;
    const cut = () => {
      this.#post({ type: "cut" });
      unanswered ??= setTimeout(() => {
        this.#opts.logger.warn(
          { waitedMs: CUT_ANSWER_MS },
          "jobs thread did not answer the stop; terminated (its running jobs run again once their leases expire)",
        );
        this.#onStopped?.({ abandoned: [], interrupted: [] });
      }, CUT_ANSWER_MS);
    };
    how.cut?.addEventListener("abort", cut, { once: true });
    this.#post({ type: "stop", reason: how.reason ?? "stopping" });
    if (how.cut?.aborted) cut();
    const result = await done;
    if (unanswered) clearTimeout(unanswered);
    how.cut?.removeEventListener("abort", cut);
    // Handlers cut off may still wait on the network; the thread has handed their jobs back.
    await worker.terminate();
    return result;
  }
}

/** The thread's side (jobs-thread.worker.mjs imports this module and calls it). */
export async function runJobsThread(port: MessagePort, data: JobsThreadData): Promise<void> {
  const post = (m: FromThread) => port.postMessage(m);
  const niced = lowerThisThreadsPriority();
  const [{ openContext }, { startService }, { abandonHeldFlows }] = await Promise.all([
    import("./context.ts"),
    import("./service.ts"),
    import("./run-flow.ts"),
  ]);
  let opened: Awaited<ReturnType<typeof openContext>> | undefined;
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    opened = await openContext(data.configPath, { storeUrl: data.storeUrl });
    service = await startService(opened, {
      ...data.service,
      role: "worker",
      holder: data.holder,
      inJobsThread: true,
      onPass: (kind, summary) => {
        const error = summary.error ? { kind: summary.error.kind, message: summary.error.message } : null;
        post({ type: "pass", kind, summary: { ...summary, error: null }, error });
      },
    });
  } catch (e) {
    post({ type: "failed", message: e instanceof Error ? e.message : String(e) });
    await opened?.close().catch(() => {});
    return;
  }
  const ctx = opened;
  const sendStats = () => {
    const stats: Record<string, ConnectorStats> = {};
    for (const [name, c] of ctx.connectors) stats[name] = c.stats();
    try {
      post({ type: "stats", stats });
    } catch (e) {
      ctx.logger.warn(
        { err: e instanceof Error ? e.message : String(e) },
        "jobs thread: cannot send its call counters",
      );
    }
  };
  const timer = setInterval(sendStats, STATS_MS);
  timer.unref();
  const cut = new AbortController();
  let stopping = false;
  port.on("message", (m: ToThread) => {
    if (m.type === "wake") service.worker?.wake();
    else if (m.type === "notify") {
      if (stopping) return;
      service.runtime.notify(m.connection, m.entity).then(
        () => service.worker?.wake(),
        (err: unknown) =>
          ctx.logger.warn(
            { connection: m.connection, err: err instanceof Error ? err.message : String(err) },
            "cannot queue the inbox drain; the next sweep will",
          ),
      );
    } else if (m.type === "cut") cut.abort();
    else if (m.type === "stop" && !stopping) {
      stopping = true;
      clearInterval(timer);
      void (async () => {
        const { abandoned } = await service.stop({ reason: m.reason, cut: cut.signal });
        const interrupted =
          abandoned.length > 0
            ? await abandonHeldFlows(`${m.reason}: passerelle run exited before the run stopped`)
            : [];
        sendStats();
        await ctx.close().catch(() => {});
        post({ type: "stopped", abandoned, interrupted: interrupted.map((r) => r.id) });
        port.close();
      })();
    }
  });
  sendStats();
  if (niced !== true)
    ctx.logger.info(
      { reason: niced },
      "jobs thread: runs at the process's priority (could not lower its own)",
    );
  post({ type: "ready", nice: niced === true ? JOBS_THREAD_NICE : null });
}

/**
 * Lowers the calling thread's scheduling priority to JOBS_THREAD_NICE. On Linux a thread has an id of its own
 * (`/proc/thread-self` → `<pid>/task/<tid>`) and setpriority(2) on it changes that thread alone. True when
 * done, otherwise why not (another system, or a refusal).
 */
export function lowerThisThreadsPriority(): true | string {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isInteger(tid) || tid <= 0) return "no thread id in /proc/thread-self";
    setPriority(tid, JOBS_THREAD_NICE);
    return true;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
