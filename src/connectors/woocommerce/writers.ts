/**
 * Catalog writers: products (simple, or variable with variations, found by SKU; a compare-at price as the
 * sale price; in the product categories their categories are linked to, see categories.ts), stock (stock_quantity with manage_stock) and prices (regular_price: WooCommerce core has one
 * price per product or variation, no customer-group prices, so other lists are unsupported). Every writer
 * compares what the shop holds first and sends nothing for a record already there. The writers onto
 * existing orders (shipments, invoices, cancellations) are in orders.ts, re-exported here.
 */
import Big from "big.js";
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { CanonicalByEntity, InventoryLevel, Price, Product } from "../../core/model.ts";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../ports/connector.ts";
import { callsFor, toWrite } from "../call-estimate.ts";
import { failed, perItem } from "../write-results.ts";
import { q, type WooClient } from "./client.ts";
import type { WooCommerceConfig } from "./config.ts";
import { bySku, pathOf, SKU_CHUNK, type SkuRow } from "./lookup.ts";
import { WooProduct, WooVariation } from "./native.ts";

export { invoiceWriter, orderWriter, shipmentMarker, shipmentWriter } from "./orders.ts";

const STATUS: Record<Product["status"], string> = { active: "publish", draft: "draft", archived: "private" };
const samePrice = (a: string, b: string) => a !== "" && b !== "" && new Big(a).eq(new Big(b));

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  const x = [...a].sort((m, n) => m - n);
  const y = [...b].sort((m, n) => m - n);
  return x.length === y.length && x.every((id, i) => id === y[i]);
}

/** A product is simple in WooCommerce when it has one variant without options: its SKU is the variant's. */
export const isSimple = (p: Product): boolean =>
  p.variants.length === 1 && Object.keys(p.variants[0]?.options ?? {}).length === 0;
export const mainSku = (p: Product): string => (isSimple(p) ? (p.variants[0]?.sku ?? p.key) : p.key);

/** Option names in first-seen order, each with its values in first-seen order. */
function attributesOf(p: Product): { name: string; options: string[] }[] {
  const byName = new Map<string, string[]>();
  for (const v of p.variants)
    for (const [name, value] of Object.entries(v.options)) {
      const list = byName.get(name) ?? [];
      if (!list.includes(value)) list.push(value);
      byName.set(name, list);
    }
  return [...byName].map(([name, options]) => ({ name, options }));
}

/**
 * A variant's prices as WooCommerce holds them: with a compare-at ("was") price above the price, the
 * regular price is the compare-at price and the sale price is the price; otherwise no sale price.
 */
export function pricesOf(v: Product["variants"][number]): { regular_price: string; sale_price: string } {
  const onSale = v.compareAtPrice !== undefined && new Big(v.compareAtPrice).gt(new Big(v.price));
  return onSale
    ? { regular_price: v.compareAtPrice as string, sale_price: v.price }
    : { regular_price: v.price, sale_price: "" };
}
const samePrices = (have: { regular_price: string; sale_price: string }, want: ReturnType<typeof pricesOf>) =>
  samePrice(have.regular_price, want.regular_price) &&
  (want.sale_price === "" ? have.sale_price === "" : samePrice(have.sale_price, want.sale_price));

const variationBody = (v: Product["variants"][number]) => ({
  sku: v.sku,
  ...pricesOf(v),
  status: v.status === "archived" ? "private" : "publish",
  attributes: Object.entries(v.options).map(([name, option]) => ({ name, option })),
});

