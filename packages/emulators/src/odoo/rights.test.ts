/**
 * The emulated Odoo's model access rights: check_access_rights answers as Odoo 17 does (True; False with
 * raise_exception=False; AccessError otherwise), and a call needing a right the user's groups lack raises
 * AccessError.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type OdooEmulator, startOdooEmulator } from "./index.ts";

describe("Odoo emulator: model access rights", () => {
  let emu: OdooEmulator;
  before(async () => {
    emu = await startOdooEmulator({
      products: 1,
      customers: 1,
      orders: 0,
      denied: { "sale.order": ["create", "write"] },
    });
  });
  after(() => emu?.close());

  const call = async (
    model: string,
    method: string,
    args: unknown[],
    kwargs: Record<string, unknown> = {},
  ) => {
    const res = await fetch(`${emu.url}/jsonrpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        method: "call",
        id: 1,
        params: {
          service: "object",
          method: "execute_kw",
          args: [emu.db, 2, emu.password, model, method, args, kwargs],
        },
      }),
    });
    return (await res.json()) as { result?: unknown; error?: { data: { name: string; message: string } } };
  };

  test("check_access_rights answers per model and operation", async () => {
    assert.equal((await call("sale.order", "check_access_rights", ["read"])).result, true);
    assert.equal(
      (await call("sale.order", "check_access_rights", ["create"], { raise_exception: false })).result,
      false,
    );
    assert.equal(
      (await call("res.partner", "check_access_rights", ["create"], { raise_exception: false })).result,
      true,
    );
    const raised = await call("sale.order", "check_access_rights", ["write"]);
    assert.equal(raised.error?.data.name, "odoo.exceptions.AccessError");
    assert.match(raised.error?.data.message ?? "", /^You are not allowed to modify 'sale\.order'/);
    const bad = await call("sale.order", "check_access_rights", ["delete"], { raise_exception: false });
    assert.equal(bad.error?.data.name, "builtins.AssertionError");
  });

  test("a call needing a right the user lacks raises AccessError; others run", async () => {
    const denied = await call("sale.order", "create", [{ partner_id: 1 }]);
    assert.equal(denied.error?.data.name, "odoo.exceptions.AccessError");
    assert.match(denied.error?.data.message ?? "", /^You are not allowed to create 'sale\.order'/);
    assert.equal(typeof (await call("sale.order", "search_count", [[]])).result, "number");
  });
});
