import cliProgress from "cli-progress";
import type { Progress } from "../engine/sync.ts";

/**
 * A live line of counts on stderr while a flow runs, for people at a terminal; silent for scripts
 * (--json) and when stderr is not a TTY. Streams have no known total, so this counts rather than fills.
 */
export function progressReporter(enabled: boolean): { update(p: Progress): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format:
        "{flow} │ {value} read │ {created} created │ {updated} updated │ {skipped} unchanged │ {failed} failed",
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const payload = {
        flow: p.flow,
        created: p.created,
        updated: p.updated,
        skipped: p.skipped,
        failed: p.failed,
      };
      if (!started) {
        bar.start(Number.MAX_SAFE_INTEGER, p.read, payload);
        started = true;
      } else bar.update(p.read, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
