/**
 * The Odoo 17 (ERP) ⇄ WooCommerce 7.9 (shop) pair on the real systems, driven through Passerelle's own CLI
 * with a generated passerelle.yaml (secrets as ${env:…}). Every assertion reads the real systems back (Odoo
 * over JSON-RPC, WooCommerce over its REST API as the shop's admin), never Passerelle's store.
 *
 *   catalog    Odoo templates with a Size attribute → WooCommerce variable products with variations; the
 *              shop's pricelist → regular prices; the customer-group pricelists skipped with the shop's
 *              reason; stock of two warehouses summed into the shop's one stock figure
 *   restock    a variant sold out with a vendor lead time (product.supplierinfo.delay) → on backorder in
 *              the shop with its ships-on date in product meta; back in stock → backorders off, date emptied
 *   orders     a registered customer and two orders placed in the shop (REST as the shop's admin, for that
 *              customer, paid, with the shop's 15 % tax and flat-rate shipping) → confirmed Odoo sales with
 *              the same partner, lines and totals
 *   customer   the customer edits their account in the shop → the Odoo partner changed in place
 *   shipping   a partial delivery in Odoo (backorder) then the rest, each with a carrier tracking ref → the
 *              shop's order notes; the order completed only after the last
 *   invoice    the posted Odoo invoice → the shop order's meta; its PDF fetched from Odoo by that ref
 *   cancel     the second order cancelled in the shop → the Odoo sale cancelled (its delivery with it)
 *   rerun      a second sync of every flow writes nothing in either system
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Big from "big.js";
import {
  deliverSale,
  invoiceSale,
  type OdooSeed,
  type OdooSession,
  odooAvailable,
  odooSession,
  type StartedOdoo,
  seedOdoo,
  startOdoo,
} from "../../scripts/real/odoo.mjs";
import {
  shopItems as itemsOf,
  pairConfig,
  pairEnv,
  placeOrder,
  registerCustomer,
  shopTax,
  type WooApi,
  type WooCustomer,
  type WooItem,
  type WooOrder,
  wooApi,
} from "../../scripts/real/odoo-woo.mjs";
import { type StartedWoo, startWoo, wooAvailable } from "../../scripts/real/woocommerce.mjs";
import { spawnCli as cli } from "../e2e/helpers.ts";

interface RunJson {
  flow: string;
  status: string;
  counts: {
    read: number;
    created: number;
    updated: number;
    skipped: number;
    skippedWithReason: number;
    failed: number;
    calls: number;
  };
}

const money = (v: unknown) => new Big(String(v)).toFixed(2);

const ready = odooAvailable();
const shopReady = wooAvailable();
const skip = !ready.ok ? ready.missing : !shopReady.ok ? shopReady.missing : false;

describe("Odoo 17 ⇄ WooCommerce through the passerelle CLI", {
  skip: skip || false,
  timeout: 15 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedOdoo;
  let shop: StartedWoo;
  let seed: OdooSeed;
  let s: OdooSession;
  let env: NodeJS.ProcessEnv;
  let api: WooApi;
  const started = Date.now();
  /** API calls per scenario, from the runs `passerelle sync --json` reports. */
  const calls: Record<string, Record<string, number>> = {};
  const timings: Record<string, number> = {};
  let scenario = "setup";
  let customerId = 0;
  let customerEmail = "";
  const orders: { shipped?: WooOrder; cancelled?: WooOrder } = {};
  const sales = new Map<string, number>();

  async function sync(flows: string[]): Promise<RunJson[]> {
    const t0 = Date.now();
    const res = await cli(["sync", ...flows, "--json"], env);
    let runs: RunJson[];
    try {
      runs = (JSON.parse(res.stdout) as { runs: RunJson[] }).runs;
    } catch {
      assert.fail(
        `passerelle sync ${flows.join(" ")} printed no JSON (exit ${res.code}):\n${res.stdout}\n${res.stderr}`,
      );
    }
    // Odoo's kit password is "admin", also its login: only the shop's generated one is telling.
    assert.ok(!(res.stdout + res.stderr).includes(shop.applicationPassword), "a secret in the CLI's output");
    if (res.code !== 0) {
      const failures = await cli(["failures", "list", "--json"], env);
      assert.fail(
        `passerelle sync ${flows.join(" ")} exit ${res.code}: ${JSON.stringify(runs)}\n${res.stderr}\n${failures.stdout}`,
      );
    }
    const mine = calls[scenario] ?? {};
    calls[scenario] = mine;
    for (const r of runs) mine[r.flow] = (mine[r.flow] ?? 0) + r.counts.calls;
    timings[scenario] = (timings[scenario] ?? 0) + (Date.now() - t0);
    return runs;
  }
  const run = (runs: RunJson[], flow: string): RunJson => {
    const r = runs.find((x) => x.flow === flow);
    assert.ok(r, `no run of ${flow} in ${JSON.stringify(runs)}`);
    return r;
  };

  const shopItems = () => itemsOf(api);

  const saleOf = async (order: WooOrder) => {
    const [sale] = await s.find(
      "sale.order",
      [["client_order_ref", "=", `shop:${order.number}`]],
      ["state", "partner_id", "amount_total", "amount_untaxed", "order_line", "picking_ids", "name"],
    );
    return sale;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-odoo-woo-"));
    [erp, shop] = await Promise.all([
      startOdoo({ log: (m) => console.log(`# ${m}`) }),
      startWoo({ instance: "odoo_pair", log: (m) => console.log(`# ${m}`) }),
    ]);
    const t0 = Date.now();
    seed = await seedOdoo(erp, {
      products: 4,
      variantsEvery: 2,
      prefix: "PW",
      stock: 20,
      basePricelist: "Shop",
    });
    timings.seedOdoo = Date.now() - t0;
    s = await odooSession(erp);
    api = wooApi(shop);
    // The shop charges the 15 % sales tax Odoo has (prices without tax, shipping taxed too).
    await shopTax(api);
    const config = join(dir, "passerelle.yaml");
    writeFileSync(config, pairConfig(dir, erp, shop));
    env = { ...pairEnv(config, erp, shop), PASSERELLE_LOG_LEVEL: "warn" };
    console.log(
      `# systems up in ${Date.now() - started} ms (odoo start ${erp.timings.startMs} ms, seed ${timings.seedOdoo} ms; woocommerce reset ${shop.timings.resetMs} ms, start ${shop.timings.startMs} ms)`,
    );
  });

  after(async () => {
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`# odoo-woocommerce API calls per scenario (flow → calls): ${JSON.stringify(calls)}`);
    console.log(`# odoo-woocommerce sync time per scenario (ms): ${JSON.stringify(timings)}`);
    console.log(`# odoo-woocommerce suite wall time ${Date.now() - started} ms`);
  });

  test("catalog: variants as variable products, the shop's pricelist as regular prices, group lists skipped, two warehouses' stock summed", async () => {
    scenario = "catalog";
    const runs = await sync(["products", "prices", "stock"]);
    for (const r of runs) assert.equal(r.counts.failed, 0, `${r.flow}: ${JSON.stringify(r.counts)}`);

    // Products: every Odoo template is one shop product; a template with sizes a variable product.
    const templates = await s.find(
      "product.template",
      [["id", "in", seed.templates]],
      ["name", "product_variant_ids"],
    );
    const variants = await s.find(
      "product.product",
      [["product_tmpl_id", "in", seed.templates]],
      ["default_code", "lst_price", "product_tmpl_id", "product_template_attribute_value_ids"],
    );
    const items = await shopItems();
    const parents = await api<WooItem[]>("GET", "/products?per_page=100&status=any&context=edit");
    assert.equal(parents.length, templates.length, "one shop product per Odoo template");
    for (const t of templates) {
      const ids = t.product_variant_ids as number[];
      const parent = parents.find((p) => p.name === t.name);
      assert.ok(parent, `no shop product named ${String(t.name)}`);
      if (ids.length > 1) {
        assert.equal(parent.type, "variable", String(t.name));
        const size = parent.attributes.find((a) => a.name === "Size");
        assert.deepEqual(size?.options?.slice().sort(), ["L", "M", "S"], `${String(t.name)} sizes`);
      } else {
        assert.equal(parent.type, "simple", String(t.name));
      }
    }
    for (const v of variants) {
      const sku = String(v.default_code);
      const item = items.get(sku);
      assert.ok(item, `no shop product or variation with SKU ${sku}`);
      if (/-[SML]$/.test(sku))
        assert.deepEqual(
          item.attributes.map((a) => [a.name, a.option]),
          [["Size", sku.slice(-1)]],
        );
    }

    // Prices: the Shop pricelist's items are the regular prices; Wholesale and VIP (customer groups)
    // are skipped with the shop connector's reason, never failed nor written.
    const prices = run(runs, "prices");
    const perList = variants.length;
    assert.equal(prices.counts.read, 3 * perList, JSON.stringify(prices.counts));
    assert.equal(prices.counts.skippedWithReason, 2 * perList, JSON.stringify(prices.counts));
    const shopList = seed.pricelists.find((p) => p.name === "Shop");
    assert.ok(shopList);
    const listItems = await s.find(
      "product.pricelist.item",
      [["pricelist_id", "=", shopList.id]],
      ["product_id", "fixed_price"],
    );
    for (const it of listItems) {
      const sku = String(variants.find((v) => v.id === (it.product_id as [number])[0])?.default_code);
      assert.equal(money(items.get(sku)?.regular_price), money(it.fixed_price), `Shop price of ${sku}`);
    }
    const vipSku = String(variants[0]?.default_code);
    const trace = await cli(["trace", "price", `vip:${vipSku}`], env);
    assert.equal(trace.code, 0, trace.stderr);
    assert.match(trace.stdout, /no customer-group prices/, trace.stdout);

    // The Shop pricelist (90 % of list) is the shop's price, not the product's own list price, and stays
    // so when the product is edited in Odoo: with productPrices: on-create the product flow prices only
    // new products, so an edit never puts the list price back over the pricelist's.
    const edited = variants.find((v) => /-[SML]$/.test(String(v.default_code)));
    assert.ok(edited);
    const editedSku = String(edited.default_code);
    const shopPrice = money(items.get(editedSku)?.regular_price);
    assert.notEqual(shopPrice, money(edited.lst_price), `${editedSku} carries the pricelist's price`);
    const tmpl = (edited.product_tmpl_id as [number, string])[0];
    const [before] = await s.find("product.template", [["id", "=", tmpl]], ["name"]);
    await s.write("product.template", [tmpl], { name: `${String(before?.name)} Deluxe` });
    const afterEdit = await sync(["products"]);
    assert.ok(run(afterEdit, "products").counts.updated >= 1, JSON.stringify(afterEdit));
    const renamed = await api<WooItem[]>("GET", "/products?per_page=100&status=any&context=edit");
    assert.ok(
      renamed.some((p) => p.name === `${String(before?.name)} Deluxe`),
      "the rename reached the shop",
    );
    assert.equal(money((await shopItems()).get(editedSku)?.regular_price), shopPrice, "price kept");

    // Stock: the shop's one figure is what both Odoo warehouses have available together.
    const warehouses = await s.find("stock.warehouse", [], ["code", "lot_stock_id"]);
    assert.deepEqual(warehouses.map((w) => w.code).sort(), ["WH", "WH2"]);
    for (const v of variants) {
      const quants = await s.find(
        "stock.quant",
        [
          ["product_id", "=", v.id],
          ["location_id", "child_of", warehouses.map((w) => (w.lot_stock_id as [number])[0])],
        ],
        ["quantity", "reserved_quantity", "location_id"],
      );
      const onHand = quants.reduce((t, q) => t + Number(q.quantity), 0);
      const reserved = quants.reduce((t, q) => t + Number(q.reserved_quantity), 0);
      assert.ok(new Set(quants.map((q) => (q.location_id as [number])[0])).size >= 2, "stock in both");
      const item = items.get(String(v.default_code));
      assert.equal(item?.manage_stock, true, `${String(v.default_code)} manages stock`);
      assert.equal(item?.stock_quantity, onHand - reserved, `stock of ${String(v.default_code)}`);
    }
  });

  test("restock: sold out in both warehouses with a vendor's 12-day lead time → on backorder in the shop with its ships-on date; back in stock → not", async () => {
    scenario = "restock";
    const sku = "PW-002-L";
    const [variant] = await s.find("product.product", [["default_code", "=", sku]], ["product_tmpl_id"]);
    assert.ok(variant, `no Odoo variant ${sku}`);
    const template = (variant.product_tmpl_id as [number])[0];
    const vendor = await s.create("res.partner", { name: "Fabric Mill Ltd", is_company: true });
    // A vendor row of the template for every variant, and an expired one first by sequence (passed over).
    await s.create("product.supplierinfo", {
      partner_id: vendor,
      product_tmpl_id: template,
      sequence: 1,
      delay: 3,
      date_end: "2020-12-31",
    });
    await s.create("product.supplierinfo", {
      partner_id: vendor,
      product_tmpl_id: template,
      sequence: 5,
      delay: 12,
    });
    const warehouses = await s.find("stock.warehouse", [], ["lot_stock_id"]);
    const quants = await s.find(
      "stock.quant",
      [
        ["product_id", "=", variant.id],
        ["location_id", "child_of", warehouses.map((w) => (w.lot_stock_id as [number])[0])],
      ],
      ["quantity"],
    );
    const count = async (quantity: (q: (typeof quants)[number]) => number) => {
      for (const q of quants) {
        await s.call("stock.quant", "write", [[q.id], { inventory_quantity: quantity(q) }], {
          context: { inventory_mode: true },
        });
      }
      await s.call("stock.quant", "action_apply_inventory", [quants.map((q) => q.id)]);
    };
    const shopView = async () => {
      const item = (await shopItems()).get(sku);
      assert.ok(item, `no shop item ${sku}`);
      const path = item.parent_id
        ? `/products/${item.parent_id}/variations/${item.id}`
        : `/products/${item.id}`;
      return api<{
        stock_quantity: number | null;
        backorders: string;
        stock_status: string;
        meta_data: { key: string; value: unknown }[];
      }>("GET", `${path}?context=edit`);
    };
    const shipsOn = (v: Awaited<ReturnType<typeof shopView>>) =>
      v.meta_data.find((m) => m.key === "ships_on")?.value;

    await count(() => 0);
    const out = await sync(["stock"]);
    assert.ok(run(out, "stock").counts.updated >= 1, JSON.stringify(out));
    const today = new Date();
    const expected = new Date(
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) + 12 * 86_400_000,
    )
      .toISOString()
      .slice(0, 10);
    const sold = await shopView();
    assert.equal(sold.stock_quantity, 0);
    assert.equal(sold.backorders, "notify", "the flow's backorders: allow, with a lead time to promise");
    assert.equal(sold.stock_status, "onbackorder", "WooCommerce keeps selling it, as on backorder");
    assert.equal(shipsOn(sold), expected, "today + the valid vendor row's 12 days");

    const again = await sync(["stock"]);
    assert.equal(
      run(again, "stock").counts.updated,
      0,
      `nothing to write a second time: ${JSON.stringify(again)}`,
    );

    await count((q) => Number(q.quantity));
    await sync(["stock"]);
    const back = await shopView();
    assert.equal(
      back.stock_quantity,
      quants.reduce((t, q) => t + Number(q.quantity), 0),
    );
    assert.equal(back.backorders, "no", "in stock again: no backorders, so it cannot be oversold later");
    assert.equal(back.stock_status, "instock");
    assert.equal(shipsOn(back), "", "the date emptied");
  });

  test("orders: a registered customer's two shop orders become confirmed Odoo sales with that partner, lines and totals", async () => {
    scenario = "orders";
    customerEmail = `grace-${Date.now().toString(36)}@example.com`;
    const customer: WooCustomer = await registerCustomer(api, customerEmail);
    customerId = customer.id;
    // Placed as the shop's checkout would for this customer: REST as the admin with customer_id, paid.
    const place = (lines: [string, number][]) => placeOrder(api, customer, lines);
    orders.shipped = await place([
      ["PW-002-M", 2],
      ["PW-001", 2],
    ]);
    orders.cancelled = await place([["PW-004-S", 1]]);
    // The shop sells at the Shop pricelist (90 % of list): 49.50 of goods, 5 shipping, 15 % tax on all.
    assert.equal(orders.shipped.total, "62.68", "(27 + 22.50 + 5 shipping) × 1.15");
    assert.equal(orders.cancelled.total, "26.45", "(18 + 5 shipping) × 1.15");

    const runs = await sync(["customers", "orders"]);
    // The one account of the role "customer" (the shop's administrator is not a customer).
    const accounts = run(runs, "customers").counts;
    assert.deepEqual([accounts.read, accounts.created], [1, 1], JSON.stringify(accounts));
    assert.equal(run(runs, "orders").counts.created, 2, JSON.stringify(runs));

    const partners = await s.find("res.partner", [["email", "=ilike", customerEmail]], ["name", "parent_id"]);
    const main = partners.filter((p) => p.parent_id === false);
    assert.equal(main.length, 1, `one Odoo partner for ${customerEmail}: ${JSON.stringify(partners)}`);
    for (const o of [orders.shipped, orders.cancelled]) {
      const sale = await saleOf(o);
      assert.ok(sale, `no Odoo sale for shop order ${o.number}`);
      sales.set(o.number, sale.id);
      assert.equal(sale.state, "sale", `${o.number}: confirmed`);
      assert.equal((sale.partner_id as [number])[0], main[0]?.id, `${o.number}: the customer's partner`);
      assert.equal(money(sale.amount_total), o.total, `${o.number}: total`);
      assert.equal(
        money(sale.amount_untaxed),
        new Big(o.total).minus(o.total_tax).toFixed(2),
        `${o.number}: total without tax`,
      );
      const lines = await s.find(
        "sale.order.line",
        [["order_id", "=", sale.id]],
        ["product_id", "product_uom_qty", "is_delivery"],
      );
      const codes = new Map(
        (
          await s.find(
            "product.product",
            [["id", "in", lines.map((l) => (l.product_id as [number])[0])]],
            ["default_code"],
          )
        ).map((p) => [p.id, String(p.default_code)]),
      );
      const goods = lines
        .filter((l) => !l.is_delivery)
        .map((l) => [codes.get((l.product_id as [number])[0]), Number(l.product_uom_qty)]);
      assert.deepEqual(
        goods,
        o.line_items.map((l) => [l.sku, l.quantity]),
        `${o.number}: lines`,
      );
      assert.equal(lines.filter((l) => l.is_delivery).length, 1, `${o.number}: the shipping line`);
    }
  });

  test("customer: an edit of the account in the shop changes the Odoo partner in place", async () => {
    scenario = "customerEdit";
    assert.ok(customerId, "the orders test must have run");
    const [before] = await s.find(
      "res.partner",
      [
        ["email", "=ilike", customerEmail],
        ["parent_id", "=", false],
      ],
      ["id", "name", "street", "phone"],
    );
    assert.ok(before);
    await api("PUT", `/customers/${customerId}`, {
      last_name: "Hopper-Murray",
      billing: { last_name: "Hopper-Murray", address_1: "200 Market St", phone: "+1 415 555 0199" },
    });
    const runs = await sync(["customers"]);
    assert.equal(run(runs, "customers").counts.updated, 1, JSON.stringify(runs));
    const after = await s.find(
      "res.partner",
      [
        ["email", "=ilike", customerEmail],
        ["parent_id", "=", false],
      ],
      ["id", "name", "street", "phone"],
    );
    assert.equal(after.length, 1, `still one partner: ${JSON.stringify(after)}`);
    assert.equal(after[0]?.id, before.id, "the same partner");
    assert.equal(after[0]?.name, "Grace Hopper-Murray");
    assert.equal(after[0]?.street, "200 Market St");
    assert.equal(after[0]?.phone, "+1 415 555 0199");
  });

  test("shipping: a partial delivery then the rest, each tracking ref a shop note; completed only after the last", async () => {
    scenario = "shipping";
    const order = orders.shipped;
    assert.ok(order, "the orders test must have run");
    const saleId = sales.get(order.number) ?? 0;
    const notes = async () =>
      (await api<{ note: string; customer_note: boolean }[]>("GET", `/orders/${order.id}/notes`)).map(
        (n) => n.note,
      );

    await deliverSale(erp, saleId, "TRACK-PART-1", { "PW-002-M": 1 });
    const pickings = await s.find(
      "stock.picking",
      [
        ["sale_id", "=", saleId],
        ["picking_type_code", "=", "outgoing"],
      ],
      ["state", "backorder_id", "carrier_tracking_ref"],
    );
    assert.deepEqual(
      pickings.map((p) => p.state),
      ["done", "assigned"],
      `a done delivery and its backorder: ${JSON.stringify(pickings)}`,
    );
    assert.ok(pickings[1]?.backorder_id, "the open picking is the backorder");
    assert.equal(pickings[0]?.carrier_tracking_ref, "TRACK-PART-1");
    let runs = await sync(["shipments"]);
    assert.equal(run(runs, "shipments").counts.created, 1, JSON.stringify(runs));
    let shopOrder = await api<WooOrder>("GET", `/orders/${order.id}`);
    assert.equal(shopOrder.status, "processing", "one of four items shipped: not completed yet");
    assert.ok(
      (await notes()).some((n) => n.includes("TRACK-PART-1")),
      "the partial shipment's tracking is an order note",
    );

    await deliverSale(erp, saleId, "TRACK-REST-2");
    runs = await sync(["shipments"]);
    assert.equal(run(runs, "shipments").counts.created, 1, JSON.stringify(runs));
    shopOrder = await api<WooOrder>("GET", `/orders/${order.id}`);
    assert.equal(shopOrder.status, "completed", "everything shipped");
    const all = await notes();
    assert.ok(
      all.some((n) => n.includes("TRACK-REST-2")),
      `the last tracking ref is a note: ${JSON.stringify(all)}`,
    );
  });

  test("invoice: the posted Odoo invoice reaches the shop order; its PDF is fetched from Odoo", async () => {
    scenario = "invoice";
    const order = orders.shipped;
    assert.ok(order, "the orders test must have run");
    const moveId = await invoiceSale(erp, sales.get(order.number) ?? 0);
    const [move] = await s.find("account.move", [["id", "=", moveId]], ["name", "state", "amount_total"]);
    assert.equal(move?.state, "posted");
    assert.equal(money(move?.amount_total), order.total, "the invoice bills the order's total");
    const runs = await sync(["invoices"]);
    assert.equal(run(runs, "invoices").counts.created, 1, JSON.stringify(runs));

    const shopOrder = await api<WooOrder>("GET", `/orders/${order.id}`);
    const meta = shopOrder.meta_data.find((m) => m.key === `passerelle_invoice_${String(move?.name)}`);
    assert.ok(meta, `no invoice meta on the shop order: ${JSON.stringify(shopOrder.meta_data)}`);
    const value = meta.value as Record<string, string>;
    assert.equal(value.number, move?.name);
    assert.equal(value.total, order.total);
    const notes = await api<{ note: string; customer_note: boolean }[]>("GET", `/orders/${order.id}/notes`);
    assert.ok(
      notes.some((n) => n.customer_note && n.note.includes(String(move?.name))),
      `a customer note names invoice ${String(move?.name)}`,
    );
    const ref = value.document;
    assert.equal(ref, `${erp.url}/report/pdf/account.report_invoice/${moveId}`);

    const file = join(dir, "invoice.pdf");
    const fetched = await cli(["document", "erp", ref, "--out", file, "--json"], env);
    assert.equal(fetched.code, 0, `passerelle document: ${fetched.stdout}\n${fetched.stderr}`);
    assert.equal((JSON.parse(fetched.stdout) as { mimeType: string }).mimeType, "application/pdf");
    const bytes = readFileSync(file);
    assert.equal(bytes.subarray(0, 5).toString("latin1"), "%PDF-", "PDF magic");
    assert.ok(bytes.length > 5000, `${bytes.length} bytes`);
    console.log(`# invoice ${String(move?.name)}: ${ref} → ${bytes.length} bytes of PDF`);
  });

  test("cancel: the second order cancelled in the shop cancels the Odoo sale and its delivery", async () => {
    scenario = "cancel";
    const order = orders.cancelled;
    assert.ok(order, "the orders test must have run");
    await api("PUT", `/orders/${order.id}`, { status: "cancelled" });
    const runs = await sync(["orders", "stock"]);
    assert.equal(run(runs, "orders").counts.updated, 1, JSON.stringify(runs));
    const sale = await saleOf(order);
    assert.equal(sale?.state, "cancel", `Odoo sale ${String(sale?.name)} is ${String(sale?.state)}`);
    const pickings = await s.find("stock.picking", [["id", "in", sale?.picking_ids as number[]]], ["state"]);
    assert.ok(pickings.length > 0 && pickings.every((p) => p.state === "cancel"), JSON.stringify(pickings));
    const shipped = await saleOf(orders.shipped as WooOrder);
    assert.equal(shipped?.state, "sale", "the other sale is untouched");
  });

  test("rerun: a second sync of every flow writes nothing in either system", async () => {
    scenario = "rerun";
    const shopState = async () => ({
      orders: await Promise.all(
        (await api<WooOrder[]>("GET", "/orders?per_page=100")).map(async (o) => [
          o.id,
          o.status,
          o.date_modified_gmt,
          (await api<unknown[]>("GET", `/orders/${o.id}/notes`)).length,
        ]),
      ),
      items: [...(await shopItems()).values()].map((i) => [i.sku, i.date_modified_gmt, i.stock_quantity]),
    });
    const erpState = async () => ({
      sales: await s.find("sale.order", [], ["write_date", "state"]),
      partners: await s.find("res.partner", [], ["write_date"]),
    });
    const [shopBefore, erpBefore] = [await shopState(), await erpState()];
    const runs = await sync([]);
    assert.equal(runs.length, 7, JSON.stringify(runs.map((r) => r.flow)));
    for (const r of runs) {
      assert.equal(
        r.counts.created + r.counts.updated + r.counts.failed,
        0,
        `${r.flow}: ${JSON.stringify(r.counts)}`,
      );
    }
    assert.deepEqual(await shopState(), shopBefore, "WooCommerce records changed");
    assert.deepEqual(await erpState(), erpBefore, "Odoo records changed");
  });
});
