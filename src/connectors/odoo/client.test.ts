import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type OdooFixture, startFixture } from "../../../test/fixtures/odoo.ts";
import { closedPort } from "../../../test/helpers/net.ts";
import { SyncError } from "../../core/errors.ts";
import { OdooClient } from "./client.ts";
import { OdooConfig } from "./config.ts";

const config = (fx: OdooFixture) =>
  OdooConfig.parse({ url: fx.emu.url, db: fx.emu.db, username: fx.emu.login, password: fx.emu.password });

async function failure(p: Promise<unknown>): Promise<SyncError> {
  const err = await p.then(
    () => assert.fail("expected a failure"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  return err;
}

describe("odoo client: error classification", () => {
  let fx: OdooFixture;
  before(async () => {
    fx = await startFixture();
  });
  after(async () => {
    await fx.emu.close();
  });

  test("good credentials pass check()", async () => {
    await fx.connector.check();
  });

  test("a wrong password is a config error naming the connection, without the password", async () => {
    const err = await failure(fx.connect({ password: "s3cret-wrong" }, "erp").check());
    assert.equal(err.kind, "config");
    assert.equal(err.details.system, "erp");
    assert.ok(!JSON.stringify({ m: err.message, d: err.toJSON() }).includes("s3cret-wrong"));
  });

  test("AccessDenied on execute_kw (password rotated after login) is a config error", async () => {
    const client = new OdooClient(config(fx), "erp");
    await client.authenticate();
    const original = fx.emu.password;
    fx.emu.changePassword("rotated");
    try {
      const err = await failure(client.execute("res.partner", "search_count", [[]]));
      assert.equal(err.kind, "config");
      assert.equal(err.details.system, "erp");
      assert.deepEqual(err.details.vendorBody, {
        name: "odoo.exceptions.AccessDenied",
        message: "Access Denied",
      });
    } finally {
      fx.emu.changePassword(original);
    }
  });

  test("an unreachable host is retryable", async () => {
    const port = await closedPort();
    const err = await failure(fx.connect({ url: `http://127.0.0.1:${port}` }).check());
    assert.equal(err.kind, "retryable");
    assert.equal(err.details.system, "odoo");
  });

  test("a 502 from a proxy is retryable, and the next call succeeds", async () => {
    const c = fx.connect();
    fx.emu.failNext(1, 502);
    const err = await failure(c.check());
    assert.equal(err.kind, "retryable");
    assert.equal(err.details.status, 502);
    await c.check();
  });

  test("a request that never gets an answer times out as retryable", async () => {
    const c = fx.connect({ timeoutMs: 300 });
    fx.emu.hangNext(1);
    const err = await failure(c.check());
    assert.equal(err.kind, "retryable");
    assert.match(err.message, /did not answer/);
  });

  test("a ValidationError from Odoo is permanent and carries Odoo's message", async () => {
    const client = new OdooClient(config(fx), "erp");
    // sale.order requires a customer.
    const err = await failure(client.execute("sale.order", "create", [{ client_order_ref: "x" }]));
    assert.equal(err.kind, "permanent");
    assert.match(err.message, /Missing required fields/);
  });

  test("a UserError from a business method is permanent", async () => {
    const client = new OdooClient(config(fx), "erp");
    const [confirmed] = fx.emu.data.search("sale.order", [["state", "=", "sale"]], { limit: 1 });
    const err = await failure(client.execute("sale.order", "action_confirm", [[confirmed]]));
    assert.equal(err.kind, "permanent");
    assert.equal((err.details.vendorBody as { name: string }).name, "odoo.exceptions.UserError");
  });

  test("the invoice PDF comes through a web session and starts with %PDF", async () => {
    const [invoice] = fx.emu.data.search("account.move", [["move_type", "=", "out_invoice"]], { limit: 1 });
    assert.ok(invoice);
    const bytes = await fx.connector.invoicePdf(String(invoice));
    assert.equal(Buffer.from(bytes.slice(0, 5)).toString("latin1"), "%PDF-");
    const text = Buffer.from(bytes).toString("latin1");
    const name = String(fx.emu.data.row("account.move", invoice)?.name);
    assert.ok(text.includes(name), "the PDF names the invoice");
    assert.ok(text.trimEnd().endsWith("%%EOF"));
  });

  test("document() fetches the PDF by the ref the invoice stream names, and refuses a foreign ref", async () => {
    const [invoice] = fx.emu.data.search("account.move", [["move_type", "=", "out_invoice"]], { limit: 1 });
    const ref = `${fx.emu.url}/report/pdf/account.report_invoice/${invoice}`;
    const doc = await fx.connector.document!(ref);
    assert.equal(doc.mimeType, "application/pdf");
    assert.equal(doc.fileName, `invoice-${invoice}.pdf`);
    assert.equal(Buffer.from(doc.bytes.slice(0, 5)).toString("latin1"), "%PDF-");
    const err = await failure(
      fx.connector.document!("https://elsewhere.example/report/pdf/account.report_invoice/1"),
    );
    assert.equal(err.kind, "data");
    assert.match(err.message, /not a document ref of/);
  });

  test("the invoice PDF with a wrong password is a config error", async () => {
    const err = await failure(fx.connect({ password: "bad" }).invoicePdf("1"));
    assert.equal(err.kind, "config");
  });
});
