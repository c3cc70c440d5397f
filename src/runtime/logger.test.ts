import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "./logger.ts";

test("log lines carry no secret, in messages or in objects", () => {
  const lines: string[] = [];
  const logger = createLogger(["s3cr3t-token"], "info", { write: (line: string) => void lines.push(line) });
  logger.info(
    { body: { error: "invalid token s3cr3t-token" }, password: "hunter2" },
    "call failed with s3cr3t-token",
  );
  assert.equal(lines.length, 1);
  const line = lines[0] ?? "";
  assert.equal(line.includes("s3cr3t-token"), false, line);
  assert.equal(line.includes("hunter2"), false, line);
  assert.match(line, /call failed with \[redacted\]/);
});

test("below the level nothing is written", () => {
  const lines: string[] = [];
  createLogger([], "warn", { write: (line: string) => void lines.push(line) }).info("quiet");
  assert.deepEqual(lines, []);
});
