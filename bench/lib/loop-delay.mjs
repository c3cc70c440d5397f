// Preloaded into a measured server process (`node --import ./bench/lib/loop-delay.mjs …`) by
// bench/webhook-with-sync.ts: it watches the event loop's delay (perf_hooks.monitorEventLoopDelay) and, on
// each SIGUSR2, appends what it saw since the previous SIGUSR2 to $BENCH_LOOP_DELAY_FILE as one JSON line,
// then starts over. `mono` is the monotonic clock in µs (process.hrtime), the clock a V8 .cpuprofile's
// timestamps use on Linux, so a window can be cut out of a --cpu-prof profile. Nothing when the variable
// is unset; the server itself is not changed.
import { appendFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

const file = process.env.BENCH_LOOP_DELAY_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 2 });
  histogram.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  process.on("SIGUSR2", () => {
    const line = {
      at: Date.now(),
      mono: Number(process.hrtime.bigint() / 1000n),
      samples: histogram.count,
      p50: ms(histogram.percentile(50)),
      p90: ms(histogram.percentile(90)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
      mean: ms(histogram.mean),
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
    histogram.reset();
  });
}
