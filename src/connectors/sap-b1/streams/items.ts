/**
 * Items: the catalogue (one product per item, its one variant the item itself: B1 has no variant model),
 * the prices of the configured price lists (ItemPrices) as customer-group prices, and the stock per
 * warehouse (ItemWarehouseInfoCollection). Prices and stock are rows inside the item, so all three read the
 * Items set on UpdateDate/UpdateTime: B1 stamps the item when a price or a warehouse row of it changes.
 */
import { SyncError } from "../../../core/errors.ts";
import type { InventoryLevelInput, Price, Product } from "../../../core/model.ts";
import { minorUnits } from "../../../core/money.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { SapB1Context } from "../context.ts";
import { type B1Row, listChanged, money } from "../paging.ts";
import { b1UpdatedAt } from "../time.ts";

const ITEM_FIELDS = [
  "ItemCode",
  "ItemName",
  "BarCode",
  "Valid",
  "Frozen",
  "UpdateDate",
  "UpdateTime",
] as const;
const SALES = "SalesItem eq 'tYES'";

interface ItemPrice {
  PriceList?: number;
  Price?: number | null;
  Currency?: string | null;
}
interface WarehouseInfo {
  WarehouseCode?: string;
  InStock?: number | null;
  Committed?: number | null;
}

const code = (row: B1Row) => String(row.ItemCode);
const prices = (row: B1Row) => (Array.isArray(row.ItemPrices) ? (row.ItemPrices as ItemPrice[]) : []);

export function productStream(ctx: SapB1Context): Stream<"product", B1Row> {
  const select = [...ITEM_FIELDS, "ItemPrices"];
  return {
    entity: "product",
    sorted: true,
    list: (req) => listChanged(ctx, { set: "Items", key: "ItemCode", select, where: SALES }, req),
    get: (id) => ctx.client.get("Items", id, select),
    idOf: code,
    updatedAtOf: b1UpdatedAt,
    toCanonical(row): Product {
      const base = prices(row).find((p) => p.PriceList === ctx.config.basePriceList);
      const currency = base?.Currency || ctx.config.currency;
      const sku = code(row);
      return {
        source: ctx.name,
        sourceId: sku,
        updatedAt: b1UpdatedAt(row),
        key: sku,
        title: typeof row.ItemName === "string" && row.ItemName !== "" ? row.ItemName : sku,
        status: row.Valid === "tNO" || row.Frozen === "tYES" ? "archived" : "active",
        currency,
        categoryPath: [],
        attributes: {},
        images: [],
        components: [],
        variants: [
          {
            sku,
            price: money(base?.Price ?? 0, minorUnits(currency)),
            options: {},
            ...(typeof row.BarCode === "string" && row.BarCode !== "" ? { barcode: row.BarCode } : {}),
          },
        ],
      };
    },
  };
}

/** One configured price list's row of one item. */
export interface B1PriceRow {
  item: B1Row;
  price: ItemPrice;
}

