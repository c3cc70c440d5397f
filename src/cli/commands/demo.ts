import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { DemoSystems } from "@passerelle/emulators";
import { rng } from "../../core/prng.ts";
import type { RunSummary } from "../../engine/sync.ts";
import { type Context, openContext } from "../../runtime/context.ts";
import { EVENTS_QUEUE } from "../../runtime/events.ts";
import { processHolder } from "../../runtime/leases.ts";
import { runFlow } from "../../runtime/run-flow.ts";
import { type Service, startService } from "../../runtime/service.ts";
import { sqliteStoreFiles } from "../../store/index.ts";
import { type EmulatorsModule, loadEmulators } from "../emulators.ts";
import { EXIT, type Output, table } from "../output.ts";
import { exitCodeFor, stoppedBy, summaryJson } from "./sync.ts";

export interface DemoOptions {
  once: boolean;
  orders: number;
  products: number;
  interval: number;
  store?: string;
  root: string;
}

const CATALOG = ["categories", "products", "prices", "stock", "customers"];
const DEMO_HOLDER = processHolder("demo");

/**
 * Sales the demo's ERP holds that never came from the shop, as a real ERP does (phone orders, a
 * customer's purchase order): their deliveries are not for the shop and are skipped with that reason.
 */
const ERP_SALES = 8;

/**
 * One process, the whole loop: the ERP's catalog, prices and stock reach the shop; shoppers order; the
 * orders reach the ERP as confirmed sales, brought in by the shop's webhooks (the service of `passerelle
 * run` runs inside the demo, with the reconciliation poll behind it); the warehouse ships; tracking numbers
 * reach the shop.
 */
