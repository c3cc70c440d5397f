/**
 * The WooCommerce connector against a real WooCommerce 7.9 (WordPress 6.1, PHP 8.2, MariaDB) from the kit
 * in ../shared/real/woocommerce, reset to its snapshot and served on a free loopback port
 * (scripts/real/woocommerce.mjs). Run by `npm run test:real`. Every request and answer of the merchant
 * scenarios is checked against the JSON Schemas the real shop reports (../shared/specs/woocommerce).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type StartedWoo, startWoo, wooAvailable } from "../../scripts/real/woocommerce.mjs";
import { WooCommerceConfig } from "../../src/connectors/woocommerce/config.ts";
import {
  createWooConnector,
  type WooConnector,
  woocommerce,
} from "../../src/connectors/woocommerce/index.ts";
import { invoiceMarker, invoiceMetaKey } from "../../src/connectors/woocommerce/orders.ts";
import { shipmentMarker } from "../../src/connectors/woocommerce/writers.ts";
import { SyncError } from "../../src/core/errors.ts";
import {
  type Category,
  type InventoryLevel,
  type Invoice,
  Order,
  type Price,
  type Product,
  type Shipment,
} from "../../src/core/model.ts";
import { orderTotalCheck } from "../../src/core/money.ts";
import type { WriteItem, WriteResult } from "../../src/ports/connector.ts";
import { runContractSuite } from "../../src/ports/contract-suite.ts";
import { closedPort } from "../helpers/net.ts";
import { type Exchange, recordingFetch } from "./exchanges.ts";
import { wooSpecs } from "./woocommerce-spec.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SPECS = process.env.WOO_SPECS ?? resolve(ROOT, "..", "shared", "specs", "woocommerce");
const available = wooAvailable();

if (!available.ok) {
  test("WooCommerce kit and PHP are there", { skip: available.missing ?? "missing" }, () => {});
} else {
  const run = Date.now().toString(36).toUpperCase();
  let seq = 0;
  let shop: StartedWoo;
  const settings = () => ({
    url: shop.url,
    username: shop.username,
    applicationPassword: shop.applicationPassword,
  });
  const config = (over: Record<string, unknown> = {}) => WooCommerceConfig.parse({ ...settings(), ...over });

  /** The shop's REST API as the tests (a merchant, a customer) use it, outside the connector. */
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

  const now = () => new Date().toISOString();
  const simpleProduct = (price = "12.50"): Product => {
    const n = ++seq;
    return {
      source: "erp",
      sourceId: String(n),
      updatedAt: now(),
      key: `S-${run}-${n}`,
      title: `Mug ${n}`,
      status: "active",
      currency: "USD",
      categoryPath: [],
      attributes: {},
      images: [],
      components: [],
      variants: [{ sku: `S-${run}-${n}`, price, options: {} }],
    };
  };
  const variableProduct = (sizes = ["S", "M"], price = "20.00"): Product => {
    const n = ++seq;
    const key = `V-${run}-${n}`;
    return {
      source: "erp",
      sourceId: String(n),
      updatedAt: now(),
      key,
      title: `Shirt ${n}`,
      description: `Cotton shirt ${n}`,
      status: "active",
      currency: "USD",
      categoryPath: [],
      attributes: {},
      images: [],
      components: [],
      variants: sizes.map((size) => ({ sku: `${key}-${size}`, price, options: { Size: size } })),
    };
  };
  const item = <E extends "category" | "product" | "inventory" | "price" | "shipment" | "invoice">(
    record: WriteItem<E>["record"],
    targetId: string | null = null,
  ): WriteItem<E> => ({ key: record.key, record, targetId, externalRef: record.key }) as WriteItem<E>;
  const noLinks = { resolve: async () => null };
  const ok = (r: WriteResult | undefined): Extract<WriteResult, { ok: true }> => {
    assert.ok(r?.ok, r && !r.ok ? r.error.message : "no result");
    return r;
  };

  /** Simple products holding SKUs for the stock and price samples. */
  const stockSkus: string[] = [];
  const orderIds: number[] = [];

  async function newCustomer(): Promise<number> {
    const n = ++seq;
    const c = await api<{ id: number }>("POST", "/customers", {
      email: `buyer-${run.toLowerCase()}-${n}@example.com`,
      first_name: "Ada",
      last_name: `Buyer${n}`,
      billing: {
        first_name: "Ada",
        last_name: `Buyer${n}`,
        address_1: `${n} Market St`,
        city: "San Francisco",
        state: "CA",
        postcode: "94103",
        country: "US",
        email: `buyer-${run.toLowerCase()}-${n}@example.com`,
      },
    });
    return c.id;
  }

  /** An order as the shop's checkout makes one: a customer's cart of shop products, paid. */
  async function placeOrder(
    lines: { product_id: number; variation_id?: number; quantity: number }[],
    extra = {},
  ) {
    const n = ++seq;
    const address = {
      first_name: "Grace",
      last_name: `Shopper${n}`,
      address_1: `${n} Mission St`,
      city: "San Francisco",
      state: "CA",
      postcode: "94105",
      country: "US",
    };
    return api<{ id: number; number: string; total: string }>("POST", "/orders", {
      status: "processing",
      set_paid: true,
      payment_method: "bacs",
      payment_method_title: "Bank transfer",
      billing: { ...address, email: `shopper-${run.toLowerCase()}-${n}@example.com` },
      shipping: address,
      line_items: lines,
      shipping_lines: [{ method_id: "flat_rate", method_title: "Flat rate", total: "5.00" }],
      ...extra,
    });
  }

  before(async () => {
    shop = await startWoo({ log: (m) => console.log(`# ${m}`) });
    const t0 = Date.now();
    const made: number[] = [];
    for (let i = 0; i < 4; i++) {
      const p = await api<{ id: number; sku: string }>("POST", "/products", {
        name: `Stock item ${i}`,
        type: "simple",
        sku: `K-${run}-${i}`,
        regular_price: "9.00",
      });
      stockSkus.push(p.sku);
      made.push(p.id);
    }
    for (let i = 0; i < 6; i++) await newCustomer();
    for (let i = 0; i < 6; i++) {
      const o = await placeOrder([{ product_id: made[i % made.length] as number, quantity: 1 + (i % 3) }]);
      orderIds.push(o.id);
    }
    console.log(`# seeded 4 products, 6 customers, 6 orders in ${Date.now() - t0} ms`);
  });
  after(async () => {
    await shop?.stop();
  });

  describe("woocommerce (real)", () => {
    runContractSuite(
      woocommerce,
      async () => {
        const sampleShipment = (orderId: number): Shipment => {
          const n = ++seq;
          return {
            source: "erp",
            sourceId: String(n),
            updatedAt: now(),
            key: `erp:SH-${run}-${n}`,
            orderKey: `woocommerce:${orderId}`,
            orderNumber: String(orderId),
            carrier: "UPS",
            trackingNumbers: [`1Z${run}${n}`],
            trackingUrls: [],
            lines: [],
            shippedAt: now(),
          };
        };
        let shipmentOrder = 0;
        let invoiceOrder = 0;
        const sampleInvoice = (orderId: number): Invoice => {
          const n = ++seq;
          return {
            source: "erp",
            sourceId: String(n),
            updatedAt: now(),
            key: `erp:INV-${run}-${n}`,
            number: `INV-${run}-${n}`,
            kind: "invoice",
            orderKey: `woocommerce:${orderId}`,
            currency: "USD",
            totalTax: "0",
            total: "14.00",
            issuedAt: now(),
            document: { ref: `erp:account.invoice/${n}`, mimeType: "application/pdf" },
          };
        };
        const priceOf = (sku: string, price: string): Price => ({
          source: "erp",
          sourceId: sku,
          updatedAt: now(),
          key: `default:${sku}`,
          priceList: { code: "default", name: "Default", customerGroup: "all", currency: "USD" },
          sku,
          price,
          tiers: [],
        });
        let priceStep = 0;
        let stockStep = 0;
        const level = (sku: string, onHand: number): InventoryLevel => ({
          source: "erp",
          sourceId: sku,
          updatedAt: now(),
          key: `${sku}@default`,
          sku,
          location: "default",
          onHand,
          reserved: 0,
          safetyStock: 0,
          available: onHand,
        });
        return {
          config: config(),
          badCredentials: config({ applicationPassword: "wrong wrong wrong wrong" }),
          unreachable: config({ url: `http://127.0.0.1:${await closedPort()}` }),
          skip: {
            faults:
              "a real WooCommerce cannot be made to answer 429 or 5xx here: fault handling is covered by the shared HTTP client's tests",
            "*.touch":
              "the streams are unsorted (the REST API has no (modified, id) keyset), so there is no cursor to read after",
            "inventory.lookup":
              "setting an absolute quantity leaves no document to find: findByExternalRef answers for any known SKU (safe, the write is idempotent)",
            "price.lookup":
              "setting regular_price leaves no document to find: findByExternalRef answers for any known SKU (safe, the write is idempotent)",
            "shipment.update":
              "a shipment's tracking note is written once: WooCommerce's REST API cannot edit an order note",
            "invoice.update":
              "an ERP posts an invoice once (a correction is a credit note, another invoice): no change sample",
            "order.write":
              "an update-only writer (ERP-side cancellations of orders placed in the shop): there is nothing to create; proven by 'an order the ERP withdrew is cancelled in the shop' below",
            "category.reject":
              "the category writer refuses only a move under the category's own descendant (a cycle) and fails a parent not written yet as retryable: neither can come from a batch of new records; a parent not there yet is proven by 'a category whose parent is not in the shop' below",
          },
          samples: {
            // "&" on purpose: WordPress answers it as "&amp;", which must not read as a rename.
            category: () =>
              [1, 2, 3].map(
                (i): Category => ({
                  source: "erp",
                  sourceId: `${run}-${++seq}`,
                  updatedAt: now(),
                  key: `cat-${run}-${seq}`,
                  name: `Kitchen & Dining ${seq}`,
                  position: i,
                  translations: {},
                }),
              ),
            product: () => [simpleProduct(), variableProduct(), variableProduct(["S", "M", "L"], "25.00")],
            inventory: () => stockSkus.slice(0, 3).map((sku) => level(sku, 10 + (stockStep++ % 7))),
            price: () => stockSkus.slice(0, 3).map((sku) => priceOf(sku, `${10 + (priceStep++ % 9)}.50`)),
            shipment: () =>
              [0, 1, 2].map(() => sampleShipment(orderIds[shipmentOrder++ % orderIds.length] as number)),
            invoice: () =>
              [0, 1, 2].map(() => sampleInvoice(orderIds[invoiceOrder++ % orderIds.length] as number)),
          },
          change: {
            category: (c: Category): Category => ({
              ...c,
              name: `${c.name} v2`,
              position: (c.position ?? 0) + 10,
            }),
            product: (p: Product): Product => ({
              ...p,
              title: `${p.title} v2`,
              variants: [
                ...p.variants.map((v) => ({ ...v, price: "31.00" })),
                ...(p.variants.length > 1
                  ? [{ sku: `${p.key}-XL`, price: "33.00", options: { Size: "XL" } }]
                  : []),
              ],
            }),
            inventory: (l: InventoryLevel): InventoryLevel => ({
              ...l,
              onHand: l.onHand + 5,
              available: l.onHand + 5,
            }),
            price: (p: Price): Price => ({ ...p, price: "99.00" }),
          },
          rejects: {
            product: (): Product => {
              const p = variableProduct();
              // A variation SKU another product already holds: WooCommerce refuses duplicates.
              return {
                ...p,
                variants: [{ sku: stockSkus[3] as string, price: "5.00", options: { Size: "S" } }],
              };
            },
            inventory: () => level(`UNKNOWN-${run}`, 3),
            price: () => priceOf(`UNKNOWN-${run}`, "1.00"),
            shipment: () => sampleShipment(987654321),
            invoice: () => sampleInvoice(987654321),
          },
          normalise: {
            category: (r: unknown) => ({ name: (r as Category).name, position: (r as Category).position }),
            product: (r: unknown) => {
              const p = r as Pick<Product, "title" | "status" | "variants">;
              return {
                title: p.title,
                status: p.status,
                variants: p.variants
                  .map((v) => ({ sku: v.sku, price: Number(v.price).toFixed(2), options: v.options }))
                  .sort((a, b) => a.sku.localeCompare(b.sku)),
              };
            },
            inventory: (r: unknown) => ({
              sku: (r as InventoryLevel).sku,
              available: (r as InventoryLevel).available,
            }),
            price: (r: unknown) => ({ sku: (r as Price).sku, price: Number((r as Price).price).toFixed(2) }),
            shipment: (r: unknown) => ({
              orderNumber: (r as Shipment).orderNumber,
              tracking: (r as Shipment).trackingNumbers,
            }),
            invoice: (r: unknown) => ({ number: (r as Invoice).number, total: (r as Invoice).total }),
          },
          async readBack(entity, targetId) {
            if (entity === "category") {
              const c = await api<{ name: string; menu_order: number }>(
                "GET",
                `/products/categories/${targetId}`,
              );
              return { name: c.name.replace(/&amp;/g, "&"), position: c.menu_order };
            }
            if (entity === "product") {
              const p = await api<{
                id: number;
                name: string;
                status: string;
                type: string;
                sku: string;
                regular_price: string;
              }>("GET", `/products/${targetId}`);
              const status = (
                { publish: "active", draft: "draft", private: "archived" } as Record<string, string>
              )[p.status];
              if (p.type === "simple")
                return {
                  title: p.name,
                  status,
                  variants: [{ sku: p.sku, price: p.regular_price, options: {} }],
                };
              const vs = await api<
                { sku: string; regular_price: string; attributes: { name: string; option: string }[] }[]
              >("GET", `/products/${targetId}/variations?per_page=100`);
              return {
                title: p.name,
                status,
                variants: vs.map((v) => ({
                  sku: v.sku,
                  price: v.regular_price,
                  options: Object.fromEntries(v.attributes.map((a) => [a.name, a.option])),
                })),
              };
            }
            if (entity === "inventory" || entity === "price") {
              const p = await api<{ sku: string; stock_quantity: number; regular_price: string }>(
                "GET",
                `/products/${targetId}`,
              );
              return entity === "inventory"
                ? {
                    sku: p.sku,
                    onHand: p.stock_quantity,
                    reserved: 0,
                    safetyStock: 0,
                    available: p.stock_quantity,
                  }
                : { sku: p.sku, price: p.regular_price };
            }
            if (entity === "shipment") {
              const [orderId, noteId] = targetId.split("/");
              const note = await api<{ note: string }>("GET", `/orders/${orderId}/notes/${noteId}`);
              const order = await api<{ status: string }>("GET", `/orders/${orderId}`);
              assert.equal(order.status, "completed");
              const tracking = /tracking (.+)/.exec(note.note)?.[1]?.split(", ") ?? [];
              return { orderNumber: orderId, trackingNumbers: tracking };
            }
            if (entity === "invoice") {
              const [orderId, number] = targetId.split("/");
              const order = await api<{ meta_data: { key: string; value: Record<string, string> }[] }>(
                "GET",
                `/orders/${orderId}`,
              );
              const meta = order.meta_data.find((m) => m.key === invoiceMetaKey(number ?? ""))?.value;
              return { number: meta?.number, total: meta?.total };
            }
            return null;
          },
          async insert(entity) {
            if (entity === "customer") return String(await newCustomer());
            const o = await placeOrder([
              {
                product_id: Number(
                  (await api<{ id: number }[]>("GET", `/products?sku=${stockSkus[0]}`))[0]?.id,
                ),
                quantity: 1,
              },
            ]);
            return String(o.id);
          },
          writes: (c) => (c as WooConnector).writes(),
          async teardown() {},
        };
      },
      "woocommerce (real)",
    );
  });

  describe("woocommerce (real): merchant scenarios", () => {
    const exchanges: Exchange[] = [];
    let woo: WooConnector;
    before(() => {
      woo = createWooConnector("shop", config(), recordingFetch(exchanges));
    });
    const calls = (from: number) => woo.stats().calls - from;

    test("a category whose parent is not in the shop, and a product in a category not in the shop, fail retryably naming it", async () => {
      const cats = woo.writers.category;
      const products = woo.writers.product;
      assert.ok(cats && products);
      const n = ++seq;
      const parent: Category = {
        source: "erp",
        sourceId: `p${n}`,
        updatedAt: now(),
        key: `parent-${run}-${n}`,
        name: `Parent ${n}`,
        translations: {},
      };
      const child: Category = {
        ...parent,
        sourceId: `c${n}`,
        key: `child-${run}-${n}`,
        name: `Child ${n}`,
        parent: parent.key,
      };
      const w0 = woo.writes();
      const [orphan] = await cats.upsert([item<"category">(child)], noLinks);
      assert.ok(orphan && !orphan.ok, "a child without its parent was written");
      assert.equal(orphan.error.kind, "retryable");
      assert.match(
        orphan.error.message,
        new RegExp(`parent category ${parent.key} is not in WooCommerce yet`),
      );
      assert.equal(woo.writes() - w0, 0);
      // Child listed first: the batch writes its parent first, and the child under it.
      const results = await cats.upsert([item<"category">(child), item<"category">(parent)], noLinks);
      const byKey = new Map(results.map((r) => [r.key, ok(r).targetId]));
      const shopChild = await api<{ parent: number }>("GET", `/products/categories/${byKey.get(child.key)}`);
      assert.equal(String(shopChild.parent), byKey.get(parent.key));

      const p = { ...simpleProduct(), categories: [child.key] };
      const [waiting] = await products.upsert([item<"product">(p)], noLinks);
      assert.ok(waiting && !waiting.ok, "a product in an unlinked category was written");
      assert.equal(waiting.error.kind, "retryable");
      assert.match(
        waiting.error.message,
        new RegExp(`is in category ${child.key}, which is not in WooCommerce yet`),
      );
      const links = {
        resolve: async (_e: string, key: string) => (byKey.get(key) as string | undefined) ?? null,
      };
      const [made] = await products.upsert([item<"product">(p)], links);
      const id = ok(made).targetId;
      const shopProduct = await api<{ categories: { id: number }[] }>("GET", `/products/${id}`);
      assert.deepEqual(
        shopProduct.categories.map((c) => String(c.id)),
        [byKey.get(child.key)],
      );
      // Moved to the parent category: it leaves the child.
      const [moved] = await products.upsert([item<"product">({ ...p, categories: [parent.key] }, id)], links);
      assert.equal(ok(moved).action, "updated");
      const after = await api<{ categories: { id: number }[] }>("GET", `/products/${id}`);
      assert.deepEqual(
        after.categories.map((c) => String(c.id)),
        [byKey.get(parent.key)],
      );
      const w1 = woo.writes();
      const [same] = await products.upsert([item<"product">({ ...p, categories: [parent.key] }, id)], links);
      assert.equal(ok(same).action, "unchanged");
      assert.equal(woo.writes() - w1, 0, "the same categories again wrote to the shop");
    });

    test("a variable product is created, then edited: a price changes and a variation is added", async () => {
      const writer = woo.writers.product;
      assert.ok(writer);
      const p = variableProduct(["S", "M"], "20.00");
      const c0 = woo.stats().calls;
      const [created] = await writer.upsert([item<"product">(p)], noLinks);
      const id = ok(created).targetId;
      console.log(`# create variable product (2 variations): ${calls(c0)} calls`);
      const edited: Product = {
        ...p,
        variants: [
          { sku: `${p.key}-S`, price: "22.00", options: { Size: "S" } },
          { sku: `${p.key}-M`, price: "20.00", options: { Size: "M" } },
          { sku: `${p.key}-L`, price: "24.00", options: { Size: "L" } },
        ],
      };
      const c1 = woo.stats().calls;
      const [updated] = await writer.upsert([item<"product">(edited, id)], noLinks);
      assert.equal(ok(updated).action, "updated");
      assert.equal(ok(updated).targetId, id);
      console.log(`# edit (price change + variation added): ${calls(c1)} calls`);
      const vs = await api<{ sku: string; regular_price: string }[]>(
        "GET",
        `/products/${id}/variations?per_page=100`,
      );
      assert.deepEqual(vs.map((v) => [v.sku, v.regular_price]).sort(), [
        [`${p.key}-L`, "24.00"],
        [`${p.key}-M`, "20.00"],
        [`${p.key}-S`, "22.00"],
      ]);
      const parent = await api<{ attributes: { name: string; options: string[] }[] }>(
        "GET",
        `/products/${id}`,
      );
      assert.deepEqual(
        parent.attributes.map((a) => [a.name, a.options]),
        [["Size", ["S", "M", "L"]]],
      );
      const w0 = woo.writes();
      const c2 = woo.stats().calls;
      const [again] = await writer.upsert([item<"product">(edited, id)], noLinks);
      assert.equal(ok(again).action, "unchanged");
      assert.equal(woo.writes() - w0, 0, "writing the same product again wrote to the shop");
      console.log(`# same product again: ${calls(c2)} calls, 0 writes`);
    });

    test("productPrices: on-create prices new products and variations only; an edit keeps the shop's prices", async () => {
      const shop = createWooConnector(
        "shop",
        config({ productPrices: "on-create" }),
        recordingFetch(exchanges),
      );
      const writer = shop.writers.product;
      assert.ok(writer);
      const v = variableProduct(["S", "M"], "20.00");
      const s = simpleProduct("9.00");
      const [vMade, sMade] = await writer.upsert([item<"product">(v), item<"product">(s)], noLinks);
      const vId = ok(vMade).targetId;
      const sId = ok(sMade).targetId;
      // A price flow sets other prices (as the merchant's price list would).
      const vars = await api<{ id: number; sku: string }[]>(
        "GET",
        `/products/${vId}/variations?per_page=100`,
      );
      for (const x of vars)
        await api("PUT", `/products/${vId}/variations/${x.id}`, { regular_price: "18.50" });
      await api("PUT", `/products/${sId}`, { regular_price: "8.10" });
      // The ERP edits the products: a new title, another own price, a new size.
      const vEdited: Product = {
        ...v,
        title: `${v.title} (new)`,
        variants: [
          ...v.variants.map((x) => ({ ...x, price: "25.00" })),
          { sku: `${v.key}-L`, price: "26.00", options: { Size: "L" } },
        ],
      };
      const sEdited: Product = {
        ...s,
        title: `${s.title} (new)`,
        variants: s.variants.map((x) => ({ ...x, price: "11.00" })),
      };
      const [vAgain, sAgain] = await writer.upsert(
        [item<"product">(vEdited, vId), item<"product">(sEdited, sId)],
        noLinks,
      );
      assert.equal(ok(vAgain).action, "updated");
      assert.equal(ok(sAgain).action, "updated");
      const after = await api<{ sku: string; regular_price: string }[]>(
        "GET",
        `/products/${vId}/variations?per_page=100`,
      );
      assert.deepEqual(after.map((x) => [x.sku, x.regular_price]).sort(), [
        [`${v.key}-L`, "26.00"],
        [`${v.key}-M`, "18.50"],
        [`${v.key}-S`, "18.50"],
      ]);
      const simple = await api<{ name: string; regular_price: string }>("GET", `/products/${sId}`);
      assert.deepEqual([simple.name, simple.regular_price], [sEdited.title, "8.10"]);
    });

    test("customers are accounts of customerRole: the shop's administrator is not one unless 'all'", async () => {
      await newCustomer();
      const [admin] = await api<{ email: string }[]>("GET", "/customers?role=administrator");
      assert.ok(admin?.email, "the kit's shop has an administrator account");
      const emails = async (over: Record<string, unknown>) => {
        const stream = createWooConnector("shop", config(over)).streams.customer;
        assert.ok(stream);
        const out: string[] = [];
        for await (const page of stream.list({ since: null, signpost: now(), pageSize: 100 }))
          out.push(...page.map((c) => String((c as { email: string }).email).toLowerCase()));
        return out;
      };
      const customers = await emails({});
      assert.ok(customers.length > 0);
      assert.equal(
        customers.includes(admin.email.toLowerCase()),
        false,
        "the administrator read as a customer",
      );
      assert.ok((await emails({ customerRole: "all" })).includes(admin.email.toLowerCase()));
    });

    test("stock is set on a variation and on a simple product", async () => {
      const p = variableProduct(["S"], "10.00");
      const s = simpleProduct("4.00");
      await woo.writers.product?.upsert([item<"product">(p), item<"product">(s)], noLinks);
      const c0 = woo.stats().calls;
      const levels = [
        { sku: `${p.key}-S`, n: 7 },
        { sku: s.variants[0]?.sku as string, n: 0 },
      ].map(
        ({ sku, n }): InventoryLevel => ({
          source: "erp",
          sourceId: sku,
          updatedAt: now(),
          key: `${sku}@default`,
          sku,
          location: "default",
          onHand: n + 2,
          reserved: 2,
          safetyStock: 0,
          available: n,
        }),
      );
      const results = await woo.writers.inventory?.upsert(
        levels.map((l) => item<"inventory">(l)),
        noLinks,
      );
      for (const r of results ?? []) assert.equal(ok(r).action, "created");
      console.log(`# stock for 2 SKUs: ${calls(c0)} calls`);
      const rows = await api<
        { sku: string; stock_quantity: number; manage_stock: boolean; stock_status: string }[]
      >("GET", `/products?sku=${levels.map((l) => l.sku).join(",")}`);
      const bySku = new Map(rows.map((r) => [r.sku, r]));
      assert.equal(bySku.get(`${p.key}-S`)?.stock_quantity, 7);
      assert.equal(bySku.get(`${p.key}-S`)?.manage_stock, true);
      assert.equal(bySku.get(s.variants[0]?.sku as string)?.stock_status, "outofstock");
      const other = await woo.writers.inventory?.upsert(
        [
          item<"inventory">({
            ...(levels[0] as InventoryLevel),
            key: "x@warehouse-2",
            location: "warehouse-2",
          }),
        ],
        noLinks,
      );
      const refused = other?.[0];
      assert.ok(refused && !refused.ok);
      assert.equal(refused.error.details.field, "location");
      assert.match(refused.error.message, /"warehouse-2"/);
    });

    test("an order placed in the shop reads as a canonical order whose money adds up", async () => {
      // Taxes on, 8.25 % in California, and a 10 % coupon: what a merchant in San Francisco has.
      await api("PUT", "/settings/general/woocommerce_calc_taxes", { value: "yes" });
      await api("POST", "/taxes", {
        country: "US",
        state: "CA",
        rate: "8.2500",
        name: "CA Tax",
        shipping: true,
      });
      await api("POST", "/coupons", {
        code: `ten-${run.toLowerCase()}`,
        discount_type: "percent",
        amount: "10",
      });
      const p = variableProduct(["S", "M"], "19.99");
      const s = simpleProduct("7.35");
      const written = await woo.writers.product?.upsert([item<"product">(p), item<"product">(s)], noLinks);
      const variations = await api<{ id: number; sku: string }[]>(
        "GET",
        `/products/${ok(written?.[0]).targetId}/variations?per_page=100`,
      );
      const m = variations.find((v) => v.sku === `${p.key}-M`);
      const placed = await placeOrder(
        [
          { product_id: Number(ok(written?.[0]).targetId), variation_id: m?.id as number, quantity: 3 },
          { product_id: Number(ok(written?.[1]).targetId), quantity: 2 },
        ],
        { coupon_lines: [{ code: `ten-${run.toLowerCase()}` }] },
      );
      const stream = woo.streams.order;
      assert.ok(stream);
      const c0 = woo.stats().calls;
      const native = await stream.get(String(placed.id));
      assert.ok(native);
      const order = Order.parse(await stream.toCanonical(native));
      console.log(`# read one order: ${calls(c0)} calls`);
      assert.equal(order.total, placed.total);
      assert.deepEqual(orderTotalCheck(order), { ok: true });
      assert.deepEqual(
        order.lines.map((l) => [l.sku, l.quantity, l.unitPrice, l.discount]),
        [
          [`${p.key}-M`, 3, "19.99", "6"],
          [s.variants[0]?.sku, 2, "7.35", "1.47"],
        ],
      );
      const lineTax = order.lines.flatMap((l) => l.taxes).map((t) => Number(t.amount));
      const shipTax = (order.shipping?.taxes ?? []).map((t) => Number(t.amount));
      assert.equal([...lineTax, ...shipTax].reduce((a, b) => a + b, 0).toFixed(2), order.totalTax);
      assert.equal(order.lines[0]?.taxes[0]?.rate, "0.0825");
      assert.equal(order.financialStatus, "paid");
      assert.match(order.customer.email, /^shopper-/);
      // The order is in the stream's window of changes since just before it.
      const since = { updatedAt: new Date(Date.parse(order.updatedAt) - 1).toISOString(), id: "0" };
      const c1 = woo.stats().calls;
      const seen: string[] = [];
      for await (const page of stream.list({ since, signpost: now(), pageSize: 50 }))
        seen.push(...page.map((o) => stream.idOf(o)));
      assert.ok(seen.includes(String(placed.id)));
      console.log(`# orders changed since a cursor (${seen.length}): ${calls(c1)} calls`);
      await api("PUT", "/settings/general/woocommerce_calc_taxes", { value: "no" });
    });

    test("a shipment's tracking is written back once: the order is completed, the note is not duplicated on rerun", async () => {
      const s = simpleProduct("3.00");
      const [w] = (await woo.writers.product?.upsert([item<"product">(s)], noLinks)) ?? [];
      const placed = await placeOrder([{ product_id: Number(ok(w).targetId), quantity: 1 }]);
      const shipment: Shipment = {
        source: "erp",
        sourceId: "1",
        updatedAt: now(),
        key: `erp:OUT-${run}`,
        orderKey: `shop:${placed.number}`,
        orderNumber: placed.number,
        carrier: "USPS",
        trackingNumbers: [`9400${run}`],
        trackingUrls: [`https://tracking.example.com/${run}`],
        lines: [],
        shippedAt: now(),
      };
      const writer = woo.writers.shipment;
      assert.ok(writer);
      const c0 = woo.stats().calls;
      const [first] = await writer.upsert([item<"shipment">(shipment)], noLinks);
      assert.equal(ok(first).action, "created");
      console.log(`# shipment written: ${calls(c0)} calls`);
      const w0 = woo.writes();
      const c1 = woo.stats().calls;
      const [second] = await writer.upsert([item<"shipment">(shipment)], noLinks);
      assert.equal(ok(second).action, "unchanged");
      assert.equal(ok(second).targetId, ok(first).targetId);
      assert.equal(woo.writes() - w0, 0);
      console.log(`# shipment again: ${calls(c1)} calls, 0 writes`);
      const notes = await api<{ note: string; customer_note: boolean }[]>(
        "GET",
        `/orders/${placed.id}/notes`,
      );
      const ours = notes.filter((n) => n.note.includes(shipmentMarker(shipment.key)));
      assert.equal(ours.length, 1);
      assert.match(ours[0]?.note ?? "", new RegExp(`9400${run}`));
      assert.equal(ours[0]?.customer_note, true);
      const order = await api<{ status: string }>("GET", `/orders/${placed.id}`);
      assert.equal(order.status, "completed");
      assert.equal(await writer.findByExternalRef(shipment.key, shipment), ok(first).targetId);
    });

    test("partial shipments: the first leaves the order processing with its note, the last completes it; each written once", async () => {
      const p = variableProduct(["S", "M"], "15.00");
      const [w] = (await woo.writers.product?.upsert([item<"product">(p)], noLinks)) ?? [];
      const vs = await api<{ id: number; sku: string }[]>(
        "GET",
        `/products/${ok(w).targetId}/variations?per_page=100`,
      );
      const v = (sku: string) => vs.find((x) => x.sku === sku)?.id as number;
      const placed = await placeOrder([
        { product_id: Number(ok(w).targetId), variation_id: v(`${p.key}-S`), quantity: 2 },
        { product_id: Number(ok(w).targetId), variation_id: v(`${p.key}-M`), quantity: 1 },
      ]);
      const ship = (n: number, lines: Shipment["lines"]): Shipment => ({
        source: "erp",
        sourceId: String(n),
        updatedAt: now(),
        key: `erp:OUT-P${n}-${run}`,
        orderKey: `shop:${placed.number}`,
        orderNumber: placed.number,
        carrier: "UPS",
        trackingNumbers: [`1ZP${n}${run}`],
        trackingUrls: [],
        lines,
        shippedAt: now(),
      });
      const first = ship(1, [{ sku: `${p.key}-S`, quantity: 1 }]);
      const last = ship(2, [
        { sku: `${p.key}-S`, quantity: 1 },
        { sku: `${p.key}-M`, quantity: 1 },
      ]);
      const writer = woo.writers.shipment;
      assert.ok(writer);
      const c0 = woo.stats().calls;
      const [r1] = await writer.upsert([item<"shipment">(first)], noLinks);
      assert.equal(ok(r1).action, "created");
      console.log(`# partial shipment: ${calls(c0)} calls`);
      const status = async () => (await api<{ status: string }>("GET", `/orders/${placed.id}`)).status;
      assert.equal(await status(), "processing", "a partial shipment completed the order");
      const w0 = woo.writes();
      const [again1] = await writer.upsert([item<"shipment">(first)], noLinks);
      assert.equal(ok(again1).action, "unchanged");
      assert.equal(woo.writes() - w0, 0);
      const c1 = woo.stats().calls;
      const [r2] = await writer.upsert([item<"shipment">(last)], noLinks);
      assert.equal(ok(r2).action, "created");
      console.log(`# final shipment: ${calls(c1)} calls`);
      assert.equal(await status(), "completed");
      const w1 = woo.writes();
      const c2 = woo.stats().calls;
      const both = await writer.upsert([item<"shipment">(first), item<"shipment">(last)], noLinks);
      assert.deepEqual(
        both.map((r) => ok(r).action),
        ["unchanged", "unchanged"],
      );
      assert.equal(woo.writes() - w1, 0, "re-applying the shipments wrote to the shop");
      console.log(`# both shipments again: ${calls(c2)} calls, 0 writes`);
      const notes = await api<{ note: string; customer_note: boolean }[]>(
        "GET",
        `/orders/${placed.id}/notes`,
      );
      const ours = notes.filter((n) => n.note.includes("[passerelle shipment "));
      assert.equal(ours.length, 2);
      assert.ok(ours.every((n) => n.customer_note));
      assert.ok(ours.some((n) => n.note.includes(`1ZP1${run}`) && n.note.includes(`Items: 1 x ${p.key}-S`)));
    });

    test("an invoice reaches the order as meta and a customer note, once", async () => {
      const s = simpleProduct("10.00");
      const [w] = (await woo.writers.product?.upsert([item<"product">(s)], noLinks)) ?? [];
      const placed = await placeOrder([{ product_id: Number(ok(w).targetId), quantity: 2 }]);
      const inv: Invoice = {
        source: "erp",
        sourceId: "7",
        updatedAt: now(),
        key: `erp:INV-${run}-X`,
        number: `INV-${run}-X`,
        kind: "invoice",
        orderKey: `shop:${placed.number}`,
        currency: "USD",
        totalTax: "0",
        total: placed.total,
        issuedAt: "2026-12-01T10:00:00.000Z",
        document: { ref: "erp:account.invoice/7", mimeType: "application/pdf" },
      };
      const writer = woo.writers.invoice;
      assert.ok(writer);
      const c0 = woo.stats().calls;
      const [r] = await writer.upsert([item<"invoice">(inv)], noLinks);
      assert.equal(ok(r).action, "created");
      console.log(`# invoice written: ${calls(c0)} calls`);
      const order = await api<{ meta_data: { key: string; value: Record<string, string> }[] }>(
        "GET",
        `/orders/${placed.id}`,
      );
      assert.deepEqual(order.meta_data.find((m) => m.key === invoiceMetaKey(inv.number))?.value, {
        number: inv.number,
        kind: "invoice",
        date: "2026-12-01",
        currency: "USD",
        total: placed.total,
        total_tax: "0",
        document: "erp:account.invoice/7",
      });
      const notes = await api<{ note: string; customer_note: boolean }[]>(
        "GET",
        `/orders/${placed.id}/notes`,
      );
      const ours = notes.filter((n) => n.note.includes(invoiceMarker(inv.key)));
      assert.equal(ours.length, 1);
      assert.equal(ours[0]?.customer_note, true);
      assert.match(
        ours[0]?.note ?? "",
        new RegExp(`Invoice INV-${run}-X of 2026-12-01: total ${placed.total} USD`),
      );
      const w0 = woo.writes();
      const [again] = await writer.upsert([item<"invoice">(inv, ok(r).targetId)], noLinks);
      assert.equal(ok(again).action, "unchanged");
      assert.equal(woo.writes() - w0, 0);
      assert.equal(await writer.findByExternalRef(inv.key, inv), ok(r).targetId);
    });

    test("an order the ERP withdrew is cancelled in the shop; a completed one is refused with the reason", async () => {
      const s = simpleProduct("6.00");
      const [w] = (await woo.writers.product?.upsert([item<"product">(s)], noLinks)) ?? [];
      const id = Number(ok(w).targetId);
      await woo.writers.inventory?.upsert(
        [
          item<"inventory">({
            source: "erp",
            sourceId: "1",
            updatedAt: now(),
            key: `${s.key}@default`,
            sku: s.key,
            location: "default",
            onHand: 10,
            reserved: 0,
            safetyStock: 0,
            available: 10,
          }),
        ],
        noLinks,
      );
      const open = await placeOrder([{ product_id: id, quantity: 3 }]);
      const shipped = await placeOrder([{ product_id: id, quantity: 1 }]);
      await api("PUT", `/orders/${shipped.id}`, { status: "completed" });
      const stream = woo.streams.order;
      assert.ok(stream);
      const canonical = async (orderId: number) =>
        Order.parse({
          ...(await stream.toCanonical((await stream.get(String(orderId))) as never)),
          cancelled: true,
        });
      const writer = woo.writers.order;
      assert.ok(writer);
      const before = (await api<{ stock_quantity: number }>("GET", `/products/${id}`)).stock_quantity;
      const withdrawn = await canonical(open.id);
      const c0 = woo.stats().calls;
      const [r] = await writer.upsert(
        [{ key: withdrawn.key, record: withdrawn, targetId: String(open.id), externalRef: withdrawn.key }],
        noLinks,
      );
      assert.equal(ok(r).action, "updated");
      assert.match(ok(r).note ?? "", /cancelled/);
      console.log(`# ERP cancellation: ${calls(c0)} calls`);
      assert.equal((await api<{ status: string }>("GET", `/orders/${open.id}`)).status, "cancelled");
      const afterCancel = (await api<{ stock_quantity: number }>("GET", `/products/${id}`)).stock_quantity;
      assert.equal(afterCancel, before + 3, "the cancelled order's stock went back");
      const w0 = woo.writes();
      const [again] = await writer.upsert(
        [{ key: withdrawn.key, record: withdrawn, targetId: String(open.id), externalRef: withdrawn.key }],
        noLinks,
      );
      assert.equal(ok(again).action, "unchanged");
      assert.equal(woo.writes() - w0, 0);
      const late = await canonical(shipped.id);
      const [refused] = await writer.upsert(
        [{ key: late.key, record: late, targetId: String(shipped.id), externalRef: late.key }],
        noLinks,
      );
      assert.ok(refused && !refused.ok);
      assert.match(refused.error.message, /completed/);
      assert.equal((await api<{ status: string }>("GET", `/orders/${shipped.id}`)).status, "completed");
    });

    test("a customer-group price is unsupported (the reason names it); a compare-at price becomes the sale price", async () => {
      const writer = woo.writers.price;
      assert.ok(writer?.unsupported);
      const sku = stockSkus[0] as string;
      const group: Price = {
        source: "erp",
        sourceId: "g",
        updatedAt: now(),
        key: `b2b:${sku}`,
        priceList: { code: "b2b", name: "Trade", customerGroup: "trade", currency: "USD" },
        sku,
        price: "5.00",
        tiers: [],
      };
      assert.match(writer.unsupported(group) ?? "", /not supported by WooCommerce.*"b2b".*group "trade"/);
      assert.equal(
        writer.unsupported({ ...group, priceList: { ...group.priceList, code: "default" } }),
        null,
      );
      const p = simpleProduct("8.00");
      const onSale: Product = {
        ...p,
        variants: [{ ...(p.variants[0] as Product["variants"][number]), compareAtPrice: "10.00" }],
      };
      const [w] = (await woo.writers.product?.upsert([item<"product">(onSale)], noLinks)) ?? [];
      const shopped = await api<{ regular_price: string; sale_price: string; price: string }>(
        "GET",
        `/products/${ok(w).targetId}`,
      );
      assert.deepEqual([shopped.regular_price, shopped.sale_price, shopped.price], ["10.00", "8.00", "8.00"]);
      const w0 = woo.writes();
      const [again] =
        (await woo.writers.product?.upsert([item<"product">(onSale, ok(w).targetId)], noLinks)) ?? [];
      assert.equal(ok(again).action, "unchanged");
      assert.equal(woo.writes() - w0, 0);
      const [ended] =
        (await woo.writers.product?.upsert([item<"product">(p, ok(w).targetId)], noLinks)) ?? [];
      assert.equal(ok(ended).action, "updated");
      const back = await api<{ regular_price: string; sale_price: string }>(
        "GET",
        `/products/${ok(w).targetId}`,
      );
      assert.deepEqual([back.regular_price, back.sale_price], ["8.00", ""]);
    });

    test("a real signed delivery from the shop verifies and becomes an order event; a tampered one is refused", async () => {
      const received: { headers: Record<string, string | undefined>; raw: Buffer }[] = [];
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const headers: Record<string, string | undefined> = {};
          for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
          received.push({ headers, raw: Buffer.concat(chunks) });
          res.end("ok");
        });
      });
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      try {
        const port = (server.address() as AddressInfo).port;
        const secret = `hook-${run}`;
        await api("POST", "/webhooks", {
          name: "passerelle",
          topic: "order.updated",
          delivery_url: `http://127.0.0.1:${port}/webhooks/shop`,
          secret,
          status: "active",
        });
        const placed = await placeOrder([
          {
            product_id: (await api<{ id: number }[]>("GET", `/products?sku=${stockSkus[1]}`))[0]
              ?.id as number,
            quantity: 1,
          },
        ]);
        await api("PUT", `/orders/${placed.id}`, { customer_note: "leave at the door" });
        await shop.runQueue();
        const withConfig = config({ webhookSecret: secret });
        const outcomes = received.map((r) =>
          woocommerce.webhooks?.receive(
            { rawBody: r.raw, headers: r.headers, query: {} },
            withConfig,
            new Date(),
          ),
        );
        assert.ok(
          outcomes.some((o) => o?.kind === "reply"),
          "the creation ping was not answered as a ping",
        );
        const events = outcomes.flatMap((o) => (o?.kind === "events" ? o.events : []));
        const ours = events.find((e) => e.recordId === String(placed.id));
        assert.ok(ours, `no event for order ${placed.id} among ${received.length} deliveries`);
        assert.equal(ours.entity, "order");
        assert.equal(ours.topic, "order.updated");
        const delivery = received.find((r) => r.headers["x-wc-webhook-signature"]);
        assert.ok(delivery);
        const tampered = Buffer.from(delivery.raw.toString("utf8").replace(/"id":\d+/, '"id":1'));
        const refused = woocommerce.webhooks?.receive(
          { rawBody: tampered, headers: delivery.headers, query: {} },
          withConfig,
          new Date(),
        );
        assert.equal(refused?.kind, "reject");
        const wrongSecret = woocommerce.webhooks?.receive(
          { rawBody: delivery.raw, headers: delivery.headers, query: {} },
          config({ webhookSecret: "another-secret" }),
          new Date(),
        );
        assert.equal(wrongSecret?.kind, "reject");
      } finally {
        await new Promise((done) => server.close(done));
      }
    });

    test("wrong credentials name the system and never show the secret", async () => {
      const secret = "wrongsecret wrongsecret";
      const bad = createWooConnector("my-shop", config({ applicationPassword: secret }));
      const err = await bad.check().then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof SyncError, String(err));
      assert.equal(err.kind, "config");
      assert.match(err.message, /my-shop/);
      const shown = JSON.stringify({ message: err.message, details: err.toJSON() });
      assert.ok(!shown.includes(secret), shown);
      assert.ok(!shown.includes(Buffer.from(`${shop.username}:${secret}`).toString("base64")), shown);
      const keyed = WooCommerceConfig.safeParse({
        url: shop.url,
        consumerKey: shop.consumerKey,
        consumerSecret: shop.consumerSecret,
      });
      assert.ok(!keyed.success);
      assert.match(keyed.error.message, /https/);
      assert.ok(!keyed.error.message.includes(shop.consumerSecret));
    });

    test("every request and answer above fits the REST schemas WooCommerce 7.9 reports", (t) => {
      if (!existsSync(join(SPECS, "wc-v3-index.json"))) return t.skip(`no specs at ${SPECS}`);
      const specs = wooSpecs(SPECS);
      assert.ok(exchanges.length > 10, `only ${exchanges.length} exchanges recorded`);
      const problems = exchanges.flatMap((x) => specs.check(x));
      assert.deepEqual(problems, []);
      console.log(`# ${exchanges.length} exchanges checked against the 7.9 schemas`);
    });
  });
}
