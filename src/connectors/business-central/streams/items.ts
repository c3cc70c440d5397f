/**
 * Items as products, with their variants (itemVariants, expanded: one request per page), and the items'
 * inventory.
 *
 * Prices: API v2.0 exposes the item's own unit price (items.unitPrice, with priceIncludesTax) and nothing
 * else: no price list, no customer price group, no price per variant. Every variant carries its item's price.
 *
 * Inventory: API v2.0 gives one figure per item, items.inventory, the sum over every location. Item ledger
 * entries (itemLedgerEntries) carry no location code on the API page, and locations carry no stock, so stock
 * per location is out of reach of the standard API; the total is reported at one configured location
 * (`inventoryLocation`). Posting stock (a journal, a shipment) writes ledger entries and does not modify
 * the item, so an incremental read of inventory follows the ledger: the entries changed since the cursor
 * name the items whose stock moved, and those items are read for their current inventory. (A full read
 * cannot also read every item's latest entry at any cost, so the two reads stamp rows differently and
 * the stream declares no order.)
 */
import type { InventoryLevelInput, Product } from "../../../core/model.ts";
import { minorUnits } from "../../../core/money.ts";
import type { ListRequest, Stream } from "../../../ports/connector.ts";
import { type BcRow, literal } from "../client.ts";
import type { BusinessCentralContext } from "../context.ts";
import { changedSince, listChanged, money, updatedAt } from "../paging.ts";

export const ITEM_FIELDS = [
  "id",
  "number",
  "displayName",
  "type",
  "blocked",
  "gtin",
  "unitPrice",
  "priceIncludesTax",
  "itemCategoryCode",
  "baseUnitOfMeasureCode",
  "lastModifiedDateTime",
] as const;

const variantsOf = (row: BcRow) =>
  (Array.isArray(row.itemVariants) ? (row.itemVariants as BcRow[]) : []).filter(
    (v) => typeof v.code === "string" && v.code !== "",
  );

export function productStream(ctx: BusinessCentralContext): Stream<"product", BcRow> {
  const expand = ["itemVariants"];
  return {
    entity: "product",
    sorted: true,
    list: (req) => listChanged(ctx, { set: "items", key: "number", select: ITEM_FIELDS, expand }, req),
    async get(id) {
      const rows = await firstPage(ctx, "items", {
        filter: `number eq ${literal(id)}`,
        select: ITEM_FIELDS,
        expand,
      });
      return rows[0] ?? null;
    },
    idOf: (row) => String(row.number),
    updatedAtOf: updatedAt,
    toCanonical(row): Product {
      const currency = ctx.config.currency;
      const number = String(row.number);
      const price = money(row.unitPrice, minorUnits(currency));
      const variants = variantsOf(row);
      return {
        source: ctx.name,
        sourceId: number,
        updatedAt: updatedAt(row),
        key: number,
        title: typeof row.displayName === "string" && row.displayName !== "" ? row.displayName : number,
        status: row.blocked === true ? "archived" : "active",
        currency,
        categoryPath:
          typeof row.itemCategoryCode === "string" && row.itemCategoryCode !== ""
            ? [row.itemCategoryCode]
            : [],
        attributes: {},
        images: [],
        components: [],
        variants:
          variants.length === 0
            ? [
                {
                  sku: number,
                  price,
                  options: {},
                  ...(typeof row.gtin === "string" && row.gtin !== "" ? { barcode: row.gtin } : {}),
                },
              ]
            : variants.map((v) => ({
                sku: `${number}${ctx.config.variantSeparator}${String(v.code)}`,
                price,
                options: { Variant: String(v.code) },
              })),
      };
    },
  };
}

async function firstPage(
  ctx: BusinessCentralContext,
  set: string,
  q: { filter: string; select: readonly string[]; expand?: readonly string[] },
): Promise<BcRow[]> {
  for await (const page of ctx.client.list(set, { ...q, pageSize: ctx.config.pageSize })) return page;
  return [];
}

const INVENTORY_FIELDS = ["id", "number", "type", "inventory", "lastModifiedDateTime"] as const;
const STOCKED = "type eq 'Inventory'";

/** One item's inventory, with the stamp that brought it (the item's, or its latest ledger entry's). */
export interface BcStockRow {
  item: BcRow;
  at: string;
}

