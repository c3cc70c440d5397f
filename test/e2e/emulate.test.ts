/**
 * `passerelle emulate` as a user runs it, in a child process: its options are checked like every other
 * command's (a bad --port is an error, not a silently ignored value).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { explain, hasStackTrace } from "./helpers.ts";
import { startCli } from "./long-running.ts";

/** Runs `passerelle emulate …args`; stops it if it starts instead of refusing, so a wrong acceptance fails. */
async function emulate(args: string[]) {
  const run = startCli(["emulate", ...args], { ...process.env });
  try {
    await run.waitFor("stdout", /emulator running/);
  } catch {
    // Exited without starting: what the refusals below expect.
  }
  return run.stop();
}

describe("passerelle emulate: bad options", () => {
  const cases: [string[], RegExp][] = [
    [["shopify", "--port", "abc"], /--port must be a whole number from 0 to 65535, got "abc"/],
    [["shopify", "--port", "-1"], /--port must be a whole number from 0 to 65535, got "-1"/],
    [["odoo", "--port", "65536"], /--port must be a whole number from 0 to 65535, got "65536"/],
    [["odoo", "--port", "80.5"], /--port must be a whole number from 0 to 65535, got "80\.5"/],
    [["odoo", "--products", "0"], /--products must be a whole number above 0, got "0"/],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(" ")}: exit 2 naming the option and the value`, async () => {
      const res = await emulate(args);
      assert.equal(res.code, 2, explain(res));
      assert.match(res.stderr, message);
      assert.doesNotMatch(res.stdout, /emulator running/);
      assert.ok(!hasStackTrace(res.stderr), res.stderr);
    });
  }
});
