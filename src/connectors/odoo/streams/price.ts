import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { Price } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import { type OdooContext, pricelistGroup } from "../context.ts";
import { many2one, money, num, str, uniq } from "../fields.ts";
import { latestWrite, type Rolled, type RollupSpec, rollupPages } from "../rollup.ts";
import { odooToIso } from "../time.ts";

export interface PriceNative extends Rolled {
  /** The base item (minimum quantity ≤ 1), which stands for the variant's price in this list. */
  item: OdooRow;
  sku: string | undefined;
  pricelist: { name: string; currency: string };
  /** Items of the same list and variant with a higher minimum quantity. */
  tiers: OdooRow[];
  /**
   * A percentage item's price (list price less the percentage, rounded to the list currency's rounding),
   * or the reason it has none.
   */
  computed?: { price: string } | { error: string };
}

const ITEM_FIELDS = [
  "pricelist_id",
  "product_id",
  "compute_price",
  "fixed_price",
  "min_quantity",
  "date_start",
  "date_end",
  "write_date",
];
const FIXED_VARIANT = [
  ["applied_on", "=", "0_product_variant"],
  ["compute_price", "=", "fixed"],
];
const BASE = [
  ["applied_on", "=", "0_product_variant"],
  ["compute_price", "in", ["fixed", "percentage"]],
  ["min_quantity", "<=", 1],
];
const TIER = [...FIXED_VARIANT, ["min_quantity", ">", 1]];
const pairOf = (row: OdooRow) => `${many2one(row, "pricelist_id")?.id}:${many2one(row, "product_id")?.id}`;

/**
 * One canonical Price per base pricelist item for one variant (a fixed price, or a percentage off its list
 * price, rounded per currency as Odoo does), its fixed tier breaks folded in. Formula, category and global
 * rules are not read: they compute prices at order time for many variants and have no one item per price.
 * A percentage item's price moves with the variant's list price, which does not move the item's write_date:
 * a list-price change reaches the shop through a resync, not incrementally. A tier item is a record of its own in Odoo: changing one does not move the base item's
 * write_date, so the stream's updatedAt is the latest write of the base item and its tiers (see rollup.ts),
 * and a changed tier brings back the base item(s) of the same list and variant.
 */
