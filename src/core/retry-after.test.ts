import assert from "node:assert/strict";
import { test } from "node:test";
import { retryAfterMs } from "./retry-after.ts";

test("Retry-After in seconds or as an HTTP date", () => {
  assert.equal(retryAfterMs("2"), 2000);
  assert.equal(retryAfterMs(" 0.5 "), 500);
  const now = Date.parse("2026-11-27T10:00:00Z");
  assert.equal(retryAfterMs("Fri, 27 Nov 2026 10:00:30 GMT", now), 30_000);
  assert.equal(retryAfterMs("Fri, 27 Nov 2026 09:00:00 GMT", now), 0);
  assert.equal(retryAfterMs(null), undefined);
  assert.equal(retryAfterMs("soon"), undefined);
});
