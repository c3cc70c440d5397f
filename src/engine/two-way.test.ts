/**
 * Two-way flows through the engine with real connectors and a real store: two Odoo emulators hold the same
 * customers, each edited directly in its database (as a person would in the back office), and the flow runs
 * cycle after cycle. Write counters (run summaries and the emulators' own rows) show that once edits stop,
 * writes stop.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type OdooFixture, startFixture } from "../../test/fixtures/odoo.ts";
import type { ConflictPolicy, DeletePolicy, Ownership } from "../core/merge.ts";
import type { Store } from "../ports/store.ts";
import { openStore } from "../store/index.ts";
import type { Flow } from "./flow.ts";
import { SyncEngine } from "./sync.ts";
import { type ConflictPayload, TwoWayRunner } from "./two-way.ts";

interface Env {
  a: OdooFixture;
  b: OdooFixture;
  store: Store;
  dir: string;
  runner: TwoWayRunner;
  flow: Flow;
}

async function setup(
  name: string,
  conflict: ConflictPolicy,
  ownership: Ownership = {},
  deletes: DeletePolicy = "ignore",
): Promise<Env> {
  const a = await startFixture({ customers: 4, orders: 0, seed: 3 });
  const b = await startFixture({ customers: 0, orders: 0, seed: 3 });
  const dir = mkdtempSync(join(tmpdir(), "passerelle-two-way-"));
  const store = await openStore(`sqlite:${join(dir, "store.sqlite")}`);
  await store.migrate();
  const flow: Flow = {
    name,
    entity: "customer",
    source: a.connect({}, "erp-a"),
    target: b.connect({}, "erp-b"),
    batchSize: 50,
    twoWay: { ownership, conflict, deletes },
  };
  return { a, b, store, dir, runner: new TwoWayRunner(store, new SyncEngine(store)), flow };
}

async function teardown(env: Env): Promise<void> {
  await env.store.close();
  await env.a.emu.close();
  await env.b.emu.close();
  rmSync(env.dir, { recursive: true, force: true });
}

const noSleep = async () => {};

/** One sync cycle; the cursor lags nothing so every change is read by the next cycle. */
async function cycle(env: Env) {
  const s = await env.runner.run(env.flow, { cursorLagMs: 0, sleep: noSleep });
  assert.equal(s.error, null, s.error?.message);
  return s;
}

const writes = (s: { counts: { created: number; updated: number } }) => s.counts.created + s.counts.updated;

/** Runs cycles until one writes nothing (at most `max`), then `more` cycles that must write nothing either. */
async function settle(env: Env, max = 4, more = 3): Promise<number> {
  let total = 0;
  for (let i = 0; ; i++) {
    assert.ok(i < max, `still writing after ${max} cycles`);
    // Odoo stamps to the microsecond but reads to the second: let the second of our writes pass.
    await new Promise((r) => setTimeout(r, 1100));
    const n = writes(await cycle(env));
    total += n;
    if (n === 0) break;
  }
  for (let i = 0; i < more; i++) assert.equal(writes(await cycle(env)), 0, "a settled flow wrote again");
  return total;
}

function partner(fx: OdooFixture, email: string): Record<string, unknown> {
  const [id] = fx.emu.data.search("res.partner", [
    ["email", "=", email],
    ["parent_id", "=", false],
  ]);
  assert.ok(id, `${email} is not in the emulator`);
  const [row] = fx.emu.data.read(
    "res.partner",
    [id],
    ["id", "name", "phone", "street", "city", "property_product_pricelist", "write_date"],
  );
  return row as Record<string, unknown>;
}

function pricelist(fx: OdooFixture, name: string): number {
  const [id] = fx.emu.data.search("product.pricelist", [["name", "=", name]]);
  assert.ok(id, `no price list ${name}`);
  return id;
}

function edit(fx: OdooFixture, email: string, vals: Record<string, unknown>): void {
  fx.emu.data.write("res.partner", [partner(fx, email).id as number], vals);
}

/** Every top-level partner with this e-mail, archived ones too: whether each is active. */
function active(fx: OdooFixture, email: string): boolean[] {
  const ids = fx.emu.data.search("res.partner", [
    ["email", "=", email],
    ["parent_id", "=", false],
    ["active", "in", [true, false]],
  ]);
  return fx.emu.data.read("res.partner", ids, ["active"]).map((r) => Boolean(r.active));
}

function emails(fx: OdooFixture): string[] {
  const ids = fx.emu.data.search("res.partner", [
    ["email", "!=", false],
    ["parent_id", "=", false],
  ]);
  return fx.emu.data
    .read("res.partner", ids, ["email"])
    .map((r) => String(r.email))
    .sort();
}

