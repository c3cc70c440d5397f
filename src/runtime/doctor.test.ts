/**
 * doctor's scope and deprecation checks on an open context: two connections to one Shopify emulator whose
 * app holds read_products only; the connection a product flow writes to lacks write_products (FAIL, naming
 * it), the one it reads from has what it needs; a deprecation notice kept in the store is a WARN naming the
 * call site, its count and the reason.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import { type Context, openContext } from "./context.ts";
import { diagnose } from "./doctor.ts";

describe("doctor: scopes and deprecations", () => {
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
    const scopes = findings.filter((f) => f.check === "scopes");
    assert.deepEqual(
      scopes.map((f) => [f.connection, f.status, f.detail]),
      [
        ["main", "ok", "holds read_products"],
        ["outlet", "fail", "missing write_products (held: read_products)"],
      ],
    );
    assert.match(scopes[1]?.fix ?? "", /grant the app write_products and reinstall it/);
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
