/**
 * What the emulator does as Odoo 17 does it, through its JSON-RPC API (the behaviours
 * test/real/odoo-parity.test.ts found against the real server; that test holds them to it).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type OdooEmulator, startOdooEmulator } from "./index.ts";

describe("Odoo emulator (fresh database) behaves as Odoo 17", () => {
  let emu: OdooEmulator;
  let id = 0;
  const post = async (service: string, method: string, args: unknown[]) => {
    const res = await fetch(`${emu.url}/jsonrpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "call", id: ++id, params: { service, method, args } }),
    });
    return (await res.json()) as { result?: unknown; error?: { data: { name: string; message: string } } };
  };
  const call = async <T = never>(
    model: string,
    method: string,
    args: unknown[],
    kwargs: Record<string, unknown> = {},
  ) => {
    const body = await post("object", "execute_kw", [emu.db, 2, emu.password, model, method, args, kwargs]);
    if (body.error) throw new Error(`${body.error.data.name}: ${body.error.data.message}`);
    return body.result as T;
  };
  const find = (model: string, domain: unknown[], fields: string[]) =>
    call(model, "search_read", [domain], { fields, order: "id asc" }) as Promise<Record<string, unknown>[]>;

  let product = 0;
  let partner = 0;
  let stockLoc = 0;
  before(async () => {
    emu = await startOdooEmulator({ fresh: true });
    [product = 0] = await call<number[]>("product.product", "create", [
      [
        {
          name: "Mug",
          default_code: "MUG",
          detailed_type: "product",
          list_price: 10,
          invoice_policy: "delivery",
        },
      ],
    ]);
    const [wh] = await find("stock.warehouse", [["code", "=", "WH"]], ["lot_stock_id"]);
    stockLoc = (wh?.lot_stock_id as [number, string] | undefined)?.[0] ?? 0;
    const quants = await call(
      "stock.quant",
      "create",
      [[{ product_id: product, location_id: stockLoc, inventory_quantity: 5 }]],
      {
        context: { inventory_mode: true },
      },
    );
    await call("stock.quant", "action_apply_inventory", [quants]);
    partner = await call("res.partner", "create", [{ name: "Buyer", email: "buyer@example.com" }]);
  });
  after(async () => {
    await emu?.close();
  });

  const sale = async (qty: number): Promise<number> => {
    const so = await call("sale.order", "create", [
      { partner_id: partner, order_line: [[0, 0, { product_id: product, product_uom_qty: qty }]] },
    ]);
    await call("sale.order", "action_confirm", [[so]]);
    return so;
  };

  test("a template with attribute lines gets one variant per value, with the company's sale tax", async () => {
    const size = await call("product.attribute", "create", [
      {
        name: "Size",
        value_ids: [
          [0, 0, { name: "S" }],
          [0, 0, { name: "L" }],
        ],
      },
    ]);
    const [attr] = await find("product.attribute", [["id", "=", size]], ["value_ids"]);
    const tmpl = await call("product.template", "create", [
      {
        name: "Shirt",
        detailed_type: "product",
        weight: 0.2,
        attribute_line_ids: [[0, 0, { attribute_id: size, value_ids: [[6, 0, attr?.value_ids]] }]],
      },
    ]);
    const variants = await find(
      "product.product",
      [["product_tmpl_id", "=", tmpl]],
      ["display_name", "taxes_id", "weight"],
    );
    assert.deepEqual(
      variants.map((v) => v.display_name),
      ["Shirt (S)", "Shirt (L)"],
    );
    assert.ok(variants.every((v) => (v.taxes_id as number[]).length === 1));
    assert.ok(
      variants.every((v) => v.weight === 0),
      "several variants keep their own weight",
    );
  });

  test("write_date: one call's changes share it, a read shows the second, later calls sort after", async () => {
    const [a, b] = await call<number[]>("res.partner", "create", [[{ name: "A" }, { name: "B" }]]);
    const c = await call("res.partner", "create", [{ name: "C" }]);
    const rows = [a, b, c].map((x) => emu.data.row("res.partner", x as number)?.write_date as string);
    assert.equal(rows[0], rows[1]);
    assert.ok((rows[2] as string) > (rows[0] as string));
    assert.match(rows[0] as string, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    const [read] = await find("res.partner", [["id", "=", c]], ["write_date"]);
    assert.equal(read?.write_date, (rows[2] as string).slice(0, 19));
    const second = (rows[0] as string).slice(0, 19);
    const after = await call("res.partner", "search", [
      [
        ["write_date", ">", second],
        ["id", "in", [a, b, c]],
      ],
    ]);
    assert.deepEqual(after, [a, b, c], "a record written at …:SS.xxxxxx is after …:SS");
  });

  test("a sale reserves what is in stock; a partial delivery asks for the backorder wizard, process keeps the rest", async () => {
    const so = await sale(8);
    const [picking] = await find("stock.picking", [["sale_id", "=", so]], ["state", "move_ids"]);
    const [move] = await find("stock.move", [["picking_id", "=", picking?.id]], ["quantity", "state"]);
    assert.deepEqual([picking?.state, move?.quantity, move?.state], ["assigned", 5, "partially_available"]);
    const action = (await call("stock.picking", "button_validate", [[picking?.id]])) as {
      res_model: string;
      context: Record<string, unknown>;
    };
    assert.equal(action.res_model, "stock.backorder.confirmation");
    const wizard = await call("stock.backorder.confirmation", "create", [{}], { context: action.context });
    assert.equal(
      await call("stock.backorder.confirmation", "process", [[wizard]], { context: action.context }),
      true,
    );
    const pickings = await find("stock.picking", [["sale_id", "=", so]], ["state", "backorder_id"]);
    assert.deepEqual(
      pickings.map((p) => [
        p.state,
        p.backorder_id === false ? null : (p.backorder_id as [number, string])[0],
      ]),
      [
        ["done", null],
        ["assigned", picking?.id],
      ],
    );
    const [quant] = await find(
      "stock.quant",
      [
        ["product_id", "=", product],
        ["location_id", "=", stockLoc],
      ],
      ["quantity"],
    );
    assert.equal(quant?.quantity, 0);
  });

  test("action_cancel: the wizard unless disable_cancel_warning; a locked sale refused until unlocked", async () => {
    const so = await sale(1);
    const wizard = (await call("sale.order", "action_cancel", [[so]])) as { res_model: string };
    assert.equal(wizard.res_model, "sale.order.cancel");
    assert.equal((await find("sale.order", [["id", "=", so]], ["state"]))[0]?.state, "sale");
    // action_lock returns None: the answer has no result.
    const locked = await post("object", "execute_kw", [
      emu.db,
      2,
      emu.password,
      "sale.order",
      "action_lock",
      [[so]],
      {},
    ]);
    assert.deepEqual(Object.keys(locked).sort(), ["id", "jsonrpc"]);
    await assert.rejects(
      call("sale.order", "action_cancel", [[so]], { context: { disable_cancel_warning: true } }),
      /UserError: You cannot cancel a locked order/,
    );
    await call("sale.order", "action_unlock", [[so]]);
    assert.equal(
      await call("sale.order", "action_cancel", [[so]], { context: { disable_cancel_warning: true } }),
      true,
    );
    const [after] = await find("sale.order", [["id", "=", so]], ["state", "picking_ids"]);
    assert.equal(after?.state, "cancel");
    const pickings = await find("stock.picking", [["id", "in", after?.picking_ids as number[]]], ["state"]);
    assert.deepEqual(
      pickings.map((p) => p.state),
      ["cancel"],
    );
  });

  test("an invoice drafted from the delivered quantities, numbered when posted", async () => {
    const so = await sale(1);
    const [picking] = await find(
      "stock.picking",
      [
        ["sale_id", "=", so],
        ["state", "!=", "done"],
      ],
      ["id"],
    );
    const moves = await find("stock.move", [["picking_id", "=", picking?.id]], ["product_uom_qty"]);
    for (const m of moves)
      await call("stock.move", "write", [[m.id], { quantity: m.product_uom_qty, picked: true }]);
    assert.equal(await call("stock.picking", "button_validate", [[picking?.id]]), true);
    const context = { active_model: "sale.order", active_ids: [so], active_id: so };
    const wizard = await call(
      "sale.advance.payment.inv",
      "create",
      [{ advance_payment_method: "delivered", sale_order_ids: [[6, 0, [so]]] }],
      { context },
    );
    await call("sale.advance.payment.inv", "create_invoices", [[wizard]], { context });
    const [order] = await find("sale.order", [["id", "=", so]], ["invoice_ids", "amount_total"]);
    const [draft] = await find(
      "account.move",
      [["id", "in", order?.invoice_ids as number[]]],
      ["name", "state", "amount_total"],
    );
    assert.deepEqual([draft?.name, draft?.state, draft?.amount_total], ["/", "draft", order?.amount_total]);
    await call("account.move", "action_post", [[draft?.id]]);
    const [posted] = await find("account.move", [["id", "=", draft?.id]], ["name", "state"]);
    assert.equal(posted?.state, "posted");
    assert.match(String(posted?.name), /^INV\/\d{4}\/00001$/);
  });
});
