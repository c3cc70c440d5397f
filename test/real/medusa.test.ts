/**
 * The Medusa connector against a real Medusa 2.21 (PostgreSQL, no Redis) from the kit in ../shared/real/medusa,
 * a fresh clone of its template database served on a free loopback port (scripts/real/medusa.mjs). Run by
 * `npm run test:real`. Orders are placed the way a shopper places them, through the Store API's checkout.
 * Every request and answer of the merchant scenarios is checked against the Admin OpenAPI 2.0.0
 * (../shared/specs/medusa), with the 2.21 deviations listed in medusa-spec.ts.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { medusaAvailable, type StartedMedusa, startMedusa } from "../../scripts/real/medusa.mjs";
import { MedusaConfig } from "../../src/connectors/medusa/config.ts";
import { createMedusaConnector, type MedusaConnector, medusa } from "../../src/connectors/medusa/index.ts";
import { SyncError } from "../../src/core/errors.ts";
import {
  type InventoryLevel,
  Order,
  type Order as OrderT,
  type Price,
  type Product,
  type Shipment,
} from "../../src/core/model.ts";
import { orderTotalCheck } from "../../src/core/money.ts";
import type { WriteItem, WriteResult } from "../../src/ports/connector.ts";
import { runContractSuite } from "../../src/ports/contract-suite.ts";
import { closedPort } from "../helpers/net.ts";
import { type Exchange, recordingFetch } from "./exchanges.ts";
import { type Json, medusaShop } from "./medusa-shop.ts";
import { medusaSpecs } from "./medusa-spec.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SPEC =
  process.env.MEDUSA_SPEC ?? join(ROOT, "..", "shared", "specs", "medusa", "admin-openapi-2.0.0.yaml.gz");
const available = medusaAvailable();

if (!available.ok) {
  test("Medusa kit and PostgreSQL are there", { skip: available.missing ?? "missing" }, () => {});
} else {
  const run = Date.now().toString(36).toUpperCase();
  let seq = 0;
  let shop: StartedMedusa;
  const settings = (): Json => ({
    url: shop.url,
    secretKey: shop.secretKey,
    locationMap: { main: "Main Warehouse" },
    basePriceLists: ["default", "public-usd"],
  });
  const config = (over: Json = {}) => MedusaConfig.parse({ ...settings(), ...over });

  /** The shop's APIs as the tests (a merchant, a shopper) use them, outside the connector. */
  let shopApi: ReturnType<typeof medusaShop>;
  const admin = (method: string, path: string, body?: unknown) => shopApi.admin(method, path, body);
  const register = (first?: string, last?: string) => shopApi.register(first, last);
  const checkout = (...args: Parameters<ReturnType<typeof medusaShop>["checkout"]>) =>
    shopApi.checkout(...args);

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
      currency: "EUR",
      categoryPath: [],
      attributes: {},
      images: [],
      components: [],
      variants: [{ sku: `S-${run}-${n}`, price, options: {} }],
    };
  };
  const variableProduct = (sizes = ["S", "M"], price = "20.00", colours: string[] = []): Product => {
    const n = ++seq;
    const key = `V-${run}-${n}`;
    const combos = colours.length
      ? sizes.flatMap((size) => colours.map((colour) => ({ Size: size, Colour: colour })))
      : sizes.map((size) => ({ Size: size }));
    return {
      source: "erp",
      sourceId: String(n),
      updatedAt: now(),
      key,
      title: `Shirt ${n}`,
      description: `Cotton shirt ${n}`,
      status: "active",
      currency: "EUR",
      categoryPath: [],
      attributes: {},
      images: [],
      components: [],
      variants: combos.map((options) => ({
        sku: `${key}-${Object.values(options).join("-")}`,
        price,
        options,
      })),
    };
  };
  const item = <E extends "product" | "inventory" | "price" | "shipment" | "order">(
    record: WriteItem<E>["record"],
    targetId: string | null = null,
  ): WriteItem<E> => ({ key: record.key, record, targetId, externalRef: record.key }) as WriteItem<E>;
  const noLinks = { resolve: async () => null };
  const ok = (r: WriteResult | undefined): Extract<WriteResult, { ok: true }> => {
    assert.ok(r?.ok, r && !r.ok ? r.error.message : "no result");
    return r;
  };
  const level = (sku: string, available: number, location = "main"): InventoryLevel => ({
    source: "erp",
    sourceId: sku,
    updatedAt: now(),
    key: `${sku}@${location}`,
    sku,
    location,
    onHand: available + 1,
    reserved: 1,
    safetyStock: 0,
    available,
  });
  const wholesale = {
    code: "wholesale-eur",
    name: "Wholesale EUR",
    customerGroup: "wholesale",
    currency: "EUR",
  };
  const listPrice = (sku: string, price: string, list = wholesale): Price => ({
    source: "erp",
    sourceId: sku,
    updatedAt: now(),
    key: `${list.code}:${sku}`,
    priceList: list,
    sku,
    price,
    tiers: [],
  });
  const shipmentOf = (orderNumber: string, lines: Shipment["lines"] = []): Shipment => {
    const n = ++seq;
    return {
      source: "erp",
      sourceId: String(n),
      updatedAt: now(),
      key: `erp:OUT-${run}-${n}`,
      orderKey: `medusa:${orderNumber}`,
      orderNumber,
      carrier: "DHL",
      trackingNumbers: [`TRK${run}${n}`],
      trackingUrls: [`https://tracking.example.com/${run}${n}`],
      lines,
      shippedAt: now(),
    };
  };

  /** Seeded before the suites: SKUs with stock, registered customers, orders placed at checkout. */
  const stock: { sku: string; variantId: string }[] = [];
  const orders: { id: string; number: string }[] = [];

  before(async () => {
    shop = await startMedusa({ log: (m) => console.log(`# ${m}`), instance: "conn" });
    shopApi = medusaShop(shop, run);
    const t0 = Date.now();
    const { product } = await admin("POST", "/admin/products", {
      title: `Seed Tee ${run}`,
      handle: `seed-tee-${run.toLowerCase()}`,
      status: "published",
      shipping_profile_id: shop.seed.shipping_profile_id,
      sales_channels: [{ id: shop.seed.sales_channel_id }],
      options: [{ title: "Size", values: ["S", "M", "L", "XL"] }],
      variants: ["S", "M", "L", "XL"].map((size) => ({
        title: size,
        sku: `K-${run}-${size}`,
        options: { Size: size },
        manage_inventory: true,
        prices: [
          { currency_code: "eur", amount: 9 },
          { currency_code: "usd", amount: 11 },
        ],
      })),
    });
    for (const v of product.variants) {
      stock.push({ sku: v.sku, variantId: v.id });
      const { inventory_items } = await admin(
        "GET",
        `/admin/inventory-items?sku=${encodeURIComponent(v.sku)}`,
      );
      await admin("POST", `/admin/inventory-items/${inventory_items[0].id}/location-levels`, {
        location_id: shop.seed.stock_location_id,
        stocked_quantity: 500,
      });
    }
    for (let i = 0; i < 6; i++) await register();
    for (let i = 0; i < 12; i++) {
      const { order } = await checkout([
        { variantId: stock[i % 4]?.variantId as string, quantity: 1 + (i % 2) },
      ]);
      orders.push({ id: order.id, number: String(order.display_id) });
    }
    console.log(`# seeded 4 SKUs, 6 customers, 12 orders in ${Date.now() - t0} ms`);
  });
  after(async () => {
    await shop?.stop();
  });

  describe("medusa (real)", () => {
    runContractSuite(
      medusa,
      async () => {
        let shipmentOrder = 0;
        let stockStep = 0;
        let priceStep = 0;
        const STATUS: Record<string, string> = { published: "active", draft: "draft", rejected: "archived" };
        return {
          config: config(),
          badCredentials: config({ secretKey: "sk_0000000000000000000000000000000000000000" }),
          unreachable: config({ url: `http://127.0.0.1:${await closedPort()}` }),
          skip: {
            faults:
              "a real Medusa cannot be made to answer 429 or 5xx here: fault handling is covered by the shared HTTP client's tests",
            "order.write":
              "an update-only writer (the ERP's cancellation of an order placed in the shop): there is nothing to create; covered by 'an order the ERP withdrew is cancelled in Medusa' below",
            "shipment.update":
              "a shipment is written once: Medusa does not edit the items or labels of a shipped fulfilment",
            "inventory.lookup":
              "setting an absolute quantity leaves no document to find: findByExternalRef answers for any level Medusa holds at that SKU and location (safe, the write is idempotent)",
            "price.lookup":
              "setting a price leaves no document to find: findByExternalRef answers for any price the list holds for that SKU (safe, the write is idempotent)",
          },
          samples: {
            product: () => [simpleProduct(), variableProduct(), variableProduct(["S", "M", "L"], "25.00")],
            inventory: () => stock.slice(0, 3).map((s) => level(s.sku, 10 + (stockStep++ % 7))),
            price: () => stock.slice(0, 3).map((s) => listPrice(s.sku, `${10 + (priceStep++ % 9)}.50`)),
            shipment: () =>
              [0, 1, 2].map(() =>
                shipmentOf((orders[shipmentOrder++ % orders.length] as { number: string }).number),
              ),
          },
          change: {
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
              available: l.available + 5,
            }),
            price: (p: Price): Price => ({ ...p, price: "99.00" }),
          },
          rejects: {
            // Each variant lacks the other's option: Medusa refuses the product ("options are not provided").
            product: (): Product => {
              const p = variableProduct(["S"]);
              return {
                ...p,
                variants: [
                  { sku: `${p.key}-A`, price: "5.00", options: { Size: "S" } },
                  { sku: `${p.key}-B`, price: "5.00", options: { Colour: "Red" } },
                ],
              };
            },
            inventory: () => level(`UNKNOWN-${run}`, 3),
            price: () => listPrice(`UNKNOWN-${run}`, "1.00"),
            shipment: () => shipmentOf("987654"),
          },
          normalise: {
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
          },
          async readBack(entity, targetId) {
            if (entity === "product") {
              const { product: p } = await admin(
                "GET",
                `/admin/products/${targetId}?fields=id,title,status,*variants,*variants.options,*variants.options.option,*variants.prices`,
              );
              return {
                title: p.title,
                status: STATUS[p.status],
                variants: p.variants.map((v: Json) => ({
                  sku: v.sku,
                  price: String(v.prices.find((x: Json) => x.currency_code === "eur")?.amount),
                  options: Object.fromEntries(
                    v.options
                      .filter((o: Json) => o.option.title !== "Default option")
                      .map((o: Json) => [o.option.title, o.value]),
                  ),
                })),
              };
            }
            if (entity === "inventory") {
              const [iid, loc] = targetId.split("@");
              const { inventory_item: it } = await admin(
                "GET",
                `/admin/inventory-items/${iid}?fields=id,sku,*location_levels`,
              );
              const l = it.location_levels.find((x: Json) => x.location_id === loc);
              return l ? { sku: it.sku, available: l.stocked_quantity - l.reserved_quantity } : null;
            }
            if (entity === "price") {
              const [listId, variantId] = targetId.split("/");
              const { price_list } = await admin(
                "GET",
                `/admin/price-lists/${listId}?fields=id,*prices,prices.price_set.variant.id`,
              );
              const p = price_list.prices.find((x: Json) => x.variant_id === variantId);
              const sku = stock.find((s) => s.variantId === variantId)?.sku;
              return p ? { sku, price: String(p.amount) } : null;
            }
            if (entity === "shipment") {
              for (const o of orders) {
                const { order } = await admin(
                  "GET",
                  `/admin/orders/${o.id}?fields=id,display_id,*items,*fulfillments,*fulfillments.labels`,
                );
                const f = order.fulfillments.find((x: Json) => x.id === targetId);
                if (f) {
                  assert.ok(f.shipped_at, `fulfilment ${targetId} is not shipped`);
                  return {
                    orderNumber: String(order.display_id),
                    trackingNumbers: f.labels.map((l: Json) => l.tracking_number),
                  };
                }
              }
              return null;
            }
            return null;
          },
          async insert(entity) {
            if (entity === "customer") return (await register()).id;
            const { order } = await checkout([{ variantId: stock[0]?.variantId as string, quantity: 1 }]);
            return order.id;
          },
          async touch(entity, id) {
            await admin("POST", entity === "customer" ? `/admin/customers/${id}` : `/admin/orders/${id}`, {
              metadata: { touched: now() },
            });
          },
          writes: (c) => (c as MedusaConnector).writes(),
          async teardown() {},
        };
      },
      "medusa (real)",
    );
  });

  describe("medusa (real): merchant scenarios", () => {
    const exchanges: Exchange[] = [];
    let shopConn: MedusaConnector;
    before(() => {
      shopConn = createMedusaConnector("medusa", config(), recordingFetch(exchanges));
    });
    const calls = (from: number) => shopConn.stats().calls - from;
    /** The variable product of the first scenario, its SKUs' variant ids, and the group's price. */
    let shirt: Product;
    const variantIds = new Map<string, string>();

    test("a product with two options is created with prices in two currencies and a group price list; written again it writes nothing, also with its link lost", async () => {
      const writer = shopConn.writers.product;
      assert.ok(writer);
      shirt = variableProduct(["S", "M"], "20.00", ["Red", "Blue"]);
      const c0 = shopConn.stats().calls;
      const [created] = await writer.upsert([item<"product">(shirt)], noLinks);
      const id = ok(created).targetId;
      assert.equal(ok(created).action, "created");
      console.log(`# create product with 2 options, 4 variants: ${calls(c0)} calls`);
      const { product } = await admin(
        "GET",
        `/admin/products/${id}?fields=id,status,external_id,*options,*options.values,*variants,*variants.options,*variants.options.option,*variants.prices,*sales_channels`,
      );
      assert.equal(product.status, "published");
      assert.equal(product.external_id, shirt.key);
      assert.deepEqual(
        product.options.map((o: Json) => [o.title, o.values.map((v: Json) => v.value).sort()]).sort(),
        [
          ["Colour", ["Blue", "Red"]],
          ["Size", ["M", "S"]],
        ],
      );
      assert.equal(product.variants.length, 4);
      assert.deepEqual(
        product.sales_channels.map((c: Json) => c.id),
        [shop.seed.sales_channel_id],
      );
      for (const v of product.variants) variantIds.set(v.sku, v.id);
      const c3 = shopConn.stats().calls;
      const stocked = await shopConn.writers.inventory?.upsert(
        shirt.variants.map((v) => item<"inventory">(level(v.sku, 50))),
        noLinks,
      );
      for (const r of stocked ?? []) assert.equal(ok(r).action, "created");
      console.log(`# stock for 4 variants at one location: ${calls(c3)} calls`);

      // The USD price comes from the ERP's USD list (a base price list), the group's from its own list.
      const usd = { code: "public-usd", name: "Public USD", customerGroup: "all", currency: "USD" };
      const prices = [
        ...shirt.variants.map((v) => listPrice(v.sku, "24.00", usd)),
        listPrice(`${shirt.key}-M-Red`, "15.00"),
      ];
      const c1 = shopConn.stats().calls;
      const written = await shopConn.writers.price?.upsert(
        prices.map((p) => item<"price">(p)),
        noLinks,
      );
      for (const r of written ?? []) assert.equal(ok(r).action, "created");
      console.log(`# prices: 4 USD variant prices + 1 group price list price: ${calls(c1)} calls`);
      const { variants } = await admin(
        "GET",
        `/admin/product-variants?id[]=${variantIds.get(`${shirt.key}-M-Red`)}&fields=id,sku,*prices`,
      );
      assert.deepEqual(variants[0].prices.map((p: Json) => [p.currency_code, p.amount]).sort(), [
        ["eur", 20],
        ["usd", 24],
      ]);
      const { price_lists } = await admin(
        "GET",
        "/admin/price-lists?fields=id,title,type,metadata,*price_list_rules",
      );
      const list = price_lists.find((l: Json) => l.metadata?.passerelle_code === "wholesale-eur");
      assert.ok(list, "the group's price list exists");
      assert.equal(list.type, "override");
      const { customer_groups } = await admin("GET", "/admin/customer-groups?name=wholesale");
      assert.deepEqual(list.rules["customer.groups.id"], [customer_groups[0].id]);

      // Written again, with its links and with its link lost (a crash before the link was stored): nothing.
      const w0 = shopConn.writes();
      const c2 = shopConn.stats().calls;
      const [again] = await writer.upsert([item<"product">(shirt, id)], noLinks);
      assert.equal(ok(again).action, "unchanged");
      const [lost] = await writer.upsert([item<"product">(shirt)], noLinks);
      assert.equal(ok(lost).action, "unchanged");
      assert.equal(ok(lost).targetId, id);
      const pricesAgain = await shopConn.writers.price?.upsert(
        prices.map((p) => item<"price">(p)),
        noLinks,
      );
      for (const r of pricesAgain ?? []) assert.equal(ok(r).action, "unchanged");
      assert.equal(shopConn.writes() - w0, 0, "writing the same product and prices again wrote to Medusa");
      console.log(`# same product (twice) and prices again: ${calls(c2)} calls, 0 writes`);
      const { products } = await admin("GET", `/admin/products?external_id=${shirt.key}&fields=id`);
      assert.equal(products.length, 1);
    });

    test("a registered customer of the group pays the list price at checkout, a guest the variant's price", async () => {
      const sku = `${shirt.key}-M-Red`;
      const levels = await shopConn.writers.inventory?.upsert([item<"inventory">(level(sku, 20))], noLinks);
      ok(levels?.[0]);
      const member = await register("Vera", "Wholesale");
      const { customer_groups } = await admin("GET", "/admin/customer-groups?name=wholesale");
      await admin("POST", `/admin/customer-groups/${customer_groups[0].id}/customers`, { add: [member.id] });
      const vid = variantIds.get(sku) as string;
      const paid = await checkout([{ variantId: vid, quantity: 2 }], {
        email: member.email,
        token: member.token,
      });
      assert.equal(paid.cart.items[0].unit_price, 15);
      const guest = await checkout([{ variantId: vid, quantity: 1 }]);
      assert.equal(guest.cart.items[0].unit_price, 20);
      const stream = shopConn.streams.customer;
      assert.ok(stream);
      const native = await stream.get(member.id);
      assert.ok(native);
      const c = await stream.toCanonical(native);
      assert.equal(c.group, "wholesale");
      assert.equal(c.lastName, "Wholesale");
    });

    test("stock is set per location: the shop then sells exactly what the ERP says is available", async () => {
      const { stock_location } = await admin("POST", "/admin/stock-locations", { name: `Outlet ${run}` });
      const conn = createMedusaConnector(
        "medusa",
        config({ locationMap: { main: "Main Warehouse", outlet: `Outlet ${run}` } }),
        recordingFetch(exchanges),
      );
      const sku = `${shirt.key}-S-Blue`;
      const c0 = conn.stats().calls;
      const results = await conn.writers.inventory?.upsert(
        [item<"inventory">(level(sku, 7)), item<"inventory">(level(sku, 3, "outlet"))],
        noLinks,
      );
      for (const r of results ?? []) assert.equal(ok(r).action, "created");
      console.log(
        `# stock at 2 locations (a new connection: it loads the locations): ${conn.stats().calls - c0} calls`,
      );
      const { inventory_items } = await admin(
        "GET",
        `/admin/inventory-items?sku=${sku}&fields=id,*location_levels`,
      );
      const byLoc = new Map<string, Json>(
        inventory_items[0].location_levels.map((l: Json) => [l.location_id, l]),
      );
      const main = byLoc.get(shop.seed.stock_location_id);
      assert.equal(main?.stocked_quantity - main?.reserved_quantity, 7);
      assert.equal(byLoc.get(stock_location.id)?.stocked_quantity, 3);
      // A checkout reserves 2 at the main location; the ERP then says 5 are left to sell there.
      await checkout([{ variantId: variantIds.get(sku) as string, quantity: 2 }]);
      const [after] =
        (await conn.writers.inventory?.upsert([item<"inventory">(level(sku, 5))], noLinks)) ?? [];
      ok(after);
      const { inventory_items: again } = await admin(
        "GET",
        `/admin/inventory-items?sku=${sku}&fields=id,*location_levels`,
      );
      const l = again[0].location_levels.find((x: Json) => x.location_id === shop.seed.stock_location_id);
      assert.equal(l.reserved_quantity, 2);
      assert.equal(l.stocked_quantity, 7);
      const refused = await conn.writers.inventory?.upsert(
        [item<"inventory">(level(sku, 1, "nowhere"))],
        noLinks,
      );
      const bad = refused?.[0];
      assert.ok(bad && !bad.ok);
      assert.equal(bad.error.details.field, "location");
      assert.match(bad.error.message, /"nowhere"/);
    });

    /** Orders of the scenarios below: a registered customer's and a guest's. */
    let registeredOrder: OrderT;
    let guestOrder: OrderT;

    test("guest and registered orders read in as canonical orders whose money adds up", async () => {
      const sinceMs = Date.now() - 1000;
      const buyer = await register("Grace", "Hopper");
      const a = await checkout(
        [
          { variantId: variantIds.get(`${shirt.key}-S-Red`) as string, quantity: 2 },
          { variantId: variantIds.get(`${shirt.key}-M-Blue`) as string, quantity: 1 },
        ],
        { email: buyer.email, token: buyer.token },
      );
      const b = await checkout([{ variantId: variantIds.get(`${shirt.key}-S-Red`) as string, quantity: 1 }]);
      const stream = shopConn.streams.order;
      assert.ok(stream);
      const c0 = shopConn.stats().calls;
      const seen: Json[] = [];
      const since = { updatedAt: new Date(sinceMs).toISOString(), id: "" };
      for await (const page of stream.list({ since, signpost: now(), pageSize: 50 }))
        seen.push(...(page as Json[]));
      console.log(`# orders changed since a cursor (${seen.length}): ${calls(c0)} calls`);
      const ra = seen.find((o) => o.id === a.order.id);
      const rb = seen.find((o) => o.id === b.order.id);
      assert.ok(ra && rb, "both orders are read after the cursor");
      registeredOrder = Order.parse(await stream.toCanonical(ra as never));
      guestOrder = Order.parse(await stream.toCanonical(rb as never));
      for (const o of [registeredOrder, guestOrder]) assert.deepEqual(orderTotalCheck(o), { ok: true });
      assert.equal(registeredOrder.customer.email, buyer.email);
      assert.equal(registeredOrder.customer.name, "Grace Hopper");
      assert.equal(registeredOrder.key, `medusa:${a.order.display_id}`);
      assert.equal(registeredOrder.total, "65.00");
      assert.equal(registeredOrder.currency, "EUR");
      // Lines come in the order of Medusa's item ids (ULIDs), not the cart's: compared as a set.
      assert.deepEqual(registeredOrder.lines.map((l) => [l.sku, l.quantity, l.unitPrice]).sort(), [
        [`${shirt.key}-M-Blue`, 1, "20.00"],
        [`${shirt.key}-S-Red`, 2, "20.00"],
      ]);
      assert.equal(registeredOrder.shipping?.amount, "5.00");
      assert.equal(registeredOrder.shipping?.title, "Standard Shipping");
      assert.equal(registeredOrder.financialStatus, "authorized");
      assert.equal(registeredOrder.shippingAddress?.country, "DE");
      assert.equal(registeredOrder.shippingAddress?.city, "Berlin");
      assert.equal(registeredOrder.cancelled, false);
      assert.match(guestOrder.customer.email, /^guest-/);
      assert.equal(guestOrder.total, "25.00");
    });

    test("a partial then a full shipment with tracking: the order reads partial then fulfilled; written again, nothing", async () => {
      const o = registeredOrder;
      const writer = shopConn.writers.shipment;
      assert.ok(writer);
      const ctx = { resolve: async (_e: string, key: string) => (key === o.key ? o.sourceId : null) };
      const first = shipmentOf(o.number, [{ sku: `${shirt.key}-S-Red`, quantity: 1 }]);
      const c0 = shopConn.stats().calls;
      const [r1] = await writer.upsert([item<"shipment">(first)], ctx);
      assert.equal(ok(r1).action, "created");
      console.log(`# partial shipment (fulfilment + shipment): ${calls(c0)} calls`);
      const stream = shopConn.streams.order;
      assert.ok(stream);
      const partial = Order.parse(await stream.toCanonical((await stream.get(o.sourceId)) as never));
      assert.equal(partial.fulfillmentStatus, "partial");
      const rest = shipmentOf(o.number);
      const [r2] = await writer.upsert([item<"shipment">(rest)], ctx);
      assert.equal(ok(r2).action, "created");
      const full = Order.parse(await stream.toCanonical((await stream.get(o.sourceId)) as never));
      assert.equal(full.fulfillmentStatus, "fulfilled");
      const { order } = await admin(
        "GET",
        `/admin/orders/${o.sourceId}?fields=id,fulfillment_status,*items,*items.detail,*fulfillments,*fulfillments.labels,*fulfillments.items`,
      );
      assert.equal(order.fulfillment_status, "shipped");
      const f1 = order.fulfillments.find((f: Json) => f.id === ok(r1).targetId);
      const f2 = order.fulfillments.find((f: Json) => f.id === ok(r2).targetId);
      assert.deepEqual(
        f1.labels.map((l: Json) => [l.tracking_number, l.tracking_url]),
        [[first.trackingNumbers[0], first.trackingUrls[0]]],
      );
      assert.ok(f1.shipped_at && f2.shipped_at);
      assert.deepEqual(
        f1.items.map((i: Json) => i.quantity),
        [1],
      );
      assert.equal(
        f2.items.reduce((n: number, i: Json) => n + i.quantity, 0),
        2,
      );
      const w0 = shopConn.writes();
      const c1 = shopConn.stats().calls;
      const again = await writer.upsert([item<"shipment">(first), item<"shipment">(rest)], ctx);
      for (const r of again) assert.equal(ok(r).action, "unchanged");
      assert.equal(shopConn.writes() - w0, 0);
      console.log(`# both shipments again: ${calls(c1)} calls, 0 writes`);
      // A third shipment of a line that is already shipped is refused, naming the SKU.
      const [over] = await writer.upsert(
        [item<"shipment">(shipmentOf(o.number, [{ sku: `${shirt.key}-M-Blue`, quantity: 1 }]))],
        ctx,
      );
      assert.ok(over && !over.ok);
      assert.match(over.error.message, /has 0 of SKU/);
    });

    test("a crash between the fulfilment and its shipment: the rerun ships the fulfilment it finds, never a second one", async () => {
      const o = guestOrder;
      const s = shipmentOf(o.number);
      const { order } = await admin("GET", `/admin/orders/${o.sourceId}?fields=id,*items`);
      // What the first run managed before it died: the fulfilment with the shipment's key.
      await admin("POST", `/admin/orders/${o.sourceId}/fulfillments`, {
        items: order.items.map((i: Json) => ({ id: i.id, quantity: i.quantity })),
        location_id: shop.seed.stock_location_id,
        metadata: { passerelle_shipment: s.key },
      });
      const [r] = (await shopConn.writers.shipment?.upsert([item<"shipment">(s)], noLinks)) ?? [];
      assert.equal(ok(r).action, "updated");
      const { order: after } = await admin(
        "GET",
        `/admin/orders/${o.sourceId}?fields=id,*fulfillments,*fulfillments.labels`,
      );
      assert.equal(after.fulfillments.length, 1);
      assert.ok(after.fulfillments[0].shipped_at);
      assert.equal(after.fulfillments[0].labels[0].tracking_number, s.trackingNumbers[0]);
    });

    test("an order cancelled in the shop reads as cancelled after the cursor", async () => {
      const { order } = await checkout([
        { variantId: variantIds.get(`${shirt.key}-S-Red`) as string, quantity: 1 },
      ]);
      const stream = shopConn.streams.order;
      assert.ok(stream);
      const placed = await stream.get(order.id);
      assert.ok(placed);
      const cursor = { updatedAt: stream.updatedAtOf(placed), id: stream.idOf(placed) };
      await admin("POST", `/admin/orders/${order.id}/cancel`);
      const seen: Json[] = [];
      for await (const page of stream.list({ since: cursor, signpost: now(), pageSize: 10 }))
        seen.push(...(page as Json[]));
      const again = seen.find((o) => o.id === order.id);
      assert.ok(again, "the cancelled order is read again after the cursor");
      const canonical = Order.parse(await stream.toCanonical(again as never));
      assert.equal(canonical.cancelled, true);
      assert.equal(canonical.financialStatus, "voided");
    });

    test("an order the ERP withdrew is cancelled in Medusa; written again, nothing", async () => {
      const { order } = await checkout([
        { variantId: variantIds.get(`${shirt.key}-M-Red`) as string, quantity: 1 },
      ]);
      const stream = shopConn.streams.order;
      const writer = shopConn.writers.order;
      assert.ok(stream && writer);
      const canonical = Order.parse(await stream.toCanonical((await stream.get(order.id)) as never));
      const withdrawn = { ...canonical, cancelled: true };
      const c0 = shopConn.stats().calls;
      const [r] = await writer.upsert([item<"order">(withdrawn, order.id)], noLinks);
      assert.equal(ok(r).action, "updated");
      console.log(`# cancel an order: ${calls(c0)} calls`);
      const { order: after } = await admin("GET", `/admin/orders/${order.id}?fields=id,status`);
      assert.equal(after.status, "canceled");
      const w0 = shopConn.writes();
      const [again] = await writer.upsert([item<"order">(withdrawn, order.id)], noLinks);
      assert.equal(ok(again).action, "unchanged");
      const [open] = await writer.upsert([item<"order">(canonical, order.id)], noLinks);
      assert.equal(ok(open).action, "unchanged");
      assert.equal(shopConn.writes() - w0, 0);
    });

    test("productPrices: on-create prices new variants only; an ERP edit keeps the price flow's prices, a variant brought back from archived is priced again", async () => {
      const conn = createMedusaConnector(
        "medusa",
        config({ productPrices: "on-create" }),
        recordingFetch(exchanges),
      );
      const writer = conn.writers.product;
      const prices = conn.writers.price;
      assert.ok(writer && prices);
      const p = variableProduct(["S", "M"], "30.00");
      const [made] = await writer.upsert([item<"product">(p)], noLinks);
      const id = ok(made).targetId;
      const eur = async () => {
        const { product } = await admin("GET", `/admin/products/${id}?fields=id,*variants,*variants.prices`);
        return Object.fromEntries(
          product.variants.map((v: Json) => [
            v.sku,
            v.prices.find((x: Json) => x.currency_code === "eur")?.amount ?? null,
          ]),
        );
      };
      assert.deepEqual(await eur(), { [`${p.key}-S`]: 30, [`${p.key}-M`]: 30 });
      // The price flow's base list sets 27.50 on S.
      const base = listPrice(`${p.key}-S`, "27.50", {
        code: "default",
        name: "Default",
        customerGroup: "default",
        currency: "EUR",
      });
      ok((await prices.upsert([item<"price">(base)], noLinks))[0]);
      // The ERP edits the product (new title, another own price) and withdraws M.
      const edited: Product = {
        ...p,
        title: `${p.title} (new)`,
        variants: p.variants.map((v) =>
          v.sku.endsWith("-M")
            ? { ...v, price: "35.00", status: "archived" as const }
            : { ...v, price: "35.00" },
        ),
      };
      assert.equal(ok((await writer.upsert([item<"product">(edited, id)], noLinks))[0]).action, "updated");
      assert.deepEqual(await eur(), { [`${p.key}-S`]: 27.5, [`${p.key}-M`]: null });
      // M comes back: priced again with the product's price (nothing else would price it).
      const back: Product = {
        ...edited,
        variants: edited.variants.map(({ status: _archived, ...v }) => v),
      };
      assert.equal(ok((await writer.upsert([item<"product">(back, id)], noLinks))[0]).action, "updated");
      assert.deepEqual(await eur(), { [`${p.key}-S`]: 27.5, [`${p.key}-M`]: 35 });
    });

    test("a variant withdrawn in the ERP cannot be bought any more; an archived product leaves the store", async () => {
      const writer = shopConn.writers.product;
      assert.ok(writer);
      const p = variableProduct(["S", "M"], "30.00");
      const [made] = await writer.upsert([item<"product">(p)], noLinks);
      const id = ok(made).targetId;
      await shopConn.writers.inventory?.upsert(
        p.variants.map((v) => item<"inventory">(level(v.sku, 9))),
        noLinks,
      );
      const withdrawn: Product = {
        ...p,
        variants: p.variants.map((v) => (v.sku.endsWith("-M") ? { ...v, status: "archived" as const } : v)),
      };
      const [w] = await writer.upsert([item<"product">(withdrawn, id)], noLinks);
      assert.equal(ok(w).action, "updated");
      const { product } = await admin(
        "GET",
        `/admin/products/${id}?fields=id,handle,*variants,*variants.prices,variants.metadata`,
      );
      const m = product.variants.find((v: Json) => v.sku === `${p.key}-M`);
      assert.equal(product.variants.length, 2, "the variant is kept (past orders)");
      assert.deepEqual(m.prices, []);
      assert.equal(m.metadata?.passerelle_archived, true);
      await assert.rejects(
        checkout([{ variantId: m.id, quantity: 1 }]),
        /HTTP 400/,
        "a variant withdrawn in the ERP is still sold",
      );
      const w0 = shopConn.writes();
      const [again] = await writer.upsert([item<"product">(withdrawn, id)], noLinks);
      assert.equal(ok(again).action, "unchanged");
      assert.equal(shopConn.writes() - w0, 0);
      const [archived] = await writer.upsert(
        [item<"product">({ ...withdrawn, status: "archived" }, id)],
        noLinks,
      );
      assert.equal(ok(archived).action, "updated");
      const { products } = await shopApi.store("GET", `/store/products?handle=${product.handle ?? ""}`);
      assert.equal(products.length, 0, "an archived product is still listed by the Store API");
      const { product: after } = await admin("GET", `/admin/products/${id}?fields=id,status`);
      assert.equal(after.status, "rejected");
    });

    test("doctor's permissions: the server says its role-based access control is off, so no right is checked, with that reason", async () => {
      const conn = createMedusaConnector("medusa-rights", config());
      const rights = (await conn.permissions?.({ reads: ["order"], writes: ["product", "inventory"] })) ?? [];
      assert.deepEqual(
        rights.map((r) => [r.right, r.neededFor, r.granted]),
        [
          ["inventory: write", "write inventory", "unknown"],
          ["order: read", "read order", "unknown"],
          ["product: write", "write product", "unknown"],
        ],
      );
      assert.match(
        rights[0]?.how ?? "",
        /role-based access control is off \(feature flag rbac, GET \/admin\/feature-flags\)/,
      );
    });

    test("an admin's e-mail and password work as well as the secret key; wrong credentials name the system and never show the secret", async () => {
      const jwt = createMedusaConnector(
        "with-jwt",
        config({ secretKey: undefined, email: shop.adminEmail, password: shop.adminPassword }),
        recordingFetch(exchanges),
      );
      await jwt.check();
      const native = await jwt.streams.order?.get(registeredOrder.sourceId);
      assert.ok(native);
      const secret = "sk_1234567890abcdef1234567890abcdef";
      const bad = createMedusaConnector("my-shop", config({ secretKey: secret }));
      const err = await bad.check().then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof SyncError, String(err));
      assert.equal(err.kind, "config");
      assert.match(err.message, /my-shop/);
      const shown = JSON.stringify({ message: err.message, details: err.toJSON() });
      assert.ok(!shown.includes(secret), shown);
      assert.ok(!shown.includes(Buffer.from(`${secret}:`).toString("base64")), shown);
      const wrongPassword = createMedusaConnector(
        "my-shop",
        config({ secretKey: undefined, email: shop.adminEmail, password: "not-the-password" }),
      );
      const err2 = await wrongPassword.check().then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err2 instanceof SyncError, String(err2));
      assert.equal(err2.kind, "config");
      assert.ok(!JSON.stringify(err2.toJSON()).includes("not-the-password"));
      const both = MedusaConfig.safeParse({
        url: shop.url,
        secretKey: secret,
        email: "a@b.c",
        password: "x",
      });
      assert.ok(!both.success);
      assert.match(both.error.message, /secretKey/);
    });

    test("every request and answer above fits the Admin API 2.0.0 contract, apart from the listed deviations", (t) => {
      if (!existsSync(SPEC)) return t.skip(`no spec at ${SPEC}`);
      const specs = medusaSpecs(SPEC);
      assert.ok(exchanges.length > 30, `only ${exchanges.length} exchanges recorded`);
      const problems = exchanges.flatMap((x) => specs.check(x));
      assert.deepEqual(problems, []);
      console.log(`# ${exchanges.length} exchanges checked against the Admin API 2.0.0`);
      console.log(
        `# nulls where 2.0.0 declares a type without nullable: ${[...specs.allowed.nulls].sort().join("; ")}`,
      );
    });
  });
}
