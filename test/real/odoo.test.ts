/**
 * The Odoo connector against a real Odoo 17 (the kit in ../shared/real/odoo17, see scripts/real/odoo.mjs):
 * the template database cloned into a fresh one, Odoo started on a free loopback port, the contract suite
 * and a merchant's scenarios run over JSON-RPC, then the server stopped and its database dropped. Run by
 * `npm run test:real`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Big from "big.js";
import {
  deliverSale,
  invoiceSale,
  ODOO_CURRENCY,
  type OdooSeed,
  type OdooSession,
  odooAvailable,
  odooSession,
  type StartedOdoo,
  seedOdoo,
  setupOdoo,
  startOdoo,
} from "../../scripts/real/odoo.mjs";
import { OdooConfig } from "../../src/connectors/odoo/config.ts";
import { createOdooConnector, type OdooConnector } from "../../src/connectors/odoo/index.ts";
import { SyncError } from "../../src/core/errors.ts";
import type { Customer, EntityName, Order } from "../../src/core/model.ts";
import type { Stream, WriteItem } from "../../src/ports/connector.ts";
import { runContractSuite } from "../../src/ports/contract-suite.ts";
import { closedPort } from "../../src/testing/net.ts";

const available = odooAvailable();
/** pdftotext (poppler-utils), when installed, lets the PDF test read the invoice number in the document. */
const pdftotext = spawnSync("sh", ["-c", "command -v pdftotext"], { encoding: "utf8" }).stdout.trim() || null;

