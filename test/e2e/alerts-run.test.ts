/**
 * `passerelle run` evaluates the alert rules on `alerts.evaluate` (here every second) through its job
 * queue. Other processes, whose configuration has no alerts, make the stock flow's records fail (a mapping
 * refusing one warehouse) and later retry them with the mapping fixed; a webhook receiver in this test gets
 * one "firing" notification from the service, then one "resolved", and nothing more while it keeps
 * evaluating.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { explain, startWorld, type World, waitFor } from "./helpers.ts";
import { startCli } from "./long-running.ts";

describe("alerts evaluated by passerelle run", () => {
  let world: World;
  let receiver: Server;
  const bodies: Record<string, unknown>[] = [];
  let url = "";

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((done) => receiver.listen(0, "127.0.0.1", done));
    const a = receiver.address();
    if (a === null || typeof a === "string") throw new Error("no port");
    url = `http://127.0.0.1:${a.port}/hook`;
    world = await startWorld({ products: 5 });
  });
  after(async () => {
    await world?.close();
    await new Promise((done) => receiver.close(done));
  });

  it("one firing and one resolved notification, from the service's own schedule", async () => {
    const service = world.writeConfig("alerts-run.yaml", (doc) => {
      doc.setIn(["alerts"], {
        evaluate: "* * * * * *",
        channels: { hook: { type: "webhook", url } },
        rules: [
          { name: "stock-failing", kind: "failure-rate", flow: "stock", threshold: 0.05, window: "1h" },
        ],
      });
    });
    const broken = world.writeConfig("broken.yaml", (doc) => {
      doc.setIn(["flows", "stock", "mapping", "location", "map"], { WH: "Main Warehouse" });
    });
    const fixed = world.configPath;
    const products = await world.cli(["-c", fixed, "sync", "products"]);
    assert.equal(products.code, 0, explain(products));
    const run = startCli(["-c", service, "run", "--port", "0"], world.env);
    try {
      const failing = await world.cli(["-c", broken, "sync", "stock"]);
      assert.equal(failing.code, 1, explain(failing));
      await waitFor("the firing notification", () => bodies.length >= 1, 60_000);
      assert.equal(bodies[0]?.status, "firing");
      assert.equal(bodies[0]?.rule, "stock-failing");
      assert.equal(bodies[0]?.subject, "flow stock");
      const retry = await world.cli(["-c", fixed, "failures", "retry", "--all", "--flow", "stock"]);
      assert.equal(retry.code, 0, explain(retry));
      await waitFor("the resolved notification", () => bodies.length >= 2, 60_000);
      assert.equal(bodies[1]?.status, "resolved");
      assert.equal(bodies[1]?.incident, bodies[0]?.incident);
      // While another flow syncs in another process (seconds, so several evaluations), nothing more is sent.
      const customers = await world.cli(["-c", fixed, "sync", "customers"]);
      assert.equal(customers.code, 0, explain(customers));
    } finally {
      const res = await run.stop();
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    }
    assert.deepEqual(
      bodies.map((b) => b.status),
      ["firing", "resolved"],
    );
  });
});
