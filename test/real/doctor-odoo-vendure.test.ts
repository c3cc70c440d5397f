/**
 * `passerelle doctor`'s permissions check against a real Odoo 17 and a real Vendure, through the CLI: each
 * system holds two users, its administrator and one restricted on the system itself (an Odoo user whose only
 * group is Internal User; a Vendure administrator whose role may only read the catalogue, orders and
 * customers), and the same flows run on both pairs. The administrators pass; for the restricted users
 * doctor names the rights missing, as the systems answer them (Odoo's check_access_rights, the permissions
 * of Vendure's roles), with what to grant, and exits 2. What Odoo refuses that user when the flow writes is
 * what doctor said it lacks.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type OdooSession,
  odooAvailable,
  odooSession,
  type StartedOdoo,
  startOdoo,
} from "../../scripts/real/odoo.mjs";
import { type RunningVendure, startVendure, vendureVersion } from "../../scripts/real/vendure.mjs";
import { runCli } from "../../scripts/real/vendure-passerelle.ts";
import { vendureAdmin } from "../../scripts/real/vendure-shop.ts";

const odoo = odooAvailable();
const skip = !odoo.ok
  ? `Odoo: ${odoo.missing}`
  : !odoo.setupDone
    ? "Odoo is not set up: run `node scripts/real/odoo.mjs --setup-only`"
    : vendureVersion() === null
      ? "@vendure/core is not installed"
      : false;

const CLERK_PASSWORD = "clerk-pass-8431";
const envRef = (name: string) => `\${env:${name}}`;

interface Finding {
  connection: string;
  check: string;
  status: string;
  detail: string;
  fix?: string;
}

describe("doctor's permissions check against a real Odoo and a real Vendure", {
  skip,
  timeout: 20 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedOdoo;
  let shop: RunningVendure;
  let session: OdooSession;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-doctor-real-"));
    [erp, shop] = await Promise.all([
      startOdoo({ log: (x) => console.log(`# ${x}`) }),
      startVendure({ dir: join(dir, "shop") }),
    ]);
    session = await odooSession(erp);

    // Odoo: a user whose only group is Internal User (no Sales rights).
    const [internal] = await session.find(
      "ir.model.data",
      [
        ["module", "=", "base"],
        ["name", "=", "group_user"],
      ],
      ["res_id"],
    );
    assert.ok(internal, "Odoo has base.group_user");
    await session.create("res.users", {
      name: "Clerk",
      login: "clerk",
      password: CLERK_PASSWORD,
      groups_id: [[6, 0, [internal.res_id]]],
    });

    // Vendure: an administrator whose role may read the catalogue, orders and customers only.
    const admin = await vendureAdmin(shop);
    const { activeChannel } = await admin<{ activeChannel: { id: string } }>("{ activeChannel { id } }");
    const { createRole } = await admin<{ createRole: { id: string } }>(
      `mutation($channel: ID!) { createRole(input: { code: "reader", description: "Reads only",
        permissions: [ReadCatalog, ReadOrder, ReadCustomer], channelIds: [$channel] }) { id } }`,
      { channel: activeChannel.id },
    );
    await admin(
      `mutation($role: ID!, $password: String!) { createAdministrator(input: { firstName: "Rea", lastName: "Der",
        emailAddress: "reader@example.com", password: $password, roleIds: [$role] }) { id } }`,
      { role: createRole.id, password: CLERK_PASSWORD },
    );

    const odooConnection = (name: string, user: string, password: string) => [
      `  ${name}:`,
      "    type: odoo",
      `    url: ${erp.url}`,
      `    db: ${erp.db}`,
      `    username: ${user}`,
      `    password: ${envRef(password)}`,
      "    currency: USD",
    ];
    const vendureConnection = (name: string, user: string, password: string) => [
      `  ${name}:`,
      "    type: vendure",
      `    url: ${shop.url}`,
      `    username: ${user}`,
      `    password: ${envRef(password)}`,
    ];
    const flows = (suffix: string, erpName: string, shopName: string) => [
      `  orders${suffix}:`,
      `    source: { connection: ${shopName}, entity: order }`,
      `    target: { connection: ${erpName}, entity: order }`,
      `  products${suffix}:`,
      `    source: { connection: ${erpName}, entity: product }`,
      `    target: { connection: ${shopName}, entity: product }`,
    ];
    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      [
        "version: 1",
        "store:",
        `  url: sqlite:${join(dir, "passerelle.sqlite")}`,
        "connections:",
        ...odooConnection("erp", erp.user, "ODOO_PASSWORD"),
        ...odooConnection("erp_clerk", "clerk", "CLERK_PASSWORD"),
        ...vendureConnection("shop", shop.adminUser, "VENDURE_PASSWORD"),
        ...vendureConnection("shop_reader", "reader@example.com", "CLERK_PASSWORD"),
        "flows:",
        ...flows("", "erp", "shop"),
        ...flows("_restricted", "erp_clerk", "shop_reader"),
        "",
      ].join("\n"),
    );
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      ODOO_PASSWORD: erp.password,
      VENDURE_PASSWORD: shop.adminPassword,
      CLERK_PASSWORD,
      PASSERELLE_LOG_LEVEL: "warn",
    };
  });

  after(async () => {
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the administrators pass; the restricted users' missing rights are named with what to grant", async () => {
    const res = await runCli(["doctor", "--json"], env).done;
    assert.equal(res.code, 2, `${res.stdout}\n${res.stderr}`);
    const { findings } = JSON.parse(res.stdout) as { findings: Finding[] };
    const rights = (c: string) => {
      const f = findings.find((x) => x.connection === c && x.check === "permissions");
      assert.ok(f, `no permissions finding for ${c}`);
      return f;
    };
    for (const c of ["erp", "erp_clerk", "shop", "shop_reader"]) {
      assert.equal(findings.find((x) => x.connection === c && x.check === "credentials")?.status, "ok", c);
    }

    const erpOk = rights("erp");
    assert.equal(erpOk.status, "ok", erpOk.detail);
    assert.match(erpOk.detail, /^holds .*sale\.order: create/);
    const shopOk = rights("shop");
    assert.equal(shopOk.status, "ok", shopOk.detail);
    assert.match(shopOk.detail, /^holds .*UpdateCatalog or UpdateProduct/);

    const clerk = rights("erp_clerk");
    assert.equal(clerk.status, "fail");
    assert.match(clerk.detail, /^missing .*sale\.order: create \(write order\)/);
    assert.match(clerk.detail, /asked: check_access_rights/);
    // What the Internal User group does allow is not reported missing.
    assert.doesNotMatch(clerk.detail, /product\.product: read \(/);
    assert.match(
      clerk.fix ?? "",
      /give the Odoo user of connections\.erp_clerk a group whose access rights allow create on sale\.order/,
    );

    const reader = rights("shop_reader");
    assert.equal(reader.status, "fail");
    assert.match(reader.detail, /CreateCatalog or CreateProduct \(write product\)/);
    assert.match(reader.detail, /UpdateCatalog or UpdateProduct \(write product\)/);
    assert.doesNotMatch(reader.detail, /missing .*ReadOrder/, "ReadOrder is granted by the role");
    assert.match(
      reader.fix ?? "",
      /give a role of the administrator reader@example\.com the permission CreateCatalog/,
    );

    const text = await runCli(["doctor", "erp_clerk"], env).done;
    assert.match(text.stdout, /^- erp_clerk permissions: for the flows using erp_clerk to run: /m);
  });

  test("what doctor says the Odoo user lacks, Odoo refuses: check_access_rights and the create itself", async () => {
    const clerk = await odooSession({ ...erp, user: "clerk", password: CLERK_PASSWORD });
    assert.equal(
      await clerk.call("sale.order", "check_access_rights", ["create"], { raise_exception: false }),
      false,
    );
    assert.equal(
      await clerk.call("product.product", "check_access_rights", ["read"], { raise_exception: false }),
      true,
    );
    await assert.rejects(
      clerk.call("sale.order", "check_access_rights", ["create"]),
      /You are not allowed to create 'Sales Order' \(sale\.order\) records/,
    );
    const [partner] = await session.find("res.partner", [], ["id"], { limit: 1 });
    assert.ok(partner);
    await assert.rejects(
      clerk.create("sale.order", { partner_id: partner.id }),
      /You are not allowed to create 'Sales Order' \(sale\.order\) records/,
    );
  });
});
