/**
 * `passerelle demo --once`, the first thing a newcomer runs (`npm start -- --once`), as a child process
 * against its own emulators: it must run clean. Its ERP holds sales of its own, as a real one does; their
 * deliveries are skipped for the shop with a reason, never failed. It shows categories, a kit and a refund.
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
          counts: z.object({
            created: z.number(),
            failed: z.number(),
            held: z.number(),
            skippedWithReason: z.number(),
          }),
        }),
      ),
      shipped: z.number(),
      refunds: z.number(),
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
    // The category tree reaches the shop before the products, and a refund made in the shop reaches the
    // ERP as a credit note (the kit's stock is checked record by record in loop.test.ts).
    const created = (flow: string) => cycle.runs.find((r) => r.flow === flow)?.counts.created;
    assert.deepEqual(
      cycle.runs.slice(0, 2).map((r) => r.flow),
      ["categories", "products"],
    );
    assert.ok((created("categories") ?? 0) > 0, explain(res));
    assert.equal(cycle.refunds, 1, explain(res));
    assert.equal(created("refunds"), 1, explain(res));
  });
});