export function priceStream(ctx: OdooContext): Stream<"price", PriceNative> {
  const { client } = ctx;
  const enrich = async (items: OdooRow[], signal?: AbortSignal): Promise<PriceNative[]> => {
    if (items.length === 0) return [];
    const productIds = uniq(items.map((i) => many2one(i, "product_id")?.id));
    const listIds = uniq(items.map((i) => many2one(i, "pricelist_id")?.id));
    const [variants, lists, tiers] = await Promise.all([
      client.read("product.product", productIds, ["default_code"], signal),
      client.read("product.pricelist", listIds, ["name", "currency_id"], signal),
      client.searchRead(
        "product.pricelist.item",
        [...TIER, ["product_id", "in", productIds], ["pricelist_id", "in", listIds]],
        ITEM_FIELDS,
        { order: "min_quantity asc, id asc", signal },
      ),
    ]);
    const sku = new Map(variants.map((v) => [v.id, str(v, "default_code")]));
    const list = new Map(
      lists.map((l) => [
        l.id,
        { name: str(l, "name") ?? `pricelist ${l.id}`, currency: many2one(l, "currency_id")?.name ?? "" },
      ]),
    );
    // Tier items by (list, variant), in the order read: one pass, not a scan of the tiers per item.
    const tiersOf = new Map<string, OdooRow[]>();
    for (const t of tiers) {
      const pair = pairOf(t);
      const own = tiersOf.get(pair);
      if (own) own.push(t);
      else tiersOf.set(pair, [t]);
    }
    const computed = await percentagePrices(items, signal);
    return items.map((item) => {
      const product = many2one(item, "product_id")?.id;
      const pl = many2one(item, "pricelist_id")?.id;
      const own = tiersOf.get(pairOf(item)) ?? [];
      return {
        item,
        changedAt: latestWrite([item, ...own]),
        sku: product === undefined ? undefined : sku.get(product),
        pricelist: (pl !== undefined && list.get(pl)) || { name: `pricelist ${pl}`, currency: "" },
        tiers: own,
        ...(computed.has(item.id) ? { computed: computed.get(item.id) } : {}),
      };
    });
  };
  /**
   * Prices of the percentage items among `items`: Odoo computes them at order time from the variant's list
   * price (lst_price, price extras included) and rounds them to the list currency's rounding, half up.
   * Read only when the page holds such items.
   */
  const percentagePrices = async (
    items: OdooRow[],
    signal?: AbortSignal,
  ): Promise<Map<number, { price: string } | { error: string }>> => {
    const out = new Map<number, { price: string } | { error: string }>();
    const pct = items.filter((i) => str(i, "compute_price") === "percentage");
    if (pct.length === 0) return out;
    const [rows, variants, lists] = await Promise.all([
      client.read(
        "product.pricelist.item",
        pct.map((i) => i.id),
        ["percent_price", "base"],
        signal,
      ),
      client.read(
        "product.product",
        uniq(pct.map((i) => many2one(i, "product_id")?.id)),
        ["lst_price"],
        signal,
      ),
      client.read(
        "product.pricelist",
        uniq(pct.map((i) => many2one(i, "pricelist_id")?.id)),
        ["currency_id"],
        signal,
      ),
    ]);
    const currencies = await client.read(
      "res.currency",
      uniq(lists.map((l) => many2one(l, "currency_id")?.id)),
      ["rounding"],
      signal,
    );
    const rounding = new Map(currencies.map((c) => [c.id, num(c, "rounding")]));
    const listRounding = new Map(lists.map((l) => [l.id, rounding.get(many2one(l, "currency_id")?.id ?? 0)]));
    const listPrice = new Map(variants.map((v) => [v.id, num(v, "lst_price")]));
    const row = new Map(rows.map((r) => [r.id, r]));
    for (const item of pct) {
      const r = row.get(item.id);
      const base = r ? str(r, "base") : undefined;
      const step = listRounding.get(many2one(item, "pricelist_id")?.id ?? 0);
      const lst = listPrice.get(many2one(item, "product_id")?.id ?? 0);
      if (!r || base !== "list_price") {
        out.set(item.id, {
          error: `its percentage applies to ${JSON.stringify(base ?? "?")}, not the list price`,
        });
      } else if (!step || step <= 0 || lst === undefined) {
        out.set(item.id, { error: "its currency's rounding or its variant's list price cannot be read" });
      } else {
        const unit = new Big(String(step));
        const raw = new Big(String(lst)).times(new Big(100).minus(String(num(r, "percent_price")))).div(100);
        out.set(item.id, { price: money(Number(raw.div(unit).round(0, Big.roundHalfUp).times(unit))) });
      }
    }
    return out;
  };
  const load = async (itemIds: number[], signal?: AbortSignal) =>
    itemIds.length === 0
      ? []
      : enrich(
          await client.searchRead("product.pricelist.item", [["id", "in", itemIds], ...BASE], ITEM_FIELDS, {
            signal,
          }),
          signal,
        );
  /** The base items of the (list, variant) pairs of these tier items. */
  const baseOfTiers = async (tierRows: OdooRow[], signal?: AbortSignal): Promise<number[]> => {
    const pairs = new Set(tierRows.map(pairOf));
    const bases = await client.searchRead(
      "product.pricelist.item",
      [
        ...BASE,
        ["product_id", "in", uniq(tierRows.map((t) => many2one(t, "product_id")?.id))],
        ["pricelist_id", "in", uniq(tierRows.map((t) => many2one(t, "pricelist_id")?.id))],
      ],
      ["pricelist_id", "product_id"],
      { signal },
    );
    return bases.filter((b) => pairs.has(pairOf(b))).map((b) => b.id);
  };
  const spec: RollupSpec<PriceNative> = {
    sources: [
      {
        model: "product.pricelist.item",
        domain: BASE,
        fields: [],
        parentsOf: (rows) => rows.map((r) => r.id),
        parentField: "id",
      },
      {
        model: "product.pricelist.item",
        domain: TIER,
        fields: ["pricelist_id", "product_id"],
        parentsOf: baseOfTiers,
      },
    ],
    load,
    parentIdOf: (n) => n.item.id,
  };

  return {
    entity: "price",
    sorted: true,
    list: (req) => rollupPages(client, spec, req),
    async get(id) {
      const n = Number(id);
      return Number.isInteger(n) && n > 0 ? ((await load([n]))[0] ?? null) : null;
    },
    idOf: (n) => String(n.item.id),
    updatedAtOf: (n) => odooToIso(n.changedAt),
    toCanonical(n): Price {
      if (!n.sku) {
        throw new SyncError("data", `product.pricelist.item(${n.item.id}) is for a variant without a SKU`, {
          field: "sku",
        });
      }
      if (n.computed && "error" in n.computed) {
        throw new SyncError(
          "data",
          `product.pricelist.item(${n.item.id}) of ${n.pricelist.name} for ${n.sku}: ${n.computed.error}`,
          { field: "price" },
        );
      }
      const { code, group } = pricelistGroup(n.pricelist.name);
      const tiers = new Map<number, string>();
      for (const t of n.tiers) {
        const q = Math.ceil(num(t, "min_quantity"));
        if (q >= 2 && !tiers.has(q)) tiers.set(q, money(num(t, "fixed_price")));
      }
      const start = str(n.item, "date_start");
      const end = str(n.item, "date_end");
      return {
        source: ctx.name,
        sourceId: String(n.item.id),
        updatedAt: odooToIso(n.changedAt),
        key: `${code}:${n.sku}`,
        priceList: { code, name: n.pricelist.name, customerGroup: group, currency: n.pricelist.currency },
        sku: n.sku,
        price: n.computed?.price ?? money(num(n.item, "fixed_price")),
        tiers: [...tiers].map(([minQuantity, price]) => ({ minQuantity, price })),
        validFrom: start?.slice(0, 10),
        validTo: end?.slice(0, 10),
      };
    },
  };
}
