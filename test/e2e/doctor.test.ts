/**
 * `passerelle doctor` through the real CLI against the demo's emulators: every connection reachable with
 * its credentials accepted, Shopify's API version with its end of support, permissions (Shopify's scopes,
 * Odoo's access rights), webhooks before and
 * after `passerelle webhooks register`; a wrong Odoo password is a FAIL naming what to fix, with exit 2; an
 * Odoo that does not answer exits 3. No secret appears in the output.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { closedPort, explain, json, leakedSecrets, startWorld, type World } from "./helpers.ts";

const Findings = z.object({
  ok: z.boolean(),
  findings: z.array(
    z.object({
      connection: z.string(),
      check: z.string(),
      status: z.enum(["ok", "warn", "fail", "skip"]),
      detail: z.string(),
      fix: z.string().optional(),
    }),
  ),
});

describe("passerelle doctor, through the real CLI", () => {
  let world: World;
  before(async () => {
    world = await startWorld({ products: 5 });
  });
  after(async () => {
    await world?.close();
  });

  const status = (out: z.infer<typeof Findings>, connection: string, check: string) =>
    out.findings.find((f) => f.connection === connection && f.check === check);

  it("before the shop's webhooks are registered: everything answers, the missing webhooks fail with the command to run", async () => {
    const res = await world.cli(["doctor"]);
    assert.equal(res.code, 2, explain(res));
    assert.match(res.stdout, /^odoo +reachable +OK +odoo answered$/m);
    assert.match(res.stdout, /^odoo +credentials +OK +accepted$/m);
    // The version the emulated Odoo's common.version reports, and the end of /jsonrpc support (Odoo 22).
    assert.match(
      res.stdout,
      /^odoo +api-version +OK +Odoo external JSON-RPC API \(\/jsonrpc\) Odoo 17\.0, supported until 2028-09-01 /m,
    );
    assert.match(res.stdout, /^shopify +reachable +OK/m);
    assert.match(res.stdout, /^shopify +credentials +OK/m);
    assert.match(
      res.stdout,
      /^shopify +api-version +OK +Shopify Admin GraphQL API 2026-10, supported until 2027-10-01 \(ends in \d+d/m,
    );
    assert.match(res.stdout, /^shopify +permissions +OK +holds read_customers, read_locations, read_orders/m);
    assert.match(res.stdout, /^shopify +webhooks +FAIL +not subscribed to ORDERS_CREATE, ORDERS_UPDATED/m);
    assert.match(res.stdout, /^- shopify webhooks: passerelle webhooks register shopify --address/m);
    assert.deepEqual(leakedSecrets(res.stdout + res.stderr, world.secrets), []);
  });

  it("after passerelle webhooks register, nothing is to be fixed and doctor exits 0 (--json)", async () => {
    const reg = await world.cli(["webhooks", "register", "shopify"]);
    assert.equal(reg.code, 0, explain(reg));
    const res = await world.cli(["doctor", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const out = Findings.parse(json(res));
    assert.equal(out.ok, true);
    assert.equal(status(out, "shopify", "webhooks")?.status, "ok");
    assert.equal(status(out, "shopify", "deprecations")?.status, "ok");
    assert.equal(status(out, "odoo", "permissions")?.status, "ok");
    assert.match(status(out, "odoo", "permissions")?.detail ?? "", /^holds .*sale\.order: create/);
    assert.equal(status(out, "odoo", "webhooks")?.status, "skip");
  });

  it("a wrong Odoo password fails the credentials check, says what to fix, and exits 2", async () => {
    const res = await world.cli(["doctor", "odoo"], { env: { ODOO_PASSWORD: "not-the-password-4410" } });
    assert.equal(res.code, 2, explain(res));
    assert.match(res.stdout, /^odoo +reachable +OK/m);
    assert.match(res.stdout, /^odoo +credentials +FAIL +/m);
    assert.match(
      res.stdout,
      /^- odoo credentials: correct the credentials \(or URL, database\) of connections\.odoo/m,
    );
    assert.match(res.stdout, /^odoo +permissions +SKIP +not checked: the credentials were refused$/m);
    assert.doesNotMatch(res.stdout, /^shopify/m, "only the connection named");
    assert.deepEqual(leakedSecrets(res.stdout + res.stderr, [...world.secrets, "not-the-password-4410"]), []);
  });

  it("an Odoo that does not answer fails the reachable check and exits 3", async () => {
    const port = await closedPort();
    const res = await world.cli(["doctor", "odoo"], { env: { ODOO_URL: `http://127.0.0.1:${port}` } });
    assert.equal(res.code, 3, explain(res));
    assert.match(res.stdout, /^odoo +reachable +FAIL/m);
    assert.match(res.stdout, /^odoo +credentials +SKIP +not checked: the system did not answer$/m);
  });
});
