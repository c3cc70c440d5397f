/**
 * Prices: the items of the configured Fusion price lists (priceLists/{PriceListId}/child/items) with their
 * sale charge (child/charges), one canonical Price per list and item. A list serves one customer group
 * (config `priceLists`: named after the list unless told otherwise). Incremental on the item's
 * LastUpdateDate (`q=LastUpdateDate>='…'`), each list read in (LastUpdateDate, PriceListItemId) order,
 * paged by limit/offset until `hasMore` is false, and the lists merged into one (updatedAt, id) order.
 *
 * Not incremental: a change to a charge alone, or to the list's header, unless Fusion also stamps the
 * item's LastUpdateDate (the collections cannot say whether it does); such changes arrive on a resync.
 */
import { compareCursors } from "../../../core/cursor.ts";
import { SyncError } from "../../../core/errors.ts";
import type { Price } from "../../../core/model.ts";
import type { Cursor, Stream } from "../../../ports/connector.ts";
import { priceListGroup } from "../../price-lists.ts";
import { type FusionRow, qLiteral } from "../client.ts";
import type { FusionPriceList } from "../config.ts";
import type { FusionContext } from "../context.ts";
import { chargesOf, dateOf, findPriceList, mapLimit, salePrice, stampOf } from "../price-lists.ts";

export interface FusionPriceNative {
  /** The priceLists row (header). */
  list: FusionRow;
  /** Its entry in the connection's `priceLists`. */
  conf: FusionPriceList;
  /** The price list item. */
  item: FusionRow;
  /** That item's charges. */
  charges: FusionRow[];
}

/** `<PriceListId>-<PriceListItemId>`: the two keys of the item's path. */
export const priceIdOf = (n: Pick<FusionPriceNative, "list" | "item">) =>
  `${String(n.list.PriceListId)}-${String(n.item.PriceListItemId)}`;

export function priceOf(ctx: FusionContext, n: FusionPriceNative): Price {
  const name = String(n.list.PriceListName);
  const where = `price list ${JSON.stringify(name)} item ${String(n.item.PriceListItemId)}`;
  const fail = (field: string, message: string) =>
    new SyncError("data", `${ctx.name}: ${where}: ${message}`, { system: ctx.name, field });
  const { currency } = ctx.config;
  if (n.list.CurrencyCode !== currency) {
    throw fail(
      "CurrencyCode",
      `the list's CurrencyCode is ${JSON.stringify(n.list.CurrencyCode)}, not the connection's currency ${currency}`,
    );
  }
  const level = n.item.ItemLevelCode;
  if (level !== undefined && level !== null && level !== "ITEM") {
    throw fail(
      "ItemLevelCode",
      `ItemLevelCode ${JSON.stringify(level)} prices no single item (only ITEM does)`,
    );
  }
  const sku = n.item.Item;
  if (typeof sku !== "string" || sku === "") {
    throw fail("Item", `it carries no item number (Item ${JSON.stringify(sku)})`);
  }
  const uom = n.item.PricingUOMCode;
  if (uom !== undefined && uom !== null && uom !== ctx.config.uomCode) {
    throw fail(
      "PricingUOMCode",
      `PricingUOMCode ${JSON.stringify(uom)} is not the unit orders are written in (uomCode ${JSON.stringify(ctx.config.uomCode)})`,
    );
  }
  const sale = salePrice(n.charges, ctx.config.saleCharge, currency);
  if ("error" in sale) throw fail(sale.field, sale.error);
  const slug = priceListGroup(name, `fusion-${String(n.list.PriceListId)}`);
  const code = n.conf.code ?? slug.code;
  const validFrom = dateOf(sale.charge.StartDate);
  const validTo = dateOf(sale.charge.EndDate);
  return {
    source: ctx.name,
    sourceId: priceIdOf(n),
    updatedAt: stampOf(n.item),
    key: `${code}:${sku}`,
    priceList: { code, name, customerGroup: n.conf.customerGroup ?? slug.group, currency },
    sku,
    price: sale.price,
    tiers: [],
    ...(validFrom ? { validFrom } : {}),
    ...(validTo ? { validTo } : {}),
  };
}

interface Head {
  list: FusionRow;
  conf: FusionPriceList;
  pages: AsyncIterator<FusionRow[]>;
  buf: FusionRow[];
  done: boolean;
}

export function priceStream(ctx: FusionContext): Stream<"price", FusionPriceNative> {
  const confs = ctx.config.priceLists;
  const withCharges = (rows: Omit<FusionPriceNative, "charges">[], signal?: AbortSignal) =>
    mapLimit(rows, ctx.config.concurrency, async (r) => ({
      ...r,
      charges: await chargesOf(ctx, r.list.PriceListId, r.item.PriceListItemId, signal),
    }));
  const cursorOf = (h: Head): Cursor => {
    const item = h.buf[0] as FusionRow;
    return { updatedAt: stampOf(item), id: priceIdOf({ list: h.list, item }) };
  };
  return {
    entity: "price",
    sorted: true,
    async *list(req) {
      if (confs.length === 0) return;
      const limit = Math.max(1, Math.min(req.pageSize, ctx.config.pageSize));
      const signal = req.signal;
      const heads: Head[] = [];
      for (const [i, conf] of confs.entries()) {
        const list = await findPriceList(ctx, conf.name, `priceLists[${i}].name`, signal);
        const pages = ctx.client.list(
          `priceLists/${encodeURIComponent(String(list.PriceListId))}/child/items`,
          {
            ...(req.since
              ? { q: `LastUpdateDate>=${qLiteral(new Date(req.since.updatedAt).toISOString())}` }
              : {}),
            orderBy: "LastUpdateDate:asc,PriceListItemId:asc",
            limit,
            ...(signal ? { signal } : {}),
          },
        );
        heads.push({ list, conf, pages: pages[Symbol.asyncIterator](), buf: [], done: false });
      }
      const refill = async (h: Head) => {
        while (h.buf.length === 0 && !h.done) {
          const next = await h.pages.next();
          if (next.done) h.done = true;
          else h.buf.push(...next.value);
        }
      };
      let out: Omit<FusionPriceNative, "charges">[] = [];
      for (;;) {
        await Promise.all(heads.map(refill));
        let best: Head | undefined;
        for (const h of heads) {
          if (h.buf.length > 0 && (!best || compareCursors(cursorOf(h), cursorOf(best)) < 0)) best = h;
        }
        if (!best) break;
        out.push({ list: best.list, conf: best.conf, item: best.buf.shift() as FusionRow });
        if (out.length === limit) {
          yield await withCharges(out, signal);
          out = [];
        }
      }
      if (out.length > 0) yield await withCharges(out, signal);
    },
    async get(id) {
      const m = /^(\d+)-(\d+)$/.exec(id);
      if (!m) return null;
      const list = await ctx.client.get("priceLists", m[1] as string);
      const conf = list && confs.find((c) => c.name === list.PriceListName);
      if (!list || !conf) return null;
      const item = await ctx.client.get(
        `priceLists/${encodeURIComponent(m[1] as string)}/child/items`,
        m[2] as string,
      );
      if (!item) return null;
      return (await withCharges([{ list, conf, item }]))[0] ?? null;
    },
    idOf: priceIdOf,
    updatedAtOf: (n) => stampOf(n.item),
    toCanonical: (n) => priceOf(ctx, n),
  };
}
