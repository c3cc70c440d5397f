/**
 * Products: Product Hub items (itemsV2), one variant each, keyed by ItemNumber. Incremental on
 * LastUpdateDate (`q=LastUpdateDate>='…'`), read in (LastUpdateDate, ItemId) order, paged by
 * limit/offset until `hasMore` is false. A variant's price is its sale price in the `basePriceList` (its row
 * there for the item in the order unit, `uomCode`, and that row's sale charge): two more calls per item.
 * An item the base list does not price is a failed record naming the list; without `basePriceList` every
 * variant carries 0 and prices are left to the price stream (docs/connectors/oracle-fusion.md).
 */
import { SyncError } from "../../../core/errors.ts";
import type { Product } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import { type FusionRow, qLiteral } from "../client.ts";
import type { FusionContext } from "../context.ts";
import { chargesOf, findPriceList, mapLimit, type SalePrice, salePrice } from "../price-lists.ts";

/** An itemsV2 row and, with a base price list configured, its price there (or why it has none). */
export interface FusionItemNative {
  row: FusionRow;
  base?: SalePrice | { error: string; field: string };
}

export function itemUpdatedAt(row: FusionRow): string {
  const raw = row.LastUpdateDate ?? row.CreationDate;
  const t = typeof raw === "string" ? Date.parse(raw) : Number.NaN;
  return Number.isNaN(t) ? "1970-01-01T00:00:00.000Z" : new Date(t).toISOString();
}

export function productOf(ctx: FusionContext, n: FusionItemNative): Product {
  const { row, base } = n;
  const sku = String(row.ItemNumber);
  if (base && "error" in base) {
    throw new SyncError(
      "data",
      `${ctx.name}: item ${sku} has no price in the base price list ${JSON.stringify(ctx.config.basePriceList)}: ${base.error}`,
      { system: ctx.name, field: base.field },
    );
  }
  const status = String(row.ItemStatusValue ?? "");
  const attributes: Record<string, string> = {};
  for (const [k, f] of [
    ["itemClass", "ItemClass"],
    ["organization", "OrganizationCode"],
    ["uom", "PrimaryUOMValue"],
  ] as const) {
    if (typeof row[f] === "string" && row[f] !== "") attributes[k] = row[f] as string;
  }
  const title =
    typeof row.ItemDescription === "string" && row.ItemDescription !== "" ? row.ItemDescription : sku;
  return {
    source: ctx.name,
    sourceId: String(row.ItemId),
    updatedAt: itemUpdatedAt(row),
    key: sku,
    title,
    // Not orderable by customers: a draft; Inactive or Obsolete: archived.
    status: /^(Inactive|Obsolete)$/i.test(status)
      ? "archived"
      : row.CustomerOrderFlag === false
        ? "draft"
        : "active",
    currency: ctx.config.currency,
    categoryPath: [],
    attributes,
    images: [],
    components: [],
    variants: [{ sku, price: base?.price ?? "0", options: {} }],
  };
}

/**
 * Each row's price in the base list: its list item for the row's ItemId in `uomCode`, then that item's charges.
 * `baseList` finds the list; a read passes one that looks it up once for all its pages.
 */
async function withBase(
  ctx: FusionContext,
  rows: FusionRow[],
  baseList: (name: string) => Promise<FusionRow>,
  signal?: AbortSignal,
): Promise<FusionItemNative[]> {
  const name = ctx.config.basePriceList;
  if (name === undefined) return rows.map((row) => ({ row }));
  const list = await baseList(name);
  const listPath = `priceLists/${encodeURIComponent(String(list.PriceListId))}/child/items`;
  if (list.CurrencyCode !== ctx.config.currency) {
    const error = `the list's CurrencyCode is ${JSON.stringify(list.CurrencyCode)}, not the connection's currency ${ctx.config.currency}`;
    return rows.map((row) => ({ row, base: { error, field: "CurrencyCode" } }));
  }
  return mapLimit(rows, ctx.config.concurrency, async (row) => {
    let listItem: FusionRow | undefined;
    for await (const page of ctx.client.list(listPath, {
      q: `ItemId=${Number(row.ItemId)};PricingUOMCode=${qLiteral(ctx.config.uomCode)}`,
      limit: 2,
      ...(signal ? { signal } : {}),
    })) {
      listItem ??= page[0];
    }
    if (!listItem) {
      return {
        row,
        base: {
          error: `the list has no item ${String(row.ItemId)} in ${ctx.config.uomCode}`,
          field: "ItemId",
        },
      };
    }
    const charges = await chargesOf(ctx, list.PriceListId, listItem.PriceListItemId, signal);
    return { row, base: salePrice(charges, ctx.config.saleCharge, ctx.config.currency) };
  });
}

export function itemStream(ctx: FusionContext): Stream<"product", FusionItemNative> {
  return {
    entity: "product",
    sorted: true,
    async *list(req) {
      // The base list is looked up once per read, not once per page.
      let found: Promise<FusionRow> | undefined;
      const baseList = (name: string) => (found ??= findPriceList(ctx, name, "basePriceList", req.signal));
      for await (const rows of ctx.client.list("itemsV2", {
        ...(req.since
          ? { q: `LastUpdateDate>=${qLiteral(new Date(req.since.updatedAt).toISOString())}` }
          : {}),
        orderBy: "LastUpdateDate:asc,ItemId:asc",
        limit: Math.max(1, Math.min(req.pageSize, ctx.config.pageSize)),
        ...(req.signal ? { signal: req.signal } : {}),
      }))
        yield await withBase(ctx, rows, baseList, req.signal);
    },
    async get(id) {
      const row = await ctx.client.get("itemsV2", id);
      const baseList = (name: string) => findPriceList(ctx, name, "basePriceList");
      return row ? ((await withBase(ctx, [row], baseList))[0] ?? null) : null;
    },
    idOf: (n) => String(n.row.ItemId),
    updatedAtOf: (n) => itemUpdatedAt(n.row),
    toCanonical: (n) => productOf(ctx, n),
  };
}