export function productWriter(
  system: string,
  client: WooClient,
  prices: "always" | "on-create" = "always",
): Writer<"product"> {
  /** Whether an existing product's or variation's prices are this writer's to change. */
  const ownsPrices = prices === "always";
  const withoutPrices = <T extends object>(body: T): Omit<T, "regular_price" | "sale_price"> => {
    const {
      regular_price: _r,
      sale_price: _s,
      ...rest
    } = body as T & {
      regular_price?: string;
      sale_price?: string;
    };
    return rest;
  };
  async function current(item: WriteItem<"product">): Promise<z.infer<typeof WooProduct> | null> {
    if (item.targetId) {
      const p = await client.find(`/products/${encodeURIComponent(item.targetId)}?context=edit`, WooProduct);
      if (p) return p;
    }
    const row = (await bySku(client, [mainSku(item.record)])).get(mainSku(item.record));
    return row ? client.find(`/products/${row.id}?context=edit`, WooProduct) : null;
  }

  async function writeVariations(productId: number, p: Product): Promise<boolean> {
    const existing = await client.get(
      `/products/${productId}/variations?${q({ per_page: 100, status: "any", context: "edit" })}`,
      z.array(WooVariation),
      "variations",
    );
    const bySkuHere = new Map(existing.map((v) => [v.sku, v]));
    const create: ReturnType<typeof variationBody>[] = [];
    const update: (Partial<ReturnType<typeof variationBody>> & { id: number })[] = [];
    for (const v of p.variants) {
      const want = variationBody(v);
      const have = bySkuHere.get(v.sku);
      if (!have) {
        create.push(want);
        continue;
      }
      const sameAttrs =
        have.attributes.length === want.attributes.length &&
        want.attributes.every((a) => have.attributes.some((h) => h.name === a.name && h.option === a.option));
      if ((ownsPrices && !samePrices(have, want)) || have.status !== want.status || !sameAttrs)
        update.push({ ...(ownsPrices ? want : withoutPrices(want)), id: have.id });
    }
    if (create.length === 0 && update.length === 0) return false;
    const res = await client.write(
      "POST",
      `/products/${productId}/variations/batch`,
      { create, update },
      z.object({
        create: z
          .array(z.object({ id: z.number().optional(), error: z.object({ message: z.string() }).optional() }))
          .optional(),
        update: z
          .array(z.object({ id: z.number().optional(), error: z.object({ message: z.string() }).optional() }))
          .optional(),
      }),
      "variations batch",
    );
    const errors = [...(res.create ?? []), ...(res.update ?? [])].filter((r) => r.error);
    if (errors.length > 0) {
      throw new SyncError(
        "permanent",
        `WooCommerce refused variations of ${p.key}: ${errors.map((e) => e.error?.message).join("; ")}`,
        { system, field: "variants" },
      );
    }
    return true;
  }

  async function one(item: WriteItem<"product">, wctx: WriteContext): Promise<WriteResult> {
    const p = item.record;
    const simple = isSimple(p);
    // The product's categories are the product categories they are linked to (see categories.ts). Absent,
    // the shop's are left as they are: WooCommerce would put a product sent with none in its default
    // category ("Uncategorized"), so an empty list could never be held.
    const categoryIds: number[] = [];
    for (const key of p.categories ?? []) {
      const id = await wctx.resolve("category", key);
      if (id === null) {
        return failed(
          item.key,
          "retryable",
          `product ${item.key} is in category ${key}, which is not in WooCommerce yet (run the categories flow first; the product is written once it is)`,
          system,
          "categories",
        );
      }
      categoryIds.push(Number(id));
    }
    // None (the product left every category in the ERP) is left as the shop has it, for the same reason:
    // sent, it would come back as the default category and be sent again at every run.
    const held = p.categories !== undefined && categoryIds.length > 0;
    const categories = held ? { categories: categoryIds.map((id) => ({ id })) } : {};
    const want = {
      name: p.title,
      type: simple ? "simple" : "variable",
      sku: mainSku(p),
      status: STATUS[p.status],
      description: p.description ?? "",
      ...(simple
        ? pricesOf(p.variants[0] as Product["variants"][number])
        : {
            attributes: attributesOf(p).map((a) => ({ ...a, variation: true, visible: true })),
          }),
      ...categories,
    };
    const have = await current(item);
    if (!have) {
      const made = await client.write("POST", "/products", want, WooProduct, "product create");
      if (!simple) await writeVariations(made.id, p);
      return { key: item.key, ok: true, targetId: String(made.id), action: "created" };
    }
    if (have.type !== want.type) {
      return failed(
        item.key,
        "permanent",
        `WooCommerce product ${have.id} (SKU ${want.sku}) is ${have.type}, the record makes it ${want.type}: change its type in WooCommerce first`,
        system,
        "variants",
      );
    }
    const attrs = attributesOf(p);
    const sameAttrs =
      simple ||
      (have.attributes.length === attrs.length &&
        attrs.every((a) =>
          have.attributes.some(
            (h) => h.name === a.name && JSON.stringify(h.options ?? []) === JSON.stringify(a.options),
          ),
        ));
    const categoriesMove =
      held &&
      !sameIds(
        have.categories.map((c) => c.id),
        categoryIds,
      );
    const changed =
      have.name !== want.name ||
      have.status !== want.status ||
      have.description !== want.description ||
      have.sku !== want.sku ||
      (simple && ownsPrices && !samePrices(have, pricesOf(p.variants[0] as Product["variants"][number]))) ||
      !sameAttrs ||
      categoriesMove;
    if (changed) {
      const body = ownsPrices ? want : withoutPrices(want);
      await client.write("PUT", `/products/${have.id}`, body, WooProduct, "product update");
    }
    const variations = simple ? false : await writeVariations(have.id, p);
    return {
      key: item.key,
      ok: true,
      targetId: String(have.id),
      action: changed || variations ? "updated" : "unchanged",
    };
  }

  return {
    entity: "product",
    async upsert(items, wctx) {
      const results: WriteResult[] = [];
      for (const item of items) results.push(await perItem(item.key, system, () => one(item, wctx)));
      return results;
    },
    async findByExternalRef(_ref, record) {
      const row = (await bySku(client, [mainSku(record)])).get(mainSku(record));
      return row && row.type !== "variation" ? String(row.id) : null;
    },
    // Per product: a lookup and a read, a create or update, and for variable products a variation list
    // and its batch.
    estimateCalls: (page) =>
      toWrite(page).reduce((n, i) => n + 3 + (isSimple(i.record) ? 0 : 2), 0) + page.lookups.length,
  };
}

