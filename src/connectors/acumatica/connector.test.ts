/**
 * The Acumatica connector's own tests, beyond the contract suite: settings refused with the field named,
 * the password never in an error, a lost session logged in again once, the license's 429 reported with its
 * wait, the incremental filter, and the spread of order discounts over lines.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type AcumaticaEmulator, acumaticaSpecSkip, startAcumaticaEmulator } from "@passerelle/emulators";
import Big from "big.js";
import { SyncError } from "../../core/errors.ts";
import { AcumaticaConfig } from "./config.ts";
import { acumatica } from "./index.ts";
import { changedSince } from "./streams.ts";
import { spread } from "./writers/order.ts";

test("settings are refused with the field named", () => {
  const r = AcumaticaConfig.safeParse({
    baseUrl: "https://erp.example.com/AcumaticaERP/entity/",
    username: "u",
    password: "p",
    currency: "euro",
  });
  assert.ok(!r.success);
  assert.deepEqual(r.error.issues[0]?.path, ["currency"]);
  const ok = AcumaticaConfig.parse({
    baseUrl: "https://erp.example.com/AcumaticaERP/entity/",
    username: "u",
    password: "p",
  });
  assert.equal(ok.baseUrl, "https://erp.example.com/AcumaticaERP");
  assert.equal(ok.endpoint, "Default");
  assert.equal(ok.endpointVersion, "24.200.001");
});

test("the incremental filter is inclusive and in UTC", () => {
  assert.equal(
    changedSince("LastModifiedDateTime", "2026-06-01T12:00:00+02:00"),
    "LastModifiedDateTime ge datetimeoffset'2026-06-01T10:00:00.000Z'",
  );
  assert.throws(() => changedSince("LastModifiedDateTime", "yesterday"), /yesterday/);
});

test("order discounts are spread over lines to the cent", () => {
  const parts = spread(new Big("10.00"), [new Big("20"), new Big("5.5"), new Big("4.5")]);
  assert.equal(parts.reduce((s, p) => s.plus(p), new Big(0)).toFixed(2), "10.00");
  // 6.66 + 1.83 + 1.50 = 9.99: the cent left goes to the largest line.
  assert.deepEqual(
    parts.map((p) => p.toFixed(2)),
    ["6.67", "1.83", "1.50"],
  );
});

describe("against the emulator", { skip: acumaticaSpecSkip() }, () => {
  let emu: AcumaticaEmulator;
  const settings = () => ({
    baseUrl: emu.url,
    tenant: emu.tenant,
    username: emu.username,
    password: emu.password,
  });
  before(async () => {
    emu = await startAcumaticaEmulator({ items: 5, customers: 2 });
  });
  after(() => emu.close());

  test("a refused login is a config error that names the user, never the password", async () => {
    const c = acumatica.create("erp", AcumaticaConfig.parse({ ...settings(), password: "s3cret-Pa55" }));
    const err = await c.check().then(
      () => assert.fail("check passed"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SyncError && err.kind === "config", String(err));
    assert.match(err.message, /admin/);
    assert.ok(!err.message.includes("s3cret-Pa55"));
    assert.ok(!JSON.stringify(err.details).includes("s3cret-Pa55"));
  });

  test("an expired session is logged in again once; close() logs out", async () => {
    const c = acumatica.create("erp", AcumaticaConfig.parse(settings()));
    await c.check();
    const logins = emu.stats.logins;
    emu.expireSessions();
    await c.check();
    assert.equal(emu.stats.logins, logins + 1);
    const logouts = emu.stats.logouts;
    await c.close();
    assert.equal(emu.stats.logouts, logouts + 1);
    // The password went in the login bodies only.
    assert.ok(emu.bodies.filter((b) => b.includes(emu.password)).every((b) => b.includes('"name"')));
  });

  test("over the license's request limit: rate_limited with the wait", async () => {
    const c = acumatica.create("erp", AcumaticaConfig.parse(settings()));
    await c.check();
    emu.setRateLimit({ requests: 0, windowMs: 60_000 });
    try {
      const err = await c.check().then(
        () => assert.fail("check passed"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SyncError && err.kind === "rate_limited", String(err));
      assert.ok((err.details.retryAfterMs ?? 0) >= 1000);
    } finally {
      emu.setRateLimit(null);
      await c.close();
    }
  });
});