export async function demoCommand(out: Output, opts: DemoOptions): Promise<number> {
  const storeUrl = opts.store ?? `sqlite:${join(opts.root, ".passerelle", "demo.sqlite")}`;
  if (!opts.store) {
    // The emulators start from their seed every time, so the demo's links must too.
    for (const file of sqliteStoreFiles(storeUrl.slice("sqlite:".length))) rmSync(file, { force: true });
  }
  const {
    PLUS_PLAN,
    invoiceShippedSales,
    placeOrders,
    refundOrderIn,
    shipReadyDeliveries,
    startDemoSystems,
  } = await loadEmulators("demo");
  out.info(`Starting the Odoo and Shopify emulators (${opts.products} products)…`);
  const systems = await startDemoSystems({ products: opts.products, erpSales: ERP_SALES });
  Object.assign(process.env, systems.env);
  const ctx = await openContext(join(opts.root, "passerelle.yaml"), { storeUrl });
  let passes: RunSummary[] = [];
  let service: Service;
  try {
    service = await startDemoService(ctx, (s) => passes.push(s));
  } catch (e) {
    await ctx.close();
    await systems.close();
    throw e;
  }
  const random = rng(42);
  let stop = false;
  const onSignal = () => {
    stop = true;
    out.info("Stopping after this cycle…");
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const report: {
    cycle: number;
    runs: ReturnType<typeof summaryJson>[];
    ordersPlaced: number;
    shipped: number;
    refunds: number;
  }[] = [];
  let exit: number = EXIT.ok;
  try {
    out.info(`Odoo:    ${systems.odoo.url} (database ${systems.odoo.db})`);
    out.info(
      `Shopify: ${systems.shopify.url} (${systems.shopify.shop}; API budget of a Plus shop: ${PLUS_PLAN.restoreRate} points/s, paced without throttling)`,
    );
    out.info(`Store:   ${storeUrl}`);
    out.info(`Dashboard: ${service.server?.url}/ (open it in a browser)`);
    out.info(
      `API:     ${service.server?.url}/api/v1 (OpenAPI at /api/v1/openapi.json, metrics at /metrics; no token needed from this machine: loopback auth is off for the demo)`,
    );
    const hook = service.webhookUrl("shopify");
    const manager = ctx.connectors.get("shopify")?.webhooks;
    if (!manager) throw new Error("the shopify connection has no webhook support");
    const subscribed = await manager.register(
      hook,
      manager.topics.filter((t) => t.startsWith("ORDERS_")),
    );
    out.info(
      `Webhooks: ${service.server?.url} (the shop posts ${[...subscribed.created, ...subscribed.existing].map((s) => s.topic).join(", ")} to ${hook})\n`,
    );
    for (let cycle = 1; ; cycle++) {
      const runs: RunSummary[] = [];
      const sync = async (names: string[]) => {
        for (const name of names) {
          const s = await demoRun(ctx, name);
          runs.push(s);
          out.info(`  ${describe(s)}`);
        }
      };
      out.info(`Cycle ${cycle}`);
      if (cycle > 1) touchCatalog(systems, random);
      await sync(CATALOG);
      // One order's webhooks are lost on purpose, as happens: the reconciliation poll must bring it in.
      // (The second order's: the first delivery of a burst is always sent.)
      let lost: string | null = null;
      let first: string | null = null;
      systems.shopify.webhooks.faults = {
        drop: (d) => {
          first ??= d.recordId;
          if (lost === null && d.recordId !== first) lost = d.recordId;
          return d.recordId === lost;
        },
      };
      const placed = placeOrders(
        systems.shopify,
        cycle === 1 ? opts.orders : Math.max(1, Math.round(opts.orders / 4)),
        random,
      );
      out.info(`  shop: ${placed.length} orders placed (${placed.map((p) => p.name).join(", ")})`);
      passes = [];
      await eventsSettled(ctx, systems, service);
      systems.shopify.webhooks.faults = {};
      const viaEvents = passes.splice(0);
      const delivered = systems.shopify.webhooks.log.filter((l) => l.status === 200).length;
      out.info(
        `  webhooks: ${viaEvents.reduce((n, s) => n + s.counts.created + s.counts.updated, 0)} orders written to the ERP by events (${delivered} deliveries acknowledged so far; the webhooks of ${lostName(systems, lost)} were lost on purpose)`,
      );
      for (const s of viaEvents) out.info(`  by events: ${describe(s)}`);
      runs.push(...viaEvents);
      const recon = await service.runtime.reconcile("orders");
      passes = [];
      if (recon) {
        runs.push(recon);
        out.info(`  reconciliation poll: ${describe(recon)}`);
      }
      const shipped = await shipReadyDeliveries(systems.odoo, random);
      out.info(`  warehouse: ${shipped.length} deliveries shipped with tracking numbers`);
      await sync(["shipments"]);
      // Accounting invoices what was shipped; a shopper sends one unit of an invoiced order back and the
      // shop refunds it: the refund reaches Odoo as a credit note on that invoice.
      const invoiced = await invoiceShippedSales(systems.odoo);
      out.info(`  accounting: ${invoiced.length} shipped sales invoiced`);
      const refund = await refundOne(systems, refundOrderIn, invoiced, random);
      if (refund) {
        out.info(`  shop: ${refund.order} refunded ${refund.amount} (1 × ${refund.sku} sent back)`);
        await sync(["refunds"]);
        const note = creditNoteOf(systems, refund.order);
        if (note) out.info(`  Odoo: credit note ${note}`);
      }
      report.push({
        cycle,
        runs: runs.map(summaryJson),
        ordersPlaced: placed.length,
        shipped: shipped.length,
        refunds: refund ? 1 : 0,
      });
      exit = Math.max(exit, exitCodeFor(runs));
      if (cycle === 1) {
        out.info("\nSecond pass over every flow: only what changed since is written (shipping moved stock).");
        const again: RunSummary[] = [];
        await eventsSettled(ctx, systems, service);
        for (const name of [...CATALOG, "orders", "shipments", "refunds"]) {
          // Like every run, under the flow's lease: the orders flow's pass waits for an event pass of it.
          const s = await demoRun(ctx, name);
          again.push(s);
          out.info(`  ${describe(s)}`);
        }
        passes = [];
        exit = Math.max(exit, exitCodeFor(again));
      }
      out.info("");
      out.info(await stateOfBothSystems(systems));
      if (opts.once || stop) break;
      out.info(
        `\nNext cycle in ${opts.interval} s (Ctrl-C to stop). Meanwhile: passerelle status, failures list, trace…`,
      );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, opts.interval * 1000);
        const check = setInterval(() => {
          if (stop) {
            clearTimeout(t);
            clearInterval(check);
            resolve();
          }
        }, 200);
        t.unref?.();
        setTimeout(() => clearInterval(check), opts.interval * 1000 + 10).unref?.();
      });
      if (stop) break;
    }
    out.result({ store: storeUrl, cycles: report }, () => "Demo finished.");
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await service.stop();
    await ctx.close();
    await systems.close();
  }
  return exit;
}

/** The service of `passerelle run` on the configuration's port, or any free one when that is taken. */
async function startDemoService(ctx: Context, onPass: (s: RunSummary) => void): Promise<Service> {
  // The demo's management API answers loopback without a token (passerelle run needs --no-auth-on-loopback).
  const options = {
    host: "127.0.0.1",
    noAuthOnLoopback: true,
    onPass: (_kind: string, s: RunSummary) => onPass(s),
  };
  try {
    return await startService(ctx, { ...options, port: ctx.config.server.port });
  } catch (e) {
    if ((e as { code?: unknown }).code !== "EADDRINUSE") throw e;
    return startService(ctx, { ...options, port: 0 });
  }
}

/**
 * Waits until the shop's deliveries so far are sent, acknowledged and processed: nothing pending in the
 * inbox and no drain job queued or running.
 */
