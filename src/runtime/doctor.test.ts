/**
 * doctor's scope and deprecation checks on an open context: two connections to one Shopify emulator whose
 * app holds read_products only; the connection a product flow writes to lacks write_products (FAIL, naming
 * it), the one it reads from has what it needs; a deprecation notice kept in the store is a WARN naming the
 * call site, its count and the reason.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type OdooEmulator,
  type ShopifyEmulator,
  startOdooEmulator,
  startShopifyEmulator,
} from "@passerelle/emulators";
import { type Context, openContext } from "./context.ts";
import { diagnose, permissionFinding } from "./doctor.ts";

describe("doctor: Shopify's access scopes and deprecations", () => {
  let emu: ShopifyEmulator;
  let ctx: Context;
  const dir = mkdtempSync(join(tmpdir(), "passerelle-doctor-"));

  before(async () => {
    emu = await startShopifyEmulator({ customers: 1, scopes: ["read_products"] });
    const shop = (name: string) => `  ${name}:
    type: shopify
    shop: ${emu.shop}
    accessToken: \${env:DOCTOR_TEST_TOKEN}
    endpoint: ${emu.url}
`;
    const path = join(dir, "passerelle.yaml");
    writeFileSync(
      path,
      `version: 1
store: { url: "sqlite:${join(dir, "store.sqlite")}" }
connections:
${shop("main")}${shop("outlet")}flows:
  products:
    source: { connection: main, entity: product }
    target: { connection: outlet, entity: product }
`,
    );
    process.env.DOCTOR_TEST_TOKEN = emu.accessToken;
    ctx = await openContext(path);
  });
  after(async () => {
    await ctx?.close();
    await emu?.close();
    delete process.env.DOCTOR_TEST_TOKEN;
    rmSync(dir, { recursive: true, force: true });
  });

  it("names the missing scope of the connection a flow writes to", async () => {
    const findings = await diagnose(ctx);
    const scopes = findings.filter((f) => f.check === "permissions");
    assert.deepEqual(
      scopes.map((f) => [f.connection, f.status, f.detail]),
      [
        ["main", "ok", "holds read_products"],
        [
          "outlet",
          "fail",
          "missing write_products (write product); asked: currentAppInstallation.accessScopes (held: read_products)",
        ],
      ],
    );
    assert.equal(
      scopes[1]?.fix,
      "for the flows using outlet to run: add the access scope write_products to the app and reinstall it",
    );
  });

  it("reports the deprecation notices kept in the store, per call site", async () => {
    await ctx.store.alerts().recordDeprecations(
      [
        {
          connection: "main",
          site: "LegacyLookup",
          reason: "QueryRoot.productByHandle",
          sunset: null,
          count: 4,
        },
      ],
      new Date().toISOString(),
    );
    const findings = await diagnose(ctx, ["main"]);
    const d = findings.find((f) => f.check === "deprecations");
    assert.equal(d?.status, "warn");
    assert.equal(d?.detail, "LegacyLookup (4×): QueryRoot.productByHandle");
    assert.ok(findings.every((f) => f.connection === "main"));
  });

  it("refuses an unknown connection name with the list", async () => {
    await assert.rejects(diagnose(ctx, ["nope"]), /no connection named "nope" .*; connections: main, outlet/);
  });
});

describe("doctor: the API version of connectors other than Shopify", () => {
  let odoo: OdooEmulator;
  let ctx: Context;
  const dir = mkdtempSync(join(tmpdir(), "passerelle-doctor-versions-"));

  before(async () => {
    odoo = await startOdooEmulator({ products: 1, customers: 1, orders: 0, seed: 3 });
    const files = join(dir, "files");
    mkdirSync(files);
    const path = join(dir, "passerelle.yaml");
    writeFileSync(
      path,
      `version: 1
store: { url: "sqlite:${join(dir, "store.sqlite")}" }
connections:
  erp:
    type: odoo
    url: ${odoo.url}
    db: ${odoo.db}
    username: ${odoo.login}
    password: \${env:DOCTOR_ODOO_PASSWORD}
  drop:
    type: file
    folder: ${files}
    entities:
      price:
        pattern: "prices-*.csv"
        format: csv
        fields:
          sku: sku
`,
    );
    process.env.DOCTOR_ODOO_PASSWORD = odoo.password;
    ctx = await openContext(path);
  });
  after(async () => {
    await ctx?.close();
    await odoo?.close();
    delete process.env.DOCTOR_ODOO_PASSWORD;
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads Odoo's server version and names the removal of the JSON-RPC endpoints; files have none", async () => {
    const findings = await diagnose(ctx, [], new Date("2026-12-01T00:00:00Z"));
    const version = (c: string) => findings.find((f) => f.connection === c && f.check === "api-version");
    assert.equal(version("erp")?.status, "ok");
    assert.match(
      version("erp")?.detail ?? "",
      /^Odoo external JSON-RPC API \(\/jsonrpc\) Odoo 17\.0, supported until 2028-09-01 \(ends in /,
    );
    assert.equal(version("drop")?.status, "skip");
    assert.match(version("drop")?.detail ?? "", /n\/a: files have no API version/);
    // The same, shown by the connection itself (GET /api/v1/connections and the dashboard read it).
    assert.equal(ctx.connectors.get("erp")?.apiVersion?.()?.version, "Odoo 17.0");
    // Within 90 days of the removal: a warning saying what to do.
    const late = await diagnose(ctx, ["erp"], new Date("2028-07-01T00:00:00Z"));
    const w = late.find((f) => f.check === "api-version");
    assert.equal(w?.status, "warn");
    assert.match(w?.fix ?? "", /^before the date, upgrade odoo to a release that serves a supported API/);
  });
});

describe("doctor: Odoo's access rights, asked with check_access_rights", () => {
  let admin: OdooEmulator;
  let clerk: OdooEmulator;
  let ctx: Context;
  const dir = mkdtempSync(join(tmpdir(), "passerelle-doctor-rights-"));

  before(async () => {
    admin = await startOdooEmulator({ products: 1, customers: 2, orders: 0, seed: 4 });
    // A user whose groups may read and edit partners but not create them.
    clerk = await startOdooEmulator({
      products: 1,
      customers: 1,
      orders: 0,
      seed: 5,
      denied: { "res.partner": ["create", "unlink"] },
    });
    const odoo = (name: string, emu: OdooEmulator) => `  ${name}:
    type: odoo
    url: ${emu.url}
    db: ${emu.db}
    username: ${emu.login}
    password: \${env:DOCTOR_RIGHTS_PASSWORD}
`;
    const path = join(dir, "passerelle.yaml");
    writeFileSync(
      path,
      `version: 1
store: { url: "sqlite:${join(dir, "store.sqlite")}" }
connections:
${odoo("head", admin)}${odoo("branch", clerk)}flows:
  customers:
    source: { connection: head, entity: customer }
    target: { connection: branch, entity: customer }
`,
    );
    process.env.DOCTOR_RIGHTS_PASSWORD = admin.password;
    ctx = await openContext(path);
  });
  after(async () => {
    await ctx?.close();
    await admin?.close();
    await clerk?.close();
    delete process.env.DOCTOR_RIGHTS_PASSWORD;
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes the user who holds every right the flows need and names the one missing, with what to grant", async () => {
    const findings = await diagnose(ctx);
    const rights = findings.filter((f) => f.check === "permissions");
    assert.deepEqual(
      rights.map((f) => [f.connection, f.status]),
      [
        ["head", "ok"],
        ["branch", "fail"],
      ],
    );
    assert.equal(rights[0]?.detail, "holds res.country: read, res.partner: read");
    assert.equal(
      rights[1]?.detail,
      "missing res.partner: create (write customer); asked: check_access_rights (the model access rights of the user's groups; record rules not checked)",
    );
    assert.equal(
      rights[1]?.fix,
      "for the flows using branch to run: give the Odoo user of connections.branch a group whose access rights allow create on res.partner (Settings > Users & Companies > Groups > Access Rights)",
    );
  });
});

describe("doctor: one permissions finding from the rights a connector answered", () => {
  const r = (right: string, granted: boolean | "unknown", how = "asked") => ({
    right,
    neededFor: "write order",
    granted,
    how,
    grant: `grant ${right}`,
  });

  it("rights the system cannot be asked about are SKIP with why; beside held ones, OK naming them", () => {
    assert.deepEqual(permissionFinding("shop", [r("a", "unknown", "no way to ask")]), {
      check: "permissions",
      status: "skip",
      detail: "not checked: a (no way to ask)",
    });
    assert.deepEqual(permissionFinding("shop", [r("a", true), r("b", "unknown", "no way to ask")]), {
      check: "permissions",
      status: "ok",
      detail: "holds a; not checked: b (no way to ask)",
    });
  });

  it("a missing right is FAIL whatever else is unknown, each grant said once", () => {
    const f = permissionFinding("shop", [r("a", false), r("b", false, "other"), r("c", "unknown", "why")]);
    assert.equal(f.status, "fail");
    assert.equal(
      f.detail,
      "missing a (write order), b (write order); asked: asked; other; not checked: c (why)",
    );
    assert.equal(f.fix, "for the flows using shop to run: grant a; grant b");
  });

  it("no flow using the connection: nothing needed", () => {
    assert.equal(permissionFinding("shop", []).status, "ok");
  });
});
