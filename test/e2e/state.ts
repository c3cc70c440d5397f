/**
 * What each emulator holds, read straight from its in-memory data (never from Passerelle's store), in the
 * shapes the end-to-end assertions compare. Money is compared as big.js values, never as floats.
 */

import type { OdooEmulator, OrderRec, ShopifyEmulator } from "@passerelle/emulators";
import Big from "big.js";

type Row = Record<string, unknown> & { id: number };

const SERVICE_SKUS = new Set(["SHIP", "DISCOUNT"]);

function numberOf(row: Row | undefined, field: string): number {
  const v = row?.[field];
  return typeof v === "number" ? v : 0;
}

function idOf(row: Row | undefined, field: string): number | null {
  const v = row?.[field];
  return typeof v === "number" ? v : null;
}

function textOf(row: Row | undefined, field: string): string | null {
  const v = row?.[field];
  return typeof v === "string" && v !== "" ? v : null;
}

/** Odoo's float amounts are rounded to cents; Big of the float's shortest decimal form is exact for them. */
export function odooMoney(value: number): Big {
  return new Big(value).round(2, Big.roundHalfUp);
}

export interface OdooVariant {
  id: number;
  sku: string;
  price: Big;
}

/** Sellable variants (services such as SHIP and DISCOUNT are bookkeeping, not catalogue). */
export function odooVariants(odoo: OdooEmulator): OdooVariant[] {
  const db = odoo.data;
  const out: OdooVariant[] = [];
  for (const v of db.rows("product.product")) {
    const sku = textOf(v, "default_code");
    if (sku === null || SERVICE_SKUS.has(sku)) continue;
    const template = db.row("product.template", idOf(v, "product_tmpl_id") ?? 0);
    if (template?.type === "service") continue;
    const price = db.readField("product.product", v, "lst_price");
    out.push({ id: v.id, sku, price: odooMoney(typeof price === "number" ? price : Number.NaN) });
  }
  return out;
}

export interface OdooPrice {
  list: string;
  sku: string;
  price: Big;
  tiers: { minQuantity: number; price: Big }[];
}

/** Base fixed-price items (min_quantity ≤ 1) per variant and list, with the list's higher-quantity items as tiers. */
export function odooPrices(odoo: OdooEmulator): OdooPrice[] {
  const db = odoo.data;
  const items = db
    .rows("product.pricelist.item")
    .filter((i) => i.applied_on === "0_product_variant" && i.compute_price === "fixed");
  const skuOf = (productId: number | null) =>
    textOf(db.row("product.product", productId ?? 0), "default_code");
  const out: OdooPrice[] = [];
  for (const base of items.filter((i) => numberOf(i, "min_quantity") <= 1)) {
    const sku = skuOf(idOf(base, "product_id"));
    const list = textOf(db.row("product.pricelist", idOf(base, "pricelist_id") ?? 0), "name");
    if (sku === null || list === null) continue;
    const tiers = items
      .filter(
        (t) =>
          numberOf(t, "min_quantity") > 1 &&
          idOf(t, "product_id") === idOf(base, "product_id") &&
          idOf(t, "pricelist_id") === idOf(base, "pricelist_id"),
      )
      .map((t) => ({
        minQuantity: Math.ceil(numberOf(t, "min_quantity")),
        price: odooMoney(numberOf(t, "fixed_price")),
      }))
      .sort((a, b) => a.minQuantity - b.minQuantity);
    out.push({ list, sku, price: odooMoney(numberOf(base, "fixed_price")), tiers });
  }
  return out;
}

export interface OdooLevel {
  sku: string;
  warehouse: string;
  /** quantity − reserved over the warehouse's stock locations, floored at 0. */
  available: number;
}

