/**
 * Refunds from a real Vendure (`shop`) to a real Odoo 17 (`erp`) as credit notes, through the CLI as a
 * merchant runs it. Every assertion reads Odoo back.
 *
 *   partial refund   an order placed in Vendure, synced, delivered and invoiced (posted) in Odoo; a refund of
 *                    10.00 in Vendure is one posted Odoo credit note (out_refund) of 10.00 whose ref is the
 *                    refund's key and whose reversed_entry_id is the order's invoice
 *   idempotent       running the flow again writes nothing and Odoo still has one credit note
 *   full refund      an order refunded in full in Vendure is a posted credit note of the whole invoice
 *   too much         an order of which the warehouse shipped (and so Odoo invoiced) only part: a full refund
 *                    of it is a failed record naming amount and the figures, nothing credited, while a
 *                    refund of another order in the same run is credited
 *   not invoiced     a refund of an order Odoo has not invoiced yet fails as retryable; once the invoice is
 *                    posted, retrying the failure credits it
 *   crash            killed after Odoo created the credit note and before Passerelle recorded it (a proxy
 *                    holds Odoo's answer): the next run finds it by its ref and posts it, one credit note
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  deliverSale,
  invoiceSale,
  type OdooSession,
  odooAvailable,
  odooSession,
  type StartedOdoo,
  seedOdoo,
  startOdoo,
} from "../../scripts/real/odoo.mjs";
import { type RunningVendure, startVendure, vendureVersion } from "../../scripts/real/vendure.mjs";
import { runCli } from "../../scripts/real/vendure-passerelle.ts";
import {
  placeShopOrder,
  type VendureAdmin,
  variantIds,
  vendureAdmin,
} from "../../scripts/real/vendure-shop.ts";

const odoo = odooAvailable();
const skip = !odoo.ok
  ? `Odoo: ${odoo.missing}`
  : !odoo.setupDone
    ? "Odoo is not set up: run `node scripts/real/odoo.mjs --setup-only`"
    : vendureVersion() === null
      ? "@vendure/core is not installed"
      : false;

const envRef = (name: string) => `\${env:${name}}`;

interface RunJson {
  flow: string;
  counts: { read: number; created: number; updated: number; skipped: number; failed: number };
}

interface FailureJson {
  id: number;
  key: string;
  errorKind: string;
  errorMessage: string;
}

interface CreditNote {
  id: number;
  state: string;
  amount_total: number;
  ref: string;
  reversed_entry_id: [number, string] | false;
  move_type: string;
}

/**
 * A JSON-RPC proxy in front of Odoo that forwards everything; armed, it lets the first matching call reach
 * Odoo, then runs `action` (the kill) before the answer goes back.
 */
