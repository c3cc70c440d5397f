/**
 * Refunds from a real Vendure (`shop`) to a real Tryton (`erp`) as credit notes, through the CLI as a
 * merchant runs it. Every assertion reads Tryton or Vendure back.
 *
 *   partial refund   an order placed in Vendure, synced, shipped and invoiced (posted) in Tryton; a refund of
 *                    10.00 in Vendure is one posted Tryton credit note of −10.00 carrying the refund's key,
 *                    its line crediting the invoice's line
 *   idempotent       running the flow again writes nothing and Tryton still has one credit note
 *   second refund    a second refund of the order is a second credit note
 *   too much         an order whose invoice the accountant already credited in full (Tryton's own credit
 *                    wizard): a refund of it is a failed record naming amount and the figures, while a
 *                    refund of the other order in the same run is credited
 *   not invoiced     a refund of an order whose invoice is not posted yet fails as retryable; once the
 *                    invoice is posted, retrying the failure credits it
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pairYaml, trytonConnection, vendureConnection } from "../../scripts/real/pair-config.mjs";
import {
  fulfilSale,
  type StartedTryton,
  seedTryton,
  startTryton,
  type TrytonSession,
  trytonAvailable,
  trytonSession,
} from "../../scripts/real/tryton.mjs";
import { type RunningVendure, startVendure, vendureVersion } from "../../scripts/real/vendure.mjs";
import {
  placeShopOrder,
  type VendureAdmin,
  variantIds,
  vendureAdmin,
} from "../../scripts/real/vendure-shop.ts";
import { spawnCli as cli } from "../e2e/helpers.ts";

const LOCATIONS: Record<string, string> = { WH: "Main Warehouse", WH2: "East Warehouse" };

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

const ready = trytonAvailable();
const skip = !ready.ok ? ready.missing : vendureVersion() === null ? "@vendure/core is not installed" : false;

describe("refunds from a real Vendure to a real Tryton as credit notes", {
  skip: skip || false,
  timeout: 15 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedTryton;
  let shop: RunningVendure;
  let session: TrytonSession;
  let admin: VendureAdmin;
  let env: NodeJS.ProcessEnv;
  /** Order code → { Vendure order id, Tryton sale id }. */
  const orders = new Map<string, { id: string; total: number; sale: number }>();
  let codes: string[] = [];

  async function sync(flows: string[], expectCode = 0): Promise<RunJson[]> {
    const res = await cli(["sync", ...flows, "--json"], env);
    const failures = expectCode === 0 ? (await cli(["failures", "list", "--json"], env)).stdout : "";
    assert.equal(
      res.code,
      expectCode,
      `sync ${flows} exit ${res.code}:\n${res.stdout}\n${res.stderr}\n${failures}`,
    );
    return (JSON.parse(res.stdout) as { runs: RunJson[] }).runs;
  }

  async function failures(): Promise<FailureJson[]> {
    const list = await cli(["failures", "list", "--flow", "refunds", "--json"], env);
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

  /** Tryton's credit notes carrying a refund's key. */
  async function creditNotes(key: string) {
    return (await session.find(
      "account.invoice",
      [["reference", "=", key]],
      ["state", "total_amount", "type", "lines", "party"],
    )) as { id: number; state: string; total_amount: { decimal: string }; lines: number[] }[];
  }

  const saleOf = (code: string): number => orders.get(code)?.sale as number;

  /** The sale's customer invoices (Tryton: sale.invoices). */
  async function invoicesOf(code: string) {
    const [sale] = (await session.model("sale.sale", "read", [saleOf(code)], ["invoices"])) as {
      invoices: number[];
    }[];
    return (await session.model("account.invoice", "read", sale?.invoices ?? [], [
      "state",
      "total_amount",
      "lines",
    ])) as { id: number; state: string; total_amount: unknown; lines: number[] }[];
  }

  const total = (v: unknown) =>
    Number(typeof v === "object" && v !== null ? (v as { decimal: string }).decimal : v);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-refunds-real-"));
    [erp, shop] = await Promise.all([
      startTryton({ dir: join(dir, "erp") }),
      startVendure({ dir: join(dir, "shop") }),
    ]);
    session = await trytonSession(erp);
    admin = await vendureAdmin(shop);
    await seedTryton(erp, { products: 2, variantsEvery: 0, prefix: "RF", stock: 50 });
    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      pairYaml({
        dir,
        // Posting an invoice renders its report (Tryton caches it), which on a busy machine outlasts the
        // default 30 s: a timed-out post is retried and finds the posted credit note (counted unchanged).
        erp: [...trytonConnection(erp), "timeoutMs: 180000"],
        shop: vendureConnection(shop, LOCATIONS),
        flows: [
          ["products", "erp", "product"],
          ["stock", "erp", "inventory"],
          ["customers", "shop", "customer"],
          ["orders", "shop", "order"],
          ["refunds", "shop", "refund"],
        ],
      }),
    );
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      TRYTON_PASSWORD: erp.password,
      VENDURE_PASSWORD: shop.adminPassword,
      PASSERELLE_LOG_LEVEL: "warn",
    };
    await sync(["products", "stock"]);
    const ids = await variantIds(admin, ["RF-001", "RF-002"]);
    for (const [i, email] of ["ada@example.com", "bob@example.com", "cy@example.com"].entries()) {
      const placed = await placeShopOrder(shop, {
        email,
        firstName: ["Ada", "Bob", "Cy"][i] as string,
        lastName: "Refund",
        lines: [
          { variantId: ids.get("RF-001") as string, quantity: 2 },
          { variantId: ids.get("RF-002") as string, quantity: 1 },
        ],
      });
      orders.set(placed.code, { id: placed.id, total: placed.totalWithTax, sale: 0 });
    }
    codes = [...orders.keys()];
    await sync(["customers", "orders"]);
    for (const code of codes) {
      const [sale] = await session.find("sale.sale", [["reference", "=", `shop:${code}`]], ["state"]);
      assert.ok(sale, `no Tryton sale for ${code}`);
      (orders.get(code) as { sale: number }).sale = sale.id;
    }
    // The first two are shipped and invoiced (posted); the third is shipped, its invoice left as a draft.
    await fulfilSale(erp, saleOf(codes[0] as string), "TRK-A");
    await fulfilSale(erp, saleOf(codes[1] as string), "TRK-B");
    await fulfilSale(erp, saleOf(codes[2] as string), "TRK-C", { post: false });
  });

  after(async () => {
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a partial refund in Vendure is one posted Tryton credit note of its amount, carrying its key", async () => {
    const [a] = codes as [string];
    const order = orders.get(a) as { id: string; total: number; sale: number };
    assert.ok(order.total > 2000, `order total ${order.total}`);
    const [invoice] = await invoicesOf(a);
    assert.equal(invoice?.state, "posted");
    assert.equal(total(invoice?.total_amount) * 100, order.total, "Tryton invoiced what Vendure was paid");

    const before = await admin<{ order: { updatedAt: string } }>("query($id:ID!){order(id:$id){updatedAt}}", {
      id: order.id,
    });
    const refundId = await refund(a, 1000, "scratched");
    // Why the refund stream reads every placed order: Vendure leaves the order's updatedAt as it was.
    const afterRefund = await admin<{ order: { updatedAt: string } }>(
      "query($id:ID!){order(id:$id){updatedAt}}",
      { id: order.id },
    );
    assert.equal(afterRefund.order.updatedAt, before.order.updatedAt);

    const runs = await sync(["refunds"]);
    const counts = runs.find((r) => r.flow === "refunds")?.counts;
    assert.equal(counts?.created, 1, JSON.stringify(runs));
    const notes = await creditNotes(`shop:refund:${refundId}`);
    assert.equal(notes.length, 1);
    assert.equal(notes[0]?.state, "posted");
    assert.equal(total(notes[0]?.total_amount), -10);
    const lines = await session.find("account.invoice.line", [["invoice", "=", notes[0]?.id]], ["origin"]);
    assert.ok(
      lines.every((l) => String(l.origin).startsWith("account.invoice.line,")),
      JSON.stringify(lines),
    );
    const credited = lines.map((l) => Number(String(l.origin).split(",")[1]));
    assert.ok(
      credited.every((id) => (invoice?.lines ?? []).includes(id)),
      "it credits the invoice's lines",
    );
  });

  test("running the flow again writes nothing and Tryton still has one credit note", async () => {
    const runs = await sync(["refunds"]);
    const counts = runs.find((r) => r.flow === "refunds")?.counts;
    assert.equal(counts?.created, 0, JSON.stringify(runs));
    assert.equal(counts?.updated, 0, JSON.stringify(runs));
    const all = await session.find("account.invoice", [["reference", "like", "shop:refund:%"]], ["id"]);
    assert.equal(all.length, 1);
  });

  test("a second refund of the order is a second credit note", async () => {
    const refundId = await refund(codes[0] as string, 500, "late delivery");
    const runs = await sync(["refunds"]);
    assert.equal(runs.find((r) => r.flow === "refunds")?.counts.created, 1, JSON.stringify(runs));
    const notes = await creditNotes(`shop:refund:${refundId}`);
    assert.equal(notes.length, 1);
    assert.equal(total(notes[0]?.total_amount), -5);
    const all = await session.find("account.invoice", [["reference", "like", "shop:refund:%"]], ["id"]);
    assert.equal(all.length, 2);
  });

  test("a refund above what is left to credit fails naming amount; another refund in the same run is credited", async () => {
    const [a, b] = codes as [string, string];
    // The accountant credits B's invoice in full with Tryton's own credit wizard.
    const [invoiceB] = await invoicesOf(b);
    assert.ok(invoiceB);
    const ctx = { active_model: "account.invoice", active_id: invoiceB.id, active_ids: [invoiceB.id] };
    const [sid] = (await session.callWith(ctx, "wizard.account.invoice.credit.create")) as [number];
    await session.callWith(
      ctx,
      "wizard.account.invoice.credit.execute",
      sid,
      { start: { with_refund: false, invoice_date: null } },
      "credit",
    );
    await session.callWith(ctx, "wizard.account.invoice.credit.delete", sid);

    const tooMuch = await refund(b, 300, "goodwill");
    const fine = await refund(a, 400, "missing part");
    const runs = await sync(["refunds"], 1);
    const counts = runs.find((r) => r.flow === "refunds")?.counts;
    assert.equal(counts?.created, 1, JSON.stringify(runs));
    assert.equal(counts?.failed, 1, JSON.stringify(runs));
    assert.equal(total((await creditNotes(`shop:refund:${fine}`))[0]?.total_amount), -4);
    assert.equal((await creditNotes(`shop:refund:${tooMuch}`)).length, 0);
    const [failure] = (await failures()).filter((f) => f.key === `shop:refund:${tooMuch}`);
    assert.ok(failure, JSON.stringify(await failures()));
    assert.match(
      failure.errorMessage,
      new RegExp(
        `amount 3\\.00 EUR exceeds what is left to credit on order shop:${b}: invoiced [\\d.]+ − already credited [\\d.]+ = 0 EUR`,
      ),
    );
    assert.equal(failure.errorKind, "data");
  });

  test("a refund of an order whose invoice is not posted yet fails as retryable, and is credited once it is", async () => {
    const c = codes[2] as string;
    const refundId = await refund(c, 250, "wrong colour");
    await sync(["refunds"], 1);
    const [failure] = (await failures()).filter((f) => f.key === `shop:refund:${refundId}`);
    assert.ok(failure);
    assert.equal(failure.errorKind, "retryable");
    assert.match(failure.errorMessage, /order shop:\w+ has no posted invoice in Tryton yet/);

    await fulfilSale(erp, saleOf(c), "TRK-C");
    const retried = await cli(["failures", "retry", String(failure.id), "--json"], env);
    assert.equal(retried.code, 0, `${retried.stdout}\n${retried.stderr}`);
    const notes = await creditNotes(`shop:refund:${refundId}`);
    assert.equal(notes.length, 1);
    assert.equal(total(notes[0]?.total_amount), -2.5);
  });
});