describe("two-way customers between two Odoo databases", () => {
  let env: Env;
  let email: string;
  before(async () => {
    env = await setup("people", "merge");
  });
  after(async () => teardown(env));

  test("the first cycle creates side a's customers in side b; their echoes are dropped, writes stop", async () => {
    const first = await cycle(env);
    assert.equal(first.counts.created, emails(env.a).length);
    assert.deepEqual(emails(env.b), emails(env.a));
    assert.equal(await settle(env), 0);
    email = emails(env.a)[0] as string;
    const trace = await env.store.trace("customer", email);
    assert.ok(
      trace.some((e) => e.system === "erp-b" && /our own echo, dropped/.test(e.message ?? "")),
      "the echo of the create is in the lineage",
    );
  });

  test("edits to different fields on both sides merge, then writes stop", async () => {
    // The price list (the customer's group) in a, the city (in addresses) in b. Odoo's partner name and
    // phone are also part of its address, so they are not independent of `addresses` there.
    edit(env.a, email, { property_product_pricelist: pricelist(env.a, "VIP EUR") });
    edit(env.b, email, { city: "Lyon" });
    const s = await cycle(env);
    assert.equal(s.counts.updated, 2);
    for (const fx of [env.a, env.b]) {
      const p = partner(fx, email);
      const list = p.property_product_pricelist;
      assert.equal(Array.isArray(list) ? list[0] : list, pricelist(fx, "VIP EUR"));
      assert.equal(p.city, "Lyon");
    }
    assert.equal(await settle(env), 0);
    const trace = await env.store.trace("customer", email);
    const updated = trace.filter((e) => e.kind === "updated");
    assert.match(updated.at(-1)?.message ?? "", /changed in erp-(a|b) since the last sync/);
  });

  test("the same field edited on both sides is held (merge), resolved by taking a side", async () => {
    edit(env.a, email, { phone: "+33 1 11 11 11 11" });
    edit(env.b, email, { phone: "+33 1 22 22 22 22" });
    const s = await cycle(env);
    assert.equal(writes(s), 0);
    const [held] = await env.store.listFailures({ flow: "people", errorKind: "conflict" });
    assert.ok(held, "the conflict is in the inbox");
    const payload = held.sourcePayload as ConflictPayload;
    // Odoo's phone is the partner's and its address's: both fields are in conflict.
    assert.deepEqual(payload.conflict.fields, ["addresses", "phone"]);
    assert.equal(payload.versions.a?.phone, "+33 1 11 11 11 11");
    assert.equal(payload.versions.b?.phone, "+33 1 22 22 22 22");
    // Held: later cycles write nothing while nobody edits.
    assert.equal(await settle(env, 1), 0);
    const r = await env.runner.resolve(env.flow, held, { side: "b" });
    assert.deepEqual(r.written, ["erp-a"]);
    assert.equal(partner(env.a, email).phone, "+33 1 22 22 22 22");
    assert.equal((await env.store.getFailure(held.id))?.status, "resolved");
    assert.equal(await settle(env), 0);
  });

  test("a record archived on one side is not recreated there, and the other side keeps it (deletes: ignore)", async () => {
    const gone = emails(env.b)[1] as string;
    const id = partner(env.b, gone).id as number;
    env.b.emu.data.write("res.partner", [id], { active: false });
    edit(env.a, gone, { property_product_pricelist: pricelist(env.a, "Wholesale EUR") });
    await cycle(env);
    assert.equal(await settle(env), 0);
    const all = env.b.emu.data.search("res.partner", [
      ["email", "=", gone],
      ["parent_id", "=", false],
      ["active", "in", [true, false]],
    ]);
    assert.deepEqual(all, [id], "no second record was created in b");
    assert.equal(env.b.emu.data.read("res.partner", [id], ["active"])[0]?.active, false);
    assert.deepEqual(active(env.a, gone), [true], "a keeps its record");
    const removed = (await env.store.trace("customer", gone)).filter((e) => e.kind === "removed");
    assert.equal(removed.length, 1, "the removal is said once");
    assert.match(
      removed[0]?.message ?? "",
      /archived in erp-b; deletes: ignore — kept in erp-a; never recreated in erp-b/,
    );
    // a's later edits are no longer carried, and the trace says why, once.
    edit(env.a, gone, { city: "Nowhere" });
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(writes(await cycle(env)), 0);
    assert.equal(await settle(env), 0);
    const skipped = (await env.store.trace("customer", gone)).filter((e) =>
      /the flow no longer carries this record/.test(e.message ?? ""),
    );
    // Once per new version of a: the price list edited in the cycle that found the removal, then the city.
    assert.equal(skipped.length, 2, JSON.stringify(skipped));
    assert.ok(skipped.every((e) => e.system === "erp-a"));
  });
});

