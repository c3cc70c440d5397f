/**
 * The demo's world: an Odoo and a Shopify emulator with seeded data, the environment that the repository's
 * passerelle.yaml reads to reach them, and the people around the systems — shoppers who place orders and
 * a warehouse that ships them. Used by `passerelle demo` and by the end-to-end tests.
 */
import { OdooClient } from "../connectors/odoo/client.ts";
import { OdooConfig } from "../connectors/odoo/config.ts";
import { type OdooEmulator, odooEmulatorEnv, startOdooEmulator } from "../connectors/odoo/emulator/index.ts";
import {
  type ShopifyEmulator,
  shopifyEmulatorEnv,
  startShopifyEmulator,
} from "../connectors/shopify/emulator/server.ts";
import { type Rng, rng } from "../core/prng.ts";

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
 * The warehouse ships every ready delivery, as an Odoo user would: sets the carrier's tracking reference
 * and validates the picking, over the same JSON-RPC API Passerelle uses.
 */
export async function shipReadyDeliveries(
  odoo: OdooEmulator,
  random: Rng = rng(Date.now()),
): Promise<ShippedPicking[]> {
  const client = new OdooClient(
    OdooConfig.parse({ url: odoo.url, db: odoo.db, username: odoo.login, password: odoo.password }),
    "warehouse",
  );
  const ready = await client.searchRead(
    "stock.picking",
    [
      ["picking_type_code", "=", "outgoing"],
      ["state", "=", "assigned"],
    ],
    ["name", "origin"],
    { order: "id asc" },
  );
  const shipped: ShippedPicking[] = [];
  for (const p of ready) {
    const tracking = `6A${String(random.int(10_000_000, 99_999_999))}FR`;
    await client.execute("stock.picking", "write", [[p.id], { carrier_tracking_ref: tracking }]);
    await client.execute("stock.picking", "button_validate", [[p.id]]);
    shipped.push({ picking: String(p.name), origin: String(p.origin), tracking });
  }
  return shipped;
}