/** Stock per sellable variant × warehouse, summed over every internal location under the warehouse's stock. */
export function odooLevels(odoo: OdooEmulator): OdooLevel[] {
  const db = odoo.data;
  const underStock = (locationId: number, stockId: number): boolean => {
    for (
      let at: number | null = locationId;
      at !== null;
      at = idOf(db.row("stock.location", at), "location_id")
    ) {
      if (at === stockId) return true;
    }
    return false;
  };
  const out: OdooLevel[] = [];
  const quants = db.rows("stock.quant");
  for (const wh of db.rows("stock.warehouse")) {
    const code = textOf(wh, "code");
    const stockId = idOf(wh, "lot_stock_id");
    if (code === null || stockId === null) continue;
    for (const v of odooVariants(odoo)) {
      const mine = quants.filter(
        (q) => idOf(q, "product_id") === v.id && underStock(idOf(q, "location_id") ?? 0, stockId),
      );
      if (mine.length === 0) continue;
      const onHand = Math.floor(mine.reduce((s, q) => s + numberOf(q, "quantity"), 0));
      const reserved = Math.ceil(mine.reduce((s, q) => s + numberOf(q, "reserved_quantity"), 0));
      out.push({ sku: v.sku, warehouse: code, available: Math.max(0, onHand - reserved) });
    }
  }
  return out;
}

export function odooPartnerEmails(odoo: OdooEmulator): Set<string> {
  return new Set(
    odoo.data
      .rows("res.partner")
      .map((p) => textOf(p, "email")?.toLowerCase())
      .filter((e): e is string => e !== undefined),
  );
}

export interface OdooSale {
  id: number;
  name: string;
  state: unknown;
  total: Big;
  /** Product lines as "SKU×quantity", sorted; shipping and discount lines left out. */
  lines: string[];
  trackingRefs: string[];
}

export function odooSalesByRef(odoo: OdooEmulator, clientOrderRef: string): OdooSale[] {
  const db = odoo.data;
  return db
    .rows("sale.order")
    .filter((o) => o.client_order_ref === clientOrderRef)
    .map((o) => ({
      id: o.id,
      name: String(o.name),
      state: o.state,
      total: odooMoney(numberOf(o, "amount_total")),
      lines: db
        .rows("sale.order.line")
        .filter((l) => l.order_id === o.id)
        .map((l) => ({
          sku: textOf(db.row("product.product", idOf(l, "product_id") ?? 0), "default_code"),
          l,
        }))
        .filter(({ sku }) => sku !== null && !SERVICE_SKUS.has(sku))
        .map(({ sku, l }) => `${sku}×${numberOf(l, "product_uom_qty")}`)
        .sort(),
      trackingRefs: db
        .rows("stock.picking")
        .filter((p) => p.sale_id === o.id)
        .map((p) => textOf(p, "carrier_tracking_ref"))
        .filter((t): t is string => t !== null),
    }));
}

/** The order's total as Shopify computes it: lines − their discounts + their taxes + shipping and its taxes. */
export function shopifyOrderTotal(order: OrderRec): Big {
  let total = new Big(0);
  for (const l of order.lines) {
    total = total.plus(new Big(l.unitPrice).times(l.quantity)).minus(l.discount);
    for (const t of l.taxLines) total = total.plus(t.amount);
  }
  if (order.shipping) {
    total = total.plus(order.shipping.price);
    for (const t of order.shipping.taxLines) total = total.plus(t.amount);
  }
  return total;
}

export function shopifyOrderLines(order: OrderRec): string[] {
  return order.lines
    .filter((l) => l.sku !== null && !SERVICE_SKUS.has(l.sku))
    .map((l) => `${l.sku}×${l.quantity}`)
    .sort();
}

export function shopifyLocationId(shopify: ShopifyEmulator, name: string): string {
  for (const l of shopify.data.locations.values()) if (l.name === name) return l.id;
  throw new Error(`the shop has no location named ${JSON.stringify(name)}`);
}

/** Shopify's "available" for a SKU at a location, or undefined when the item has no level there. */
export function shopifyAvailable(
  shopify: ShopifyEmulator,
  sku: string,
  locationId: string,
): number | undefined {
  const variant = shopify.data.variantBySku(sku);
  if (!variant) return undefined;
  return shopify.data.inventoryItems.get(variant.inventoryItemId)?.levels.get(locationId)?.available;
}

/**
 * Names of the ERP's shipped deliveries (done, with tracking) whose sale never came from the shop: its
 * client reference is not a `shopify:` order key.
 */
export function odooErpOnlyShipments(odoo: OdooEmulator): string[] {
  const db = odoo.data;
  return db
    .rows("stock.picking")
    .filter((p) => p.state === "done" && textOf(p, "carrier_tracking_ref") !== null)
    .filter((p) => {
      const ref = textOf(db.row("sale.order", idOf(p, "sale_id") ?? 0), "client_order_ref");
      return !ref?.startsWith("shopify:");
    })
    .map((p) => String(p.name));
}