export function priceStream(ctx: SapB1Context): Stream<"price", B1PriceRow> {
  const select = [...ITEM_FIELDS.filter((f) => f !== "BarCode"), "ItemPrices"];
  const lists = new Map(ctx.config.priceLists.map((l) => [l.priceList, l]));
  const rowsOf = (item: B1Row): B1PriceRow[] =>
    prices(item)
      .filter((p) => p.PriceList !== undefined && lists.has(p.PriceList) && typeof p.Price === "number")
      .sort((a, b) => (a.PriceList ?? 0) - (b.PriceList ?? 0))
      .map((price) => ({ item, price }));
  return {
    entity: "price",
    sorted: true,
    async *list(req) {
      if (lists.size === 0) return;
      // Each item gives one row per configured list: ask for as many items as fit in the page.
      const per = Math.max(1, Math.floor(req.pageSize / lists.size));
      for await (const items of listChanged(
        ctx,
        { set: "Items", key: "ItemCode", select, where: SALES },
        req,
        per,
      )) {
        const rows = items.flatMap(rowsOf);
        for (let i = 0; i < rows.length; i += req.pageSize) yield rows.slice(i, i + req.pageSize);
      }
    },
    async get(id) {
      const m = /^(.*)@(\d+)$/.exec(id);
      if (!m) return null;
      const item = await ctx.client.get("Items", m[1] as string, select);
      return item ? (rowsOf(item).find((r) => r.price.PriceList === Number(m[2])) ?? null) : null;
    },
    idOf: (r) => `${code(r.item)}@${r.price.PriceList}`,
    updatedAtOf: (r) => b1UpdatedAt(r.item),
    toCanonical(r): Price {
      const list = lists.get(r.price.PriceList ?? -1);
      if (!list) {
        throw new SyncError("data", `price list ${String(r.price.PriceList)} is not configured`, {
          system: ctx.name,
          field: "priceLists",
        });
      }
      const currency = r.price.Currency || ctx.config.currency;
      const listCode = list.code ?? `B1-${list.priceList}`;
      const sku = code(r.item);
      return {
        source: ctx.name,
        sourceId: `${sku}@${list.priceList}`,
        updatedAt: b1UpdatedAt(r.item),
        key: `${listCode}:${sku}`,
        priceList: {
          code: listCode,
          name: list.name ?? listCode,
          customerGroup: list.customerGroup,
          currency,
        },
        sku,
        price: money(r.price.Price, minorUnits(currency)),
        tiers: [],
      };
    },
  };
}

/** One warehouse row of one item. */
export interface B1StockRow {
  item: B1Row;
  stock: WarehouseInfo;
}

export function inventoryStream(ctx: SapB1Context): Stream<"inventory", B1StockRow> {
  const select = ["ItemCode", "UpdateDate", "UpdateTime", "ItemWarehouseInfoCollection"];
  const only = ctx.config.warehouses ? new Set(ctx.config.warehouses) : null;
  const rowsOf = (item: B1Row): B1StockRow[] =>
    (Array.isArray(item.ItemWarehouseInfoCollection)
      ? (item.ItemWarehouseInfoCollection as WarehouseInfo[])
      : []
    )
      .filter((w) => typeof w.WarehouseCode === "string" && (!only || only.has(w.WarehouseCode)))
      .sort((a, b) => (String(a.WarehouseCode) < String(b.WarehouseCode) ? -1 : 1))
      .map((stock) => ({ item, stock }));
  const perItem = Math.max(1, only?.size ?? 2);
  return {
    entity: "inventory",
    sorted: true,
    async *list(req) {
      const per = Math.max(1, Math.floor(req.pageSize / perItem));
      for await (const items of listChanged(
        ctx,
        { set: "Items", key: "ItemCode", select, where: "InventoryItem eq 'tYES'" },
        req,
        per,
      )) {
        // An item with more warehouses than the page holds is cut into pages of at most pageSize.
        const rows = items.flatMap(rowsOf);
        for (let i = 0; i < rows.length; i += req.pageSize) yield rows.slice(i, i + req.pageSize);
      }
    },
    async get(id) {
      const at = id.lastIndexOf("@");
      if (at <= 0) return null;
      const item = await ctx.client.get("Items", id.slice(0, at), select);
      return item ? (rowsOf(item).find((r) => r.stock.WarehouseCode === id.slice(at + 1)) ?? null) : null;
    },
    idOf: (r) => `${code(r.item)}@${String(r.stock.WarehouseCode)}`,
    updatedAtOf: (r) => b1UpdatedAt(r.item),
    toCanonical(r): InventoryLevelInput {
      const sku = code(r.item);
      const location = String(r.stock.WarehouseCode);
      // Available to sell = InStock − Committed (what open sales orders have promised out of the warehouse).
      return {
        source: ctx.name,
        sourceId: `${sku}@${location}`,
        updatedAt: b1UpdatedAt(r.item),
        key: `${sku}@${location}`,
        sku,
        location,
        onHand: Math.trunc(r.stock.InStock ?? 0),
        reserved: Math.max(0, Math.trunc(r.stock.Committed ?? 0)),
        safetyStock: 0,
      };
    },
  };
}
