/**
 * The whole loop through the real CLI: catalogue, prices, stock and customers, then orders, then shipments,
 * then quiet re-runs. Every assertion reads the emulators' in-memory data, record by record, so what is
 * checked is what the systems hold, not what Passerelle believes it wrote.
 *
 * The steps share one world and run in order; a failed step leaves the later ones failing too.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { placeOrders, shipReadyDeliveries } from "@passerelle/emulators";
import Big from "big.js";
import type { z } from "zod";
import { rng } from "../../src/core/prng.ts";
import { explain, startWorld, type World } from "./helpers.ts";
import { PlanOutput, parseOutput, StatusOutput, SyncOutput, TraceOutput, written } from "./outputs.ts";
import {
  odooLevels,
  odooPartnerEmails,
  odooPrices,
  odooSalesByRef,
  odooVariants,
  shopifyAvailable,
  shopifyLocationId,
  shopifyOrderLines,
  shopifyOrderTotal,
} from "./state.ts";

/** The repository's passerelle.yaml maps Odoo warehouse codes to these shop locations. */
const LOCATIONS: Record<string, string> = { WH: "Main Warehouse", WH2: "East Warehouse" };

/**
 * The shop price list a canonical list lands in: the Odoo list's name as a lower-case slug
 * ("Wholesale EUR" → "wholesale-eur"). Written out here rather than imported, so a change of the naming
 * rule in the connector shows up as a failure.
 */
