/**
 * Cron schedules (croner). Each entry enqueues a job under a singleton key when it fires, so a flow whose
 * previous run is still queued or running is not queued again; the job itself runs under the flow's lease,
 * so two processes with the same schedule never run the flow twice at once either.
 *
 * Missed runs: the time of each fire is kept as a mark in the store. On start, if the schedule should have
 * fired at least once since that mark (the process was down), the job runs once now — not once per missed
 * occurrence: a sync pass catches up everything since its cursor in one go.
 */
import { Cron } from "croner";
import type { Jobs } from "../ports/jobs.ts";
import type { MarkStore } from "../ports/marks.ts";
import type { JobSpec } from "./jobs.ts";

export interface ScheduleEntry {
  /** Unique name, e.g. `flow:stock` or `reconcile:orders`. */
  name: string;
  cron: string;
  job: JobSpec;
  /** Also fire once whenever the scheduler starts (a process start), not only on its cron or when missed. */
  atStart?: boolean;
}

/** Why a schedule fired: its cron, a fire missed while no scheduler ran, or a start (`atStart`). */
export type FireReason = "cron" | "missed" | "start";

export interface SchedulerOptions {
  queue: Pick<Jobs, "enqueue">;
  marks: MarkStore;
  entries: ScheduleEntry[];
  now?: () => Date;
  /** Called after a job was enqueued (e.g. to wake the workers); `id` null when one was already live. */
  onEnqueued?: (entry: ScheduleEntry, id: number | string | null, reason: FireReason) => void;
  /** Told of every fire, with the tick it stands for (a cron fire's scheduled time, to the second). */
  onFired?: (entry: ScheduleEntry, tick: Date, reason: FireReason) => void;
  onError?: (entry: ScheduleEntry, err: unknown) => void;
}

export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #crons: Cron[] = [];

  constructor(opts: SchedulerOptions) {
    this.#o = opts;
    // Fail on a bad expression now, naming the schedule, rather than at its first fire.
    for (const e of opts.entries) {
      try {
        new Cron(e.cron, { paused: true }).stop();
      } catch (err) {
        throw new Error(
          `schedule ${e.name}: invalid cron ${JSON.stringify(e.cron)}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  }

  async #fire(entry: ScheduleEntry, reason: FireReason, tick?: Date): Promise<void> {
    const now = (this.#o.now ?? (() => new Date()))();
    this.#o.onFired?.(entry, tick ?? now, reason);
    await this.#o.marks.setMark(`schedule:${entry.name}`, now.toISOString());
    const id = await this.#o.queue.enqueue(entry.job);
    this.#o.onEnqueued?.(entry, id, reason);
  }

  /** Runs once what was missed while down, then starts every cron. */
  async start(): Promise<void> {
    const now = (this.#o.now ?? (() => new Date()))();
    for (const entry of this.#o.entries) {
      const mark = await this.#o.marks.getMark(`schedule:${entry.name}`);
      if (entry.atStart) {
        await this.#fire(entry, "start");
      } else if (mark === null) {
        await this.#o.marks.setMark(`schedule:${entry.name}`, now.toISOString());
      } else {
        const due = new Cron(entry.cron, { paused: true }).nextRun(new Date(mark));
        if (due !== null && due.getTime() <= now.getTime()) await this.#fire(entry, "missed");
      }
      this.#crons.push(
        new Cron(entry.cron, { protect: true }, async (self: Cron) => {
          try {
            await this.#fire(entry, "cron", self.currentRun() ?? undefined);
          } catch (err) {
            this.#o.onError?.(entry, err);
          }
        }),
      );
    }
  }

  stop(): void {
    for (const c of this.#crons.splice(0)) c.stop();
  }
}
