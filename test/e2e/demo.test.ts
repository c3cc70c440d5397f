/**
 * `passerelle demo --once`, the first thing a newcomer runs (`npm start -- --once`), as a child process
 * against its own emulators: it must run clean. Its ERP holds sales of its own, as a real one does; their
 * deliveries are skipped for the shop with a reason, never failed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { z } from "zod";
import { explain, spawnCli } from "./helpers.ts";
import { parseOutput } from "./outputs.ts";

const DemoOutput = z.object({
  cycles: z.array(
    z.object({
      runs: z.array(
        z.object({
          flow: z.string(),
          status: z.string(),
          counts: z.object({ failed: z.number(), held: z.number(), skippedWithReason: z.number() }),
        }),
      ),
      shipped: z.number(),
    }),
  ),
});

describe("the demo, one cycle, through the real CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-demo-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("exits 0 with no failed or held record; the ERP's own shipments are skipped with a reason", async () => {
    const env = { ...process.env };
    delete env.PASSERELLE_CONFIG;
    const args = ["demo", "--once", "--products", "40", "--orders", "6"];
    const res = await spawnCli([...args, "--store", `sqlite:${join(dir, "demo.sqlite")}`, "--json"], env);
    assert.equal(res.code, 0, explain(res));
    const [cycle] = parseOutput(DemoOutput, res).cycles;
    assert.ok(cycle, explain(res));
    const troubled = cycle.runs.filter(
      (r) => r.status !== "succeeded" || r.counts.failed + r.counts.held > 0,
    );
    assert.deepEqual(troubled, []);
    const shipments = cycle.runs.find((r) => r.flow === "shipments");
    assert.ok(shipments && shipments.counts.skippedWithReason > 0, explain(res));
  });
});
