/**
 * The management API as shipped: `passerelle tokens create` through the real CLI, then `passerelle run`
 * in a child process, called over HTTP with the token; a sync queued through the API runs on the
 * service's worker and shows up in /api/v1/runs and /metrics. Without a token the same server answers 401,
 * and with `--no-auth-on-loopback` loopback gets in without one.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { explain, json, startWorld, type World, waitFor } from "./helpers.ts";
import { startCli } from "./long-running.ts";

describe("passerelle run: the management API with a token from passerelle tokens create", () => {
  let world: World;

  before(async () => {
    world = await startWorld({ products: 3 });
  });
  after(async () => {
    await world?.close();
  });

  it("serves /api/v1 to a bearer token, refuses requests without one, and runs a flow queued through it", async () => {
    const made = await world.cli(["tokens", "create", "--role", "operator", "--name", "e2e", "--json"]);
    assert.equal(made.code, 0, explain(made));
    const { bearer: token, role } = json(made) as { bearer: string; role: string };
    assert.equal(role, "operator");
    assert.match(token, /^psr_[A-Za-z0-9_-]{43}$/);

    const listed = await world.cli(["tokens", "list"]);
    assert.equal(listed.code, 0, explain(listed));
    assert.match(listed.stdout, /e2e\s+operator/);
    assert.ok(!listed.stdout.includes(token), "the token is shown once, at creation");

    const run = startCli(["run", "--port", "0"], world.env);
    try {
      // The auth line comes after the address (and the dashboard's): wait for it, not for the first line.
      await run.waitFor("stderr", /API auth: /);
      const err = run.stderr();
      assert.match(err, /API auth: every request needs a bearer token/);
      const base = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err)?.[1];
      const auth = { authorization: `Bearer ${token}` };

      const anon = await fetch(`${base}/api/v1/flows`);
      assert.equal(anon.status, 401, "loopback needs a token without --no-auth-on-loopback");

      const flows = await fetch(`${base}/api/v1/flows`, { headers: auth });
      assert.equal(flows.status, 200);
      const names = ((await flows.json()) as { flows: { name: string }[] }).flows.map((f) => f.name);
      assert.ok(names.includes("products"));

      const queued = await fetch(`${base}/api/v1/flows/products/run`, { method: "POST", headers: auth });
      assert.equal(queued.status, 202);
      const done = await waitFor("the queued products sync to finish", async () => {
        const res = await fetch(`${base}/api/v1/runs?flow=products`, { headers: auth });
        const { runs } = (await res.json()) as { runs: { status: string; counts: { created: number } }[] };
        return runs.find((r) => r.status === "succeeded") ?? null;
      });
      assert.ok(done.counts.created > 0);

      const metrics = await (await fetch(`${base}/metrics`, { headers: auth })).text();
      assert.match(
        metrics,
        /passerelle_records_total\{flow="products",connection="shopify",outcome="created"\} [1-9]/,
      );

      const doc = await fetch(`${base}/api/v1/openapi.json`, { headers: auth });
      assert.equal(((await doc.json()) as { openapi: string }).openapi, "3.1.0");

      const audit = await fetch(`${base}/api/v1/audit`, { headers: auth });
      assert.equal(audit.status, 403, "an operator does not read the audit log");
    } finally {
      const res = await run.stop();
      assert.equal(res.code, 0, explain(res));
    }

    const revoked = await world.cli(["tokens", "revoke", "e2e"]);
    assert.equal(revoked.code, 0, explain(revoked));
    const unknownRole = await world.cli(["tokens", "create", "--role", "root"]);
    assert.equal(unknownRole.code, 2, explain(unknownRole));
    assert.match(unknownRole.stderr, /--role must be one of viewer, operator, admin, got "root"/);
  });

  it("--no-auth-on-loopback: loopback gets in without a token, and the startup output says so", async () => {
    const run = startCli(["run", "--port", "0", "--no-auth-on-loopback"], world.env);
    try {
      await run.waitFor("stderr", /API auth: requests from loopback need no token/);
      const base = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr())?.[1];
      const res = await fetch(`${base}/api/v1/connections`);
      assert.equal(res.status, 200);
    } finally {
      const res = await run.stop();
      assert.equal(res.code, 0, explain(res));
    }
  });
});