function shopListName(odooList: string): string {
  return odooList
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

describe("the whole loop through the real CLI", () => {
  let world: World;
  const orderNames: string[] = [];
  let traced: z.infer<typeof TraceOutput> | null = null;

  before(async () => {
    world = await startWorld({ products: 40, categories: true });
  });
  after(async () => {
    await world?.close();
  });

  it("validate accepts the repository's configuration", async () => {
    const res = await world.cli(["validate"]);
    assert.equal(res.code, 0, explain(res));
  });

  it("plan products lists a create for every product and writes nothing", async () => {
    const res = await world.cli(["plan", "products", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const plan = parseOutput(PlanOutput, res);
    const templates = world.systems.odoo.data
      .rows("product.template")
      .filter((t) => t.type !== "service")
      .map((t) => String(t.default_code))
      .sort();
    // The 40 seeded products and the seed's kit (GIFT-SET, an mrp.bom of type phantom).
    assert.equal(templates.length, 41);
    assert.deepEqual(plan.records.map((r) => r.key).sort(), templates);
    assert.deepEqual(
      plan.records.filter((r) => r.action !== "create"),
      [],
      "every product is new to the shop",
    );
    assert.equal(plan.plan.create?.records, templates.length);
    assert.equal(world.systems.shopify.data.products.size, 0, "a plan must not write");
    assert.equal(world.systems.shopify.data.variants.size, 0, "a plan must not write");
  });

  it("sync categories products prices stock customers leaves both systems in agreement, record by record", async () => {
    const res = await world.cli(["sync", "categories", "products", "prices", "stock", "customers", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const out = parseOutput(SyncOutput, res);
    assert.deepEqual(
      out.runs.map((r) => [r.flow, r.status]),
      [
        ["categories", "succeeded"],
        ["products", "succeeded"],
        ["prices", "succeeded"],
        ["stock", "succeeded"],
        ["customers", "succeeded"],
      ],
    );
    const { odoo, shopify } = world.systems;
    const problems: string[] = [];

    // Each Odoo category below "All" is a collection, and each product is in its category's collection.
    const collectionOf = new Map<string, { productIds: string[] }>();
    for (const c of shopify.data.collections.values()) {
      const m = c.metafields.get("passerelle.category");
      if (m) collectionOf.set((JSON.parse(m.value) as { key: string }).key, c);
    }
    const categories = odoo.data.rows("product.category").filter((c) => c.parent_id);
    assert.ok(categories.length > 0, "the seed has categories");
    for (const c of categories)
      if (!collectionOf.has(String(c.id))) problems.push(`category ${c.id}: no collection`);
    for (const v of odoo.data.rows("product.product")) {
      const template = odoo.data.row("product.template", Number(v.product_tmpl_id));
      if (!template || template.type === "service") continue;
      const variant = shopify.data.variantBySku(String(v.default_code));
      const collection = collectionOf.get(String(template.categ_id));
      if (!variant || !collection)
        problems.push(
          `variant ${String(v.default_code)}: not in the shop, or its category has no collection`,
        );
      else if (!collection.productIds.includes(variant.productId))
        problems.push(
          `variant ${String(v.default_code)}: not in the collection of category ${String(template.categ_id)}`,
        );
    }

    const variants = odooVariants(odoo);
    assert.ok(variants.length >= 40, `expected at least one variant per product, got ${variants.length}`);
    for (const v of variants) {
      const shop = shopify.data.variantBySku(v.sku);
      if (!shop) problems.push(`variant ${v.sku}: missing in the shop`);
      else if (!new Big(shop.price).eq(v.price))
        problems.push(`variant ${v.sku}: shop price ${shop.price}, Odoo ${v.price.toFixed(2)}`);
    }

    const lists = new Map([...shopify.data.priceLists.values()].map((l) => [l.name, l]));
    const prices = odooPrices(odoo);
    assert.ok(prices.length >= variants.length, "every variant has at least one list price");
    assert.ok(
      prices.some((p) => p.tiers.length > 0),
      "the seed has tier breaks, so tiers are checked",
    );
    for (const p of prices) {
      const listName = shopListName(p.list);
      const list = lists.get(listName);
      const variant = shopify.data.variantBySku(p.sku);
      if (!list || !variant) {
        problems.push(`price ${listName}:${p.sku}: ${list ? "variant" : "price list"} missing in the shop`);
        continue;
      }
      const fixed = list.prices.get(variant.id);
      if (!fixed || !new Big(fixed.price).eq(p.price)) {
        problems.push(
          `price ${listName}:${p.sku}: shop ${fixed?.price ?? "none"}, Odoo ${p.price.toFixed(2)}`,
        );
      }
      const shopTiers = (list.breaks.get(variant.id) ?? [])
        .map((b) => `${b.minimumQuantity}@${new Big(b.price).toFixed(2)}`)
        .sort();
      const odooTiers = p.tiers.map((t) => `${t.minQuantity}@${t.price.toFixed(2)}`).sort();
      if (shopTiers.join() !== odooTiers.join()) {
        problems.push(`tiers ${listName}:${p.sku}: shop [${shopTiers}], Odoo [${odooTiers}]`);
      }
    }

    const levels = odooLevels(odoo);
    // The seed's kit (GIFT-SET) has no quants: its level is computed from its components' (checked below).
    assert.equal(
      levels.length,
      (variants.length - 1) * 2,
      "every other variant has stock in both warehouses",
    );
    const [bom] = odoo.data.rows("mrp.bom");
    assert.ok(bom, "the seed has a kit");
    const lines = odoo.data.rows("mrp.bom.line").filter((l) => l.bom_id === bom.id);
    for (const warehouse of ["WH", "WH2"]) {
      const kits = Math.min(
        ...lines.map((l) => {
          const sku = String(odoo.data.row("product.product", Number(l.product_id))?.default_code);
          const level = levels.find((x) => x.sku === sku && x.warehouse === warehouse);
          return Math.floor((level?.available ?? 0) / Number(l.product_qty));
        }),
      );
      const location = LOCATIONS[warehouse];
      assert.ok(location);
      const available = shopifyAvailable(shopify, "GIFT-SET", shopifyLocationId(shopify, location));
      if (available !== kits)
        problems.push(`stock GIFT-SET@${warehouse}: shop ${available}, its components make ${kits}`);
    }
    for (const l of levels) {
      const location = LOCATIONS[l.warehouse];
      assert.ok(location, `warehouse ${l.warehouse} has a mapped location`);
      const available = shopifyAvailable(shopify, l.sku, shopifyLocationId(shopify, location));
      if (available !== l.available) {
        problems.push(`stock ${l.sku}@${l.warehouse}: shop ${available}, Odoo ${l.available}`);
      }
    }

    const emails = odooPartnerEmails(odoo);
    const customers = [...shopify.data.customers.values()];
    assert.equal(customers.length, 50);
    for (const c of customers) {
      if (c.email && !emails.has(c.email.toLowerCase()))
        problems.push(`customer ${c.email}: missing in Odoo`);
    }

    assert.deepEqual(problems, []);
  });

  it("sync orders brings every shop order into Odoo once, confirmed, with the same total and lines", async () => {
    const { odoo, shopify } = world.systems;
    const placed = placeOrders(shopify, 6, rng(7));
    orderNames.push(...placed.map((p) => p.name));
    const orders = [...shopify.data.orders.values()];
    assert.equal(orders.length, 6);
    assert.ok(
      orders.some((o) => o.discountCodes.length > 0),
      "the seed places at least one discounted order",
    );
    assert.ok(
      orders.some((o) => o.shipping !== null),
      "the seed places at least one order with shipping",
    );

    const res = await world.cli(["sync", "orders", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const out = parseOutput(SyncOutput, res);
    assert.equal(out.runs[0]?.counts.created, 6, explain(res));

    const problems: string[] = [];
    for (const order of orders) {
      const sales = odooSalesByRef(odoo, `shopify:${order.name}`);
      if (sales.length !== 1) {
        problems.push(`${order.name}: ${sales.length} Odoo sales`);
        continue;
      }
      const sale = sales[0] as (typeof sales)[number];
      const total = shopifyOrderTotal(order);
      if (sale.state !== "sale") problems.push(`${order.name}: Odoo state ${String(sale.state)}`);
      if (!sale.total.eq(total))
        problems.push(`${order.name}: Odoo total ${sale.total.toFixed(2)}, shop ${total.toFixed(2)}`);
      const shopLines = shopifyOrderLines(order);
      if (sale.lines.join() !== shopLines.join())
        problems.push(`${order.name}: Odoo lines [${sale.lines}], shop [${shopLines}]`);
    }
    assert.deepEqual(problems, []);
  });

  it("sync shipments puts each Odoo delivery's tracking number on its shop order", async () => {
    const { odoo, shopify } = world.systems;
    const shipped = await shipReadyDeliveries(odoo, rng(11));
    assert.equal(shipped.length, 6, "one delivery per order");

    const res = await world.cli(["sync", "shipments", "--json"]);
    assert.equal(res.code, 0, explain(res));

    const problems: string[] = [];
    for (const order of shopify.data.orders.values()) {
      const [sale] = odooSalesByRef(odoo, `shopify:${order.name}`);
      const refs = sale?.trackingRefs ?? [];
      if (refs.length !== 1) {
        problems.push(`${order.name}: ${refs.length} tracking references in Odoo`);
        continue;
      }
      const numbers = order.fulfillments.flatMap((f) => f.tracking.map((t) => t.number));
      if (!numbers.includes(refs[0] as string))
        problems.push(`${order.name}: shop tracking [${numbers}], Odoo ${refs[0]}`);
    }
    assert.deepEqual(problems, []);
  });

  it("reaches quiescence: once caught up, a sync of every flow writes nothing to either system", async () => {
    const { odoo, shopify } = world.systems;
    // Shipping moved stock, so the first runs have real changes to carry; three runs are plenty.
    let last: SyncOutput | null = null;
    for (let i = 0; i < 3; i++) {
      const res = await world.cli(["sync", "--json"]);
      assert.equal(res.code, 0, explain(res));
      last = parseOutput(SyncOutput, res);
      if (written(last) === 0) break;
    }
    assert.ok(
      last && written(last) === 0,
      `still writing after 3 runs: ${JSON.stringify(last?.runs.map((r) => [r.flow, r.counts]))}`,
    );

    odoo.resetStats();
    shopify.resetStats();
    const res = await world.cli(["sync", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const out = parseOutput(SyncOutput, res);
    assert.deepEqual(
      out.runs.map((r) => r.flow),
      ["categories", "products", "prices", "stock", "customers", "orders", "shipments", "refunds"],
    );
    for (const r of out.runs) {
      assert.equal(r.counts.created + r.counts.updated, 0, `${r.flow} wrote: ${JSON.stringify(r.counts)}`);
    }
    assert.equal(odoo.stats.writes, 0, "Odoo was written to");
    assert.equal(shopify.stats.writes, 0, "the shop was written to");
  });

  it("status lists every flow with its last run", async () => {
    const res = await world.cli(["status", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const status = parseOutput(StatusOutput, res);
    assert.deepEqual(
      status.flows.map((f) => f.flow),
      ["categories", "products", "prices", "stock", "customers", "orders", "shipments", "refunds"],
    );
    for (const f of status.flows) {
      assert.equal(f.lastRun?.status, "succeeded", `${f.flow}: ${JSON.stringify(f.lastRun)}`);
      assert.equal(f.openFailures, 0, f.flow);
    }
  });

  it("trace links an order to its record in both systems", async () => {
    assert.ok(orderNames.includes("#1001"));
    const res = await world.cli(["trace", "order", "shopify:#1001", "--json"]);
    assert.equal(res.code, 0, explain(res));
    const trace = parseOutput(TraceOutput, res);
    traced = trace;
    const [sale] = odooSalesByRef(world.systems.odoo, "shopify:#1001");
    const shopOrder = [...world.systems.shopify.data.orders.values()].find((o) => o.name === "#1001");
    assert.deepEqual(
      (trace.links["shopify:#1001"] ?? []).map((l) => [l.system, l.externalId]).sort(),
      [
        ["odoo", String(sale?.id)],
        ["shopify", shopOrder?.id],
      ].sort(),
    );
  });

  it("trace shows events from both systems", () => {
    assert.ok(traced, "the trace step ran");
    const systems = new Set(traced.events.map((e) => e.system));
    assert.ok(systems.has("shopify"), `events only from ${[...systems].join(", ")}`);
    assert.ok(systems.has("odoo"), `events only from ${[...systems].join(", ")}`);
  });
});
