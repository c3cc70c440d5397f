/**
 * Tryton (ERP) ⇄ WooCommerce (shop) through Passerelle's CLI, as a merchant in Germany runs them: EUR, 19 %
 * VAT, a flat shipping rate, cash on delivery. Every assertion reads the real systems back, never
 * Passerelle's store (but for the trace a user reads with `passerelle trace`). Passerelle talks to both
 * systems through a counting proxy, so the API calls of each scenario, and the write calls of a rerun, are
 * counted on the wire.
 *
 *   catalog     templates with sizes become variable products; the base price is the regular price; the
 *               customer-group lists are skipped as not supported, with the reason; stock of the shop's
 *               warehouse is what Tryton has available there, the other warehouse skipped with the reason
 *   order       a registered customer's order placed through WooCommerce's Store API checkout becomes a
 *               confirmed Tryton sale with the same lines and totals
 *   ship        a partial shipment in Tryton notes its tracking in the shop and leaves the order
 *               processing; the rest completes it
 *   invoice     the posted Tryton invoice reaches the order as meta and a customer note
 *   cancel      an order cancelled in the shop is withdrawn in Tryton; a sale withdrawn in Tryton cancels
 *               the shop order
 *   customer    a customer's later edits (phone, e-mail, street) change the Tryton party in place
 *   phone sale  a sale entered in Tryton alone: its shipment and invoice are skipped for the shop, with the reason
 *   rerun       a second sync of every flow writes nothing to either system
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  CATALOG_FLOWS,
  envRef,
  ORDER_FLOWS,
  pairYaml,
  trytonConnection,
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
import { type StartedWoo, startWoo, wooAvailable } from "../../scripts/real/woocommerce.mjs";
import { spawnCli as cli } from "../e2e/helpers.ts";
import { erpAvailable, phoneSale, saleOf, withdrawSale } from "./merchant-people.ts";

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
    held: number;
    calls: number;
  };
}

/** A proxy that forwards everything to `target` and counts the calls, and those that write. */
interface Counter {
  url: string;
  calls: number;
  writes: string[];
  close(): Promise<void>;
}

/** Tryton RPC methods that only read. */
const TRYTON_READS =
  /^(common\.|system\.|report\.)|\.(read|search|search_read|search_count|fields_get|default_get|get_preferences)$/;