if (!available.ok) {
  test("Odoo 17 kit is available", { skip: available.missing ?? "Odoo missing" }, () => {});
} else {
  const run = Date.now().toString(36);
  let seq = 0;
  const connect = (erp: StartedOdoo, over: Partial<OdooConfig> = {}, name = "odoo"): OdooConnector =>
    createOdooConnector(
      name,
      OdooConfig.parse({
        url: erp.url,
        db: erp.db,
        username: erp.user,
        password: erp.password,
        currency: ODOO_CURRENCY,
        ...over,
      }),
    );

  const sampleCustomer = (group?: string): Customer => {
    const n = ++seq;
    const email = `buyer-${run}-${n}@example.com`;
    return {
      source: "shop",
      sourceId: String(n),
      updatedAt: new Date().toISOString(),
      key: email,
      email,
      firstName: "Ada",
      lastName: `Buyer${n}`,
      phone: "+32 2 123 45 67",
      group,
      addresses: [
        { type: "both", line1: `Rue Haute ${n}`, city: "Brussels", postalCode: "1000", country: "BE" },
        {
          type: "shipping",
          name: "Warehouse door",
          line1: `Quai ${n}`,
          city: "Antwerp",
          postalCode: "2000",
          country: "BE",
        },
      ],
    };
  };

  const round2 = (b: Big) => b.round(2, Big.roundHalfUp);
  /**
   * A shop order Odoo totals exactly: the kit's 15 % sales tax excluded from the price, rounded per line
   * (Odoo's default), optionally a line discount and shipping.
   */
  const sampleOrder = (
    skus: OdooSeed["skus"],
    opts: { discount?: string; shipping?: boolean; email?: string; quantities?: number[] } = {},
  ): Order => {
    const n = ++seq;
    const email = opts.email ?? `shopper-${run}-${n}@example.com`;
    const tax = (amount: Big) => round2(amount.times("0.15"));
    let untaxed = new Big(0);
    let totalTax = new Big(0);
    const picked = [skus[n % skus.length]!, skus[(n + 1) % skus.length]!];
    const lines = picked.map((p, i) => {
      const quantity = opts.quantities?.[i] ?? i + 1;
      const discount = i === 0 && opts.discount ? opts.discount : "0";
      const base = new Big(p.price).times(quantity);
      const lineTax = tax(base).plus(tax(new Big(discount).times(-1)));
      untaxed = untaxed.plus(base).minus(discount);
      totalTax = totalTax.plus(lineTax);
      return {
        sku: p.sku,
        title: `Item ${p.sku}`,
        quantity,
        unitPrice: p.price,
        discount,
        taxes: [{ title: "Tax 15%", rate: "0.15", amount: lineTax.toFixed(2) }],
      };
    });
    let shipping: Order["shipping"];
    if (opts.shipping) {
      const amount = new Big("4.90");
      untaxed = untaxed.plus(amount);
      totalTax = totalTax.plus(tax(amount));
      shipping = {
        title: "Parcel",
        amount: "4.90",
        taxes: [{ title: "Tax 15%", rate: "0.15", amount: tax(amount).toFixed(2) }],
      };
    }
    return {
      source: "shop",
      sourceId: String(n),
      updatedAt: new Date().toISOString(),
      key: `shop:${run}-${n}`,
      number: `${run}-${n}`,
      placedAt: new Date().toISOString(),
      currency: ODOO_CURRENCY,
      customer: { key: email, email, name: `Shopper ${n}` },
      billingAddress: {
        type: "billing",
        line1: `Meir ${n}`,
        city: "Antwerp",
        postalCode: "2000",
        country: "BE",
        name: `Shopper ${n}`,
      },
      lines,
      shipping,
      discounts: [],
      taxesIncluded: false,
      totalTax: totalTax.toFixed(2),
      total: untaxed.plus(totalTax).toFixed(2),
      financialStatus: "paid",
      fulfillmentStatus: "unfulfilled",
      payments: [],
      cancelled: false,
    };
  };
  const item = <E extends EntityName>(
    record: Order | Customer,
    targetId: string | null = null,
  ): WriteItem<E> =>
    ({ key: record.key, record, targetId, externalRef: record.key }) as unknown as WriteItem<E>;
  const noLinks = { resolve: async () => null };
  const readAll = async <E extends EntityName>(stream: Stream<E>) => {
    const out: unknown[] = [];
    for await (const page of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 200 }))
      out.push(...page);
    return out as never[];
  };

  let erp: StartedOdoo;
  let seed: OdooSeed;
  let s: OdooSession;
  let dir: string;
  const timings: Record<string, number> = {};
  /** JSON-RPC requests per scenario (the connector's and the merchant's). */
  const calls: Record<string, { connector: number; merchant: number }> = {};
  const measure = async <T>(name: string, connector: OdooConnector, fn: () => Promise<T>): Promise<T> => {
    const c0 = connector.stats().calls;
    const m0 = s.calls;
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      timings[name] = Date.now() - t0;
      calls[name] = { connector: connector.stats().calls - c0, merchant: s.calls - m0 };
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-odoo-"));
    const t0 = Date.now();
    timings.setup = (await setupOdoo()).ms;
    const t1 = Date.now();
    erp = await startOdoo({ log: (m) => console.error(m) });
    timings.start = Date.now() - t1;
    const t2 = Date.now();
    seed = await seedOdoo(erp, { products: 6, variantsEvery: 3, prefix: `C${run}` });
    s = await odooSession(erp);
    timings.seed = Date.now() - t2;
    // Customers, then delivered and invoiced sales, so every stream has several pages.
    const connector = connect(erp);
    const t3 = Date.now();
    const customers = await connector.writers.customer?.upsert(
      [1, 2, 3, 4].map(() => item<"customer">(sampleCustomer("wholesale"))),
      noLinks,
    );
    for (const r of customers ?? []) assert.ok(r.ok, r.ok ? "" : r.error.message);
    const orders = [1, 2, 3, 4, 5].map((i) => sampleOrder(seed.skus, { shipping: i % 2 === 0 }));
    const written = await connector.writers.order?.upsert(
      orders.map((o) => item<"order">(o)),
      noLinks,
    );
    for (const r of written ?? []) {
      assert.ok(r.ok, r.ok ? "" : r.error.message);
      await deliverSale(erp, Number(r.targetId), `TRACK-${r.key.slice(-6)}`);
      await invoiceSale(erp, Number(r.targetId));
    }
    timings.ordersDeliveredInvoiced = Date.now() - t3;
    timings.before = Date.now() - t0;
  });

  after(async () => {
    await erp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.error(`odoo timings (ms): ${JSON.stringify(timings)}`);
    console.error(`odoo JSON-RPC calls per scenario: ${JSON.stringify(calls)}`);
  });

  describe("odoo 17 (real server)", () => {
    const started = Date.now();
    // The contract suite's call, kept in one block: its signature is being changed elsewhere.
    runContractSuite({
      name: "odoo 17 (real)",
      async setup() {
        const connector = connect(erp);
        let writes = 0;
        return {
          connector,
          badCredentials: connect(erp, { password: "wrong-password" }, "odoo-bad"),
          unreachable: connect(erp, { url: `http://127.0.0.1:${await closedPort()}` }, "odoo-down"),
          streams: ["product", "price", "inventory", "customer", "order", "shipment", "invoice"],
          samples: {
            customer: () => [sampleCustomer("vip"), sampleCustomer(), sampleCustomer("wholesale")],
            order: () => [
              sampleOrder(seed.skus),
              sampleOrder(seed.skus, { discount: "2.00" }),
              sampleOrder(seed.skus, { shipping: true }),
            ],
          },
          rejects: {
            order: (): Order => {
              const o = sampleOrder(seed.skus);
              return { ...o, lines: o.lines.map((l) => ({ ...l, sku: `UNKNOWN-${run}` })) };
            },
            customer: (): Customer => ({
              ...sampleCustomer(),
              addresses: [{ type: "both", line1: "1 Main St", city: "Nowhere", country: "ZZ" }],
            }),
          },
          touch: async (entity, id) => {
            writes++;
            await touch(s, entity, Number(id));
          },
          writes: () => writes,
          teardown: async () => {
            timings.contractSuite = Date.now() - started;
          },
        };
      },
    });
  });

  /** Changes one record through Odoo's own write path, so its write_date moves. */
  async function touch(session: OdooSession, entity: EntityName, id: number): Promise<void> {
    if (entity === "product") {
      await session.write("product.template", [id], { name: `Touched ${id}` });
    } else if (entity === "customer") {
      await session.write("res.partner", [id], { name: `Touched Customer ${id}` });
    } else if (entity === "order") {
      await session.write("sale.order", [id], { note: `touched ${id}` });
    } else if (entity === "shipment") {
      const [p] = await session.find("stock.picking", [["id", "=", id]], ["carrier_tracking_ref"]);
      await session.write("stock.picking", [id], { carrier_tracking_ref: p?.carrier_tracking_ref });
    } else if (entity === "invoice") {
      await session.write("account.move", [id], { ref: `touched ${id}` });
    } else if (entity === "price") {
      const [i] = await session.find("product.pricelist.item", [["id", "=", id]], ["fixed_price"]);
      await session.write("product.pricelist.item", [id], { fixed_price: i?.fixed_price });
    } else if (entity === "inventory") {
      const [q] = await session.find("stock.quant", [["id", "=", id]], ["quantity"]);
      await session.call("stock.quant", "write", [[id], { inventory_quantity: Number(q?.quantity) + 1 }], {
        context: { inventory_mode: true },
      });
      await session.call("stock.quant", "action_apply_inventory", [[id]]);
    }
  }

  describe("odoo 17 bad input", () => {
    test("Odoo down: a retryable error naming the system and where it was looked for", async () => {
      const port = await closedPort();
      const err = await connect(erp, { url: `http://127.0.0.1:${port}` }, "erp-down")
        .check()
        .then(
          () => assert.fail("check() succeeded against a closed port"),
          (e: unknown) => e,
        );
      assert.ok(err instanceof SyncError);
      assert.equal(err.kind, "retryable");
      assert.equal(err.details.system, "erp-down");
      assert.match(err.message, new RegExp(`Odoo at http://127\\.0\\.0\\.1:${port}`));
    });

    test("wrong password: a config error naming the user and the database, never the password", async () => {
      const err = await connect(erp, { password: "not-the-password-42" }, "erp-bad")
        .check()
        .then(
          () => assert.fail("check() accepted a wrong password"),
          (e: unknown) => e,
        );
      assert.ok(err instanceof SyncError);
      assert.equal(err.kind, "config");
      assert.match(err.message, new RegExp(`user "admin" on database "${erp.db}"`));
      assert.doesNotMatch(JSON.stringify(err.toJSON()), /not-the-password-42/);
    });
  });
}