async function startOdooProxy(target: string) {
  let armed: { model: string; method: string; action: () => void } | null = null;
  let fired = false;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      let hit = false;
      if (armed) {
        try {
          const args = (JSON.parse(body.toString("utf8")) as { params?: { args?: unknown[] } }).params?.args;
          hit = Array.isArray(args) && args[3] === armed.model && args[4] === armed.method;
        } catch {}
      }
      const url = new URL(req.url ?? "/", target);
      const out = request(
        url,
        { method: req.method, headers: { ...req.headers, host: url.host } },
        (answer) => {
          const back: Buffer[] = [];
          answer.on("data", (c: Buffer) => back.push(c));
          answer.on("end", () => {
            if (hit && armed) {
              const { action } = armed;
              armed = null;
              fired = true;
              action();
              res.destroy();
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(back));
          });
        },
      );
      out.on("error", () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arm(a: typeof armed) {
      armed = a;
      fired = false;
    },
    fired: () => fired,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

describe("refunds from a real Vendure to a real Odoo as credit notes", {
  skip,
  timeout: 30 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedOdoo;
  let shop: RunningVendure;
  let session: OdooSession;
  let admin: VendureAdmin;
  let env: NodeJS.ProcessEnv;
  let proxy: Awaited<ReturnType<typeof startOdooProxy>>;
  /** Order code → { Vendure order id, total in cents, Odoo sale id }. */
  const orders = new Map<string, { id: string; total: number; sale: number }>();
  let codes: string[] = [];

  async function sync(flows: string[], expectCode = 0): Promise<RunJson[]> {
    const res = await runCli(["sync", ...flows, "--json"], env).done;
    if (res.code !== expectCode) {
      const list = await runCli(["failures", "list", "--json"], env).done;
      assert.fail(`sync ${flows} exit ${res.code}:\n${res.stdout}\n${res.stderr}\nfailures: ${list.stdout}`);
    }
    return (JSON.parse(res.stdout) as { runs: RunJson[] }).runs;
  }

  async function failures(flow = "refunds"): Promise<FailureJson[]> {
    const list = await runCli(["failures", "list", "--flow", flow, "--json"], env).done;
    return JSON.parse(list.stdout) as FailureJson[];
  }

  /** A refund of `minor` units in Vendure, settled (the test payment handler leaves refunds pending). */
  async function refund(code: string, minor: number, reason: string): Promise<string> {
    const order = orders.get(code);
    assert.ok(order);
    const data = await admin<{ order: { payments: { id: string }[] } }>(
      "query($id:ID!){order(id:$id){payments{id}}}",
      { id: order.id },
    );
    const paymentId = data.order.payments[0]?.id;
    const made = await admin<{ refundOrder: { id?: string; state?: string; errorCode?: string } }>(
      `mutation($i:RefundOrderInput!){refundOrder(input:$i){__typename ...on Refund{id state} ...on ErrorResult{errorCode message}}}`,
      { i: { paymentId, amount: minor, shipping: 0, adjustment: 0, reason } },
    );
    const id = made.refundOrder.id;
    assert.ok(id, `refundOrder: ${JSON.stringify(made)}`);
    const settled = await admin<{ settleRefund: { state?: string } }>(
      `mutation($i:SettleRefundInput!){settleRefund(input:$i){__typename ...on Refund{state} ...on ErrorResult{errorCode message}}}`,
      { i: { id, transactionId: `RF-${id}` } },
    );
    assert.equal(settled.settleRefund.state, "Settled", JSON.stringify(settled));
    return id;
  }

  /** Odoo's credit notes whose ref is a refund's key. */
  const creditNotes = async (key: string): Promise<CreditNote[]> =>
    (await session.find(
      "account.move",
      [
        ["move_type", "=", "out_refund"],
        ["ref", "=", key],
      ],
      ["state", "amount_total", "ref", "reversed_entry_id", "move_type"],
    )) as unknown as CreditNote[];

  const allOurs = async () =>
    session.find(
      "account.move",
      [
        ["move_type", "=", "out_refund"],
        ["ref", "=like", "shop:refund:%"],
      ],
      ["id"],
    );

  const saleOf = (code: string): number => orders.get(code)?.sale as number;

  /** The sale's posted customer invoices. */
  async function invoicesOf(code: string) {
    const [sale] = await session.find("sale.order", [["id", "=", saleOf(code)]], ["invoice_ids"]);
    return (await session.find(
      "account.move",
      [
        ["id", "in", (sale?.invoice_ids as number[]) ?? []],
        ["move_type", "=", "out_invoice"],
        ["state", "=", "posted"],
      ],
      ["amount_total"],
    )) as { id: number; amount_total: number }[];
  }

  const cents = (v: number) => Math.round(v * 100);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-refunds-odoo-real-"));
    [erp, shop] = await Promise.all([startOdoo({}), startVendure({ dir: join(dir, "shop") })]);
    session = await odooSession(erp);
    admin = await vendureAdmin(shop);
    proxy = await startOdooProxy(erp.url);
    const seeded = await seedOdoo(erp, { products: 2, variantsEvery: 0, prefix: "RF", stock: 50 });
    const skus = seeded.skus.map((s: { sku: string }) => s.sku) as string[];
    // The shop sells in dollars, as Odoo's company does.
    const { activeChannel } = await admin<{ activeChannel: { id: string } }>("{activeChannel{id}}");
    await admin(
      `mutation{updateChannel(input:{id:"${activeChannel.id}",defaultCurrencyCode:USD,availableCurrencyCodes:[USD]}){__typename}}`,
    );
    // The test Vendure ships to Germany and charges German VAT on top of its prices: Odoo gets that tax.
    await session.create("account.tax", {
      name: "VAT 19%",
      amount: 19,
      amount_type: "percent",
      type_tax_use: "sale",
      price_include: false,
    });
    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      [
        "version: 1",
        "store:",
        `  url: sqlite:${join(dir, "passerelle.sqlite")}`,
        "connections:",
        "  erp:",
        "    type: odoo",
        // Through a proxy that can hold back one answer (the crash scenario); it forwards everything else.
        `    url: ${proxy.url}`,
        `    db: ${erp.db}`,
        `    username: ${erp.user}`,
        `    password: ${envRef("ODOO_PASSWORD")}`,
        "    currency: USD",
        "  shop:",
        "    type: vendure",
        `    url: ${shop.url}`,
        `    username: ${shop.adminUser}`,
        `    password: ${envRef("VENDURE_PASSWORD")}`,
        "flows:",
        "  products:",
        "    source: { connection: erp, entity: product }",
        "    target: { connection: shop, entity: product }",
        "  orders:",
        "    source: { connection: shop, entity: order }",
        "    target: { connection: erp, entity: order }",
        "  refunds:",
        "    source: { connection: shop, entity: refund }",
        "    target: { connection: erp, entity: refund }",
        "",
      ].join("\n"),
    );
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      ODOO_PASSWORD: erp.password,
      VENDURE_PASSWORD: shop.adminPassword,
      PASSERELLE_LOG_LEVEL: "warn",
    };
    await sync(["products"]);
    const ids = await variantIds(admin, skus);
    // Stock is not what this test is about: the shop sells without tracking it.
    for (const id of ids.values()) {
      await admin(`mutation{updateProductVariants(input:[{id:"${id}",trackInventory:FALSE}]){id}}`);
    }
    for (const name of ["Ada", "Bob", "Cy", "Dee", "Eve"]) {
      const placed = await placeShopOrder(shop, {
        email: `${name.toLowerCase()}-refund@example.com`,
        firstName: name,
        lastName: "Refund",
        lines: [
          { variantId: ids.get(skus[0] as string) as string, quantity: 2 },
          { variantId: ids.get(skus[1] as string) as string, quantity: 1 },
        ],
      });
      orders.set(placed.code, { id: placed.id, total: placed.totalWithTax, sale: 0 });
    }
    codes = [...orders.keys()];
    const runs = await sync(["orders"]);
    assert.equal(runs.find((r) => r.flow === "orders")?.counts.created, 5, JSON.stringify(runs));
    for (const code of codes) {
      const [sale] = await session.find("sale.order", [["client_order_ref", "=", `shop:${code}`]], ["state"]);
      assert.ok(sale, `no Odoo sale for ${code}`);
      assert.equal(sale.state, "sale");
      (orders.get(code) as { sale: number }).sale = sale.id as number;
    }
    const [a, b, c, , e] = codes as [string, string, string, string, string];
    // A, B and E are delivered and invoiced (posted); C ships one of its two first items only, and Odoo
    // invoices what was delivered (and the shipping); D is neither delivered nor invoiced yet.
    for (const code of [a, b, e]) {
      await deliverSale(erp, saleOf(code), `TRK-${code}`);
      await invoiceSale(erp, saleOf(code));
    }
    await deliverSale(erp, saleOf(c), `TRK-${c}`, { [skus[0] as string]: 1 });
    await invoiceSale(erp, saleOf(c));
  });

  after(async () => {
    await proxy?.close();
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a partial refund in Vendure is one posted Odoo credit note of its amount, carrying its key", async () => {
    const a = codes[0] as string;
    const order = orders.get(a) as { id: string; total: number; sale: number };
    assert.ok(order.total > 2000, `order total ${order.total}`);
    const [invoice] = await invoicesOf(a);
    assert.ok(invoice, "A is invoiced");
    assert.equal(cents(invoice.amount_total), order.total, "Odoo invoiced what Vendure was paid");

    const refundId = await refund(a, 1000, "scratched");
    const runs = await sync(["refunds"]);
    const counts = runs.find((r) => r.flow === "refunds")?.counts;
    assert.equal(counts?.created, 1, JSON.stringify(runs));
    const notes = await creditNotes(`shop:refund:${refundId}`);
    assert.equal(notes.length, 1);
    assert.equal(notes[0]?.state, "posted");
    assert.equal(notes[0]?.amount_total, 10);
    const reversed = notes[0]?.reversed_entry_id;
    assert.ok(reversed, "it names the invoice it credits");
    assert.equal(reversed[0], invoice.id, "it credits A's invoice");
    const lines = await session.find(
      "account.move.line",
      [
        ["move_id", "=", notes[0]?.id],
        ["display_type", "=", "product"],
      ],
      ["tax_ids", "price_subtotal", "sale_line_ids"],
    );
    assert.ok(lines.length >= 1);
    assert.ok(
      lines.every((l) => (l.sale_line_ids as number[]).length === 0),
      "no sale line: the sale does not count the quantities as to invoice again",
    );
  });

  test("running the flow again writes nothing and Odoo still has one credit note", async () => {
    const runs = await sync(["refunds"]);
    const counts = runs.find((r) => r.flow === "refunds")?.counts;
    assert.equal(counts?.created, 0, JSON.stringify(runs));
    assert.equal(counts?.updated, 0, JSON.stringify(runs));
    assert.equal((await allOurs()).length, 1);
  });

  test("a full refund is a posted credit note of the whole invoice", async () => {
    const b = codes[1] as string;
    const order = orders.get(b) as { total: number };
    const refundId = await refund(b, order.total, "returned");
    const runs = await sync(["refunds"]);
    assert.equal(runs.find((r) => r.flow === "refunds")?.counts.created, 1, JSON.stringify(runs));
    const notes = await creditNotes(`shop:refund:${refundId}`);
    assert.equal(notes.length, 1);
    assert.equal(notes[0]?.state, "posted");
    assert.equal(cents(notes[0]?.amount_total as number), order.total);
    const [invoice] = await invoicesOf(b);
    assert.equal(cents(invoice?.amount_total as number), order.total, "B's invoice credited in full");
    assert.equal((await allOurs()).length, 2);
  });

  test("a refund above what was invoiced fails naming amount; another refund in the same run is credited", async () => {
    const [a, , c] = codes as [string, string, string];
    const order = orders.get(c) as { total: number };
    const [invoice] = await invoicesOf(c);
    assert.ok(invoice && cents(invoice.amount_total) < order.total, "C is invoiced in part only");

    const tooMuch = await refund(c, order.total, "returned all");
    const fine = await refund(a, 400, "missing part");
    const runs = await sync(["refunds"], 1);
    const counts = runs.find((r) => r.flow === "refunds")?.counts;
    assert.equal(counts?.created, 1, JSON.stringify(runs));
    assert.equal(counts?.failed, 1, JSON.stringify(runs));
    assert.equal((await creditNotes(`shop:refund:${fine}`))[0]?.amount_total, 4);
    assert.equal(
      (await creditNotes(`shop:refund:${tooMuch}`)).length,
      0,
      "nothing credited, no draft either",
    );
    const [failure] = (await failures()).filter((f) => f.key === `shop:refund:${tooMuch}`);
    assert.ok(failure, JSON.stringify(await failures()));
    assert.equal(failure.errorKind, "data");
    const amount = (order.total / 100).toFixed(2);
    const invoiced = String(invoice.amount_total);
    assert.ok(
      failure.errorMessage.includes(
        `amount ${amount} USD exceeds what is left to credit on order shop:${c}: invoiced ${invoiced} − already credited 0 = ${invoiced} USD`,
      ),
      failure.errorMessage,
    );
  });

  test("a refund of an order not invoiced yet fails as retryable, and is credited once it is", async () => {
    const d = codes[3] as string;
    const refundId = await refund(d, 250, "wrong colour");
    await sync(["refunds"], 1);
    const [failure] = (await failures()).filter((f) => f.key === `shop:refund:${refundId}`);
    assert.ok(failure, JSON.stringify(await failures()));
    assert.equal(failure.errorKind, "retryable");
    assert.match(failure.errorMessage, /order shop:\w+ has no posted invoice in Odoo yet/);
    assert.equal((await creditNotes(`shop:refund:${refundId}`)).length, 0);

    await deliverSale(erp, saleOf(d), `TRK-${d}`);
    await invoiceSale(erp, saleOf(d));
    const retried = await runCli(["failures", "retry", String(failure.id), "--json"], env).done;
    assert.equal(retried.code, 0, `${retried.stdout}\n${retried.stderr}`);
    const notes = await creditNotes(`shop:refund:${refundId}`);
    assert.equal(notes.length, 1);
    assert.equal(notes[0]?.state, "posted");
    assert.equal(notes[0]?.amount_total, 2.5);
  });

  test("killed after Odoo created the credit note and before Passerelle recorded it, the next run credits once", async () => {
    const e = codes[4] as string;
    const refundId = await refund(e, 500, "late delivery");
    const key = `shop:refund:${refundId}`;
    const run = runCli(["sync", "refunds", "--json"], env);
    proxy.arm({ model: "account.move", method: "create", action: () => run.child.kill("SIGKILL") });
    const killed = await run.done;
    const fired = proxy.fired();
    proxy.arm(null);
    assert.ok(fired, `the kill did not land: ${killed.stdout}\n${killed.stderr}`);
    assert.equal(killed.signal, "SIGKILL");
    // Odoo holds the credit note (a draft); Passerelle never learnt of it.
    const held = await creditNotes(key);
    assert.equal(held.length, 1);
    assert.equal(held[0]?.state, "draft");

    // C's refund above what was invoiced fails again in this run: the exit code is not asserted.
    const res = await runCli(["sync", "refunds", "--json"], env).done;
    const runs = (JSON.parse(res.stdout) as { runs: RunJson[] }).runs;
    const counts = runs.find((r) => r.flow === "refunds")?.counts;
    assert.equal(counts?.created, 0, JSON.stringify(runs));
    const notes = await creditNotes(key);
    assert.equal(notes.length, 1, "one credit note, found by its ref");
    assert.equal(notes[0]?.id, held[0]?.id);
    assert.equal(notes[0]?.state, "posted");
    assert.equal(notes[0]?.amount_total, 5);
  });
});
