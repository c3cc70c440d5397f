import assert from "node:assert/strict";
import { test } from "node:test";
import { SAME_SIGNAL_MS, shutdownOnSignals } from "./shutdown.ts";

test("a signal delivered twice at once (process group and bin) stops; a later second one cuts", () => {
  let t = 1_000;
  const s = shutdownOnSignals({ graceMs: 60_000, now: () => t });
  try {
    process.emit("SIGTERM", "SIGTERM");
    assert.equal(s.stop.aborted, true);
    t += 1;
    process.emit("SIGTERM", "SIGTERM");
    assert.equal(s.cut.aborted, false, "the same SIGTERM, passed on by the bin, is not a second request");
    t += SAME_SIGNAL_MS;
    process.emit("SIGINT", "SIGINT");
    assert.equal(s.cut.aborted, true, "a second signal later cuts");
  } finally {
    s.dispose();
  }
});
