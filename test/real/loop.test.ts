/**
 * The whole loop against the real systems: Tryton (ERP) ⇄ Vendure (shop), driven through Passerelle's own
 * CLI with a generated passerelle.yaml. Every assertion reads the real systems back (Tryton over JSON-RPC,
 * Vendure over its Admin API), never Passerelle's store.
 *
 *   catalog   50 products (every fifth with three sizes), two price lists for two customer groups and stock
 *             in two warehouses, Tryton → Vendure
 *   orders    three orders placed through Vendure's Shop API checkout (one with a coupon, one with several
 *             lines and express shipping) → confirmed Tryton sales with the same customer, lines and totals
 *   shipping  Tryton ships them with a tracking reference and posts the invoices → Vendure fulfilments
 *             with that tracking code, the invoice and the delivery note on the order, whose documents
 *             Passerelle fetches as PDF, the delivery note's ref in the shipment's trace
 *   again     a second sync of every flow changes nothing anywhere
 *   links     with documentLinks, the order's invoice and delivery note become signed links that
 *             `passerelle run` answers with the PDFs
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Big from "big.js";
import {
  CATALOG_FLOWS,
  ORDER_FLOWS,
  pairYaml,
  trytonConnection,
  vendureConnection,
} from "../../scripts/real/pair-config.mjs";
import {
  fulfilSale,
  type SeedResult,
  type StartedTryton,
  seedTryton,
  startTryton,
  type TrytonSession,
  trytonAvailable,
  trytonSession,
} from "../../scripts/real/tryton.mjs";
import { type RunningVendure, startVendure, vendureVersion } from "../../scripts/real/vendure.mjs";
import {
  createCoupon,
  placeShopOrder,
  type VendureAdmin,
  variantIds,
  vendureAdmin,
} from "../../scripts/real/vendure-shop.ts";
import { spawnCli as cli } from "../e2e/helpers.ts";
import { startCli } from "../e2e/long-running.ts";
import { closedPort } from "../helpers/net.ts";

const LOCATIONS: Record<string, string> = { WH: "Main Warehouse", WH2: "East Warehouse" };

interface RunJson {
  flow: string;
  status: string;
  counts: { read: number; created: number; updated: number; skipped: number; failed: number };
}

async function sync(env: NodeJS.ProcessEnv, flows: string[]): Promise<RunJson[]> {
  const res = await cli(["sync", ...flows, "--json"], env);
  let runs: RunJson[];
  try {
    runs = (JSON.parse(res.stdout) as { runs: RunJson[] }).runs;
  } catch {
    assert.fail(
      `passerelle sync ${flows.join(" ")} printed no JSON (exit ${res.code}):\n${res.stdout}\n${res.stderr}`,
    );
  }
  const failures = await cli(["failures", "list", "--json"], env);
  assert.equal(
    res.code,
    0,
    `passerelle sync ${flows.join(" ")} exit ${res.code}: ${JSON.stringify(runs)}\n${res.stderr}\n${failures.stdout}`,
  );
  return runs;
}

function yamlConfig(
  dir: string,
  erp: StartedTryton,
  shop: RunningVendure,
  opts: { store?: string; shopExtra?: string[] } = {},
): string {
  return pairYaml({
    dir,
    ...(opts.store ? { store: opts.store } : {}),
    erp: trytonConnection(erp),
    shop: [
      ...vendureConnection(shop, LOCATIONS),
      "deliveryNoteField: deliveryNotes",
      ...(opts.shopExtra ?? []),
    ],
    flows: [...CATALOG_FLOWS, ...ORDER_FLOWS, ["invoices", "erp", "invoice"]],
  });
}

const money = (d: unknown): string => {
  if (d && typeof d === "object" && "decimal" in d)
    return new Big(String((d as { decimal: unknown }).decimal)).toFixed(2);
  return new Big(String(d)).toFixed(2);
};
const minor = (d: unknown): number => Number(new Big(money(d)).times(100).toFixed(0));
const nested = (row: Record<string, unknown>, field: string): Record<string, unknown> =>
  (row[`${field}.`] as Record<string, unknown> | undefined) ?? {};

interface ShopVariant {
  sku: string;
  price: number;
  stockLevels: { stockOnHand: number; stockLocation: { name: string } }[];
}

async function shopVariants(admin: VendureAdmin, channelToken?: string): Promise<Map<string, ShopVariant>> {
  const data = await admin<{ productVariants: { items: ShopVariant[] } }>(
    "{productVariants(options:{take:1000}){items{sku price stockLevels{stockOnHand stockLocation{name}}}}}",
    {},
    channelToken,
  );
  return new Map(data.productVariants.items.map((v) => [v.sku, v]));
}

const ready = trytonAvailable();
const skip = !ready.ok ? ready.missing : vendureVersion() === null ? "@vendure/core is not installed" : false;

describe("Tryton ⇄ Vendure through the passerelle CLI", { skip: skip || false, timeout: 15 * 60_000 }, () => {
  let dir: string;
  let erp: StartedTryton;
  let shop: RunningVendure;
  let seed: SeedResult;
  let env: NodeJS.ProcessEnv;
  let admin: VendureAdmin;
  let session: TrytonSession;
  const placed: { code: string; id: string; totalWithTax: number }[] = [];
  const sales = new Map<string, number>();
  const started = Date.now();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-loop-"));
    [erp, shop] = await Promise.all([
      startTryton({ dir: join(dir, "erp") }),
      startVendure({ dir: join(dir, "shop") }),
    ]);
    seed = await seedTryton(erp, { products: 50 });
    session = await trytonSession(erp);
    // Vendure rounds tax per order line; a Tryton that sells for that shop rounds the same way, otherwise
    // a sale of several lines can differ from the shop's total by a cent.
    await session.model("account.configuration", "write", [1], { tax_rounding: "line" });
    admin = await vendureAdmin(shop);
    const config = join(dir, "passerelle.yaml");
    writeFileSync(config, yamlConfig(dir, erp, shop));
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      TRYTON_PASSWORD: erp.password,
      VENDURE_PASSWORD: shop.adminPassword,
      PASSERELLE_LOG_LEVEL: "warn",
    };
    console.log(
      `# systems up in ${Date.now() - started} ms (tryton start ${erp.timings.startMs} ms, vendure seed ${shop.timings.seedMs} ms, start ${shop.timings.startMs} ms)`,
    );
  });

  after(async () => {
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`# loop suite wall time ${Date.now() - started} ms`);
  });

  test("catalog, two price lists and stock in two warehouses reach Vendure", async () => {
    const runs = await sync(env, ["products", "prices", "stock"]);
    for (const r of runs) assert.equal(r.counts.failed, 0, `${r.flow}: ${JSON.stringify(r.counts)}`);

    const products = await admin<{ products: { totalItems: number } }>("{products{totalItems}}");
    assert.equal(products.products.totalItems, 50);
    const erpVariants = await session.find(
      "product.product",
      [["code", "in", seed.skus]],
      ["code", "template.list_price"],
    );
    assert.equal(erpVariants.length, seed.skus.length);
    assert.ok(seed.skus.length > 50, "some products have variants");
    const base = await shopVariants(admin);
    for (const v of erpVariants) {
      const code = String(v.code);
      assert.equal(base.get(code)?.price, minor(nested(v, "template").list_price), `list price of ${code}`);
    }

    // Each Tryton price list is a Vendure channel with the list's price for every variant.
    const channels = await admin<{ channels: { items: { code: string; token: string }[] } }>(
      "{channels{items{code token}}}",
    );
    for (const list of seed.priceLists) {
      const [line] = await session.find(
        "product.price_list.line",
        [["price_list", "=", list.id]],
        ["formula"],
      );
      const factor = /unit_price \* ([\d.]+)/.exec(String(line?.formula ?? ""))?.[1];
      assert.ok(factor, `formula of ${list.name}: ${String(line?.formula)}`);
      const channel = channels.channels.items.find((c) => c.code === list.name.toLowerCase());
      assert.ok(channel, `no Vendure channel for price list ${list.name}`);
      const inList = await shopVariants(admin, channel.token);
      for (const v of erpVariants) {
        const code = String(v.code);
        const expected = minor(new Big(money(nested(v, "template").list_price)).times(factor).toFixed(2));
        assert.equal(inList.get(code)?.price, expected, `${list.name} price of ${code}`);
      }
    }
    const groups = await admin<{ customerGroups: { items: { name: string }[] } }>(
      "{customerGroups{items{name}}}",
    );
    assert.equal(groups.customerGroups.items.length, 2, JSON.stringify(groups));

    // Stock per warehouse, as Tryton counts it in each warehouse.
    const warehouses = await session.find("stock.location", [["type", "=", "warehouse"]], ["code"]);
    assert.equal(warehouses.length, 2);
    for (const wh of warehouses) {
      const qty = await session.find("product.product", [["code", "in", seed.skus]], ["code", "quantity"], {
        locations: [wh.id],
      });
      const name = LOCATIONS[String(wh.code)];
      for (const q of qty) {
        const level = base.get(String(q.code))?.stockLevels.find((l) => l.stockLocation.name === name);
        assert.equal(level?.stockOnHand, Number(q.quantity), `${String(q.code)} in ${String(wh.code)}`);
      }
    }
  });

  test("three orders placed through Vendure's checkout become confirmed Tryton sales", async () => {
    await createCoupon(admin, "LOOP10", 10);
    const ids = await variantIds(admin, seed.skus);
    const sku = (i: number) => {
      const s = seed.skus[i];
      assert.ok(s && ids.has(s), `no variant ${String(s)}`);
      return ids.get(s) as string;
    };
    const variantSku = seed.skus.find((s) => /-[SML]$/.test(s));
    assert.ok(variantSku, "the seed has size variants");
    placed.push(
      await placeShopOrder(shop, {
        email: "ada.coupon@example.com",
        firstName: "Ada",
        lastName: "Coupon",
        lines: [{ variantId: sku(0), quantity: 1 }],
        couponCode: "LOOP10",
      }),
      await placeShopOrder(shop, {
        email: "bob.lines@example.com",
        firstName: "Bob",
        lastName: "Lines",
        lines: [
          { variantId: sku(1), quantity: 2 },
          { variantId: sku(2), quantity: 1 },
          { variantId: ids.get(variantSku) ?? "", quantity: 3 },
        ],
        shippingMethodCode: "express-shipping",
        address: { streetLine1: "Ringstraße 5", city: "Wien", postalCode: "1010", countryCode: "AT" },
      }),
      await placeShopOrder(shop, {
        email: "cleo.plain@example.com",
        firstName: "Cleo",
        lastName: "Plain",
        lines: [{ variantId: sku(3), quantity: 2 }],
      }),
    );

    const runs = await sync(env, ["customers", "orders"]);
    const orders = runs.find((r) => r.flow === "orders");
    assert.equal(orders?.counts.created, 3, JSON.stringify(runs));

    for (const p of placed) {
      const shopOrder = await admin<{
        order: {
          customer: { emailAddress: string };
          lines: { quantity: number; productVariant: { sku: string } }[];
          total: number;
          totalWithTax: number;
          couponCodes: string[];
        };
      }>(
        "query($id:ID!){order(id:$id){customer{emailAddress} lines{quantity productVariant{sku}} total totalWithTax couponCodes}}",
        { id: p.id },
      );
      const o = shopOrder.order;
      const [sale] = await session.find(
        "sale.sale",
        [["reference", "=", `shop:${p.code}`]],
        ["state", "party", "total_amount", "untaxed_amount", "tax_amount", "lines"],
      );
      assert.ok(sale, `no Tryton sale for ${p.code}`);
      sales.set(p.code, sale.id);
      assert.ok(
        ["confirmed", "processing"].includes(String(sale.state)),
        `${p.code}: sale is ${String(sale.state)}`,
      );
      const [party] = await session
        .model("party.party", "read", [sale.party], ["email"])
        .then((r) => r as { email: string }[]);
      assert.equal(party?.email, o.customer.emailAddress, `${p.code}: customer`);
      const lines = await session.find(
        "sale.line",
        [
          ["sale", "=", sale.id],
          ["type", "=", "line"],
        ],
        ["product.code", "quantity"],
      );
      const goods = new Map<string, number>();
      for (const l of lines) {
        const code = String(nested(l, "product").code ?? "");
        if (seed.skus.includes(code)) goods.set(code, (goods.get(code) ?? 0) + Number(l.quantity));
      }
      const ordered = new Map<string, number>();
      for (const l of o.lines)
        ordered.set(l.productVariant.sku, (ordered.get(l.productVariant.sku) ?? 0) + l.quantity);
      assert.deepEqual(goods, ordered, `${p.code}: lines and quantities`);
      assert.equal(minor(sale.total_amount), o.totalWithTax, `${p.code}: total`);
      assert.equal(minor(sale.untaxed_amount), o.total, `${p.code}: total without tax`);
      if (o.couponCodes.length > 0) assert.ok(o.total < o.totalWithTax);
    }
    assert.ok(
      placed.some((p) => p.code),
      "orders placed",
    );
  });

  test("Tryton ships with a tracking reference: Vendure shows the fulfilments, the invoice and the delivery note", async () => {
    assert.equal(sales.size, 3, "the orders test must have run");
    const shipped = new Map<string, number[]>();
    for (const [code, saleId] of sales)
      shipped.set(code, (await fulfilSale(erp, saleId, `TRACK-${code}`)).shipments as number[]);
    const runs = await sync(env, ["shipments", "invoices", "stock"]);
    assert.equal(runs.find((r) => r.flow === "shipments")?.counts.created, 3, JSON.stringify(runs));
    assert.equal(runs.find((r) => r.flow === "invoices")?.counts.created, 3, JSON.stringify(runs));

    for (const p of placed) {
      const data = await admin<{
        order: {
          state: string;
          fulfillments: { state: string; trackingCode: string | null; method: string }[];
          customFields: {
            invoiceNumber: string | null;
            invoiceDocument: string | null;
            deliveryNotes: string[] | null;
          };
        };
      }>(
        "query($id:ID!){order(id:$id){state fulfillments{state trackingCode method} customFields{invoiceNumber invoiceDocument deliveryNotes}}}",
        { id: p.id },
      );
      const o = data.order;
      assert.deepEqual(
        o.fulfillments.map((f) => [f.state, f.trackingCode]),
        [["Shipped", `TRACK-${p.code}`]],
        p.code,
      );
      assert.equal(o.state, "Shipped", p.code);

      const saleId = sales.get(p.code) ?? 0;
      const [sale] = await session
        .model("sale.sale", "read", [saleId], ["invoices"])
        .then((r) => r as { invoices: number[] }[]);
      const invoices = await session
        .model("account.invoice", "read", sale?.invoices ?? [], ["number", "state", "total_amount"])
        .then((r) => r as { id: number; number: string; state: string; total_amount: unknown }[]);
      const posted = invoices.find((i) => i.state === "posted" || i.state === "paid");
      assert.ok(posted, `${p.code}: no posted invoice in Tryton`);
      assert.equal(
        o.customFields.invoiceNumber,
        posted.number,
        `${p.code}: invoice number on the Vendure order`,
      );
      assert.equal(minor(posted.total_amount), p.totalWithTax, `${p.code}: invoice total`);

      // The invoice's document ref reached the Vendure order; Passerelle fetches the PDF by it from Tryton's
      // report service (trytond converts its OpenDocument template with LibreOffice when posting).
      const ref = o.customFields.invoiceDocument;
      assert.equal(ref, `erp:account.invoice/${posted.id}`, `${p.code}: document ref on the Vendure order`);
      const file = join(dir, `${p.code}.pdf`);
      const fetched = await cli(["document", "erp", ref, "--out", file, "--json"], env);
      assert.equal(fetched.code, 0, `passerelle document: ${fetched.stdout}\n${fetched.stderr}`);
      assert.equal((JSON.parse(fetched.stdout) as { mimeType: string }).mimeType, "application/pdf");
      const bytes = readFileSync(file);
      assert.ok(bytes.length > 5000, `${p.code}: ${bytes.length} bytes`);
      assert.equal(bytes.subarray(0, 5).toString("latin1"), "%PDF-", `${p.code}: PDF magic`);
      console.log(`# ${p.code}: invoice ${posted.number}, ${ref} → ${bytes.length} bytes of PDF`);

      // The delivery note: its ref on the order beside the invoice's, the PDF fetched by it (Tryton renders
      // stock.shipment.out.delivery_note afresh), and the ref in the shipment's trace.
      const [shipmentId] = shipped.get(p.code) ?? [];
      const noteRef = `erp:stock.shipment.out/${shipmentId}`;
      assert.deepEqual(o.customFields.deliveryNotes, [noteRef], `${p.code}: delivery note on the order`);
      const noteFile = join(dir, `${p.code}-delivery-note.pdf`);
      const note = await cli(["document", "erp", noteRef, "--out", noteFile, "--json"], env);
      assert.equal(note.code, 0, `passerelle document: ${note.stdout}\n${note.stderr}`);
      const noteBytes = readFileSync(noteFile);
      assert.equal(
        noteBytes.subarray(0, 5).toString("latin1"),
        "%PDF-",
        `${p.code}: delivery note PDF magic`,
      );
      assert.ok(noteBytes.length > 5000, `${p.code}: delivery note ${noteBytes.length} bytes`);
      const [shipment] = await session
        .model("stock.shipment.out", "read", [shipmentId], ["number"])
        .then((r) => r as { number: string }[]);
      const trace = await cli(["trace", "shipment", `erp:${shipment?.number}`, "--json"], env);
      assert.equal(trace.code, 0, trace.stderr);
      assert.match(trace.stdout, new RegExp(`delivery note ${noteRef} on order ${p.code}`), trace.stdout);
      console.log(`# ${p.code}: delivery note ${noteRef} → ${noteBytes.length} bytes of PDF`);
    }
  });

  test("a second sync of every flow changes nothing", async () => {
    const before = await admin<{
      orders: { items: { updatedAt: string }[] };
      products: { items: { updatedAt: string }[] };
    }>("{orders(options:{take:100}){items{updatedAt}} products(options:{take:100}){items{updatedAt}}}");
    const salesBefore = await session.find("sale.sale", [], ["write_date"]);
    const runs = await sync(env, []);
    for (const r of runs) {
      assert.equal(
        r.counts.created + r.counts.updated + r.counts.failed,
        0,
        `${r.flow}: ${JSON.stringify(r.counts)}`,
      );
    }
    const afterwards = await admin<typeof before>(
      "{orders(options:{take:100}){items{updatedAt}} products(options:{take:100}){items{updatedAt}}}",
    );
    assert.deepEqual(afterwards, before, "Vendure records changed");
    assert.deepEqual(
      await session.find("sale.sale", [], ["write_date"]),
      salesBefore,
      "Tryton sales changed",
    );
  });

  test("a Vendure without the invoice custom fields fails each invoice naming the field; the run goes on", async () => {
    // The same systems, a fresh store, and field names the Vendure config does not declare.
    const config = join(dir, "mismatch.yaml");
    writeFileSync(
      config,
      yamlConfig(dir, erp, shop, {
        store: "mismatch.sqlite",
        shopExtra: ["invoiceFields: { number: erpInvoiceNo, document: erpInvoicePdf }"],
      }),
    );
    const mismatchEnv = { ...env, PASSERELLE_CONFIG: config };
    const res = await cli(["sync", "invoices", "shipments", "--json"], mismatchEnv);
    assert.equal(res.code, 1, `exit ${res.code}: ${res.stdout}\n${res.stderr}`);
    const runs = (JSON.parse(res.stdout) as { runs: RunJson[] }).runs;
    assert.deepEqual(
      runs.map((r) => [r.flow, r.status, r.counts.failed]),
      [
        ["invoices", "partial", 3],
        ["shipments", "succeeded", 0],
      ],
      JSON.stringify(runs),
    );
    const listed = await cli(["failures", "list", "--json"], mismatchEnv);
    const text = listed.stdout;
    assert.match(text, /erpInvoiceNo/);
    assert.match(text, /Vendure \(shop\)/);
    for (const p of placed) assert.ok(text.includes(p.code), `no failure names order ${p.code}`);
    assert.doesNotMatch(text + res.stderr, new RegExp(shop.adminPassword));
  });

  test("with documentLinks, the Vendure order carries signed links that passerelle run answers with the PDFs", async () => {
    // The same store: turning links on changes each invoice's and shipment's document; records already
    // synced are read again with --all-records (the cursor is past them) and each is rewritten once.
    const port = await closedPort();
    const base = `http://127.0.0.1:${port}`;
    const config = join(dir, "links.yaml");
    writeFileSync(
      config,
      `${pairYaml({
        dir,
        erp: trytonConnection(erp),
        shop: [...vendureConnection(shop, LOCATIONS), "deliveryNoteField: deliveryNotes"],
        flows: [
          ["shipments", "erp", "shipment", ["documentLinks: true"]],
          ["invoices", "erp", "invoice", ["documentLinks: true"]],
        ],
      })}server:\n  documentLinks: { secret: "\${env:LINK_SECRET}", publicUrl: "${base}", days: 3650 }\n`,
    );
    const secret = "loop-test-link-secret-0123456789abcdef";
    const linksEnv = { ...env, PASSERELLE_CONFIG: config, LINK_SECRET: secret };
    const runs = await sync(linksEnv, ["shipments", "invoices", "--all-records"]);
    assert.deepEqual(
      runs.map((r) => [r.flow, r.counts.updated, r.counts.failed]),
      [
        ["shipments", 3, 0],
        ["invoices", 3, 0],
      ],
      JSON.stringify(runs),
    );
    const again = await sync(linksEnv, ["shipments", "invoices", "--all-records"]);
    for (const r of again)
      assert.equal(r.counts.updated + r.counts.created, 0, `${r.flow}: the same link again`);

    const server = startCli(["run", "--port", String(port)], linksEnv);
    try {
      await server.waitFor("stderr", /Listening on http:\/\/127\.0\.0\.1:\d+/);
      for (const p of placed) {
        const data = await admin<{
          order: { customFields: { invoiceDocument: string | null; deliveryNotes: string[] | null } };
        }>("query($id:ID!){order(id:$id){customFields{invoiceDocument deliveryNotes}}}", { id: p.id });
        const { invoiceDocument, deliveryNotes } = data.order.customFields;
        assert.equal(
          deliveryNotes?.length,
          1,
          `${p.code}: the note's link replaced its ref: ${deliveryNotes}`,
        );
        for (const [what, link] of [
          ["invoice", invoiceDocument],
          ["delivery note", deliveryNotes?.[0]],
        ] as const) {
          assert.ok(link?.startsWith(`${base}/documents/erp?ref=erp%3A`), `${p.code}: ${what} link ${link}`);
          const res = await fetch(String(link));
          assert.equal(res.status, 200, `${p.code}: ${what}: ${await res.clone().text()}`);
          assert.equal(res.headers.get("content-type"), "application/pdf");
          const bytes = Buffer.from(await res.arrayBuffer());
          assert.equal(bytes.subarray(0, 5).toString("latin1"), "%PDF-", `${p.code}: ${what} PDF magic`);
        }
      }
    } finally {
      const stopped = await server.stop();
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.ok(
        !(stopped.stdout + stopped.stderr).includes(secret),
        "the link secret in the server's output",
      );
    }
  });
});
