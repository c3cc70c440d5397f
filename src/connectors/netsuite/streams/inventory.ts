/**
 * Stock per location from SuiteQL `inventoryitemlocations` (item, location, quantityonhand, quantitycommitted):
 * on hand = quantityonhand, reserved = quantitycommitted (what open orders have promised out of the location),
 * so the canonical available to sell (on hand − reserved) is what NetSuite calls quantityavailable. The location
 * is named by its `location.name`, the SKU is the item's itemid. No source shows a modification date on this
 * table, so the stream is a snapshot (like Acumatica's): every read reads all of it, stamped with the time it
 * was read, in (item, location) order; not resumable from a cursor. Fractional quantities are truncated.
 * Sources per column: packages/emulators/src/netsuite/suiteql-tables.ts.
 */
import type { InventoryLevelInput } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import { type NsRow, sql } from "../client.ts";
import type { NetSuiteContext } from "../context.ts";
import { internalId, rowsWhereIn, skusOf } from "./links.ts";

const STOCK_COLS = "item, location, quantityonhand, quantitycommitted";

/** One item at one location, as read at `at`. */
export interface StockRow {
  sku: string;
  location: string;
  onHand: number;
  committed: number;
  at: string;
}

const qty = (v: unknown, round: (n: number) => number) => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? round(n) : 0;
};

async function complete(ctx: NetSuiteContext, rows: NsRow[], at: string, signal?: AbortSignal) {
  const skus = await skusOf(
    ctx,
    rows.flatMap((r) => internalId(r.item) ?? []),
    signal,
  );
  const names = new Map(
    (
      await rowsWhereIn(
        ctx,
        rows.flatMap((r) => internalId(r.location) ?? []),
        (list) => `SELECT id, name FROM location WHERE id IN (${list})`,
        signal,
      )
    ).map((l) => [String(l.id), String(l.name ?? "").trim()] as const),
  );
  const out: StockRow[] = [];
  for (const r of rows) {
    const sku = skus.get(String(r.item));
    const location = names.get(String(r.location));
    if (!sku || !location) continue;
    out.push({
      sku,
      location,
      onHand: qty(r.quantityonhand, Math.floor),
      committed: Math.max(0, qty(r.quantitycommitted, Math.ceil)),
      at,
    });
  }
  return out;
}

export function inventoryStream(ctx: NetSuiteContext): Stream<"inventory", StockRow> {
  const idOf = (r: StockRow) => `${r.sku}@${r.location}`;
  return {
    entity: "inventory",
    // A snapshot: no modification date to order by or resume from.
    sorted: false,
    async *list(req) {
      const at = new Date().toISOString();
      const q = `SELECT ${STOCK_COLS} FROM inventoryitemlocations ORDER BY item, location`;
      for await (const page of ctx.client.suiteql(
        q,
        Math.min(req.pageSize, ctx.config.pageSize),
        req.signal,
      )) {
        yield await complete(ctx, page, at, req.signal);
      }
    },
    async get(id) {
      const cut = id.lastIndexOf("@");
      if (cut <= 0 || cut === id.length - 1) return null;
      const item = await ctx.client.first(`SELECT id FROM item WHERE itemid = ${sql(id.slice(0, cut))}`);
      const location = await ctx.client.first(
        `SELECT id FROM location WHERE name = ${sql(id.slice(cut + 1))}`,
      );
      const itemId = internalId(item?.id);
      const locationId = internalId(location?.id);
      if (!itemId || !locationId) return null;
      const row = await ctx.client.first(
        `SELECT ${STOCK_COLS} FROM inventoryitemlocations WHERE item = ${itemId} AND location = ${locationId}`,
      );
      return row ? ((await complete(ctx, [row], new Date().toISOString()))[0] ?? null) : null;
    },
    idOf,
    updatedAtOf: (r) => r.at,
    toCanonical: (r): InventoryLevelInput => ({
      source: ctx.name,
      sourceId: idOf(r),
      updatedAt: r.at,
      key: idOf(r),
      sku: r.sku,
      location: r.location,
      onHand: r.onHand,
      reserved: r.committed,
      safetyStock: 0,
    }),
  };
}