async function eventsSettled(ctx: Context, systems: DemoSystems, service: Service): Promise<void> {
  const deadline = Date.now() + 120_000;
  await systems.shopify.webhooks.settle();
  await service.inbox.drain();
  for (;;) {
    const pending = await service.inbox.count({ status: "pending" });
    const jobs = await service.jobs.pending(EVENTS_QUEUE);
    if (pending === 0 && jobs === 0) return;
    if (Date.now() > deadline) {
      ctx.logger.warn({ pending, jobs }, "webhook events still being processed; going on");
      return;
    }
    service.worker?.wake();
    await sleep(100);
  }
}

/** A cursor run of one flow, under its lease like every run (waits for a pass of it running elsewhere). */
function demoRun(ctx: Context, name: string): Promise<RunSummary> {
  return runFlow(ctx, ctx.flow(name), { kind: "cursor" }, { holder: DEMO_HOLDER, waitMs: 120_000 });
}

function lostName(systems: DemoSystems, id: string | null): string {
  return id === null ? "no order" : (systems.shopify.data.orders.get(id)?.name ?? id);
}

function describe(s: RunSummary): string {
  const c = s.counts;
  const written = c.created + c.updated;
  const extra = [
    c.skippedWithReason > 0 ? `${c.skippedWithReason} skipped with a reason (passerelle trace)` : "",
    c.failed > 0 ? `${c.failed} failed` : "",
    c.held > 0 ? `${c.held} held` : "",
  ]
    .filter(Boolean)
    .join(", ");
  return `${s.flow.padEnd(10)} ${String(c.read).padStart(5)} read, ${String(written).padStart(5)} written (${c.created} new), ${String(c.skipped - c.skippedWithReason).padStart(5)} unchanged, ${String(c.calls).padStart(5)} API calls, ${(s.durationMs / 1000).toFixed(1).padStart(5)} s${extra ? `, ${extra}` : ""}${s.error ? ` — stopped: ${stoppedBy(s.error)}` : ""}`;
}

/**
 * One unit of the first line of an order invoiced this cycle (one of them, at random), refunded in the shop
 * by its admin, or none when nothing was invoiced.
 */
async function refundOne(
  systems: DemoSystems,
  refundOrderIn: EmulatorsModule["refundOrderIn"],
  invoiced: string[],
  random: ReturnType<typeof rng>,
): Promise<{ order: string; sku: string; amount: string } | null> {
  const candidates = [...systems.shopify.data.orders.values()].filter(
    (o) => invoiced.includes(`shopify:${o.name}`) && o.refunds.length === 0 && o.lines.some((l) => l.sku),
  );
  if (candidates.length === 0) return null;
  const order = random.pick(candidates);
  const line = order.lines.find((l) => l.sku);
  if (!line?.sku) return null;
  const done = await refundOrderIn(systems.shopify, order.name, {
    lines: [{ sku: line.sku, quantity: 1 }],
    note: "Returned by the customer",
  });
  return { order: order.name, sku: line.sku, amount: `${done.amount} ${order.currency}` };
}

/** The posted credit notes Odoo holds for a shop order, as its accountant sees them. */
function creditNoteOf(systems: DemoSystems, orderName: string): string | null {
  const erp = systems.odoo.data;
  const [sale] = erp.search("sale.order", [["client_order_ref", "=", `shopify:${orderName}`]]);
  if (sale === undefined) return null;
  const [saleName] = erp.read("sale.order", [sale], ["name"]);
  const notes = erp.read(
    "account.move",
    erp.search("account.move", [
      ["move_type", "=", "out_refund"],
      ["invoice_origin", "=", saleName?.name ?? ""],
      ["state", "=", "posted"],
    ]),
    ["name", "amount_total", "ref"],
  );
  return notes.length === 0
    ? null
    : notes
        .map(
          (n) =>
            `${String(n.name)} of ${Number(n.amount_total).toFixed(2)} (ref ${String(n.ref)}) on ${String(saleName?.name)}`,
        )
        .join(", ");
}

/** Between cycles the ERP changes a little, as it does: a few list prices and stock counts. */
function touchCatalog(systems: DemoSystems, random: ReturnType<typeof rng>): void {
  const { data } = systems.odoo;
  const variants = data.search("product.product", [["default_code", "not in", ["SHIP", "DISCOUNT"]]]);
  for (let i = 0; i < 5; i++) {
    const id = random.pick(variants);
    const [tmpl] = data.read("product.product", [id], ["product_tmpl_id"]);
    const tmplId = Array.isArray(tmpl?.product_tmpl_id) ? Number(tmpl.product_tmpl_id[0]) : undefined;
    if (tmplId) systems.odoo.touch("product.template", tmplId, { list_price: random.int(5, 200) + 0.9 });
  }
  const quants = data.search("stock.quant", []);
  for (let i = 0; i < 10; i++)
    systems.odoo.touch("stock.quant", random.pick(quants), { quantity: random.int(0, 40) });
}