async function countingProxy(
  target: string,
  isWrite: (method: string, path: string, body: string) => string | null,
) {
  const to = new URL(target);
  const counter: Counter = { url: "", calls: 0, writes: [], close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      counter.calls++;
      const w = isWrite(req.method ?? "GET", req.url ?? "/", body.toString("utf8"));
      if (w) counter.writes.push(w);
      const fwd = request(
        {
          host: to.hostname,
          port: to.port,
          method: req.method,
          path: `${to.pathname.replace(/\/$/, "")}${req.url}`,
          headers: { ...req.headers, host: to.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      fwd.on("error", (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      fwd.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  counter.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  counter.close = () => new Promise<void>((done) => server.close(() => done()));
  return counter;
}

const ready = trytonAvailable();
const woo = wooAvailable();
const skip = !ready.ok ? ready.missing : !woo.ok ? woo.missing : false;

describe("Tryton ⇄ WooCommerce through the CLI", { skip: skip || false, timeout: 15 * 60_000 }, () => {
  let dir: string;
  let erp: StartedTryton;
  let shop: StartedWoo;
  let seed: SeedResult;
  let env: NodeJS.ProcessEnv;
  let session: TrytonSession;
  let erpProxy: Counter;
  let shopProxy: Counter;
  const productIds = new Map<string, number>();

  /** The shop's REST API as its admin uses it (outside Passerelle, outside the proxy). */
  async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${shop.url}/wp-json/wc/v3${path}`, {
      method,
      headers: { authorization: shop.basicAuth, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 400)}`);
    return JSON.parse(text) as T;
  }

  /** An order as a shopper places it: WooCommerce's Store API cart and checkout (Cart-Token and Nonce). */
  async function checkout(email: string, lines: [string, number][]): Promise<{ id: number; total: string }> {
    const store = `${shop.url}/wp-json/wc/store/v1`;
    const first = await fetch(`${store}/cart`);
    await first.text();
    const headers = {
      "content-type": "application/json",
      Nonce: first.headers.get("nonce") ?? "",
      "Cart-Token": first.headers.get("cart-token") ?? "",
    };
    for (const [sku, quantity] of lines) {
      const id = productIds.get(sku);
      assert.ok(id, `no shop product or variation ${sku}`);
      const res = await fetch(`${store}/cart/add-item`, {
        method: "POST",
        headers,
        body: JSON.stringify({ id, quantity }),
      });
      assert.equal(res.status, 201, `add ${sku}: ${(await res.text()).slice(0, 300)}`);
    }
    const address = {
      first_name: "Greta",
      last_name: "Kundin",
      address_1: "Hauptstraße 5",
      city: "Berlin",
      postcode: "10115",
      country: "DE",
    };
    const res = await fetch(`${store}/checkout`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        billing_address: { ...address, email, phone: "+49 30 5555" },
        shipping_address: address,
        payment_method: "cod",
      }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, `checkout: ${text.slice(0, 400)}`);
    const placed = JSON.parse(text) as { order_id: number; status: string };
    const order = await api<{ id: number; total: string }>("GET", `/orders/${placed.order_id}`);
    return { id: order.id, total: order.total };
  }

  /** `passerelle sync <flows> --json`, with the calls each system answered through the proxies. */
  async function sync(flows: string[], label: string, expectCode = 0) {
    const c0 = { erp: erpProxy.calls, shop: shopProxy.calls };
    const w0 = { erp: erpProxy.writes.length, shop: shopProxy.writes.length };
    const res = await cli(["sync", ...flows, "--json"], env);
    let runs: RunJson[];
    try {
      runs = (JSON.parse(res.stdout) as { runs: RunJson[] }).runs;
    } catch {
      assert.fail(
        `passerelle sync ${flows.join(" ")} printed no JSON (exit ${res.code}):\n${res.stdout}\n${res.stderr}`,
      );
    }
    if (res.code !== expectCode) {
      const failures = await cli(["failures", "list", "--json"], env);
      assert.fail(
        `passerelle sync ${flows.join(" ")}: exit ${res.code}, expected ${expectCode}: ${JSON.stringify(runs)}\n${res.stderr}\n${failures.stdout}`,
      );
    }
    const used = {
      erp: erpProxy.calls - c0.erp,
      shop: shopProxy.calls - c0.shop,
      erpWrites: erpProxy.writes.slice(w0.erp),
      shopWrites: shopProxy.writes.slice(w0.shop),
    };
    console.log(
      `# ${label}: ${used.erp} Tryton calls (${used.erpWrites.length} writes), ${used.shop} WooCommerce calls (${used.shopWrites.length} writes); ${runs
        .map(
          (r) =>
            `${r.flow} ${r.counts.created}c/${r.counts.updated}u/${r.counts.skipped}s/${r.counts.failed}f`,
        )
        .join(", ")}`,
    );
    return { runs, ...used };
  }
  const run = (runs: RunJson[], flow: string) => {
    const r = runs.find((x) => x.flow === flow);
    assert.ok(r, `no run of ${flow} in ${JSON.stringify(runs)}`);
    return r;
  };
  async function trace(entity: string, key: string): Promise<string> {
    const res = await cli(["trace", entity, key], env);
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    return res.stdout;
  }
  async function shopOrder(id: number) {
    return api<{ status: string; total: string; meta_data: { key: string; value: unknown }[] }>(
      "GET",
      `/orders/${id}`,
    );
  }
  async function notes(id: number) {
    return api<{ note: string; customer_note: boolean }[]>("GET", `/orders/${id}/notes`);
  }
  /** Refreshes SKU → product or variation id from the shop. */
  async function loadProductIds() {
    const products = await api<{ id: number; sku: string; type: string }[]>("GET", "/products?per_page=100");
    for (const p of products) {
      productIds.set(p.sku, p.id);
      if (p.type === "variable") {
        const vs = await api<{ id: number; sku: string }[]>(
          "GET",
          `/products/${p.id}/variations?per_page=100`,
        );
        for (const v of vs) productIds.set(v.sku, v.id);
      }
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-tryton-woo-"));
    [erp, shop] = await Promise.all([
      startTryton({ dir: join(dir, "erp") }),
      startWoo({ instance: "tryton_pair", log: (m) => console.log(`# ${m}`) }),
    ]);
    seed = await seedTryton(erp, { products: 6, variantsEvery: 3, prefix: "TW" });
    session = await trytonSession(erp);
    // The shop of a merchant in Germany: euros, 19 % VAT on goods and shipping, a flat rate, cash on delivery.
    await api("PUT", "/settings/general/woocommerce_currency", { value: "EUR" });
    await api("PUT", "/settings/general/woocommerce_calc_taxes", { value: "yes" });
    await api("POST", "/taxes", { country: "DE", rate: "19.0000", name: "MwSt", shipping: true });
    const zone = await api<{ id: number }>("POST", "/shipping/zones", { name: "Germany" });
    await api("PUT", `/shipping/zones/${zone.id}/locations`, [{ code: "DE", type: "country" }]);
    await api("POST", `/shipping/zones/${zone.id}/methods`, {
      method_id: "flat_rate",
      settings: { cost: "4.90" },
    });
    await api("PUT", "/payment_gateways/cod", { enabled: true });

    erpProxy = await countingProxy(erp.url, (_m, _p, body) => {
      const method = (/"method"\s*:\s*"([^"]+)"/.exec(body)?.[1] ?? "") as string;
      return method && !TRYTON_READS.test(method) ? method : null;
    });
    shopProxy = await countingProxy(shop.url, (m, p) => (m === "GET" ? null : `${m} ${p.split("?")[0]}`));
    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      pairYaml({
        dir,
        erp: trytonConnection(erp, erpProxy.url),
        shop: [
          "type: woocommerce",
          `url: ${shopProxy.url}`,
          `username: ${shop.username}`,
          `applicationPassword: ${envRef("WOO_APPLICATION_PASSWORD")}`,
          "currency: EUR",
          "location: WH",
          "productPrices: on-create # the prices flow owns regular_price once a product exists",
        ],
        flows: [
          ...CATALOG_FLOWS,
          ...ORDER_FLOWS,
          ["invoices", "erp", "invoice"],
          ["order-status", "erp", "order"],
        ],
      }),
    );
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      TRYTON_PASSWORD: erp.password,
      WOO_APPLICATION_PASSWORD: shop.applicationPassword,
      PASSERELLE_LOG_LEVEL: "warn",
    };
  });

  after(async () => {
    await Promise.all([erpProxy?.close(), shopProxy?.close()]);
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("catalog: sizes become a variable product at the base price; group lists and the other warehouse are skipped with the reason", async () => {
    const { runs } = await sync(["products", "prices", "stock"], "catalog");
    for (const f of ["products", "prices", "stock"])
      assert.equal(run(runs, f).counts.failed, 0, JSON.stringify(runs));
    await loadProductIds();

    const templates = await session.find(
      "product.template",
      [["code", "like", "TW-%"]],
      ["code", "list_price", "products"],
    );
    assert.equal(templates.length, 6);
    for (const t of templates) {
      const code = String(t.code);
      const [p] = await api<
        { id: number; type: string; regular_price: string; attributes: { options: string[] }[] }[]
      >("GET", `/products?sku=${code}`);
      assert.ok(p, `no shop product ${code}`);
      const price = Number((t.list_price as { decimal: string }).decimal ?? t.list_price).toFixed(2);
      if ((t.products as number[]).length > 1) {
        assert.equal(p.type, "variable", code);
        const vs = await api<{ sku: string; regular_price: string }[]>(
          "GET",
          `/products/${p.id}/variations?per_page=100`,
        );
        assert.deepEqual(
          vs.map((v) => [v.sku, v.regular_price]).sort(),
          ["L", "M", "S"].map((s) => [`${code}-${s}`, price]).sort(),
          `variations of ${code}`,
        );
        assert.deepEqual(p.attributes[0]?.options, ["S", "M", "L"]);
      } else {
        assert.equal(p.type, "simple", code);
        assert.equal(p.regular_price, price, `regular price of ${code}`);
      }
    }

    // Group price lists: every record skipped with the reason, none written, none failed.
    const prices = run(runs, "prices");
    assert.equal(prices.counts.created + prices.counts.updated, 0, JSON.stringify(prices));
    assert.equal(
      prices.counts.skippedWithReason,
      seed.skus.length * seed.priceLists.length,
      JSON.stringify(prices),
    );
    assert.match(
      await trace("price", `wholesale:${seed.skus[0]}`),
      /not supported by WooCommerce.*customer-group/,
    );

    // Stock: the shop sells what Tryton has available in WH; WH2's levels are skipped with the reason.
    const available = await erpAvailable(session, seed.skus);
    for (const sku of seed.skus) {
      const row = await api<{ stock_quantity: number; manage_stock: boolean }>(
        "GET",
        `/products/${productIds.get(sku)}`,
      );
      assert.equal(row.stock_quantity, available.get(`${sku}@WH`), `stock of ${sku}`);
    }
    const stock = run(runs, "stock");
    assert.equal(stock.counts.skippedWithReason, seed.skus.length, JSON.stringify(stock));
    assert.match(await trace("inventory", `${seed.skus[0]}@WH2`), /not supported by WooCommerce.*"WH2"/);
  });

  let customerId = 0;
  let ordered: { id: number; total: string };
  let saleId = 0;
  const shirt = "TW-003";

  test("order: a registered customer's Store API checkout becomes a confirmed Tryton sale with the same lines and totals", async () => {
    const c = await api<{ id: number }>("POST", "/customers", {
      email: "greta@example.com",
      first_name: "Greta",
      last_name: "Kundin",
      billing: {
        first_name: "Greta",
        last_name: "Kundin",
        address_1: "Hauptstraße 5",
        city: "Berlin",
        postcode: "10115",
        country: "DE",
        phone: "+49 30 5555",
        email: "greta@example.com",
      },
    });
    customerId = c.id;
    ordered = await checkout("greta@example.com", [
      [`${shirt}-S`, 2],
      [`${shirt}-M`, 1],
      ["TW-001", 1],
    ]);
    const { runs } = await sync(["customers", "orders"], "customer and order");
    // Greta alone: accounts of the role "customer" (the shop's administrator is not one).
    const people = run(runs, "customers").counts;
    assert.deepEqual([people.read, people.created, people.failed], [1, 1, 0], JSON.stringify(runs));
    assert.equal(run(runs, "orders").counts.created, 1, JSON.stringify(runs));

    const sale = await saleOf(session, `shop:${ordered.id}`);
    assert.ok(sale, "no Tryton sale for the shop order");
    saleId = sale.id;
    assert.ok(["confirmed", "processing"].includes(sale.state), sale.state);
    const [amounts] = (await session.model(
      "sale.sale",
      "read",
      [sale.id],
      ["total_amount", "tax_amount"],
    )) as {
      total_amount: { decimal: string };
      tax_amount: { decimal: string };
    }[];
    const woo = await api<{
      total: string;
      total_tax: string;
      line_items: { sku: string; quantity: number }[];
    }>("GET", `/orders/${ordered.id}`);
    assert.equal(Number(amounts?.total_amount.decimal).toFixed(2), woo.total, "sale total = shop total");
    assert.equal(Number(amounts?.tax_amount.decimal).toFixed(2), woo.total_tax, "sale tax = shop tax");
    const lines = await session.find(
      "sale.line",
      [
        ["sale", "=", sale.id],
        ["type", "=", "line"],
      ],
      ["product.code", "quantity"],
    );
    const goods = lines
      .map(
        (l) => [String((l["product."] as { code?: string } | undefined)?.code), Number(l.quantity)] as const,
      )
      .filter(([code]) => seed.skus.includes(code))
      .sort();
    assert.deepEqual(goods, woo.line_items.map((l) => [l.sku, l.quantity] as const).sort());
    const [party] = (await session.model("party.party", "read", [sale.party], ["email"])) as {
      email: string;
    }[];
    assert.equal(party?.email, "greta@example.com");
  });

  test("ship: a partial shipment notes its tracking and leaves the order processing; the rest completes it", async () => {
    await fulfilSale(erp, saleId, "TRK-PART-1", { skus: [`${shirt}-S`], post: false });
    const first = await sync(["shipments"], "partial shipment");
    assert.equal(run(first.runs, "shipments").counts.created, 1, JSON.stringify(first.runs));
    assert.equal((await shopOrder(ordered.id)).status, "processing");
    const partNotes = (await notes(ordered.id)).filter((n) => n.note.includes("[passerelle shipment "));
    assert.equal(partNotes.length, 1);
    assert.match(partNotes[0]?.note ?? "", /tracking TRK-PART-1/);
    assert.match(partNotes[0]?.note ?? "", new RegExp(`Items: 2 x ${shirt}-S`));
    assert.equal(partNotes[0]?.customer_note, true);

    await fulfilSale(erp, saleId, "TRK-REST-2");
    const second = await sync(["shipments"], "final shipment");
    assert.equal(run(second.runs, "shipments").counts.created, 1, JSON.stringify(second.runs));
    assert.equal((await shopOrder(ordered.id)).status, "completed");
    const all = (await notes(ordered.id)).filter((n) => n.note.includes("[passerelle shipment "));
    assert.equal(all.length, 2);
    assert.ok(all.some((n) => /tracking TRK-REST-2/.test(n.note)));
  });

  test("invoice: the posted Tryton invoice reaches the order as meta and a customer note", async () => {
    const [sale] = (await session.model("sale.sale", "read", [saleId], ["invoices"])) as {
      invoices: number[];
    }[];
    const [invoice] = (
      (await session.model("account.invoice", "read", sale?.invoices ?? [], [
        "number",
        "state",
        "total_amount",
      ])) as {
        number: string;
        state: string;
        total_amount: { decimal: string };
      }[]
    ).filter((i) => i.state === "posted");
    assert.ok(invoice, "no posted invoice of the sale");
    const number = String(invoice.number);
    const { runs } = await sync(["invoices"], "invoice");
    assert.equal(run(runs, "invoices").counts.created, 1, JSON.stringify(runs));
    const order = await shopOrder(ordered.id);
    const meta = order.meta_data.find((m) => m.key === `passerelle_invoice_${number}`)?.value as Record<
      string,
      string
    >;
    assert.ok(meta, JSON.stringify(order.meta_data));
    assert.equal(meta.number, number);
    assert.equal(meta.total, Number((invoice.total_amount as { decimal: string }).decimal).toFixed(2));
    assert.equal(meta.total, order.total, "the invoice bills what the shop charged");
    assert.equal(meta.currency, "EUR");
    assert.match(meta.document ?? "", /account\.invoice/);
    const ours = (await notes(ordered.id)).filter((n) => n.note.includes("[passerelle invoice "));
    assert.equal(ours.length, 1);
    assert.match(
      ours[0]?.note ?? "",
      new RegExp(`Invoice ${number} of \\d{4}-\\d\\d-\\d\\d: total ${order.total} EUR`),
    );
  });

  test("cancel: an order cancelled in the shop is withdrawn in Tryton; a sale withdrawn in Tryton cancels the shop order", async () => {
    const early = await checkout("greta@example.com", [["TW-002", 2]]);
    const late = await checkout("greta@example.com", [["TW-004", 1]]);
    await sync(["orders"], "two more orders");
    assert.ok(await saleOf(session, `shop:${early.id}`));
    const lateSale = await saleOf(session, `shop:${late.id}`);
    assert.ok(lateSale);

    await api("PUT", `/orders/${early.id}`, { status: "cancelled" });
    const shopSide = await sync(["orders"], "cancelled in the shop");
    assert.equal(run(shopSide.runs, "orders").counts.failed, 0, JSON.stringify(shopSide.runs));
    const withdrawn = await saleOf(session, `shop:${early.id}`);
    assert.ok(withdrawn);
    const moves = (await session.model("stock.move", "read", withdrawn.moves, ["state"])) as {
      state: string;
    }[];
    assert.ok(moves.length > 0 && moves.every((m) => m.state === "cancelled"), JSON.stringify(moves));
    assert.match(String(withdrawn.comment), /Cancelled in the shop/);

    await withdrawSale(session, lateSale.id);
    const erpSide = await sync(["order-status"], "withdrawn in Tryton");
    const status = run(erpSide.runs, "order-status");
    assert.equal(status.counts.failed, 0, JSON.stringify(erpSide.runs));
    assert.equal((await shopOrder(late.id)).status, "cancelled");
    assert.equal((await shopOrder(ordered.id)).status, "completed", "the shipped order is left as it is");
    assert.match(await trace("order", `shop:${late.id}`), /cancelled/);
  });

  test("customer: later edits (phone, e-mail, street) change the Tryton party in place, nothing duplicated", async () => {
    // WooCommerce keeps whole seconds: the edit must land in a later second than the first read.
    await new Promise((done) => setTimeout(done, 1100));
    await api("PUT", `/customers/${customerId}`, {
      email: "greta.k@example.com",
      billing: { phone: "+49 30 7777", address_1: "Neue Straße 9", email: "greta.k@example.com" },
    });
    const { runs } = await sync(["customers"], "customer edited");
    assert.equal(run(runs, "customers").counts.updated, 1, JSON.stringify(runs));
    const parties = await session.find(
      "party.party",
      [["name", "=", "Greta Kundin"]],
      ["addresses", "contact_mechanisms"],
    );
    assert.equal(parties.length, 1, "one party");
    const party = parties[0] as unknown as { addresses: number[]; contact_mechanisms: number[] };
    const mechanisms = (await session.model("party.contact_mechanism", "read", party.contact_mechanisms, [
      "type",
      "value",
    ])) as { type: string; value: string }[];
    assert.deepEqual(mechanisms.map((m) => [m.type, m.value]).sort(), [
      ["email", "greta.k@example.com"],
      ["phone", "+49 30 7777"],
    ]);
    const addresses = (await session.model("party.address", "read", party.addresses, ["street", "city"])) as {
      street: string;
      city: string;
    }[];
    assert.deepEqual(
      addresses.map((a) => [a.street, a.city]),
      [["Neue Straße 9", "Berlin"]],
    );
  });

  test("a phone sale entered in Tryton alone, shipped and invoiced there, sends nothing to the shop and fails nothing", async () => {
    const number = await phoneSale(session, seed.customers[0]?.id ?? 0, "TW-005");
    const [sale] = await session.find("sale.sale", [["number", "=", number]], ["id"]);
    assert.ok(sale);
    await fulfilSale(erp, sale.id, "TRK-PHONE");
    const { runs, shopWrites } = await sync(["order-status", "shipments", "invoices"], "ERP-only sale");
    for (const r of runs)
      assert.equal(r.counts.created + r.counts.updated + r.counts.failed, 0, JSON.stringify(r));
    assert.deepEqual(shopWrites, [], "WooCommerce write calls for an ERP-only sale");
    assert.ok(run(runs, "shipments").counts.skippedWithReason >= 1, JSON.stringify(runs));
    assert.ok(run(runs, "invoices").counts.skippedWithReason >= 1, JSON.stringify(runs));
    assert.match(await trace("order", `erp:${number}`), /only updates what it holds: nothing to create/);
  });

  test("rerun: after a sync of every flow, a second one writes nothing to either system", async () => {
    // The first catches up with what the scenarios changed without syncing (stock moved by the orders).
    await sync([], "catch-up of every flow", 0);
    const again = await sync([], "rerun of every flow");
    for (const r of again.runs)
      assert.equal(
        r.counts.created + r.counts.updated + r.counts.failed,
        0,
        `${r.flow}: ${JSON.stringify(r.counts)}`,
      );
    assert.deepEqual(again.erpWrites, [], "Tryton write calls on a rerun");
    assert.deepEqual(again.shopWrites, [], "WooCommerce write calls on a rerun");
    // After orders placed, shipped, cancelled in either system: the shop sells what Tryton has available.
    const available = await erpAvailable(session, seed.skus);
    for (const sku of seed.skus) {
      const row = await api<{ stock_quantity: number }>("GET", `/products/${productIds.get(sku)}`);
      assert.equal(row.stock_quantity, available.get(`${sku}@WH`), `stock of ${sku} after the scenarios`);
    }
  });
});
