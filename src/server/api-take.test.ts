/**
 * POST /api/v1/failures/:id/take on a real two-way conflict: two Odoo emulators hold the same customers, the
 * same customer's phone is edited on both sides, the two-way flow holds the conflict, and an operator takes
 * one side's version through the API (operations.takeConflict, as `failures resolve --take` does). The version
 * taken is written to the other side, the failure is resolved, and the action is audited.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type OdooEmulator, startOdooEmulator } from "@passerelle/emulators";
import type { FastifyInstance } from "fastify";
import type { ConflictPayload } from "../engine/two-way.ts";
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
let token = "";

function partnerId(emu: OdooEmulator, email: string): number {
  const [id] = emu.data.search("res.partner", [
    ["email", "=", email],
    ["parent_id", "=", false],
  ]);
  assert.ok(id, `${email} is not in ${emu.url}`);
  return id;
}
const phone = (emu: OdooEmulator, email: string) =>
  emu.data.read("res.partner", [partnerId(emu, email)], ["phone"])[0]?.phone;

async function cycle() {
  const s = await new TwoWayRunner(ctx.store, ctx.engine).run(ctx.flow("people"), {
    cursorLagMs: 0,
    sleep: async () => {},
  });
  assert.equal(s.error, null, s.error?.message);
  return s;
}

before(async () => {
  a = await startOdooEmulator({ products: 2, customers: 3, orders: 0, seed: 5 });
  b = await startOdooEmulator({ products: 2, customers: 0, orders: 0, seed: 5 });
  dir = mkdtempSync(join(tmpdir(), "passerelle-api-take-"));
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
    twoWay: { conflict: merge }
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
      holder: "api-take-test",
      noAuthOnLoopback: false,
    },
  });
  await app.ready();
  token = (await createToken(ctx.store.access(), { name: "ops", role: "operator" })).token;
});

after(async () => {
  await app?.close();
  await ctx?.close();
  await a?.close();
  await b?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("an operator takes one side of a held conflict through the API; the other side gets it", async () => {
  const first = await cycle();
  assert.ok(first.counts.created > 0, "side a's customers are created in side b");
  const [email] = a.data
    .read("res.partner", a.data.search("res.partner", [["email", "!=", false]]), ["email"])
    .map((r) => String(r.email));
  assert.ok(email);
  // Odoo stamps to the microsecond but reads to the second: let the second of the first writes pass.
  await new Promise((r) => setTimeout(r, 1100));
  a.data.write("res.partner", [partnerId(a, email)], { phone: "+33 1 11 11 11 11" });
  b.data.write("res.partner", [partnerId(b, email)], { phone: "+33 1 22 22 22 22" });
  await cycle();
  const [held] = await ctx.store.listFailures({ flow: "people", errorKind: "conflict" });
  assert.ok(held, "the conflict is held in the inbox");
  assert.deepEqual((held.sourcePayload as ConflictPayload).sides, { a: "erp-a", b: "erp-b" });

  const post = (body: unknown) =>
    app.inject({
      method: "POST",
      url: `/api/v1/failures/${held.id}/take`,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      remoteAddress: "10.0.0.9",
      payload: JSON.stringify(body),
    });
  const unknown = await post({ side: "erp-c" });
  assert.equal(unknown.statusCode, 400);
  assert.equal(unknown.json().error, 'side must be erp-a, erp-b, source or target; got "erp-c"');

  const taken = await post({ side: "erp-b" });
  assert.equal(taken.statusCode, 200, taken.body);
  assert.deepEqual(taken.json(), { id: held.id, status: "resolved", written: ["erp-a"] });
  assert.equal(phone(a, email), "+33 1 22 22 22 22");
  assert.equal((await ctx.store.getFailure(held.id))?.status, "resolved");

  const again = await post({ side: "erp-a" });
  assert.equal(again.statusCode, 400);
  assert.match(again.json().error, /is not an open two-way conflict/);

  const audit = await ctx.store.access().listAudit({ limit: 10 });
  assert.ok(
    audit.some(
      (e) => e.action === "failures.take" && e.target === `failure ${held.id}` && e.outcome === "ok",
    ),
  );
});
