/**
 * A two-way customers flow between a real Tryton (`erp`, side a) and a real Vendure (`shop`, side b),
 * through the CLI as a merchant runs it. A customer is edited in Tryton's and in Vendure's own APIs between
 * two runs; every assertion reads the systems back, and the runs' write counters (created + updated, from
 * `passerelle sync --json`) show that once edits stop, later cycles write nothing.
 *
 *   first run   the Tryton customer is created in Vendure; the next runs drop its echo and write nothing
 *   merge       the name edited in Tryton, the phone in Vendure: both sides get both
 *   hold        the phone edited on both sides under `conflict: merge`: held in the inbox with both
 *               versions, resolved with `failures resolve <id> --take shop`
 *   lww         the phone edited on both sides under `conflict: last-writer-wins`: the later edit wins on
 *               both sides and the trace says why
 *   propagate   under `deletes: propagate`, a customer deleted in Vendure is deactivated in Tryton (the gentlest
 *               removal Tryton has) and a party deactivated in Tryton is deleted in Vendure (all Vendure has);
 *               neither is recreated by later runs, and the trace says what happened
 *   ignore      under `deletes: ignore`, a customer deleted in Vendure stays in Tryton, and its later Tryton
 *               edit does not recreate it in Vendure
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type StartedTryton,
  startTryton,
  type TrytonSession,
  trytonAvailable,
  trytonSession,
} from "../../scripts/real/tryton.mjs";
import { type RunningVendure, startVendure, vendureVersion } from "../../scripts/real/vendure.mjs";
import { passerelleYaml, runCli } from "../../scripts/real/vendure-passerelle.ts";
import { type VendureAdmin, vendureAdmin } from "../../scripts/real/vendure-shop.ts";

const ready = trytonAvailable();
const skip = !ready.ok ? ready.missing : vendureVersion() === null ? "@vendure/core is not installed" : false;

const EMAIL = "ada-two-way@example.com";

interface SyncRun {
  flow: string;
  status: string;
  counts: { created: number; updated: number; failed: number; held: number };
}

describe("two-way customers between a real Tryton and a real Vendure", {
  skip: skip || false,
  timeout: 15 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedTryton;
  let shop: RunningVendure;
  let session: TrytonSession;
  let admin: VendureAdmin;
  let env: NodeJS.ProcessEnv;
  let config: string;
  let party: number;
  /** Writes made by every run so far (created + updated, as the runs report them). */
  let written = 0;

  const writeConfig = (conflict: string, deletes = "ignore") =>
    writeFileSync(
      config,
      `${passerelleYaml({
        store: join(dir, "passerelle.sqlite"),
        erp,
        shopUrl: shop.url,
        shopUser: shop.adminUser,
        locationMap: { WH: "Main Warehouse" },
        flows: [],
      })}  customers:
    direction: two-way
    source: { connection: erp, entity: customer }
    target: { connection: shop, entity: customer }
    twoWay:
      conflict: ${conflict}
      ownership: { erp: [group] }
      deletes: ${deletes}
`,
    );

  /** One `passerelle sync customers`; its write count is added to `written`. */
  async function sync(expectCode = 0): Promise<SyncRun> {
    const res = await runCli(["sync", "customers", "--json"], env).done;
    assert.equal(res.code, expectCode, `sync exit ${res.code}:\n${res.stdout}\n${res.stderr}`);
    const [run] = (JSON.parse(res.stdout) as { runs: SyncRun[] }).runs;
    assert.ok(run);
    written += run.counts.created + run.counts.updated;
    return run;
  }

  /** Runs until a sync writes nothing, then two more that must not write either. */
  async function settle(): Promise<void> {
    for (let i = 0; ; i++) {
      assert.ok(i < 4, "still writing after 4 runs");
      const r = await sync();
      if (r.counts.created + r.counts.updated === 0) break;
    }
    const before = written;
    await sync();
    await sync();
    assert.equal(written, before, "a settled two-way flow wrote again");
  }

  async function shopCustomer(): Promise<{
    id: string;
    firstName: string;
    lastName: string;
    phoneNumber: string;
  }> {
    const data = await admin<{
      customers: { items: { id: string; firstName: string; lastName: string; phoneNumber: string }[] };
    }>(
      `{customers(options:{filter:{emailAddress:{eq:"${EMAIL}"}}}){items{id firstName lastName phoneNumber}}}`,
    );
    assert.equal(
      data.customers.items.length,
      1,
      `${EMAIL} is in Vendure ${data.customers.items.length} times`,
    );
    return data.customers.items[0] as {
      id: string;
      firstName: string;
      lastName: string;
      phoneNumber: string;
    };
  }

  async function shopPhone(phone: string): Promise<void> {
    const { id } = await shopCustomer();
    await admin(`mutation{updateCustomer(input:{id:"${id}",phoneNumber:"${phone}"}){__typename}}`);
  }

  async function erpParty(): Promise<{ name: string; phone: string | null }> {
    const [p] = await session.find("party.party", [["id", "=", party]], ["name"]);
    const phones = await session.find(
      "party.contact_mechanism",
      [
        ["party", "=", party],
        ["type", "=", "phone"],
      ],
      ["value"],
    );
    return { name: String(p?.name), phone: phones[0] ? String(phones[0].value) : null };
  }

  async function erpPhone(phone: string): Promise<void> {
    const [m] = await session.find(
      "party.contact_mechanism",
      [
        ["party", "=", party],
        ["type", "=", "phone"],
      ],
      ["id"],
    );
    assert.ok(m, "the party has a phone");
    await session.model("party.contact_mechanism", "write", [m.id], { value: phone });
  }

  async function trace(): Promise<{ kind: string; system: string; message: string | null }[]> {
    const res = await runCli(["trace", "customer", EMAIL, "--json"], env).done;
    assert.equal(res.code, 0, res.stderr);
    const parsed = JSON.parse(res.stdout) as {
      events: { kind: string; system: string; message: string | null }[];
    };
    return parsed.events;
  }

  /** The Vendure customers with this e-mail (deleted ones are not listed). */
  async function shopIds(email: string): Promise<string[]> {
    const data = await admin<{ customers: { items: { id: string }[] } }>(
      `{customers(options:{filter:{emailAddress:{eq:"${email}"}}}){items{id}}}`,
    );
    return data.customers.items.map((c) => c.id);
  }

  async function newParty(name: string, email: string): Promise<number> {
    const [id] = (await session.create("party.party", [
      { name, contact_mechanisms: [["create", [{ type: "email", value: email }]]] },
    ])) as [number];
    return id;
  }

  /** Whether the party is active; null once it is deleted (inactive parties are searched too). */
  async function partyActive(id: number): Promise<boolean | null> {
    const rows = await session.find("party.party", [["id", "=", id]], ["active"], {
      active_test: false,
    });
    // Tryton on SQLite answers booleans as 1 and 0.
    return rows[0] ? rows[0].active === true || rows[0].active === 1 : null;
  }

  async function traceOf(email: string): Promise<{ kind: string; system: string; message: string | null }[]> {
    const res = await runCli(["trace", "customer", email, "--json"], env).done;
    assert.equal(res.code, 0, res.stderr);
    return (JSON.parse(res.stdout) as { events: { kind: string; system: string; message: string | null }[] })
      .events;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-two-way-real-"));
    [erp, shop] = await Promise.all([
      startTryton({ dir: join(dir, "erp") }),
      startVendure({ dir: join(dir, "shop") }),
    ]);
    session = await trytonSession(erp);
    admin = await vendureAdmin(shop);
    [party] = (await session.create("party.party", [
      {
        name: "Ada Lovelace",
        contact_mechanisms: [
          [
            "create",
            [
              { type: "email", value: EMAIL },
              { type: "phone", value: "+49 30 1000" },
            ],
          ],
        ],
      },
    ])) as [number];
    config = join(dir, "passerelle.yaml");
    writeConfig("merge");
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      TRYTON_PASSWORD: erp.password,
      VENDURE_PASSWORD: shop.adminPassword,
      PASSERELLE_LOG_LEVEL: "warn",
    };
  });

  after(async () => {
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("first run: the Tryton customer is created in Vendure; later runs drop its echo and write nothing", async () => {
    const first = await sync();
    assert.equal(first.counts.created, 1);
    const c = await shopCustomer();
    assert.deepEqual([c.firstName, c.lastName, c.phoneNumber], ["Ada", "Lovelace", "+49 30 1000"]);
    await settle();
    assert.equal(written, 1);
    assert.ok(
      (await trace()).some((e) => e.system === "shop" && /our own echo, dropped/.test(e.message ?? "")),
      "the echo of the create is dropped, and the trace says so",
    );
    // Status shows how far the flow has come: the side cursor further behind.
    const status = await runCli(["status", "--json"], env).done;
    assert.equal(status.code, 0, status.stderr);
    const [row] = (
      JSON.parse(status.stdout) as { flows: { flow: string; cursor: { updatedAt: string } | null }[] }
    ).flows;
    assert.equal(row?.flow, "customers");
    assert.ok(row?.cursor, `a two-way flow's status shows a cursor: ${status.stdout}`);
  });

  test("merge: the name edited in Tryton and the phone in Vendure between two runs reach both sides", async () => {
    await session.model("party.party", "write", [party], { name: "Ada King" });
    await shopPhone("+49 30 2000");
    const r = await sync();
    assert.equal(r.counts.updated, 2);
    assert.deepEqual(await erpParty(), { name: "Ada King", phone: "+49 30 2000" });
    const c = await shopCustomer();
    assert.deepEqual([c.firstName, c.lastName, c.phoneNumber], ["Ada", "King", "+49 30 2000"]);
    const before = written;
    await settle();
    assert.equal(written, before, "no write after the merge");
  });

  test("hold: the phone edited on both sides is held with both versions, then resolved by taking the shop's", async () => {
    await erpPhone("+49 30 3001");
    await shopPhone("+49 30 3002");
    const r = await sync(1);
    assert.equal(r.counts.created + r.counts.updated, 0);
    const list = await runCli(["failures", "list", "--type", "conflict", "--json"], env).done;
    const [held] = JSON.parse(list.stdout) as { id: number; key: string; errorMessage: string }[];
    assert.ok(held, `no conflict in the inbox: ${list.stdout}`);
    assert.match(held.errorMessage, /phone changed on both sides since the last sync to different values/);
    assert.ok((await trace()).some((e) => e.kind === "held"));
    // Nothing moves while it is held.
    assert.equal((await erpParty()).phone, "+49 30 3001");
    assert.equal((await shopCustomer()).phoneNumber, "+49 30 3002");
    const res = await runCli(["failures", "resolve", String(held.id), "--take", "shop", "--json"], env).done;
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    assert.equal((await erpParty()).phone, "+49 30 3002");
    const before = written;
    await settle();
    assert.equal(written, before, "no write after the resolution");
  });

  test("last-writer-wins: the later phone edit wins on both sides, and the trace says why", async () => {
    writeConfig("last-writer-wins");
    await erpPhone("+49 30 4001");
    // Source timestamps decide: the shop's edit is made clearly later.
    await new Promise((r) => setTimeout(r, 2000));
    await shopPhone("+49 30 4002");
    const r = await sync();
    assert.equal(r.counts.updated, 1);
    assert.equal((await erpParty()).phone, "+49 30 4002");
    assert.equal((await shopCustomer()).phoneNumber, "+49 30 4002");
    const events = await trace();
    assert.ok(
      events.some(
        (e) =>
          e.system === "erp" &&
          /phone from shop \(changed on both sides; last writer wins: shop/.test(e.message ?? ""),
      ),
      `the trace says why: ${JSON.stringify(events.slice(-4))}`,
    );
    const before = written;
    await settle();
    assert.equal(written, before, "no write after last-writer-wins");
  });

  test("deletes: propagate — deleted in Vendure, deactivated in Tryton; deactivated in Tryton, deleted in Vendure; never recreated", async () => {
    writeConfig("last-writer-wins", "propagate");
    const bea = await newParty("Bea Delete", "bea-two-way@example.com");
    const cid = await newParty("Cid Archive", "cid-two-way@example.com");
    const first = await sync();
    assert.equal(first.counts.created, 2);
    await settle();
    const [beaShop] = await shopIds("bea-two-way@example.com");
    assert.ok(beaShop);
    assert.equal((await shopIds("cid-two-way@example.com")).length, 1);
    // Bea deleted in the shop, Cid deactivated in the ERP, between two runs.
    await admin(`mutation{deleteCustomer(id:"${beaShop}"){result}}`);
    await session.model("party.party", "write", [cid], { active: false });
    const before = written;
    const r = await sync();
    assert.equal(r.counts.updated, 2, "two removals written");
    assert.equal(await partyActive(bea), false, "Bea is deactivated in Tryton, not deleted");
    assert.deepEqual(await shopIds("cid-two-way@example.com"), [], "Cid is deleted in Vendure");
    assert.equal(await partyActive(cid), false, "Cid stays deactivated in Tryton");
    await settle();
    assert.equal(written, before + 2, "no write after the removals");
    assert.deepEqual(await shopIds("bea-two-way@example.com"), [], "Bea is not recreated in Vendure");
    assert.deepEqual(await shopIds("cid-two-way@example.com"), [], "Cid is not recreated in Vendure");
    assert.equal(await partyActive(bea), false);
    const beaTrace = await traceOf("bea-two-way@example.com");
    assert.ok(
      beaTrace.some(
        (e) =>
          e.kind === "removed" &&
          e.system === "shop" &&
          /deleted in shop; deletes: propagate — archived in erp; never recreated in shop/.test(
            e.message ?? "",
          ),
      ),
      JSON.stringify(beaTrace.slice(-3)),
    );
    const cidTrace = await traceOf("cid-two-way@example.com");
    assert.ok(
      cidTrace.some(
        (e) =>
          e.kind === "removed" &&
          e.system === "erp" &&
          /archived in erp; deletes: propagate — deleted in shop; never recreated in erp/.test(
            e.message ?? "",
          ),
      ),
      JSON.stringify(cidTrace.slice(-3)),
    );
  });

  test("deletes: ignore — deleted in Vendure, kept in Tryton; a later Tryton edit does not recreate it", async () => {
    writeConfig("last-writer-wins", "ignore");
    const [ada] = await shopIds(EMAIL);
    assert.ok(ada);
    await admin(`mutation{deleteCustomer(id:"${ada}"){result}}`);
    const before = written;
    await sync();
    assert.equal(written, before, "ignore writes nothing");
    assert.equal(
      await partyActive(party),
      true,
      `Ada stays active in Tryton: ${JSON.stringify((await traceOf(EMAIL)).slice(-4))}`,
    );
    await session.model("party.party", "write", [party], { name: "Ada Byron" });
    await settle();
    assert.equal(written, before, "the Tryton edit is not carried");
    assert.deepEqual(await shopIds(EMAIL), [], "Ada is not recreated in Vendure");
    const events = await traceOf(EMAIL);
    assert.ok(
      events.some(
        (e) => e.kind === "removed" && /deleted in shop; deletes: ignore — kept in erp/.test(e.message ?? ""),
      ),
      JSON.stringify(events.slice(-3)),
    );
    assert.ok(
      events.some(
        (e) => e.system === "erp" && /the flow no longer carries this record/.test(e.message ?? ""),
      ),
      JSON.stringify(events.slice(-3)),
    );
  });

  test("restore: Cid (deactivated in Tryton, deleted in Vendure) comes back through the CLI — reactivated in Tryton, created once in Vendure, carried again", async () => {
    writeConfig("last-writer-wins", "propagate");
    const cidEmail = "cid-two-way@example.com";
    const [cid] = (await session.find("party.party", [["name", "=", "Cid Archive"]], ["id"], {
      active_test: false,
    })) as [{ id: number }];
    assert.ok(cid);
    assert.equal(await partyActive(cid.id), false);
    assert.deepEqual(await shopIds(cidEmail), []);
    const res = await runCli(["restore", "customers", cidEmail, "--json"], env).done;
    assert.equal(res.code, 0, `restore exit ${res.code}:\n${res.stdout}\n${res.stderr}`);
    const out = JSON.parse(res.stdout) as { reactivated: string[]; recreated: string[]; action: string };
    assert.deepEqual([out.reactivated, out.recreated, out.action], [["erp"], ["shop"], "created"]);
    assert.equal(await partyActive(cid.id), true, "reactivated in Tryton");
    assert.equal((await shopIds(cidEmail)).length, 1, "created again in Vendure");
    await settle();
    assert.equal((await shopIds(cidEmail)).length, 1, "created once");
    await session.model("party.party", "write", [cid.id], { name: "Cid Restored" });
    const r = await sync();
    assert.equal(r.counts.updated, 1, "the Tryton edit is carried again");
    const data = await admin<{ customers: { items: { lastName: string; firstName: string }[] } }>(
      `{customers(options:{filter:{emailAddress:{eq:"${cidEmail}"}}}){items{firstName lastName}}}`,
    );
    assert.match(JSON.stringify(data.customers.items), /Restored/);
    assert.ok((await traceOf(cidEmail)).some((e) => e.kind === "restored"));
  });
});