/** What a newcomer wants to see: the same facts, read from each system. */
async function stateOfBothSystems(systems: DemoSystems): Promise<string> {
  const shop = systems.shopify.data;
  const erp = systems.odoo.data;
  const variants = [...shop.variants.values()].length;
  const prices = [...shop.priceLists.values()].reduce((n, l) => n + l.prices.size, 0);
  const levels = [...shop.inventoryItems.values()].reduce((n, i) => n + i.levels.size, 0);
  const orders = [...shop.orders.values()];
  // The shop's orders carry its order key (`shopify:#1001`) as the sale's client reference.
  const fromShop = ["client_order_ref", "=like", "shopify:%"];
  const sales = erp.search("sale.order", [fromShop]);
  const confirmed = erp.search("sale.order", [fromShop, ["state", "=", "sale"]]);
  const erpOnly = erp.search("sale.order", []).length - sales.length;
  const tracked = orders.filter((o) => o.fulfillments.some((f) => f.tracking.some((t) => t.number))).length;
  return [
    "State of both systems:",
    table([
      ["", "Odoo (ERP)", "Shopify (shop)"],
      [
        "categories",
        // Odoo's root category "All" is the tree itself, not a category of the shop.
        String(erp.search("product.category", [["parent_id", "!=", false]]).length),
        String([...shop.collections.values()].filter((c) => c.metafields.has("passerelle.category")).length),
      ],
      ["products", String(erp.search("product.template", []).length - 2), String(shop.products.size)],
      ["kits (bills of materials)", kitsInOdoo(systems), kitsInShop(systems)],
      ["variants / SKUs", String(erp.search("product.product", []).length - 2), String(variants)],
      [
        "customer-group prices",
        String(erp.search("product.pricelist.item", [["min_quantity", "<=", 1]]).length),
        String(prices),
      ],
      ["stock levels (item × location)", "-", String(levels)],
      [
        "orders from the shop",
        `${sales.length} sales (${confirmed.length} confirmed)`,
        String(orders.length),
      ],
      ["sales entered in the ERP only", `${erpOnly} (not for the shop)`, "-"],
      ["shipped with tracking", "-", `${tracked} orders`],
      [
        "refunds",
        count(
          erp.search("account.move", [
            ["move_type", "=", "out_refund"],
            ["state", "=", "posted"],
            ["ref", "=like", "shopify:refund:%"],
          ]).length,
          "credit note",
        ),
        count(
          orders.reduce((n, o) => n + o.refunds.length, 0),
          "refund",
        ),
      ],
    ]),
  ].join("\n");
}

/** Odoo's kits: phantom bills of materials, each as `SKU = 2 × A + 1 × B`. */
function kitsInOdoo(systems: DemoSystems): string {
  const erp = systems.odoo.data;
  const boms = erp.read("mrp.bom", erp.search("mrp.bom", [["type", "=", "phantom"]]), [
    "product_tmpl_id",
    "bom_line_ids",
  ]);
  const sku = (model: string, id: unknown) =>
    String(erp.read(model, [Number(Array.isArray(id) ? id[0] : id)], ["default_code"])[0]?.default_code);
  return boms
    .map((b) => {
      const lines = erp.read("mrp.bom.line", b.bom_line_ids as number[], ["product_id", "product_qty"]);
      return `${sku("product.template", b.product_tmpl_id)} = ${lines.map((l) => `${Number(l.product_qty)} × ${sku("product.product", l.product_id)}`).join(" + ")}`;
    })
    .join("; ");
}

/** The shop's stock of each kit per location: what Passerelle computed from the components'. */
function kitsInShop(systems: DemoSystems): string {
  const shop = systems.shopify.data;
  const erp = systems.odoo.data;
  const kits = erp.read("mrp.bom", erp.search("mrp.bom", [["type", "=", "phantom"]]), ["product_tmpl_id"]);
  return kits
    .map((b) => {
      const tmpl = Number(Array.isArray(b.product_tmpl_id) ? b.product_tmpl_id[0] : b.product_tmpl_id);
      const code = String(erp.read("product.template", [tmpl], ["default_code"])[0]?.default_code);
      const variant = shop.variantBySku(code);
      const item = variant ? shop.inventoryItems.get(variant.inventoryItemId) : undefined;
      if (!item) return `${code}: not in the shop`;
      const levels = [...item.levels.entries()].map(
        ([loc, l]) => `${l.available} at ${shop.locations.get(loc)?.name ?? loc}`,
      );
      return `${code}: ${levels.join(", ")}`;
    })
    .join("; ");
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