describe("two-way deletes: propagate and archive", () => {
  let env: Env;
  let people: string[];
  before(async () => {
    env = await setup("removals", "merge", {}, "propagate");
    await cycle(env);
    await settle(env);
    people = emails(env.a);
  });
  after(async () => teardown(env));

  test("propagate: archived in b, archived in a; deleted in a, archived in b (the gentlest removal b has)", async () => {
    const [first, second] = people as [string, string];
    edit(env.b, first, { active: false });
    const id = partner(env.a, second).id as number;
    env.a.emu.data.unlink("res.partner", [id]);
    const s = await cycle(env);
    assert.equal(s.counts.updated, 2, "two removals written");
    assert.deepEqual(active(env.a, first), [false]);
    assert.deepEqual(active(env.b, first), [false]);
    assert.deepEqual(active(env.a, second), [], "deleted in a, not recreated");
    assert.deepEqual(active(env.b, second), [false], "archived, not deleted, in b");
    assert.equal(await settle(env), 0);
    assert.deepEqual(active(env.a, second), [], "still not recreated");
    const trace = await env.store.trace("customer", second);
    assert.ok(
      trace.some(
        (e) =>
          e.kind === "removed" &&
          e.system === "erp-a" &&
          /deleted in erp-a; deletes: propagate — archived in erp-b; never recreated in erp-a/.test(
            e.message ?? "",
          ),
      ),
      JSON.stringify(trace.slice(-3)),
    );
  });

  test("archive: a record deleted in b is archived in a, never deleted", async () => {
    env.flow = {
      ...env.flow,
      twoWay: { ...(env.flow.twoWay as NonNullable<Flow["twoWay"]>), deletes: "archive" },
    };
    const third = people[2] as string;
    env.b.emu.data.unlink("res.partner", [partner(env.b, third).id as number]);
    const s = await cycle(env);
    assert.equal(s.counts.updated, 1);
    assert.deepEqual(active(env.a, third), [false]);
    assert.deepEqual(active(env.b, third), []);
    assert.equal(await settle(env), 0);
  });
});

describe("two-way restore: a removed record brought back", () => {
  let env: Env;
  let people: string[];
  before(async () => {
    env = await setup("restores", "merge", {}, "propagate");
    await cycle(env);
    await settle(env);
    people = emails(env.a);
  });
  after(async () => teardown(env));

  test("archived on both sides: restore reactivates both, and later edits are carried again", async () => {
    const first = people[0] as string;
    edit(env.b, first, { active: false });
    await cycle(env);
    assert.deepEqual([active(env.a, first), active(env.b, first)], [[false], [false]]);
    const r = await env.runner.restore(env.flow, first, { actor: "test" });
    assert.deepEqual(r.reactivated.sort(), ["erp-a", "erp-b"]);
    assert.deepEqual(r.recreated, []);
    assert.equal(r.ok, true, r.message ?? "");
    assert.deepEqual([active(env.a, first), active(env.b, first)], [[true], [true]]);
    const restored = (await env.store.trace("customer", first)).filter((e) => e.kind === "restored");
    assert.equal(restored.length, 1);
    assert.match(
      restored[0]?.message ?? "",
      /restored by test: it was archived in erp-b .*reactivated in erp-a and erp-b/,
    );
    assert.equal(await settle(env), 0);
    edit(env.a, first, { city: "Lyon" });
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(writes(await cycle(env)), 1, "the edit reaches b again");
    assert.equal(partner(env.b, first).city, "Lyon");
    assert.equal(await settle(env), 0);
  });

  test("deleted on one side: restore reactivates the other and creates it again where it was deleted, once", async () => {
    const second = people[1] as string;
    env.a.emu.data.unlink("res.partner", [partner(env.a, second).id as number]);
    await cycle(env);
    assert.deepEqual([active(env.a, second), active(env.b, second)], [[], [false]]);
    const r = await env.runner.restore(env.flow, second, { actor: "test" });
    assert.deepEqual(r.reactivated, ["erp-b"]);
    assert.deepEqual(r.recreated, ["erp-a"]);
    assert.equal(
      r.action,
      "created",
      JSON.stringify([r, (await env.store.trace("customer", second)).slice(-4)]),
    );
    assert.deepEqual([active(env.a, second), active(env.b, second)], [[true], [true]]);
    const link = (await env.store.getLinks("customer", "erp-a", [second])).get(second);
    assert.equal(link?.externalId, String(partner(env.a, second).id), "linked to the new record");
    assert.equal(await settle(env), 0);
    assert.deepEqual(active(env.a, second), [true], "created once");
    edit(env.b, second, { phone: "+33 1 00 00 00 00" });
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(writes(await cycle(env)), 1);
    assert.equal(partner(env.a, second).phone, "+33 1 00 00 00 00");
  });

  test("restore is refused for a live record, a key never merged, a one-way flow and a record deleted everywhere", async () => {
    const live = people[0] as string;
    await assert.rejects(
      env.runner.restore(env.flow, live),
      /is not removed in flow restores; nothing to restore/,
    );
    await assert.rejects(env.runner.restore(env.flow, "nobody@example.com"), /has never merged a customer/);
    const { twoWay: _, ...oneWay } = env.flow;
    await assert.rejects(env.runner.restore(oneWay, live), /is not two-way/);
    const third = people[2] as string;
    env.a.emu.data.unlink("res.partner", [partner(env.a, third).id as number]);
    await cycle(env);
    const archived = env.b.emu.data.search("res.partner", [
      ["email", "=", third],
      ["parent_id", "=", false],
      ["active", "in", [true, false]],
    ]);
    env.b.emu.data.unlink("res.partner", archived);
    await assert.rejects(
      env.runner.restore(env.flow, third),
      /deleted from erp-a and erp-b: nothing is left/,
    );
    assert.equal((await env.store.trace("customer", third)).filter((e) => e.kind === "restored").length, 0);
  });
});