/** What one SKU-keyed writer (stock, prices) does with a record and the product or variation holding it. */
interface SkuSpec<E extends "inventory" | "price"> {
  entity: E;
  /** Why the shop cannot take the record at all, or null. */
  refuse(r: CanonicalByEntity[E], item: WriteItem<E>): WriteResult | null;
  /** What a variable product keeps per variation, for its refusal ("stock", "prices"). */
  perVariation: string;
  /** Whether the row already holds the record. */
  same(row: SkuRow, r: CanonicalByEntity[E]): boolean;
  body(r: CanonicalByEntity[E]): Record<string, unknown>;
  what: string;
  /** Whether `same` needs the rows' meta_data. */
  withMeta?: boolean;
}

/**
 * A writer of one figure per SKU (stock, regular price): one lookup per SKU chunk, then per record its
 * refusal, or nothing when the shop holds it already, or one PUT on the product or variation.
 */
function skuWriter<E extends "inventory" | "price">(
  system: string,
  client: WooClient,
  spec: SkuSpec<E>,
): Writer<E> {
  async function one(item: WriteItem<E>, rows: Map<string, SkuRow>): Promise<WriteResult> {
    const r = item.record as CanonicalByEntity[E];
    const refused = spec.refuse(r, item);
    if (refused) return refused;
    const row = rows.get(r.sku);
    if (!row)
      return failed(
        item.key,
        "permanent",
        `WooCommerce has no product or variation with SKU ${JSON.stringify(r.sku)}`,
        system,
        "sku",
      );
    if (row.type === "variable")
      return failed(
        item.key,
        "permanent",
        `SKU ${JSON.stringify(r.sku)} is a variable product in WooCommerce; ${spec.perVariation} kept per variation`,
        system,
        "sku",
      );
    const targetId = String(row.id);
    if (spec.same(row, r)) return { key: item.key, ok: true, targetId, action: "unchanged" };
    await client.write("PUT", pathOf(row), spec.body(r), z.object({ id: z.number() }), spec.what);
    return { key: item.key, ok: true, targetId, action: item.targetId === null ? "created" : "updated" };
  }
  return {
    entity: spec.entity,
    async upsert(items) {
      const results: WriteResult[] = [];
      const rows = await bySku(
        client,
        items.map((i) => (i.record as CanonicalByEntity[E]).sku),
        spec.withMeta,
      );
      for (const item of items) results.push(await perItem(item.key, system, () => one(item, rows)));
      return results;
    },
    async findByExternalRef(_ref, record) {
      const row = (await bySku(client, [record.sku])).get(record.sku);
      return row ? String(row.id) : null;
    },
    estimateCalls: (page) =>
      callsFor(toWrite(page).length, SKU_CHUNK) + toWrite(page).length + page.lookups.length,
  };
}

