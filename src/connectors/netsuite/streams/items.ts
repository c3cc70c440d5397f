/** Items → products: one variant per item, SKU = itemid, price = baseprice in the configured currency. */
import type { Product } from "../../../core/model.ts";
import { minorUnits } from "../../../core/money.ts";
import type { Stream } from "../../../ports/connector.ts";
import { type NsRow, sql } from "../client.ts";
import type { NetSuiteContext } from "../context.ts";
import { changedSince, idOf, text, updatedAtOf } from "./query.ts";

export const ITEM_COLS = ["id", "itemid", "displayname", "upccode", "baseprice", "lastmodifieddate"] as const;

export function productOf(ctx: NetSuiteContext, row: NsRow): Product {
  const sku = String(row.itemid);
  const currency = ctx.config.currency;
  const price = typeof row.baseprice === "number" ? row.baseprice : Number(row.baseprice ?? 0);
  return {
    source: ctx.name,
    sourceId: idOf(row),
    updatedAt: updatedAtOf(row),
    key: sku,
    title: text(row.displayname) ?? sku,
    status: "active",
    currency,
    categoryPath: [],
    attributes: {},
    images: [],
    components: [],
    variants: [
      {
        sku,
        price: price.toFixed(minorUnits(currency)),
        options: {},
        ...(text(row.upccode) ? { barcode: text(row.upccode) } : {}),
      },
    ],
  };
}

export function productStream(ctx: NetSuiteContext): Stream<"product", NsRow> {
  return {
    entity: "product",
    sorted: true,
    list: (req) => changedSince(ctx, "item", ITEM_COLS, req),
    get: (id) =>
      /^\d+$/.test(id)
        ? ctx.client.first(`SELECT ${ITEM_COLS.join(", ")} FROM item WHERE id = ${sql(id)}`)
        : Promise.resolve(null),
    idOf,
    updatedAtOf,
    toCanonical: (row) => productOf(ctx, row),
  };
}
