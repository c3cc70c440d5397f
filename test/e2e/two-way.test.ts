/**
 * A two-way customers flow through the real CLI, between two Odoo emulators (`erp-a`, side a, and `erp-b`):
 *
 *   plan    `passerelle plan people` shows both directions' writes — the creates into erp-b, then an edit
 *           made in each system going to the other — and writes nothing (both systems read back unchanged)
 *   retry   a write erp-b refuses (it has no country with the address's code) goes to the inbox; once the
 *           country exists there, `failures retry <id>` reads both sides afresh and writes it
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type OdooEmulator, startOdooEmulator } from "@passerelle/emulators";
import { explain, spawnCli } from "./helpers.ts";
import { FailuresOutput, PlanOutput, parseOutput, RetryOutput, SyncOutput } from "./outputs.ts";

describe("two-way flows through the real CLI: plan shows both directions, failures retry writes", () => {
  let a: OdooEmulator;
  let b: OdooEmulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[]) => spawnCli(args, env);

  const partner = (emu: OdooEmulator, email: string) => {
    const [id] = emu.data.search("res.partner", [
      ["email", "=", email],
      ["parent_id", "=", false],
    ]);
    assert.ok(id, `${email} is not in the emulator`);
    return emu.data.read(
      "res.partner",
      [id],
      ["id", "city", "country_id", "property_product_pricelist"],
    )[0] as {
      id: number;
      city: string | false;
      country_id: [number, string] | number | false;
      property_product_pricelist: [number, string] | number | false;
    };
  };
  const idOf = (v: [number, string] | number | false) => (Array.isArray(v) ? v[0] : v);
  const emails = (emu: OdooEmulator) =>
    emu.data
      .read(
        "res.partner",
        emu.data.search("res.partner", [
          ["email", "!=", false],
          ["parent_id", "=", false],
        ]),
        ["email"],
      )
      .map((r) => String(r.email))
      .sort();
  const pricelist = (emu: OdooEmulator, name: string) => {
    const [id] = emu.data.search("product.pricelist", [["name", "=", name]]);
    assert.ok(id, `no price list ${name}`);
    return id;
  };
  /** Odoo stamps to the second: let the second of the last writes pass before the next read. */
  const nextSecond = () => new Promise((r) => setTimeout(r, 1100));

  before(async () => {
    [a, b] = await Promise.all([
      startOdooEmulator({ products: 3, customers: 4, orders: 0, seed: 3 }),
      startOdooEmulator({ products: 3, customers: 0, orders: 0, seed: 3 }),
    ]);
    dir = mkdtempSync(join(tmpdir(), "passerelle-e2e-two-way-"));
    const config = join(dir, "passerelle.yaml");
    const conn = (emu: OdooEmulator, pw: string) =>
      `{ type: odoo, url: "${emu.url}", db: ${emu.db}, username: ${emu.login}, password: "\${env:${pw}}" }`;
    writeFileSync(
      config,
      `version: 1
store:
  url: sqlite:${join(dir, "passerelle.sqlite")}
connections:
  erp-a: ${conn(a, "A_PASSWORD")}
  erp-b: ${conn(b, "B_PASSWORD")}
flows:
  people:
    direction: two-way
    source: { connection: erp-a, entity: customer }
    target: { connection: erp-b, entity: customer }
    twoWay: { conflict: merge }
`,
    );
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      A_PASSWORD: a.password,
      B_PASSWORD: b.password,
      PASSERELLE_LOG_LEVEL: "warn",
    };
    delete env.PASSERELLE_DEBUG;
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("plan shows the creates into erp-b and writes nothing; sync then creates what it said", async () => {
    const res = await cli(["plan", "people", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const plan = parseOutput(PlanOutput, res);
    const people = emails(a);
    assert.equal(plan.plan.create?.records, people.length);
    assert.deepEqual(plan.records.map((r) => r.key).sort(), people);
    assert.ok(plan.records.every((r) => r.action === "create" && /^erp-b: created/.test(r.reason ?? "")));
    assert.ok(plan.calls.writes > 0, "the writes' calls are estimated");
    assert.deepEqual(emails(b), [], "a plan writes nothing");
    const human = await cli(["plan", "people"]);
    assert.equal(human.code, 0, explain(human));
    assert.match(human.stdout, /Plan for people \(dry run: nothing was written\)/);
    assert.match(human.stdout, /reading erp-a and erp-b/);

    const synced = await cli(["sync", "people", "--json"]);
    assert.equal(synced.code, 0, explain(synced));
    assert.equal(parseOutput(SyncOutput, synced).runs[0]?.counts.created, people.length);
    assert.deepEqual(emails(b), people);
    // The echoes of the creates are dropped: the next plan writes nothing.
    await nextSecond();
    const quiet = parseOutput(PlanOutput, await cli(["plan", "people", "--json"]));
    assert.equal((quiet.plan.create?.records ?? 0) + (quiet.plan.update?.records ?? 0), 0);
  });

  it("an edit on each side: plan shows both directions' writes, writes nothing, and sync does them", async () => {
    const [first, second] = emails(a) as [string, string];
    await cli(["sync", "people"]);
    // Another price list than the customer's (its group), in erp-a; another city, in erp-b.
    const had = idOf(partner(a, first).property_product_pricelist);
    const list = ["VIP EUR", "Wholesale EUR"].find((n) => pricelist(a, n) !== had) as string;
    a.data.write("res.partner", [partner(a, first).id], { property_product_pricelist: pricelist(a, list) });
    b.data.write("res.partner", [partner(b, second).id], { city: "Lyon" });
    await nextSecond();
    const res = await cli(["plan", "people", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const plan = parseOutput(PlanOutput, res);
    const updates = plan.records.filter((r) => r.action === "update");
    assert.equal(updates.length, 2, JSON.stringify(plan.records));
    assert.match(updates.find((r) => r.key === first)?.reason ?? "", /^erp-b: wrote group; group from erp-a/);
    assert.match(
      updates.find((r) => r.key === second)?.reason ?? "",
      /^erp-a: wrote addresses; addresses from erp-b/,
    );
    // Nothing written: erp-b still has its own price list for the first, erp-a its own city for the second.
    assert.notEqual(idOf(partner(b, first).property_product_pricelist), pricelist(b, list));
    assert.notEqual(partner(a, second).city, "Lyon");

    const synced = await cli(["sync", "people", "--json"]);
    assert.equal(parseOutput(SyncOutput, synced).runs[0]?.counts.updated, 2, explain(synced));
    assert.equal(idOf(partner(b, first).property_product_pricelist), pricelist(b, list));
    assert.equal(partner(a, second).city, "Lyon");
  });

  it("a write refused by one side goes to the inbox; failures retry writes it once the cause is fixed", async () => {
    const person = emails(a)[2] as string;
    // A country no customer uses yet, renamed in erp-b so that it has none with that code.
    const used = new Set(
      [a, b].flatMap((emu) =>
        emu.data
          .read("res.partner", emu.data.search("res.partner", [["country_id", "!=", false]]), ["country_id"])
          .map((r) => idOf(r.country_id as [number, string])),
      ),
    );
    const countries = a.data.read("res.country", a.data.search("res.country", []), ["code"]);
    const spare = countries.find((c) => !used.has(c.id as number));
    assert.ok(spare, "the emulator has a country no customer uses");
    const code = String(spare.code);
    const [inB] = b.data.search("res.country", [["code", "=", code]]);
    assert.ok(inB);
    b.data.write("res.country", [inB], { code: "ZZ" });
    a.data.write("res.partner", [partner(a, person).id], { country_id: spare.id, city: "Elsewhere" });
    await nextSecond();

    const synced = await cli(["sync", "people", "--json"]);
    assert.equal(synced.code, 1, explain(synced));
    const list = await cli(["failures", "list", "--flow", "people", "--json"]);
    const [failed] = parseOutput(FailuresOutput, list).filter((f) => f.key === person);
    assert.ok(failed, explain(list));
    assert.match(
      failed.errorMessage,
      new RegExp(`writing to erp-b failed: .*no country with code "${code}"`),
    );
    // The next sync does not write it by itself (nothing changed since), so retry is the way.
    await cli(["sync", "people"]);
    assert.notEqual(partner(b, person).city, "Elsewhere");

    b.data.write("res.country", [inB], { code });
    const retried = await cli(["failures", "retry", String(failed.id), "--json"]);
    assert.equal(retried.code, 0, explain(retried));
    const [outcome] = parseOutput(RetryOutput, retried);
    assert.deepEqual([outcome?.ok, outcome?.action], [true, "updated"]);
    assert.equal(partner(b, person).city, "Elsewhere");
    assert.equal(idOf(partner(b, person).country_id), inB);
    const after = parseOutput(FailuresOutput, await cli(["failures", "list", "--flow", "people", "--json"]));
    assert.deepEqual(
      after.filter((f) => f.key === person && f.status !== "resolved"),
      [],
      "the failure is resolved",
    );
    // Settled: the retry's echo is dropped, nothing more to write.
    await nextSecond();
    const quiet = parseOutput(PlanOutput, await cli(["plan", "people", "--json"]));
    assert.equal(
      (quiet.plan.create?.records ?? 0) + (quiet.plan.update?.records ?? 0),
      0,
      JSON.stringify(quiet.records),
    );
  });

  it("restore brings back a customer archived in erp-b (deletes: ignore): reactivated, carried again", async () => {
    const person = emails(a)[3] as string;
    b.data.write("res.partner", [partner(b, person).id], { active: false });
    await nextSecond();
    const synced = await cli(["sync", "people", "--json"]);
    assert.equal(synced.code, 0, explain(synced));
    assert.deepEqual(emails(b).includes(person), false, "archived in erp-b, not recreated");

    const res = await cli(["restore", "people", person]);
    assert.equal(res.code, 0, explain(res));
    assert.match(
      res.stdout,
      new RegExp(`${person} restored in flow people \\(reactivated in erp-b\\); merged`),
    );
    assert.ok(emails(b).includes(person), "active again in erp-b");
    await nextSecond();
    a.data.write("res.partner", [partner(a, person).id], { city: "Grenoble" });
    await nextSecond();
    const after = await cli(["sync", "people", "--json"]);
    assert.equal(parseOutput(SyncOutput, after).runs[0]?.counts.updated, 1, explain(after));
    assert.equal(partner(b, person).city, "Grenoble");

    const again = await cli(["restore", "people", person]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /is not removed in flow people; nothing to restore/);
  });
});
