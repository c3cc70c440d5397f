/**
 * How a command that runs flows stops on SIGINT or SIGTERM. The first signal asks the work to stop: no new
 * work is claimed, runs stop after the batch they are writing (committed, so nothing is written twice) and
 * are recorded `interrupted`. If that takes longer than the grace period, or a second signal comes, `cut`
 * aborts: the command records what is still running as interrupted and exits without waiting for it — as
 * safe as a crash (intents and links make the next run find what was written), and bounded in time.
 *
 * A signal that comes within `SAME_SIGNAL_MS` of the first is the same request delivered twice, not a second
 * one: a process group's SIGTERM (systemd's default KillMode) or a terminal's Ctrl-C reaches both
 * bin/passerelle.mjs and the CLI it runs, and the bin passes its copy on.
 */
export const SAME_SIGNAL_MS = 250;
export interface Shutdown {
  /** Aborts at the first signal; its reason names the signal. */
  stop: AbortSignal;
  /** Aborts when the grace period after the first signal ends, or at a second signal. */
  cut: AbortSignal;
  /** Resolves with the first signal's name. */
  requested: Promise<NodeJS.Signals>;
  /** Stops listening for the signals. */
  dispose(): void;
}

export function shutdownOnSignals(opts: {
  graceMs: number;
  /** Told at each phase, to say what happens next. */
  onSignal?: (signal: NodeJS.Signals, phase: "stop" | "cut") => void;
  /** Milliseconds on a monotonic clock (tests). */
  now?: () => number;
}): Shutdown {
  const now = opts.now ?? (() => performance.now());
  let firstAt = 0;
  const stop = new AbortController();
  const cut = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let first: (signal: NodeJS.Signals) => void = () => undefined;
  const requested = new Promise<NodeJS.Signals>((done) => {
    first = done;
  });
  const cutNow = (signal: NodeJS.Signals, why: string) => {
    if (cut.signal.aborted) return;
    opts.onSignal?.(signal, "cut");
    cut.abort(new Error(why));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      if (now() - firstAt < SAME_SIGNAL_MS) return;
      cutNow(signal, `${signal} received twice`);
      return;
    }
    firstAt = now();
    opts.onSignal?.(signal, "stop");
    stop.abort(new Error(`${signal} received`));
    first(signal);
    timer = setTimeout(
      () => cutNow(signal, `${signal}: the grace period of ${opts.graceMs / 1000} s ran out`),
      opts.graceMs,
    );
    timer.unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    stop: stop.signal,
    cut: cut.signal,
    requested,
    dispose() {
      if (timer) clearTimeout(timer);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/**
 * For a command that abandoned work in flight: once it has returned and closed the store, the process exits
 * even though a request of that work is still open (it would otherwise keep the event loop alive).
 */
export function exitWhenIdleOrSoon(ms = 2_000): void {
  setTimeout(() => process.exit(), ms).unref();
}
