/**
 * The connector contract suite and bad input against a real Vendure (started as a child process from the
 * golden database; see scripts/real/vendure.mjs). Orders are placed through the Shop API's checkout as a
 * shopper would, so the order stream reads what Vendure itself computed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type RunningVendure, startVendure } from "../../scripts/real/vendure.mjs";
import { createCoupon, placeShopOrder, variantIds, vendureAdmin } from "../../scripts/real/vendure-shop.ts";
import { VendureConfig } from "../../src/connectors/vendure/config.ts";
import { createVendureConnector, vendure } from "../../src/connectors/vendure/index.ts";
import { VendureOrder } from "../../src/connectors/vendure/native.ts";
import { SyncError } from "../../src/core/errors.ts";
import type { Category, Customer, Invoice, Price, Product, Shipment } from "../../src/core/model.ts";
import { Order } from "../../src/core/model.ts";
import { orderTotalCheck } from "../../src/core/money.ts";
import { runContractSuite } from "../../src/ports/contract-suite.ts";
import { closedPort } from "../helpers/net.ts";

const at = "2026-06-01T00:00:00Z";
let serial = 0;

function product(key: string, skus: string[], price = "12.50", currency = "EUR"): Product {
  return {
    source: "erp",
    sourceId: key,
    updatedAt: at,
    key,
    title: `Contract ${key}`,
    status: "active",
    currency,
    categoryPath: [],
    attributes: {},
    images: [],
    components: [],
    variants: skus.map((sku, i) => {
      const options: Record<string, string> = skus.length > 1 ? { Size: String(i + 1) } : {};
      return { sku, price, options };
    }),
  };
}

const noLinks = { resolve: async () => null };

interface World {
  dir: string;
  vendure: RunningVendure;
  config: VendureConfig;
  orders: { code: string; id: string }[];
  skus: string[];
}

async function startWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "passerelle-vendure-"));
  const vendure = await startVendure({ dir });
  const config = VendureConfig.parse({
    url: vendure.url,
    username: vendure.adminUser,
    password: vendure.adminPassword,
    locationMap: { WH: "Main Warehouse", WH2: "East Warehouse" },
  });
  const connector = createVendureConnector("vendure", config);
  const seeded = Array.from({ length: 4 }, (_, i) => product(`BASE-${i}`, [`BASE-${i}-A`, `BASE-${i}-B`]));
  const skus = seeded.flatMap((p) => p.variants.map((v) => v.sku));
  // Two more products, with no stock, so the product stream has several pages to read.
  const listed = [4, 5].map((i) => product(`BASE-${i}`, [`BASE-${i}-A`]));
  const written = await connector.writers.product!.upsert(
    [...seeded, ...listed].map((p) => ({ key: p.key, record: p, targetId: null, externalRef: p.key })),
    noLinks,
  );
  for (const r of written) assert.ok(r.ok, r.ok ? "" : r.error.message);
  const stock = await connector.writers.inventory!.upsert(
    skus.map((sku) => ({
      key: `${sku}@WH`,
      targetId: null,
      externalRef: `${sku}@WH`,
      record: {
        source: "erp",
        sourceId: sku,
        updatedAt: at,
        key: `${sku}@WH`,
        sku,
        location: "WH",
        onHand: 500,
        reserved: 0,
        safetyStock: 0,
        available: 500,
      },
    })),
    noLinks,
  );
  for (const r of stock) assert.ok(r.ok, r.ok ? "" : r.error.message);
  const admin = await vendureAdmin(vendure);
  // Registered customers (the connector reads those only; guests reach the ERP with their orders).
  for (let i = 0; i < 6; i++) {
    await admin(
      "mutation($i:CreateCustomerInput!,$p:String){createCustomer(input:$i,password:$p){__typename}}",
      {
        i: { emailAddress: `member${i}@example.com`, firstName: "Member", lastName: `Number${i}` },
        p: "member-password",
      },
    );
  }
  await createCoupon(admin, "CONTRACT10", 10);
  const ids = await variantIds(admin, skus);
  const orders: { code: string; id: string }[] = [];
  for (let i = 0; i < 9; i++) {
    orders.push(
      await placeShopOrder(vendure, {
        email: `shopper${i}@example.com`,
        firstName: `Shopper`,
        lastName: `Number${i}`,
        lines: [
          { variantId: ids.get(skus[i % skus.length] ?? "") ?? "", quantity: 1 + (i % 3) },
          ...(i % 2 === 0
            ? [{ variantId: ids.get(skus[(i + 3) % skus.length] ?? "") ?? "", quantity: 2 }]
            : []),
        ],
        couponCode: i % 3 === 0 ? "CONTRACT10" : undefined,
        shippingMethodCode: i % 2 === 0 ? "express-shipping" : "standard-shipping",
      }),
    );
  }
  return { dir, vendure, config, orders, skus };
}

const world = startWorld();

runContractSuite(
  vendure,
  async () => {
    const w = await world;
    const admin = await vendureAdmin(w.vendure);
    let shipmentPool = [...w.orders];
    let invoicePool = 0;
    const shipment = (code: string, tracking: string): Shipment => ({
      source: "erp",
      sourceId: tracking,
      updatedAt: at,
      key: `erp:${tracking}`,
      orderKey: `vendure:${code}`,
      orderNumber: code,
      carrier: "DHL",
      trackingNumbers: [tracking],
      trackingUrls: [],
      lines: [],
      shippedAt: at,
    });
    const invoice = (code: string, number: string): Invoice => ({
      source: "erp",
      sourceId: number,
      updatedAt: at,
      key: number,
      number,
      kind: "invoice",
      orderKey: `vendure:${code}`,
      currency: "EUR",
      totalTax: "1.90",
      total: "11.90",
      issuedAt: at,
      document: { ref: `erp:account.invoice/${number}`, mimeType: "application/pdf" },
    });
    const customer = (email: string, country: string): Customer => ({
      source: "erp",
      sourceId: email,
      updatedAt: at,
      key: email,
      email,
      firstName: "Bea",
      lastName: "Wholesale",
      group: "wholesale",
      addresses: [{ type: "both", line1: "Marktplatz 3", city: "Graz", postalCode: "8010", country }],
    });
    const price = (code: string, sku: string, amount: string): Price => ({
      source: "erp",
      sourceId: `${code}:${sku}`,
      updatedAt: at,
      key: `${code}:${sku}`,
      priceList: { code, name: code, customerGroup: `group-${code}`, currency: "EUR" },
      sku,
      price: amount,
      tiers: [],
    });
    const category = (key: string, name: string): Category => ({
      source: "erp",
      sourceId: key,
      updatedAt: at,
      key,
      name,
      translations: {},
    });
    const notRead =
      "the connector has no stream for it and the fixture does not query Vendure's admin API for it";
    return {
      config: w.config,
      badCredentials: { ...w.config, password: "wrong-password" },
      unreachable: { ...w.config, url: `http://127.0.0.1:${await closedPort()}` },
      skip: {
        "*.inserts":
          "no insert hook against the real Vendure yet (and no Vendure emulator): paging under inserts is not checked for Vendure",
        "*.update":
          "no change samples yet; only product updates are checked, by 'a product changed in the ERP is updated in place' below",
        "*.reapply":
          "no write counter on a real Vendure (its stats count every call, reads too): exact-zero re-apply is not checked for Vendure",
        faults:
          "a real Vendure cannot be made to answer 429 or 5xx here: fault handling is not checked for Vendure by this suite",
        "refund.read":
          "this fixture's orders carry no refunds yet: refunds are read from the real Vendure in test/real/refunds-tryton-vendure.test.ts (settled refunds, read once, a second run writing nothing)",
        "refund.write":
          "a refund gives back money on a paid order the shop placed, which this fixture has none of: test/real/refunds-tryton-vendure.test.ts refunds real Vendure orders from Tryton credit notes (once, rerun, killed mid-write, above what is left)",
        "order.write":
          "an update-only writer (cancellations of orders placed in the shop): there is nothing to create",
        "inventory.write": "stock is seeded for the world in startWorld; no fresh-record samples",
        "category.readback": notRead,
        "price.readback": notRead,
        "shipment.readback": notRead,
        "invoice.readback": notRead,
      },
      samples: {
        category: () => {
          serial += 1;
          return [1, 2, 3].map((i) => category(`CAT-${serial}-${i}`, `Category ${serial}-${i}`));
        },
        customer: () => {
          serial += 1;
          return [1, 2, 3].map((i) => customer(`b2b-${serial}-${i}@example.com`, i === 3 ? "DE" : "AT"));
        },
        product: () => {
          serial += 1;
          return [1, 2, 3].map((i) =>
            product(`NEW-${serial}-${i}`, [`NEW-${serial}-${i}-X`, `NEW-${serial}-${i}-Y`]),
          );
        },
        price: () => {
          serial += 1;
          return w.skus.slice(0, 3).map((sku, i) => price(`LIST${serial}`, sku, `1${i}.00`));
        },
        shipment: () => {
          const three = shipmentPool.slice(0, 3);
          shipmentPool = shipmentPool.slice(3);
          assert.equal(three.length, 3, "the order pool for shipments ran out");
          return three.map((o) => shipment(o.code, `TRK-${++serial}`));
        },
        invoice: () =>
          [0, 1, 2].map(() => {
            const o = w.orders[invoicePool++ % w.orders.length];
            return invoice(o?.code ?? "", `INV-${++serial}`);
          }),
      },
      rejects: {
        // A name in a language the channel does not offer.
        category: () => ({ ...category(`CAT-BAD-${++serial}`, "Bad"), translations: { ja: "悪い" } }),
        customer: () => customer(`nowhere-${++serial}@example.com`, "ZZ"),
        product: () => product(`BAD-${++serial}`, [`BAD-${serial}`], "1.00", "USD"),
        price: () => price("LISTBAD", `NO-SUCH-SKU-${++serial}`, "1.00"),
        shipment: () => shipment("NO-SUCH-ORDER", `TRK-BAD-${++serial}`),
        invoice: () => invoice("NO-SUCH-ORDER", `INV-BAD-${++serial}`),
      },
      async touch(entity, id) {
        if (entity === "customer") {
          await admin("mutation($i:UpdateCustomerInput!){updateCustomer(input:$i){__typename}}", {
            i: { id, phoneNumber: `+49 30 ${Date.now() % 1_000_000}` },
          });
        } else {
          await admin("mutation($i:UpdateOrderInput!){setOrderCustomFields(input:$i){id}}", {
            i: { id, customFields: { invoiceNumber: `TOUCH-${Date.now()}` } },
          });
        }
      },
      normalise: {
        // Read back by the product stream (two-way product content): what the shop shows of it.
        product: (p) => {
          const r = p as Product;
          return {
            title: r.title,
            description: r.description ?? "",
            variants: r.variants.map((v) => ({ sku: v.sku, price: v.price, options: v.options })),
          };
        },
        customer: (c) => {
          const r = c as Customer;
          return { email: r.email, name: [r.firstName, r.lastName].filter(Boolean).join(" ") };
        },
      },
      // Every call of the suite's connection (a real Vendure counts no writes): only ever a lower bound.
      writes: (c) => c.stats().calls,
      teardown: async () => {},
    };
  },
  "vendure (real)",
);

describe("vendure (real): orders, prices, stock and bad input", () => {
  let w: World;
  before(async () => {
    w = await world;
  });
  after(async () => {
    await w?.vendure.stop();
    if (w) rmSync(w.dir, { recursive: true, force: true });
  });

  test("placed orders map to canonical orders whose money adds up to Vendure's totalWithTax", async () => {
    const connector = createVendureConnector("vendure", w.config);
    const stream = connector.streams.order!;
    let discounted = 0;
    for await (const page of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 50 })) {
      for (const native of page) {
        const order = Order.parse(await stream.toCanonical(native));
        const check = orderTotalCheck(order);
        assert.ok(check.ok, `${order.number}: ${JSON.stringify(check)}`);
        assert.equal(
          Math.round(Number(order.total) * 100),
          VendureOrder.parse(native).totalWithTax,
          order.number,
        );
        assert.equal(order.financialStatus, "paid");
        assert.ok(order.shipping, `${order.number} has no shipping`);
        if (order.lines.some((l) => l.discount !== "0.00")) discounted += 1;
      }
    }
    assert.ok(discounted >= 3, `expected the coupon orders to carry line discounts, got ${discounted}`);
  });

  test("prices land in the price list's channel and stock at the named stock location", async () => {
    const connector = createVendureConnector("vendure", w.config);
    const admin = await vendureAdmin(w.vendure);
    const sku = w.skus[0] ?? "";
    const res = await connector.writers.price!.upsert(
      [
        {
          key: `WHOLESALE:${sku}`,
          targetId: null,
          externalRef: `WHOLESALE:${sku}`,
          record: {
            source: "erp",
            sourceId: "p1",
            updatedAt: at,
            key: `WHOLESALE:${sku}`,
            priceList: { code: "WHOLESALE", name: "Wholesale", customerGroup: "Wholesale", currency: "EUR" },
            sku,
            price: "9.99",
            tiers: [],
          },
        },
      ],
      noLinks,
    );
    assert.ok(res[0]?.ok, JSON.stringify(res[0]));
    const ch = await admin<{ channels: { items: { code: string; token: string }[] } }>(
      '{channels(options:{filter:{code:{eq:"WHOLESALE"}}}){items{code token}}}',
    );
    const token = ch.channels.items[0]?.token;
    assert.ok(token);
    const inChannel = await admin<{ productVariants: { items: { sku: string; price: number }[] } }>(
      "query($s:String!){productVariants(options:{filter:{sku:{eq:$s}}}){items{sku price}}}",
      { s: sku },
      token,
    );
    assert.deepEqual(inChannel.productVariants.items, [{ sku, price: 999 }]);
    const groups = await admin<{ customerGroups: { items: { name: string }[] } }>(
      "{customerGroups{items{name}}}",
    );
    assert.ok(groups.customerGroups.items.some((g) => g.name === "Wholesale"));

    const stock = await connector.writers.inventory!.upsert(
      [
        {
          key: `${sku}@WH2`,
          targetId: null,
          externalRef: `${sku}@WH2`,
          record: {
            source: "erp",
            sourceId: sku,
            updatedAt: at,
            key: `${sku}@WH2`,
            sku,
            location: "WH2",
            onHand: 17,
            reserved: 2,
            safetyStock: 0,
            available: 15,
          },
        },
        {
          key: `${sku}@NOWHERE`,
          targetId: null,
          externalRef: `${sku}@NOWHERE`,
          record: {
            source: "erp",
            sourceId: sku,
            updatedAt: at,
            key: `${sku}@NOWHERE`,
            sku,
            location: "NOWHERE",
            onHand: 1,
            reserved: 0,
            safetyStock: 0,
            available: 1,
          },
        },
      ],
      noLinks,
    );
    const byKey = new Map(stock.map((r) => [r.key, r]));
    assert.ok(byKey.get(`${sku}@WH2`)?.ok);
    const bad = byKey.get(`${sku}@NOWHERE`);
    assert.ok(bad && !bad.ok && bad.error.message.includes('"NOWHERE"'), JSON.stringify(bad));
    const levels = await admin<{
      productVariants: {
        items: {
          stockLevels: { stockLocation: { name: string }; stockOnHand: number; stockAllocated: number }[];
        }[];
      };
    }>(
      "query($s:String!){productVariants(options:{filter:{sku:{eq:$s}}}){items{stockLevels{stockLocation{name} stockOnHand stockAllocated}}}}",
      { s: sku },
    );
    const east = levels.productVariants.items[0]?.stockLevels.find(
      (l) => l.stockLocation.name === "East Warehouse",
    );
    // What a shopper can buy there is what the ERP has available to sell: 17 on hand − 2 reserved.
    assert.equal((east?.stockOnHand ?? 0) - (east?.stockAllocated ?? 0), 15);
  });

  test("an invoice field the Vendure schema lacks fails each record naming the field, the record and the system", async () => {
    const connector = createVendureConnector("vendure", {
      ...w.config,
      invoiceFields: { number: "erpInvoiceNo", document: "erpInvoicePdf" },
    });
    const code = w.orders[0]?.code ?? "";
    const [result] = await connector.writers.invoice!.upsert(
      [
        {
          key: "INV-X",
          targetId: null,
          externalRef: "INV-X",
          record: {
            source: "erp",
            sourceId: "1",
            updatedAt: at,
            key: "INV-X",
            number: "INV-X",
            kind: "invoice",
            orderKey: `vendure:${code}`,
            currency: "EUR",
            totalTax: "0",
            total: "1",
            issuedAt: at,
          },
        },
      ],
      noLinks,
    );
    assert.ok(result && !result.ok, JSON.stringify(result));
    assert.equal(result.error.kind, "permanent");
    assert.equal(result.error.details.system, "vendure");
    assert.match(result.error.message, /INV-X/);
    assert.match(result.error.message, /erpInvoiceNo/);
    assert.match(result.error.message, /Vendure \(vendure\)/);
  });

  test("a product changed in the ERP is updated in place: new price, a variant added, one removed", async () => {
    const connector = createVendureConnector("vendure", w.config);
    const writer = connector.writers.product!;
    const admin = await vendureAdmin(w.vendure);
    const first = product("EVOLVE", ["EVOLVE-S", "EVOLVE-M"], "20.00");
    const [created] = await writer.upsert(
      [{ key: first.key, record: first, targetId: null, externalRef: first.key }],
      noLinks,
    );
    assert.ok(created?.ok, JSON.stringify(created));
    const changed = product("EVOLVE", ["EVOLVE-M", "EVOLVE-L"], "24.50");
    const [updated] = await writer.upsert(
      [{ key: changed.key, record: changed, targetId: created.targetId, externalRef: changed.key }],
      noLinks,
    );
    assert.ok(
      updated?.ok && updated.action === "updated" && updated.targetId === created.targetId,
      JSON.stringify(updated),
    );
    const read = await admin<{
      product: { variants: { sku: string; price: number; options: { name: string }[] }[] };
    }>("query($id:ID!){product(id:$id){variants{sku price options{name}}}}", { id: created.targetId });
    assert.deepEqual(
      read.product.variants.map((v) => [v.sku, v.price, v.options.map((o) => o.name)]).sort(),
      [
        ["EVOLVE-L", 2450, ["2"]],
        ["EVOLVE-M", 2450, ["1"]],
      ],
    );
    const [again] = await writer.upsert(
      [{ key: changed.key, record: changed, targetId: created.targetId, externalRef: changed.key }],
      noLinks,
    );
    assert.equal(again?.ok && again.action, "unchanged");
  });

  test("wrong credentials name the system and never show the password", async () => {
    const connector = createVendureConnector("shop", { ...w.config, password: "not-the-password" });
    const err = await connector.check().then(
      () => assert.fail("check() accepted a wrong password"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SyncError);
    assert.equal(err.kind, "config");
    assert.match(err.message, /shop/);
    assert.doesNotMatch(JSON.stringify(err.toJSON()), /not-the-password/);
  });
});