export function inventoryStream(ctx: BusinessCentralContext): Stream<"inventory", BcStockRow> {
  const location = ctx.config.inventoryLocation;
  const idOf = (r: BcStockRow) => `${String(r.item.number)}@${location}`;
  async function* changed(req: ListRequest): AsyncGenerator<BcStockRow[]> {
    // The ledger entries changed since the cursor, page by page, each page's items read by number.
    for await (const entries of ctx.client.list("itemLedgerEntries", {
      filter: changedSince((req.since as { updatedAt: string }).updatedAt),
      orderby: "lastModifiedDateTime,id",
      select: ["id", "itemNumber", "lastModifiedDateTime"],
      pageSize: Math.max(1, Math.min(req.pageSize, ctx.config.pageSize)),
      ...(req.signal ? { signal: req.signal } : {}),
    })) {
      const latest = new Map<string, string>();
      for (const e of entries) latest.set(String(e.itemNumber), updatedAt(e));
      const numbers = [...latest.keys()];
      const rows: BcStockRow[] = [];
      // A few items per request: the filter stays short.
      for (let i = 0; i < numbers.length; i += 20) {
        const chunk = numbers.slice(i, i + 20);
        const items = await firstPage(ctx, "items", {
          filter: `${STOCKED} and (${chunk.map((n) => `number eq ${literal(n)}`).join(" or ")})`,
          select: INVENTORY_FIELDS,
        });
        for (const item of items) rows.push({ item, at: latest.get(String(item.number)) as string });
      }
      rows.sort((a, b) =>
        a.at < b.at ? -1 : a.at > b.at ? 1 : String(a.item.number) < String(b.item.number) ? -1 : 1,
      );
      if (rows.length > 0) yield rows;
    }
  }
  return {
    entity: "inventory",
    // Not one order: a full read is in the items' order, an incremental one follows the ledger, and the
    // stamp of a row (its item's, or its latest entry's) differs between the two. Unsorted, the engine
    // takes the cursor at the end of a read.
    sorted: false,
    async *list(req) {
      if (!req.since) {
        for await (const items of listChanged(
          ctx,
          { set: "items", key: "number", select: INVENTORY_FIELDS, where: STOCKED },
          req,
        )) {
          yield items.map((item) => ({ item, at: updatedAt(item) }));
        }
        return;
      }
      // Items created or changed since the cursor (a new item), and those whose stock moved: two orders,
      // merged here (the latest stamp of each item) into one, then paged. What is held is what changed
      // since the cursor.
      const latest = new Map<string, BcStockRow>();
      const keep = (r: BcStockRow) => {
        const had = latest.get(String(r.item.number));
        if (!had || had.at < r.at) latest.set(String(r.item.number), r);
      };
      for await (const items of listChanged(
        ctx,
        { set: "items", key: "number", select: INVENTORY_FIELDS, where: STOCKED },
        req,
      )) {
        for (const item of items) keep({ item, at: updatedAt(item) });
      }
      for await (const rows of changed(req)) for (const r of rows) keep(r);
      const all = [...latest.values()].sort((a, b) =>
        a.at < b.at ? -1 : a.at > b.at ? 1 : idOf(a) < idOf(b) ? -1 : 1,
      );
      for (let i = 0; i < all.length; i += req.pageSize) yield all.slice(i, i + req.pageSize);
    },
    async get(id) {
      const at = id.lastIndexOf("@");
      if (at <= 0 || id.slice(at + 1) !== location) return null;
      const rows = await firstPage(ctx, "items", {
        filter: `${STOCKED} and number eq ${literal(id.slice(0, at))}`,
        select: INVENTORY_FIELDS,
      });
      return rows[0] ? { item: rows[0], at: updatedAt(rows[0]) } : null;
    },
    idOf,
    updatedAtOf: (r) => r.at,
    toCanonical(r): InventoryLevelInput {
      const sku = String(r.item.number);
      return {
        source: ctx.name,
        sourceId: `${sku}@${location}`,
        updatedAt: r.at,
        key: `${sku}@${location}`,
        sku,
        location,
        onHand: Math.trunc(typeof r.item.inventory === "number" ? r.item.inventory : 0),
        // API v2.0 exposes no reserved or committed quantity of an item.
        reserved: 0,
        safetyStock: 0,
      };
    },
  };
}
