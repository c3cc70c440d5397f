/**
 * The demo's world: an Odoo and a Shopify emulator with seeded data, the environment that the repository's
 * passerelle.yaml reads to reach them, and the people around the systems — shoppers who place orders and
 * a warehouse that ships them. Used by `passerelle demo` and by the end-to-end tests.
 */
import { type OdooEmulator, odooEmulatorEnv, startOdooEmulator } from "../odoo/index.ts";
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
