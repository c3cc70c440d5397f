/**
 * The demo's world: an Odoo and a Shopify emulator with seeded data, the environment that the repository's
 * passerelle.yaml reads to reach them, and the people around the systems — shoppers who place orders and
 * a warehouse that ships them. Used by `passerelle demo` and by the end-to-end tests.
 */

import { randomUUID } from "node:crypto";
import { type OdooEmulator, odooEmulatorEnv, startOdooEmulator } from "../odoo/index.ts";
import { type RefundSpec, refundInputFor } from "../shopify/refunds.ts";
import { type ShopifyEmulator, shopifyEmulatorEnv, startShopifyEmulator } from "../shopify/server.ts";
import { type Rng, rng } from "../util.ts";

export interface DemoSystems {
  odoo: OdooEmulator;
  shopify: ShopifyEmulator;
  /** Variables the repository's passerelle.yaml reads. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** The API budget of a Shopify Plus shop (the Standard plan restores 100 points/s, Plus 1,000). */
export const PLUS_PLAN = { enabled: true, maximumAvailable: 20_000, restoreRate: 1_000 };

export async function startDemoSystems(
  opts: {
    products?: number;
    seed?: number;
    rateLimit?: typeof PLUS_PLAN;
    /** Sales the ERP holds that never came from the shop (phone orders), most of them already shipped. */
    erpSales?: number;
  } = {},
): Promise<DemoSystems> {
  const odoo = await startOdooEmulator({
    products: opts.products ?? 500,
    seed: opts.seed ?? 1,
    orders: opts.erpSales ?? 0,
  });
  const shopify = await startShopifyEmulator({
    seed: opts.seed ?? 1,
    rateLimit: opts.rateLimit ?? PLUS_PLAN,
  });
  return {
    odoo,
    shopify,
    env: { ...odooEmulatorEnv(odoo), ...shopifyEmulatorEnv(shopify) },
    async close() {
      await Promise.all([odoo.close(), shopify.close()]);
    },
  };
}

export interface PlacedOrder {
  name: string;
  email: string;
}

/** Shoppers check out `count` orders of in-stock variants: some with shipping, some with a discount code. */
export function placeOrders(
  shopify: ShopifyEmulator,
  count: number,
  random: Rng = rng(Date.now()),
): PlacedOrder[] {
  const inStock = [...shopify.data.variants.values()].filter((v) => {
    if (!v.sku) return false;
    const item = shopify.data.inventoryItems.get(v.inventoryItemId);
    return [...(item?.levels.values() ?? [])].some((l) => l.available >= 3);
  });
  const customers = [...shopify.data.customers.values()].filter((c) => c.email);
  if (inStock.length === 0)
    throw new Error("the shop has no stocked variant yet: sync products and stock first");
  const placed: PlacedOrder[] = [];
  for (let i = 0; i < count; i++) {
    const lines = Array.from({ length: random.int(1, 3) }, () => ({
      sku: random.pick(inStock).sku as string,
      quantity: random.int(1, 2),
    }));
    const unique = [...new Map(lines.map((l) => [l.sku, l])).values()];
    const email = random.pick(customers).email as string;
    const order = shopify.placeOrder({
      email,
      lines: unique,
      shipping: random.chance(0.7),
      ...(random.chance(0.25) ? { discountCode: "WELCOME10" } : {}),
    });
    placed.push({ name: order.name, email });
  }
  return placed;
}

/**
 * The merchant refunds a shop order by name (`#1001`) as a Shopify admin does, over the Admin API's
 * refundCreate (not through Passerelle): lines by SKU, the shipping left when `shipping`, and the amount
 * they come to (taxes included) unless `amount` is given, back through the order's gateway. Throws with
 * Shopify's userErrors when it refuses (more than was paid or bought).
 */
export async function refundOrderIn(
  shopify: ShopifyEmulator,
  orderName: string,
  spec: RefundSpec,
): Promise<{ id: string; amount: string }> {
  const input = refundInputFor(shopify.data, orderName, spec);
  const res = await fetch(shopify.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-shopify-access-token": shopify.accessToken },
    body: JSON.stringify({
      query: `mutation Refund($input: RefundInput!, $key: String!) {
        refundCreate(input: $input) @idempotent(key: $key) {
          refund { id totalRefundedSet { shopMoney { amount } } }
          userErrors { field message }
        }
      }`,
      variables: { input, key: randomUUID() },
    }),
  });
  const body = (await res.json()) as {
    data?: {
      refundCreate?: {
        refund: { id: string; totalRefundedSet: { shopMoney: { amount: string } } } | null;
        userErrors: { message: string }[];
      };
    };
    errors?: unknown;
  };
  const out = body.data?.refundCreate;
  if (!out?.refund) {
    const why = out?.userErrors.map((e) => e.message).join("; ") ?? JSON.stringify(body.errors ?? res.status);
    throw new Error(`refund of ${orderName} refused: ${why}`);
  }
  return { id: out.refund.id, amount: out.refund.totalRefundedSet.shopMoney.amount };
}

export interface ShippedPicking {
  picking: string;
  origin: string;
  tracking: string;
}

