/**
 * POST /api/v1/flows/:name/records/:key/restore on a real two-way removal: two Odoo emulators hold the same
 * customers, one is archived in side b, the flow (deletes: propagate) archives it in side a too and stops
 * carrying it; an operator brings it back through the API (operations.restoreRecord, as `passerelle restore`
 * does). Both sides are reactivated, the action is audited, a viewer is refused, and a record that is not
 * removed is a 400 saying so.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type OdooEmulator, startOdooEmulator } from "@passerelle/emulators";
import type { FastifyInstance } from "fastify";
import { TwoWayRunner } from "../engine/two-way.ts";
import { type Context, openContext } from "../runtime/context.ts";
import { JobQueue } from "../runtime/jobs.ts";
import { Metrics } from "../runtime/metrics.ts";
import { createToken } from "./api/auth.ts";
import { buildServer } from "./app.ts";

let a: OdooEmulator;
let b: OdooEmulator;
let ctx: Context;
let app: FastifyInstance;
let dir: string;
const tokens = { operator: "", viewer: "" };

/** Whether each top-level partner with this e-mail is active, archived ones included. */
function active(emu: OdooEmulator, email: string): boolean[] {
  const ids = emu.data.search("res.partner", [
    ["email", "=", email],
    ["parent_id", "=", false],
    ["active", "in", [true, false]],
  ]);
  return emu.data.read("res.partner", ids, ["active"]).map((r) => Boolean(r.active));
}

async function cycle() {
  const s = await new TwoWayRunner(ctx.store, ctx.engine).run(ctx.flow("people"), {
    cursorLagMs: 0,
    sleep: async () => {},
  });
  assert.equal(s.error, null, s.error?.message);
  return s;
}

before(async () => {
  a = await startOdooEmulator({ products: 2, customers: 3, orders: 0, seed: 7 });
  b = await startOdooEmulator({ products: 2, customers: 0, orders: 0, seed: 7 });
  dir = mkdtempSync(join(tmpdir(), "passerelle-api-restore-"));
  const conn = (e: OdooEmulator) =>
    `{ type: odoo, url: "${e.url}", db: "${e.db}", username: "${e.login}", password: "${e.password}" }`;
  const config = join(dir, "passerelle.yaml");
  writeFileSync(
    config,
    `version: 1
store: { url: "sqlite:${join(dir, "s.db")}" }
connections:
  erp-a: ${conn(a)}
  erp-b: ${conn(b)}
flows:
  people:
    source: { connection: erp-a, entity: customer }
    target: { connection: erp-b, entity: customer }
    direction: two-way
    twoWay: { conflict: merge, deletes: propagate }
  sales:
    source: { connection: erp-a, entity: order }
    target: { connection: erp-b, entity: order }
`,
  );
  ctx = await openContext(config);
  app = buildServer({
    endpoints: new Map(),
    inbox: ctx.store.openInbox(),
    api: {
      ctx,
      queue: new JobQueue(ctx.store),
      metrics: new Metrics(ctx),
      holder: "api-restore-test",
      noAuthOnLoopback: false,
    },
  });
  await app.ready();
  tokens.operator = (await createToken(ctx.store.access(), { name: "ops", role: "operator" })).token;
  tokens.viewer = (await createToken(ctx.store.access(), { name: "eyes", role: "viewer" })).token;
});

after(async () => {
  await app?.close();
  await ctx?.close();
  await a?.close();
  await b?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const restore = (flow: string, key: string, as: keyof typeof tokens) =>
  app.inject({
    method: "POST",
    url: `/api/v1/flows/${encodeURIComponent(flow)}/records/${encodeURIComponent(key)}/restore`,
    headers: { authorization: `Bearer ${tokens[as]}` },
    remoteAddress: "10.0.0.9",
  });

test("an operator restores a customer the flow archived on both sides; viewers and bad requests are refused", async () => {
  assert.ok((await cycle()).counts.created > 0, "side a's customers are created in side b");
  const [email, other] = a.data
    .read("res.partner", a.data.search("res.partner", [["email", "!=", false]]), ["email"])
    .map((r) => String(r.email));
  assert.ok(email && other);
  const [inB] = b.data.search("res.partner", [["email", "=", email]]);
  b.data.write("res.partner", [inB as number], { active: false });
  await cycle();
  assert.deepEqual([active(a, email), active(b, email)], [[false], [false]], "propagated");

  const viewer = await restore("people", email, "viewer");
  assert.equal(viewer.statusCode, 403, viewer.body);
  assert.deepEqual([active(a, email), active(b, email)], [[false], [false]], "a viewer changed nothing");

  const done = await restore("people", email, "operator");
  assert.equal(done.statusCode, 200, done.body);
  const body = done.json() as { ok: boolean; reactivated: string[]; recreated: string[]; key: string };
  assert.deepEqual(
    [body.key, body.ok, body.reactivated.sort(), body.recreated],
    [email, true, ["erp-a", "erp-b"], []],
  );
  assert.deepEqual([active(a, email), active(b, email)], [[true], [true]]);
  const restored = (await ctx.store.trace("customer", email)).filter((e) => e.kind === "restored");
  assert.equal(restored.length, 1);

  const again = await restore("people", email, "operator");
  assert.equal(again.statusCode, 400, again.body);
  assert.match(again.json().error, /is not removed in flow people; nothing to restore/);
  const unknownFlow = await restore("nobody", email, "operator");
  assert.equal(unknownFlow.statusCode, 404, unknownFlow.body);
  const oneWay = await restore("sales", email, "operator");
  assert.equal(oneWay.statusCode, 400, oneWay.body);
  assert.match(oneWay.json().error, /flow sales is one-way/);

  const audit = await ctx.store.access().listAudit({ limit: 20 });
  assert.ok(
    audit.some(
      (e) =>
        e.action === "records.restore" && e.target === `flow people record ${email}` && e.outcome === "ok",
    ),
    JSON.stringify(audit),
  );
});