describe("two-way ownership and last-writer-wins", () => {
  let env: Env;
  before(async () => {
    env = await setup("owned", "last-writer-wins", { phone: "a" });
    await cycle(env);
    await settle(env);
  });
  after(async () => teardown(env));

  test("a side's edit of a field the other side owns is overwritten by the owner's value", async () => {
    const email = emails(env.a)[0] as string;
    const owned = partner(env.a, email).phone;
    edit(env.b, email, { phone: "+1 555 0100", city: "Boston" });
    const s = await cycle(env);
    assert.equal(s.counts.updated, 2);
    assert.equal(partner(env.a, email).phone, owned, "side a's owned phone never changes");
    assert.equal(partner(env.a, email).city, "Boston");
    assert.equal(partner(env.b, email).phone, owned);
    assert.equal(await settle(env), 0);
  });

  test("the same unowned field edited on both sides: the later edit wins, and the trace says why", async () => {
    const email = emails(env.a)[1] as string;
    env.a.emu.data.freeze("2030-01-01 10:00:00");
    edit(env.a, email, { city: "Early" });
    env.a.emu.data.freeze(null);
    env.b.emu.data.freeze("2030-01-01 10:00:05");
    edit(env.b, email, { city: "Late" });
    env.b.emu.data.freeze(null);
    await cycle(env);
    assert.equal(partner(env.a, email).city, "Late");
    const trace = await env.store.trace("customer", email);
    assert.match(
      trace.filter((e) => e.kind === "updated").at(-1)?.message ?? "",
      /addresses from erp-b \(changed on both sides; last writer wins: erp-b \(2030-01-01T10:00:05/,
    );
    assert.equal(await settle(env), 0);
  });
});

describe("two-way keys taken from links (Stream.keysFromLinks)", () => {
  let env: Env;
  before(async () => {
    env = await setup("linked", "merge");
    // Side b's records carry no key of their own: its stream makes one up from its id, as a shop whose
    // products know nothing of the ERP's code would, and asks for the key of each record's link instead.
    const stream = env.flow.target.streams.customer as NonNullable<typeof env.flow.target.streams.customer>;
    env.flow.target.streams.customer = {
      ...stream,
      keysFromLinks: true,
      toCanonical: async (n) => ({ ...(await stream.toCanonical(n)), key: `b-${stream.idOf(n)}` }),
    };
  });
  after(async () => teardown(env));

  test("side b's records are merged under the keys they were linked under, and writes stop", async () => {
    const first = await cycle(env);
    assert.equal(first.counts.created, emails(env.a).length);
    assert.equal(await settle(env), 0, "the read-back of a create is an echo under its link's key");
    const email = emails(env.a)[0] as string;
    edit(env.b, email, { city: "Nantes" });
    const s = await cycle(env);
    assert.equal(s.counts.failed, 0);
    assert.equal(s.counts.updated, 1);
    assert.equal(partner(env.a, email).city, "Nantes");
    assert.deepEqual(emails(env.a), emails(env.b), "nothing created under a made-up key");
    assert.equal(await settle(env), 0);
  });
});