/**
 * The warehouse ships every open delivery in full, as an Odoo user would: sets the carrier's tracking
 * reference, the quantity of each line (Odoo reserved only what it had in stock; the warehouse found the
 * rest) and validates the picking, over the same JSON-RPC API Passerelle uses.
 */
export async function shipReadyDeliveries(
  odoo: OdooEmulator,
  random: Rng = rng(Date.now()),
): Promise<ShippedPicking[]> {
  const warehouse = await odooUser(odoo);
  const ready = (await warehouse(
    "stock.picking",
    "search_read",
    [
      [
        ["picking_type_code", "=", "outgoing"],
        ["state", "in", ["confirmed", "assigned"]],
      ],
    ],
    { fields: ["name", "origin", "move_ids"], order: "id asc" },
  )) as { id: number; name: unknown; origin: unknown; move_ids: number[] }[];
  const shipped: ShippedPicking[] = [];
  for (const p of ready) {
    const tracking = `6A${String(random.int(10_000_000, 99_999_999))}FR`;
    await warehouse("stock.picking", "write", [[p.id], { carrier_tracking_ref: tracking }]);
    const moves = (await warehouse("stock.move", "read", [p.move_ids, ["product_uom_qty"]])) as {
      id: number;
      product_uom_qty: number;
    }[];
    for (const m of moves) {
      await warehouse("stock.move", "write", [[m.id], { quantity: m.product_uom_qty, picked: true }]);
    }
    const answer = (await warehouse("stock.picking", "button_validate", [[p.id]])) as
      | { res_model?: string; context?: Record<string, unknown> }
      | true;
    if (answer !== true && answer?.res_model === "stock.backorder.confirmation") {
      // Part of it was reserved: ship that and keep the rest as a backorder, as Odoo's wizard offers.
      const context = answer.context ?? {};
      const wizard = await warehouse("stock.backorder.confirmation", "create", [{}], { context });
      await warehouse("stock.backorder.confirmation", "process", [[wizard]], { context });
    }
    shipped.push({ picking: String(p.name), origin: String(p.origin), tracking });
  }
  return shipped;
}

type OdooCall = (
  model: string,
  method: string,
  args: unknown[],
  kwargs?: Record<string, unknown>,
) => Promise<unknown>;

/**
 * An Odoo user at the emulator's JSON-RPC endpoint, speaking Odoo's external API (`common.login`, then
 * `object.execute_kw`) directly: the demo's people do not go through Passerelle's connector.
 */
async function odooUser(odoo: OdooEmulator): Promise<OdooCall> {
  let id = 0;
  const call = async (service: string, method: string, args: unknown[]): Promise<unknown> => {
    const res = await fetch(new URL("/jsonrpc", odoo.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "call", params: { service, method, args }, id: ++id }),
    });
    const body = (await res.json()) as {
      result?: unknown;
      error?: { message?: string; data?: { message?: string } };
    };
    if (body.error)
      throw new Error(`odoo ${service}.${method}: ${body.error.data?.message ?? body.error.message}`);
    return body.result;
  };
  const uid = await call("common", "login", [odoo.db, odoo.login, odoo.password]);
  if (typeof uid !== "number") throw new Error(`odoo login as ${odoo.login} refused`);
  return (model, method, args, kwargs = {}) =>
    call("object", "execute_kw", [odoo.db, uid, odoo.password, model, method, args, kwargs]);
}

/**
 * The accountant invoices the shop's sales whose deliveries are done and that have no invoice yet, as
 * Odoo's "Create invoice" wizard and "Confirm" do, over the same JSON-RPC API. Answers the invoiced
 * sales' client references (the shop's order keys, `shopify:#1001`).
 */
export async function invoiceShippedSales(odoo: OdooEmulator): Promise<string[]> {
  const accountant = await odooUser(odoo);
  const sales = (await accountant(
    "sale.order",
    "search_read",
    [
      [
        ["state", "=", "sale"],
        ["client_order_ref", "=like", "shopify:%"],
      ],
    ],
    { fields: ["name", "client_order_ref", "picking_ids", "invoice_ids"], order: "id asc" },
  )) as {
    id: number;
    name: string;
    client_order_ref: string;
    picking_ids: number[];
    invoice_ids: number[];
  }[];
  const invoiced: string[] = [];
  for (const sale of sales) {
    if (sale.invoice_ids.length > 0 || sale.picking_ids.length === 0) continue;
    const pickings = (await accountant("stock.picking", "read", [sale.picking_ids, ["state"]])) as {
      state: string;
    }[];
    if (!pickings.every((p) => p.state === "done" || p.state === "cancel")) continue;
    const wizard = await accountant("sale.advance.payment.inv", "create", [
      { advance_payment_method: "delivered", sale_order_ids: [[6, 0, [sale.id]]] },
    ]);
    await accountant("sale.advance.payment.inv", "create_invoices", [[wizard]]);
    const drafts = (await accountant("account.move", "search", [
      [
        ["invoice_origin", "=", sale.name],
        ["move_type", "=", "out_invoice"],
        ["state", "=", "draft"],
      ],
    ])) as number[];
    if (drafts.length === 0) continue;
    await accountant("account.move", "action_post", [drafts]);
    invoiced.push(sale.client_order_ref);
  }
  return invoiced;
}