/**
 * What the stock writer keeps besides the quantity: `backorders` ("notify": sold out of stock, the customer
 * told it is on backorder) while the level's restock says so (core/kit.ts restockOf, the flow's
 * `backorders` policy), "no" otherwise; and, with `shipsOnMeta`, the expected date in that meta key.
 */
function restockFields(
  r: InventoryLevel,
  config: WooCommerceConfig,
): { backorders: "no" | "notify"; meta?: { key: string; value: string } } {
  const backorders = r.restock?.backorder === true ? "notify" : "no";
  return config.shipsOnMeta
    ? { backorders, meta: { key: config.shipsOnMeta, value: r.restock?.expectedOn ?? "" } }
    : { backorders };
}

/** The row's value of meta key `key` ("" when it has none). */
function shipsOnOf(row: SkuRow, key: string): string {
  const v = row.meta_data?.find((m) => m.key === key)?.value;
  return typeof v === "string" ? v : "";
}

export function inventoryWriter(
  system: string,
  client: WooClient,
  config: WooCommerceConfig,
): Writer<"inventory"> {
  const otherLocation = (r: InventoryLevel): string | null =>
    r.location === config.location
      ? null
      : `not supported by WooCommerce: core keeps one stock figure per product; location ${JSON.stringify(r.location)} is not the configured location ${JSON.stringify(config.location)}`;
  const writer = skuWriter(system, client, {
    entity: "inventory",
    perVariation: "stock is",
    // The engine skips these before writing (unsupported); a direct call is refused the same way.
    refuse: (r, item) => {
      const other = otherLocation(r);
      return other ? failed(item.key, "permanent", other, system, "location") : null;
    },
    same: (row, r) => {
      const want = restockFields(r, config);
      return (
        row.manage_stock === true &&
        row.stock_quantity === r.available &&
        row.backorders === want.backorders &&
        (want.meta === undefined || shipsOnOf(row, want.meta.key) === want.meta.value)
      );
    },
    body: (r) => {
      const want = restockFields(r, config);
      return {
        manage_stock: true,
        stock_quantity: r.available,
        backorders: want.backorders,
        ...(want.meta ? { meta_data: [want.meta] } : {}),
      };
    },
    what: "stock update",
    withMeta: config.shipsOnMeta !== undefined,
  });
  return { ...writer, unsupported: otherLocation };
}

export function priceWriter(system: string, client: WooClient, config: WooCommerceConfig): Writer<"price"> {
  const writer = skuWriter(system, client, {
    entity: "price",
    perVariation: "prices are",
    refuse(r, item) {
      // The engine skips these before writing (unsupported); a direct call is refused the same way.
      const group = groupPriceReason(r, config);
      if (group) return failed(item.key, "permanent", group, system, "priceList.code");
      if (r.tiers.length > 0)
        return failed(
          item.key,
          "data",
          `WooCommerce core has no quantity-break prices; ${r.key} has ${r.tiers.length} tiers`,
          system,
          "tiers",
        );
      if (r.validFrom || r.validTo)
        return failed(
          item.key,
          "data",
          `WooCommerce's regular_price has no validity dates; ${r.key} has validFrom/validTo`,
          system,
          r.validFrom ? "validFrom" : "validTo",
        );
      return null;
    },
    same: (row, r) => samePrice(row.regular_price, r.price),
    body: (r) => ({ regular_price: r.price }),
    what: "price update",
  });
  return { ...writer, unsupported: (r) => groupPriceReason(r, config) };
}

/**
 * Why a price cannot be held by the shop at all, or null: WooCommerce core has one price per product or
 * variation, for every buyer; a price list other than the configured one (a customer group's) has no place
 * there without a plugin. The engine skips such a record with this reason (never writes it, never fails it).
 */
export function groupPriceReason(r: Price, config: WooCommerceConfig): string | null {
  return r.priceList.code === config.priceList
    ? null
    : `not supported by WooCommerce: core has one price per product for every buyer, no customer-group prices (price list ${JSON.stringify(r.priceList.code)}, group ${JSON.stringify(r.priceList.customerGroup)}); only the configured priceList ${JSON.stringify(config.priceList)} reaches the shop`;
}
